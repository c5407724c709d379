
# 010_failover.pl -- failover to a synchronous standby loses no
# acknowledged call (docs/operations.md, "High availability").
#
# A primary streams to a standby under synchronous replication
# (synchronous_standby_names = 'standby', synchronous_commit = on: a commit
# is acknowledged once the standby has flushed its WAL).  The model clients
# of 003_model.pl (EscrowPay::Harness::drive: every money call and the deal
# lifecycle, each client recording what it saw acknowledged) load the
# primary; then the stream to the standby is cut and the load goes on
# until, a few seconds later and with every client's call in flight, the
# primary is stopped (immediate) and the standby promoted.  (Without
# synchronous replication the calls acknowledged after the cut are lost,
# and the test fails.)  On the promoted node:
#
#   - per client, the state is exactly the model's after the calls it saw
#     acknowledged, or that plus the one call that was in flight
#     (EscrowPay::Harness::after_outage, as after a crash in 004);
#   - verify_ledger() is empty, each currency sums to zero, every transfer
#     has its two entries, pg_amcheck finds nothing;
#   - the clients carry on there (their in-flight calls with an idempotency
#     key retried) as the model predicts;
#   - before: the standby runs verify_ledger() and refuses calls that
#     write;
#   - the maintenance worker did not run on the standby while it was one
#     (it starts when recovery ends) and runs on the promoted node;
#   - identity codes: attempts counted only in the primary's shared memory
#     (wrong attempts rolled back) are not on the standby, so a standby
#     refuses codes (25006) and the promoted node voids every code issued
#     before its promotion (EP008); a restart voids earlier codes too.
#
# Settings: ESCROWPAY_SEED, ESCROWPAY_FAILOVER_SECS (seconds of load, 3),
# ESCROWPAY_MODEL_CLIENTS.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use File::Copy ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use EscrowPay::Harness qw(setting new_node model_world drive calls_as_predicted states_as_modelled ledger_checks after_outage);
use EscrowPay::Model;

my $seed    = EscrowPay::Harness::seed();
my $secs    = setting('FAILOVER_SECS', 3, 10);
my $clients = setting('MODEL_CLIENTS', 4, 6);
diag("010_failover: ESCROWPAY_SEED=$seed ESCROWPAY_FAILOVER_SECS=$secs "
	  . "ESCROWPAY_MODEL_CLIENTS=$clients");

my $primary = new_node('primary', init => { allows_streaming => 1 });
$primary->safe_psql('postgres', 'CREATE DATABASE codes');
$primary->safe_psql('codes', 'CREATE EXTENSION escrowpay');
$primary->backup('base');

# the standby: the primary's configuration, its own copy of the key file
# (the same keys: codes issued on the primary verify on the promoted node)
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
my $keys = $standby->basedir . '/escrowpay.keys';
File::Copy::copy($primary->basedir . '/escrowpay.keys', $keys) or die "copy key file: $!";
chmod(0600, $keys) or die "chmod $keys: $!";
$standby->append_conf('postgresql.conf', "escrowpay.hmac_key_file = '$keys'\n");
$standby->start;

# synchronous from now on (cluster_name, hence the standby's
# application_name, is the node's name)
$primary->append_conf('postgresql.conf', "synchronous_standby_names = 'standby'\n");
$primary->reload;
$primary->poll_query_until('postgres',
	q{SELECT sync_state = 'sync' FROM pg_stat_replication WHERE application_name = 'standby'})
  or die 'the standby did not become synchronous';
is($primary->safe_psql('postgres', 'SHOW synchronous_commit'), 'on',
	'synchronous_commit = on: a commit is acknowledged once the standby has flushed it');

# identity codes on the primary, in database codes: deal 1's code gets 4 of
# its 5 attempts in transactions that roll back (counted in the primary's
# shared memory only); deal 2's code is only issued
my $qc = sub { $primary->safe_psql('codes', $_[0]) };
$qc->(q{SELECT escrow.open_account('buyer', 'USD'), escrow.open_account('shop', 'USD');
	SELECT escrow.deposit(2, 100000);
	SELECT escrow.register_member('M-1', 'Buyer', 'buyer@example.com', 2);
	SELECT escrow.register_merchant('S-1', 'Shop', 'shop@example.com', 3);
	SELECT escrow.open_deal('M-1', 'S-1', 1000), escrow.open_deal('M-1', 'S-1', 2000);});
my %code = map { $_ => $qc->("SELECT escrow.issue_identity_code($_)") } 1, 2;
my %wrong = map { $_ => ($code{$_} eq '00000000' ? '11111111' : '00000000') } 1, 2;
my $verbose = "\\set VERBOSITY verbose\n";
my ($rc, $out, $err);
($rc, $out, $err) = $primary->psql('codes',
	"BEGIN; SELECT escrow.confirm_identity(1, '$wrong{1}'); ROLLBACK;") for 1 .. 4;
like($err, qr/1 of 5 attempts left/,
	'on the primary, deal 1 has 1 attempt left after 4 wrong ones rolled back');
is($qc->('SELECT code_attempts FROM escrow.deals WHERE id = 1'), '0',
	'... counted in shared memory only: the deal row has none of them');

# the maintenance worker does not run on a standby, even when configured
$standby->append_conf('postgresql.conf',
	"escrowpay.maintenance_interval = 1\nescrowpay.maintenance_database = 'postgres'\n");
$standby->reload;
sleep 3;
is($standby->safe_psql('postgres',
	q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'escrowpay maintenance'}),
	'0', 'no maintenance worker runs on the standby while it is one');
# (off while the clients are checked: it would move their due deals)
$standby->append_conf('postgresql.conf', "escrowpay.maintenance_interval = 0\n");
$standby->reload;

# a standby serves reads, verify_ledger() among them; escrowpay's calls write
$primary->wait_for_catchup('standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM escrow.verify_ledger()'), '0',
	'verify_ledger() runs on the standby');
($rc, $out, $err) = $standby->psql('codes', "${verbose}SELECT escrow.deposit(2, 100)");
like($err, qr/25006/, 'a call that writes is refused on the standby (25006 read_only_sql_transaction)');
($rc, $out, $err) = $standby->psql('codes', "${verbose}SELECT escrow.confirm_identity(1, '$wrong{1}')");
like($err, qr/25006.*identity codes cannot be issued or confirmed on a standby/s,
	'an identity code cannot be tried on the standby (25006): nothing is counted there');

# load; then the stream to the standby is cut (its primary_conninfo set to
# nowhere: the WAL receiver restarts and finds no primary) and the load
# goes on for a few seconds more -- each client's first write then waits
# for the standby -- until the primary stops with every client's call in
# flight
my ($world, $actors) = model_world($primary, $clients, $seed);
my $run = drive($primary, $actors, seconds => $secs);
calls_as_predicted($run, "$run->{calls} calls with the standby streaming, each as the model predicted");
my $acked_calls = $run->{calls} // 0;
$standby->append_conf('postgresql.conf', "primary_conninfo = 'host=/nonexistent port=1'\n");
$standby->reload;
ok($standby->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_wal_receiver WHERE status = 'streaming'}),
	'the stream to the standby is cut');
$run = drive($primary, $actors, seconds => 2,
	crash => sub { $primary->stop('immediate'); });
calls_as_predicted($run, "$run->{calls} more calls (reads, refusals) until the primary stopped, each as the model predicted");
$acked_calls += $run->{calls} // 0;
my $in_flight = grep { $_->{lost} } @$actors;

$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not finish its promotion';
pass('the standby is promoted');
# the promoted node counts identity-code attempts from its promotion on:
# codes issued before (on the old primary) are void there
my $promoted_at = $standby->safe_psql('postgres', 'SELECT clock_timestamp()');
$EscrowPay::Model::CODES_COUNTED_FROM = "'$promoted_at'::timestamptz";

my $r = after_outage($standby, $actors);
is(scalar @{ $r->{bad} }, 0,
	"on the promoted node every client's accounts, holds, transfers ($r->{acked_transfers} "
	  . 'acknowledged), keys and deals are as acknowledged (plus at most the call in flight)')
  or diag(join("\n", @{ $r->{bad} }));
ledger_checks($standby, 'promoted node');

# the clients carry on on the promoted node
$run = drive($standby, $actors, ops => 400);
calls_as_predicted($run, 'on the promoted node: 400 more calls as predicted');
my $qs = sub { $standby->safe_psql('postgres', $_[0]) };
states_as_modelled($actors, $qs, 'state as the model says on the promoted node');
ledger_checks($standby, 'promoted node, after more calls');

# identity codes: the rolled-back attempts were counted in the old
# primary's memory only, so the promoted node voids every code issued
# before its promotion rather than give those guesses back
($rc, $out, $err) = $standby->psql('codes', "${verbose}SELECT escrow.confirm_identity(1, '$wrong{1}')");
like($err, qr/EP008.*is void/s,
	'on the promoted node, a wrong try of a code issued on the old primary: EP008 void, not a fresh guess')
  or diag("rc $rc, out '$out', err '$err'");
($rc, $out, $err) = $standby->psql('codes', "${verbose}SELECT escrow.confirm_identity(1, '$code{1}')");
like($err, qr/EP008.*is void/s, '... and the right one is void too: the buyer asks for a new code');
$code{1} = $standby->safe_psql('codes', 'SELECT escrow.issue_identity_code(1)');
is($standby->safe_psql('codes', "SELECT escrow.confirm_identity(1, '$code{1}')"), 't',
	'a code issued on the promoted node is confirmed there');
$code{2} = $standby->safe_psql('codes', 'SELECT escrow.issue_identity_code(2)');
$standby->restart;
($rc, $out, $err) = $standby->psql('codes', "${verbose}SELECT escrow.confirm_identity(2, '$code{2}')");
like($err, qr/EP008.*is void/s,
	'after a restart of the promoted node, a code issued before it is void');

# the maintenance worker runs on the promoted node
$standby->append_conf('postgresql.conf', "escrowpay.maintenance_interval = 1\n");
$standby->reload;
ok($standby->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity
	   WHERE backend_type = 'escrowpay maintenance' AND datname = 'postgres'}),
	'the maintenance worker runs on the promoted node');

diag(sprintf('010_failover: seed %d, %d calls acknowledged before the primary stopped, '
	  . '%d in flight (%d of them committed), %d retried with their key',
	$seed, $acked_calls, $in_flight, $r->{committed_in_flight}, $r->{retried}));

$standby->stop;
done_testing();
