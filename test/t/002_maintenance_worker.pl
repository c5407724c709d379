
# 002_maintenance_worker.pl -- the background worker does the periodic work
# on its own: deal deadlines (run_maintenance) and hold expiry
# (expire_holds), each task recorded in escrow.maintenance_runs, a failing
# task not stopping the others.
#
# A node with escrowpay in shared_preload_libraries,
# escrowpay.maintenance_interval = 1 and maintenance_database = 'postgres'
# must show a backend of type 'escrowpay maintenance' connected to postgres
# (also before the extension exists there, where a round does nothing).
# After CREATE EXTENSION, with nobody calling run_maintenance():
#
#   - a delivered deal whose inspection window (1 second) passes is
#     auto-accepted: settled, the hold captured to the merchant less the fee;
#   - a reserved deal not shipped within ship_within (1 second) expires: the
#     hold is released;
#   - a reserved deal whose deadline is a week away is left alone;
#   - each transition is one event by actor 'system';
#   - verify_ledger() finds nothing wrong, and the worker never failed;
#   - a hold placed to expire in 1 second is released by the worker
#     (status expired), nobody calling expire_holds();
#   - retention (1 day for keys and events): a key made 2 days ago is
#     deleted, a new one kept; the events of the expired deal, made 2 days
#     ago, are deleted, those of the settled deal (not ended) kept;
#   - escrow.maintenance_runs has a row per task (folding included), last
#     run successful;
#   - while run_maintenance() is made to fail (renamed away), its task
#     fails, logged as a WARNING and recorded (last_error, failures), and
#     hold expiry goes on: a second expiring hold is released; renamed
#     back, the task succeeds again and its error is cleared.
#
# Then escrowpay.maintenance_interval is set to 0 and the configuration
# reloaded: the worker keeps running but does nothing, even when woken by
# another reload, so a deal that becomes due stays delivered until
# run_maintenance() is called by hand.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

use EscrowPay::Harness qw(escrowpay_conf);

my $node = PostgreSQL::Test::Cluster->new('maintenance');

# query_is(SQL, WANT, NAME): the test that SQL, run in postgres, returns WANT
sub query_is
{
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return is($node->safe_psql('postgres', $_[0]), $_[1], $_[2]);
}

# worker_did(SQL, NAME): the test that SQL (a condition the worker brings
# about), polled in postgres, becomes true
sub worker_did
{
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return ok($node->poll_query_until('postgres', $_[0]), $_[1]);
}

$node->init;
$node->append_conf('postgresql.conf', escrowpay_conf($node) . q{
escrowpay.maintenance_interval = 1
escrowpay.maintenance_database = 'postgres'
escrowpay.retention_interval = 0
escrowpay.idempotency_retention = '1d'
escrowpay.event_retention = '1d'
});
$node->start;

# the worker is up, in the postgres database, before the extension exists
worker_did(q{SELECT count(*) = 1 FROM pg_stat_activity
		   WHERE backend_type = 'escrowpay maintenance' AND datname = 'postgres'},
	'a backend of type "escrowpay maintenance" is connected to postgres');
# let it run a round or two without the extension
sleep(1.5);

$node->safe_psql('postgres', 'CREATE EXTENSION escrowpay');

# Accounts 2 = buyer (deposit 10000), 3 = merchant, 4 = fee account (1%).
# Deals: the delivered one (inspection window 1 second), the reserved one
# (ship within 1 second), and one reserved for a week.
my $ids = $node->safe_psql('postgres', q{
DO $$
DECLARE d bigint;
BEGIN
  PERFORM escrow.open_account('buyer', 'EUR');
  PERFORM escrow.open_account('merchant', 'EUR');
  PERFORM escrow.open_account('fees', 'EUR');
  PERFORM escrow.deposit(2, 10000);
  PERFORM escrow.register_member('B1', 'Buyer', 'buyer@example.org', 2);
  PERFORM escrow.register_merchant('M1', 'Shop', 'shop@example.org', 3,
                                   '1 second', '1 hour', 100, 4);
END $$;
CREATE FUNCTION pg_temp.reserved(amount bigint, ship_within interval) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE d bigint := escrow.open_deal('B1', 'M1', amount, ship_within => ship_within);
BEGIN
  PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
  PERFORM escrow.reserve(d, 'B1');
  RETURN d;
END $f$;
SELECT pg_temp.reserved(1000, '7 days') AS delivered_deal,
       pg_temp.reserved(300, '1 second') AS unshipped_deal,
       pg_temp.reserved(200, '7 days') AS later_deal \gset
SELECT escrow.mark_shipped(:delivered_deal, 'DHL', 'T1', 'M1');
SELECT escrow.mark_delivered(:delivered_deal, 'M1');
SELECT :delivered_deal || ' ' || :unshipped_deal || ' ' || :later_deal;
});
my ($delivered, $unshipped, $later) = split ' ', (split /\n/, $ids)[-1];
like("$delivered $unshipped $later", qr/^\d+ \d+ \d+$/, 'three deals opened');

# no run_maintenance() call from here on: only the worker
worker_did("SELECT stage = 'settled' FROM escrow.deals WHERE id = $delivered",
	'the worker auto-accepted the delivered deal after its inspection window');
worker_did("SELECT stage = 'expired' FROM escrow.deals WHERE id = $unshipped",
	'the worker expired the deal not shipped in time');

query_is("SELECT id || ' ' || stage || ' ' || held || ' ' || captured || ' ' || fee
		   FROM escrow.deals ORDER BY id",
	"$delivered settled 0 1000 10\n$unshipped expired 0 0 0\n$later funds_reserved 200 0 0",
	'stages and money of the three deals');
query_is("SELECT deal || ' ' || action || ' ' || from_stage || ' ' || to_stage
		   FROM escrow.deal_events WHERE actor = 'system' ORDER BY deal, id",
	"$delivered auto_accept delivered settled\n$unshipped expire funds_reserved expired",
	'one system event per due deal, none for the deal due in a week');
query_is("SELECT status || ' ' || captured || ' ' || released FROM escrow.holds ORDER BY id",
	"captured 1000 0\nreleased 0 300\nopen 0 0",
	'holds: captured, released, still open');
query_is('SELECT account || \' \' || posted || \' \' || held FROM escrow.balances
		  WHERE account IN (2, 3, 4) ORDER BY account',
	"2 9000 200\n3 990 0\n4 10 0",
	'balances: buyer paid 1000 and holds 200, merchant got 990, fee account 10');
query_is('SELECT count(*) FROM escrow.verify_ledger()',
	'0', 'verify_ledger() finds nothing wrong');

# ------------------------------------------------ hold expiry
$node->safe_psql('postgres', q{
SELECT escrow.open_account('holder', 'EUR');
SELECT escrow.deposit(5, 5000);
SELECT escrow.hold(5, 3, 700, '1 second');
});
worker_did("SELECT status = 'expired' AND released = 700 FROM escrow.holds WHERE debit_account = 5",
	'the worker released the hold past its expiry');
query_is("SELECT posted || ' ' || held FROM escrow.balances WHERE account = 5",
	'5000 0', 'the expired hold no longer reduces what is available');

# ------------------------------------------------ retention
$node->safe_psql('postgres', q{
SELECT escrow.deposit(5, 100, 'k-old'), escrow.deposit(5, 100, 'k-new');
UPDATE escrow.idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'k-old';
});
$node->safe_psql('postgres',
	"UPDATE escrow.deal_events SET at = at - interval '2 days' WHERE deal IN ($unshipped, $delivered)");
worker_did("SELECT NOT EXISTS (SELECT 1 FROM escrow.deal_events WHERE deal = $unshipped)",
	'the worker deleted the events of the deal that ended 2 days ago');
query_is("SELECT string_agg(key, ' ' ORDER BY key) FROM escrow.idempotency_keys WHERE key LIKE 'k-%'",
	'k-new', 'the key made 2 days ago is deleted, the new one kept');
query_is("SELECT string_agg(action, ' ' ORDER BY id) FROM escrow.deal_events WHERE deal = $delivered",
	'open_deal issue_identity_code confirm_identity reserve mark_shipped mark_delivered auto_accept',
	'the settled deal (not ended: returns are still possible) keeps its events');

# ------------------------------------------------ the record of runs
worker_did(q{SELECT string_agg(task || ' ' || (last_error IS NULL) || ' ' || (runs > 0)
		                    || ' ' || (last_success IS NOT NULL), ', ' ORDER BY task)
		   = 'checkpoint true true true, deal_deadlines true true true, expire_holds true true true, '
		     || 'fold true true true, retention true true true'
		   FROM escrow.maintenance_runs},
	'maintenance_runs: one row per task, each run successful');

# ------------------------------------------------ one task failing
$node->safe_psql('postgres',
	'ALTER FUNCTION escrow.run_maintenance(integer) RENAME TO run_maintenance_away');
worker_did(q{SELECT failures > 0 AND last_error LIKE '%run_maintenance%does not exist%'
		   FROM escrow.maintenance_runs WHERE task = 'deal_deadlines'},
	'with run_maintenance() gone, its task fails and the failure is recorded');
$node->safe_psql('postgres', q{SELECT escrow.hold(5, 3, 400, '1 second')});
worker_did("SELECT count(*) = 2 FROM escrow.holds WHERE debit_account = 5 AND status = 'expired'",
	'hold expiry goes on meanwhile');
query_is(q{SELECT failures || ' ' || (last_error IS NULL) FROM escrow.maintenance_runs
		   WHERE task = 'expire_holds'},
	'0 true', 'the expiry task never failed');
like(
	slurp_file($node->logfile),
	qr/WARNING:  escrowpay maintenance task deal_deadlines failed: function escrow\.run_maintenance\(integer\) does not exist/,
	'the failure is logged as a warning naming the task');
$node->safe_psql('postgres',
	'ALTER FUNCTION escrow.run_maintenance_away(integer) RENAME TO run_maintenance');
worker_did(q{SELECT last_error IS NULL AND last_success > last_start - interval '1 second'
		   FROM escrow.maintenance_runs WHERE task = 'deal_deadlines'},
	'renamed back, the task succeeds again and its error is cleared');

# ------------------------------------------------ interval 0: the worker idles
$node->safe_psql('postgres',
	'ALTER SYSTEM SET escrowpay.maintenance_interval = 0');
$node->reload;
# the reload wakes the worker at once; give it a moment to apply it
sleep(2);

my $idle = $node->safe_psql('postgres', q{
CREATE FUNCTION pg_temp.delivered(amount bigint) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE d bigint := escrow.open_deal('B1', 'M1', amount);
BEGIN
  PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
  PERFORM escrow.reserve(d, 'B1');
  PERFORM escrow.mark_shipped(d, 'DHL', 'T' || d, 'M1');
  PERFORM escrow.mark_delivered(d, 'M1');
  RETURN d;
END $f$;
SELECT pg_temp.delivered(500);
});
# its inspection window closes after 1 second; wait two, then reload once
# more, which wakes the worker (a round now would accept the deal)
sleep(2);
$node->reload;
sleep(1);
query_is("SELECT stage || ' ' || (deadline < clock_timestamp())
		   FROM escrow.deals WHERE id = $idle",
	'delivered true',
	'with maintenance_interval = 0 a due deal stays delivered');
worker_did(q{SELECT count(*) = 1 FROM pg_stat_activity
		   WHERE backend_type = 'escrowpay maintenance'},
	'the worker is still running');
query_is(q{SELECT string_agg(action || '=' || deals, ' ' ORDER BY action)
		           FILTER (WHERE deals > 0)
		    FROM escrow.run_maintenance()},
	'auto_accept=1',
	'a manual run_maintenance() then accepts it (and nothing else, no failure)');
query_is('SELECT count(*) FROM escrow.verify_ledger()',
	'0', 'verify_ledger() still finds nothing wrong');

# the worker never failed (a failing round would exit and restart it)
my $log = slurp_file($node->logfile);
unlike(
	$log,
	qr/background worker "escrowpay maintenance" \(PID \d+\) exited/,
	'the worker never exited');
unlike($log, qr/escrowpay maintenance: /, 'the worker logged no error');

$node->stop;
done_testing();
