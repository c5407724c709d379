
# 006_dump_restore.pl -- a ledger survives pg_dump / pg_restore whole.
#
# A ledger with every kind of object: accounts of all kinds, journal legs
# folded and waiting to be folded, holds open, captured, released and expired, captures,
# refunds, hold and capture batches, idempotency keys, parties, deals in
# every stage the model drives, an institution, a cash terminal, and a
# currency added by the administrator -- built by the model clients of
# 003_model.pl -- is dumped with pg_dump -Fc and restored with pg_restore
# into a fresh cluster, where the dump itself runs CREATE EXTENSION.
#
# Then:
#   - every table of schema escrow has the same rows (count and hash of
#     all rows), escrow.balances is identical, verify_ledger() is empty;
#   - the journal's append-only triggers are there and ENABLE ALWAYS, the
#     deal tables keep row-level security;
#   - sequences continued: new accounts, transfers, holds, deals and deal
#     events get ids above every restored one, and an old idempotency key
#     replays its old result;
#   - the model clients carry on against the restored database with every
#     result predicted, and end in the state the model says.
#
# Upgrades are tested by 007_upgrade.pl.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use EscrowPay::Harness qw(setting new_node model_world drive calls_as_predicted states_as_modelled
  ledger_checks table_fingerprints);
use EscrowPay::Model;

my $seed = EscrowPay::Harness::seed();
my $ops  = setting('DUMP_OPS', 3000, 30000);
diag("006_dump_restore: ESCROWPAY_SEED=$seed ESCROWPAY_DUMP_OPS=$ops");

my $src = new_node('source');
my $q = sub { $src->safe_psql('postgres', $_[0]) };
my ($world, $actors) = model_world($src, 3, $seed);

# beyond the model: an administrator's currency, an institution, a
# terminal, an expired hold, legs folded and legs waiting, and a deal of
# parties of no client left settled (its cooling-off runs for days),
# whatever the seeded run leaves
for my $sql (
	q{INSERT INTO escrow.currencies (code, exponent, name) VALUES ('XTS', 2, 'Testing currency')},
	q{SELECT escrow.deposit(escrow.open_account('xts-1', 'XTS'), 12345)},
	q{SELECT escrow.register_institution('inst1', 'Bank One', 'bank@example.org',
	    escrow.open_account('inst-1', 'EUR'), 150, interval '30 days')},
	q{SELECT escrow.register_terminal('T1', 'Terminal one', escrow.open_account('term-1', 'EUR'),
	    '{100,500,1000,5000}')},
	q{SELECT escrow.load_terminal_cash('T1', '{100,500,1000}', '{50,20,10}')},
	q{SELECT escrow.hold(a.id, b.id, 10, interval '1 microsecond') FROM escrow.accounts a,
	    escrow.accounts b WHERE a.owner = 'shared-1' AND b.owner = 'shared-2'},
	q{SELECT pg_sleep(0.01), escrow.expire_holds()},
	q{DO $$
	  DECLARE b bigint := escrow.open_account('dr-buyer', 'EUR'); d bigint;
	  BEGIN
	    PERFORM escrow.deposit(b, 5000);
	    PERFORM escrow.register_member('dr-b', 'Dump buyer', 'b@example.org', b);
	    PERFORM escrow.register_merchant('dr-s', 'Dump shop', 's@example.org',
	                                     escrow.open_account('dr-shop', 'EUR'));
	    d := escrow.open_deal('dr-b', 'dr-s', 1200);
	    PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
	    PERFORM escrow.reserve(d, 'dr-b');
	    PERFORM escrow.mark_shipped(d, 'carrier', 'TRACK', 'dr-s');
	    PERFORM escrow.mark_delivered(d, 'dr-s');
	    PERFORM escrow.confirm_inspection(d, 'dr-b');
	  END $$})
{
	my ($rc, $out, $err) = $src->psql('postgres', $sql);
	note("setup step failed (going on): $sql\n$err") if $rc;
}

my $run = drive($src, $actors, ops => $ops);
calls_as_predicted($run, "$run->{calls} model calls build the ledger as predicted");
is($q->('SELECT count(*) FROM escrow.verify_ledger()'), '0', 'the source ledger is sound');
my %kinds = map { split /\|/ } split /\n/, $q->(q{
	SELECT 'holds ' || status, count(*) FROM escrow.holds GROUP BY 1
	UNION ALL SELECT 'transfers ' || kind, count(*) FROM escrow.transfers GROUP BY 1
	UNION ALL SELECT 'deals ' || stage, count(*) FROM escrow.deals GROUP BY 1
	UNION ALL SELECT 'folded', count(*) FROM escrow.entries
	UNION ALL SELECT 'unfolded', count(*) FROM escrow.unfolded
	UNION ALL SELECT 'keys', count(*) FROM escrow.idempotency_keys});
note('source ledger: ' . join(', ', map { "$_ $kinds{$_}" } sort keys %kinds));
ok($kinds{'holds open'} && $kinds{'holds captured'} && $kinds{'holds released'}
	  && $kinds{'transfers refund'} && $kinds{'transfers capture'} && $kinds{folded}
	  && $kinds{unfolded}
	  && $kinds{keys} && $kinds{'deals settled'},
	'the source has open, captured and released holds, captures, refunds, folded and unfolded legs, keys and settled deals');

my %before = %{ table_fingerprints($src) };
my $balances = $q->('SELECT * FROM escrow.balances ORDER BY account');
my %max = map { split /\|/ } split /\n/, $q->(q{
	SELECT 'account', max(id) FROM escrow.accounts
	UNION ALL SELECT 'transfer', max(id) FROM escrow.transfers
	UNION ALL SELECT 'hold', max(id) FROM escrow.holds
	UNION ALL SELECT 'deal', max(id) FROM escrow.deals
	UNION ALL SELECT 'event', max(id) FROM escrow.deal_events});
my ($old_key, $old_request, $old_result) = split /\|/, $q->(q{
	SELECT key, request, result FROM escrow.idempotency_keys
	 WHERE request LIKE 'transfer(%' ORDER BY key LIMIT 1});

# dump, and restore into a fresh cluster (no escrowpay, no escrow roles)
my $dump = PostgreSQL::Test::Utils::tempdir . '/escrow.dump';
$src->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', 'postgres' ], 'pg_dump -Fc');
my $dst = new_node('restored', empty => 1);
is($dst->safe_psql('postgres', q{SELECT count(*) FROM pg_roles WHERE rolname LIKE 'escrow\_%'}),
	'0', 'the target cluster has no escrow roles yet');
$dst->command_ok([ 'pg_restore', '--exit-on-error', '-d', 'postgres', $dump ],
	'pg_restore into a fresh cluster (CREATE EXTENSION comes from the dump)');
my $r = sub { $dst->safe_psql('postgres', $_[0]) };

my %after = %{ table_fingerprints($dst) };
my @diff = grep { ($before{$_} // '') ne ($after{$_} // '') } sort(keys %before, keys %after);
my %seen;
@diff = grep { !$seen{$_}++ } @diff;
is(scalar @diff, 0, 'all ' . scalar(keys %before) . ' tables of schema escrow have the same rows')
  or diag(join("\n", map { "$_: source $before{$_}, restored " . ($after{$_} // 'missing') } @diff));
is($r->('SELECT * FROM escrow.balances ORDER BY account'), $balances, 'escrow.balances is identical');
ledger_checks($dst, 'restored');

is($r->(q{SELECT string_agg(tgname || ':' || tgenabled::text, ' ' ORDER BY tgname) FROM pg_trigger
	WHERE tgrelid IN ('escrow.entries'::regclass, 'escrow.transfers'::regclass) AND NOT tgisinternal}),
	'entries_append_only:A entries_no_truncate:A transfers_append_only:A transfers_no_truncate:A',
	'the journal guards are there, ENABLE ALWAYS');
my ($rc, $out, $err) = $dst->psql('postgres', 'DELETE FROM escrow.entries');
isnt($rc, 0, 'the restored journal is append-only');
is($r->(q{SELECT string_agg(relname || ':' || relrowsecurity, ' ' ORDER BY relname) FROM pg_class
	WHERE oid IN ('escrow.deals'::regclass, 'escrow.deal_events'::regclass)}),
	'deal_events:true deals:true', 'row-level security on the deal tables');

# sequences continued
my $acct = $r->(q{SELECT escrow.open_account('after-restore', 'EUR')});
cmp_ok($acct, '>', $max{account}, "a new account gets id $acct, after every restored one ($max{account})");
my $xfer = $r->("SELECT escrow.deposit($acct, 5000)");
cmp_ok($xfer, '>', $max{transfer}, "a new transfer gets id $xfer (restored up to $max{transfer})");
my $hold = $r->("SELECT escrow.hold($acct, (SELECT id FROM escrow.accounts WHERE owner = 'shared-1'), 100)");
cmp_ok($hold, '>', $max{hold}, "a new hold gets id $hold (restored up to $max{hold})");
my $shop = $r->(q{SELECT escrow.open_account('after-restore-shop', 'EUR')});
$r->("SELECT escrow.register_member('after-m', 'new member', 'new\@example.org', $acct)");
$r->("SELECT escrow.register_merchant('after-s', 'new shop', 'shop\@example.org', $shop)");
my $deal = $r->(q{SELECT escrow.open_deal('after-m', 'after-s', 250)});
cmp_ok($deal, '>', $max{deal}, "a new deal gets id $deal (restored up to $max{deal})");
cmp_ok($r->("SELECT max(id) FROM escrow.deal_events WHERE deal = $deal"), '>', $max{event},
	'its event id follows the restored events');
if (defined $old_key)
{
	my ($d, $c, $amt) = $old_request =~ /transfer\((\d+),(\d+),(\d+)\)/;
	is($r->("SELECT escrow.transfer($d, $c, $amt, '$old_key')"), $old_result,
		"idempotency key $old_key replays its restored result");
}
is($r->('SELECT count(*) FROM escrow.verify_ledger()'), '0', 'still sound after the new calls');

# the model carries on against the restored database, where the identity
# codes pending on the source are void (issued before this server started)
for my $a (@$actors)
{
	$_->{code_pending} = 0, $_->{code} = undef for values %{ $a->{st}{deals} };
}
$run = drive($dst, $actors, ops => 1000);
calls_as_predicted($run, "the model clients carry on: $run->{calls} calls as predicted");
states_as_modelled($actors, $r, 'restored and continued state is as the model says');
is($r->('SELECT count(*) FROM escrow.verify_ledger()'), '0', 'the restored ledger is sound at the end');

my $rows = 0;
$rows += (/^(\d+) rows/)[0] for values %before;
diag(sprintf('006_dump_restore: %d tables, %d rows dumped and restored identically '
	  . '(%d transfers, %d holds, %d deals); %d model calls predicted after the restore',
	scalar(keys %before), $rows,
	map({ my $k = $_; my $n = 0; $n += $kinds{$_} for grep { /^$k / } keys %kinds; $n } qw(transfers holds deals)),
	$run->{calls}));

$src->stop;
$dst->stop;
done_testing();
