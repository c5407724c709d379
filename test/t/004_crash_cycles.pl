
# 004_crash_cycles.pl -- crash the server again and again under the model
# load of 003_model.pl; every acknowledged call survives, nothing else
# appears, and the data files stay sound.
#
# Each cycle runs the model clients (all money calls and the deal
# lifecycle, with adversarial arguments) for a few seconds, then stops the
# server with "immediate" (backends killed, no shutdown checkpoint) while
# every client has a call in flight, restarts it (WAL replay) and checks:
#
#   - verify_ledger() is empty, each currency sums to zero, every transfer
#     has its two entries;
#   - pg_amcheck --heapallindexed --parent-check --rootdescend finds no
#     corruption in any table or index of schema escrow;
#   - per client, the database is exactly the model's state after the
#     calls the client saw acknowledged -- or that state plus the one call
#     that was in flight (it may or may not have committed, nothing in
#     between): every acknowledged transfer, hold, key, deal step is
#     there, nothing else is;
#   - clients then retry their in-flight calls that had an idempotency
#     key: a committed one replays its first result, a lost one runs again.
#
# Cycles alternate between crashing right after a CHECKPOINT and well
# after one, so WAL replay starts from different places.
#
# Settings: ESCROWPAY_SEED, ESCROWPAY_CRASH_CYCLES (5), ESCROWPAY_CRASH_SECS
# (seconds of load per cycle, 2), ESCROWPAY_MODEL_CLIENTS; ESCROWPAY_SOAK=1
# for the long run.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use EscrowPay::Harness qw(setting new_node model_world drive calls_as_predicted states_as_modelled ledger_checks after_outage);
use EscrowPay::Model;

my $seed    = EscrowPay::Harness::seed();
my $cycles  = setting('CRASH_CYCLES', 5, 50);
my $secs    = setting('CRASH_SECS', 2, 6);
my $clients = setting('MODEL_CLIENTS', 4, 6);
diag("004_crash_cycles: ESCROWPAY_SEED=$seed ESCROWPAY_CRASH_CYCLES=$cycles "
	  . "ESCROWPAY_CRASH_SECS=$secs ESCROWPAY_MODEL_CLIENTS=$clients");

my $node = new_node('crash', conf => [ 'checkpoint_timeout = 30s', 'max_wal_size = 64MB' ]);
my $q = sub { $node->safe_psql('postgres', $_[0]) };
my ($world, $actors) = model_world($node, $clients, $seed);

my ($total_calls, $in_flight, $committed_in_flight, $retried) = (0, 0, 0, 0);
for my $cycle (1 .. $cycles)
{
	$q->('CHECKPOINT') if $cycle % 2;
	# SIGQUIT to the postmaster is an immediate shutdown: backends are
	# killed at once, in the middle of whatever they are doing
	my $run = drive($node, $actors, seconds => $secs,
		crash => sub { kill 'QUIT', $node->{_pid}; });
	$node->stop('immediate', fail_ok => 1);    # waits for it, updates the node
	$total_calls += $run->{calls} // 0;
	calls_as_predicted($run, "cycle $cycle: $run->{calls} calls before the crash, each as the model predicted");
	my @lost = grep { $_->{lost} } @$actors;
	$in_flight += @lost;

	$node->start;
	ledger_checks($node, "cycle $cycle");

	my $r = after_outage($node, $actors);
	my @bad = @{ $r->{bad} };
	my $acked_transfers = $r->{acked_transfers};
	$committed_in_flight += $r->{committed_in_flight};
	$retried += $r->{retried};
	is(scalar @bad, 0,
		"cycle $cycle: every client's accounts, holds, transfers ($acked_transfers acknowledged), "
		  . 'keys and deals are as acknowledged (plus at most the call in flight)')
	  or diag(join("\n", @bad));
}

# after the last recovery the ledger takes new work, as predicted
my $run = drive($node, $actors, ops => 500);
calls_as_predicted($run, 'after the last recovery: 500 more calls as predicted');
states_as_modelled($actors, $q, 'state as the model says after the last run');
ledger_checks($node, 'at the end');

diag(sprintf('004_crash_cycles: seed %d, %d crashes survived, %d calls acknowledged, '
	  . '%d calls in flight at a crash (%d of them committed), %d retried with their key',
	$seed, $cycles, $total_calls, $in_flight, $committed_in_flight, $retried));

$node->stop;
done_testing();
