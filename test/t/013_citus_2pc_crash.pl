
# 013_citus_2pc_crash.pl -- on a Citus cluster, a worker killed in the
# middle of two-phase commits leaves nothing half done.
#
# A coordinator and two workers (docs/scale-out.md), escrowpay distributed.
# Sixteen accounts, eight on each worker.  Four psql clients on the
# coordinator make cross-node calls in autocommit mode: every call moves
# money between an account on one worker and an account on the other, so
# each commits with Citus's two-phase commit (PREPARE TRANSACTION on both
# workers, the decision on the coordinator, COMMIT PREPARED).  The calls:
# transfer, hold (left open), hold and capture, hold and release, transfer
# and refund.  Each prints a tagged line with its result, so a printed line
# is an acknowledged commit.
#
# Each cycle catches the cluster inside a two-phase commit: the clients'
# coordinator backends are paused (SIGSTOP) until worker1 shows a prepared
# transaction that is not finished yet; then worker1 is stopped in
# "immediate" mode (its backends are killed, no shutdown checkpoint), the
# coordinator backends resume and find worker1 gone, the clients are cut
# off, worker1 is restarted with the prepared transactions still in doubt,
# and Citus recovers them: in the first cycle by recover_prepared_transactions()
# called on the coordinator, in the second by its maintenance daemon
# (citus.recover_2pc_interval).  Then:
#
#   - no prepared transaction is left on any node;
#   - every transfer has both legs in the journal (entries or unfolded),
#     on the workers of its two accounts;
#   - verify_ledger() finds no problem;
#   - the balances sum to zero per currency, and the sixteen accounts still
#     hold what was deposited (money moved, none created or lost);
#   - every acknowledged transfer, capture and refund exists with its kind,
#     every acknowledged hold exists, every acknowledged release persists.
#
# Skipped when Citus is not installed for the PostgreSQL on PATH
# (scripts/deps.sh installs ../shared/citus when present).

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

use EscrowPay::Harness qw(escrowpay_conf acknowledged_present acknowledged_call start_psql_script);

my $sharedir = `pg_config --sharedir`;
my $libdir   = `pg_config --pkglibdir`;
chomp($sharedir, $libdir);
plan skip_all => "Citus is not installed for this PostgreSQL ($sharedir/extension/citus.control missing)"
  unless -f "$sharedir/extension/citus.control" && -f "$libdir/citus.so";

my $CLIENTS    = 4;
my $STATEMENTS = 20000;    # per client and cycle: far more than the run
my $RUN_SECS   = 2;        # of load before the first attempt to catch a commit
my $CYCLES     = 2;

# the nodes: coordinator first
my @nodes;
for my $name (qw(coordinator worker1 worker2))
{
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', escrowpay_conf($node) . join("\n",
		"shared_preload_libraries = 'citus,escrowpay'",    # citus first
		"max_prepared_transactions = 100",
		"listen_addresses = 'localhost'",    # the nodes connect over TCP
		"max_connections = 60",
		"log_statement = none",
		"log_min_messages = warning",
		"citus.recover_2pc_interval = -1",    # recovery when the test says
		"") );
	$node->start;
	push @nodes, $node;
}
my ($coord, $worker1, $worker2) = @nodes;
$_->safe_psql('postgres', 'CREATE EXTENSION citus') for @nodes;
$coord->safe_psql('postgres',
	"SELECT citus_set_coordinator_host('localhost', " . $coord->port . ")");
$coord->safe_psql('postgres', "SELECT citus_add_node('localhost', " . $_->port . ")")
  for ($worker1, $worker2);
$coord->safe_psql('postgres', 'CREATE EXTENSION escrowpay');
$coord->safe_psql('postgres', 'SELECT count(*) FROM escrow.distribute()');
is($coord->safe_psql('postgres',
		q{SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'escrow.accounts'::regclass}),
	'1', 'escrowpay is distributed over a coordinator and two workers');

# sixteen funded accounts, eight on each worker
my $DEPOSIT = 1_000_000;
my %on = (map { $_->port => [] } $worker1, $worker2);
for (my $i = 1; @{ $on{ $worker1->port } } < 8 || @{ $on{ $worker2->port } } < 8; $i++)
{
	my ($id, $port) = split /\|/, $coord->safe_psql('postgres', qq{
		SELECT a, p.nodeport
		  FROM escrow.open_account('acct-$i', 'EUR') a,
		       pg_dist_shard_placement p
		 WHERE p.shardid = get_shard_id_for_distribution_column('escrow.accounts', a)});
	if (@{ $on{$port} } < 8)
	{
		push @{ $on{$port} }, $id;
		$coord->safe_psql('postgres', "SELECT escrow.deposit($id, $DEPOSIT)");
	}
}
my @w1 = @{ $on{ $worker1->port } };
my @w2 = @{ $on{ $worker2->port } };
my $ids = join(',', @w1, @w2);
is(scalar(@w1) + scalar(@w2), 16, 'sixteen funded accounts, eight on each worker');

# the checks that follow every recovery (and hold before the load)
sub ledger_state
{
	my ($what) = @_;
	is($coord->safe_psql('postgres', 'SELECT * FROM escrow.verify_ledger()'),
		'', "$what: verify_ledger() finds no problem");
	is($coord->safe_psql('postgres',
			q{SELECT string_agg(currency || ' ' || s, ', ') FROM
			  (SELECT currency, sum(posted) s FROM escrow.balances GROUP BY currency
			   HAVING sum(posted) <> 0) x}),
		'', "$what: the balances sum to zero per currency");
	is($coord->safe_psql('postgres',
			"SELECT sum(posted) FROM escrow.balances WHERE account IN ($ids)"),
		16 * $DEPOSIT, "$what: the sixteen accounts hold what was deposited");

	# both legs of every transfer, each on its account's shard
	my %legs;
	for my $row (split /\n/, $coord->safe_psql('postgres', q{
		SELECT transfer_id, account FROM escrow.entries
		UNION ALL SELECT transfer_id, account FROM escrow.unfolded}))
	{
		my ($t, $a) = split /\|/, $row;
		push @{ $legs{$t} }, $a;
	}
	my @half;
	for my $row (split /\n/, $coord->safe_psql('postgres',
		'SELECT id, debit_account, credit_account FROM escrow.transfers ORDER BY id'))
	{
		my ($t, $d, $c) = split /\|/, $row;
		my $got = join(',', sort { $a <=> $b } @{ delete $legs{$t} // [] });
		push @half, "$t ($got)" if $got ne join(',', sort { $a <=> $b } $d, $c);
	}
	push @half, map { "leg of missing transfer $_" } sort keys %legs;
	is(scalar(@half), 0, "$what: every transfer has both legs, and every leg its transfer")
	  or diag('half done: ' . join(' ', @half[ 0 .. ($#half < 20 ? $#half : 19) ]));
}
ledger_state('before the load');

# One random cross-node call: an account on each worker, in random order.
sub pick { return $_[ int(rand(@_)) ]; }

sub statement
{
	my ($a, $b) = (pick(@w1), pick(@w2));
	($a, $b) = ($b, $a) if rand() < 0.5;
	my $amount = 1 + int(rand(500));
	my $r = rand();
	return "SELECT 'T ' || escrow.transfer($a, $b, $amount);" if $r < 0.35;
	return "SELECT 'H ' || escrow.hold($a, $b, $amount);" if $r < 0.50;
	return "SELECT 'C ' || escrow.capture(escrow.hold($a, $b, $amount));" if $r < 0.75;
	return "SELECT 'R ' || h || ' ' || escrow.release(h) FROM escrow.hold($a, $b, $amount) h;"
	  if $r < 0.85;
	return "SELECT 'F ' || escrow.refund(escrow.transfer($a, $b, $amount), 1);";
}

my $tmp = PostgreSQL::Test::Utils::tempdir;

# what clients were told, over all cycles
my (%transfer_kind, %hold_ids, %released_holds);

# the coordinator backends of the clients
sub client_pids
{
	return split /\n/, $coord->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'escrow-load-%'});
}

# prepared transactions of a node, one gid a line
sub prepared
{
	my ($node) = @_;
	return $node->safe_psql('postgres', 'SELECT gid FROM pg_prepared_xacts ORDER BY gid');
}

for my $cycle (1 .. $CYCLES)
{
	my @handles;
	for my $client (1 .. $CLIENTS)
	{
		srand(1000 * $cycle + $client);
		my $script = "$tmp/c$client-y$cycle.sql";
		open my $fh, '>', $script or die "$script: $!";
		print $fh statement() . "\n" for 1 .. $STATEMENTS;
		close $fh;
		my $out = "$tmp/c$client-y$cycle.out";
		my $err = "$tmp/c$client-y$cycle.err";
		push @handles,
		  {
			out => $out,
			err => $err,
			h   => start_psql_script(
				$coord->connstr('postgres') . " application_name=escrow-load-$client",
				$script, $out, $err)
		  };
	}
	sleep($RUN_SECS);

	# catch a two-phase commit in flight: pause the clients' coordinator
	# backends, look at worker1's prepared transactions; go on and try
	# again a moment later if there is none
	my @pids = client_pids();
	is(scalar(@pids), $CLIENTS, "cycle $cycle: $CLIENTS clients connected to the coordinator");
	my ($caught, $tries) = ('', 0);
	while ($tries++ < 300)
	{
		kill 'STOP', @pids;
		$caught = prepared($worker1);
		last if $caught ne '';
		kill 'CONT', @pids;
		sleep(0.005 + rand(0.03));
	}
	isnt($caught, '', "cycle $cycle: caught worker1 with a prepared transaction ($tries tries)");

	# kill worker1 in the middle of it, let the coordinator find it gone
	$worker1->stop('immediate');
	kill 'CONT', @pids;
	sleep(1);
	$coord->safe_psql('postgres',
		q{SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		   WHERE application_name LIKE 'escrow-load-%'});

	my ($acked, $unexpected) = (0, 0);
	for my $c (@handles)
	{
		$c->{h}->finish;
		for my $line (split /\n/, slurp_file($c->{out}))
		{
			$acked++;
			next if acknowledged_call($line, \%transfer_kind, \%hold_ids, \%released_holds);
			$acked--;
			$unexpected++;
			diag("unexpected client output: $line");
		}
	}
	cmp_ok($acked, '>', 10, "cycle $cycle: clients acknowledged $acked calls before the crash");
	is($unexpected, 0, "cycle $cycle: no unexpected client output");

	# worker1 comes back with the prepared transactions it had
	$worker1->start;
	my @in_doubt = split /\n/, prepared($worker1);
	my %still = map { $_ => 1 } @in_doubt;
	my $decided = $coord->safe_psql('postgres',
		"SELECT count(*) FROM pg_dist_transaction WHERE gid = ANY ('{" . join(',', @in_doubt) . "}')");
	note("cycle $cycle: in doubt on worker1: @in_doubt; the coordinator had committed $decided of them");
	is(scalar(grep { $still{$_} } split /\n/, $caught), scalar(split /\n/, $caught),
		"cycle $cycle: the caught prepared transactions are in doubt on worker1 after its restart ("
		  . scalar(@in_doubt) . ')');

	if ($cycle == 1)
	{
		my $recovered = $coord->safe_psql('postgres', 'SELECT recover_prepared_transactions()');
		cmp_ok($recovered, '>=', scalar(@in_doubt),
			"cycle $cycle: recover_prepared_transactions() on the coordinator finished $recovered");
	}
	else
	{
		# Citus's maintenance daemon does it by itself
		$coord->safe_psql('postgres', q{ALTER SYSTEM SET citus.recover_2pc_interval = '1s'});
		$coord->reload;
		ok($worker1->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_prepared_xacts')
			  && $worker2->poll_query_until('postgres', 'SELECT count(*) = 0 FROM pg_prepared_xacts'),
			"cycle $cycle: Citus's maintenance daemon finished them");
		$coord->safe_psql('postgres', 'ALTER SYSTEM RESET citus.recover_2pc_interval');
		$coord->reload;
	}
	is(join('', map { prepared($_) } @nodes), '',
		"cycle $cycle: no prepared transaction left on any node");

	ledger_state("cycle $cycle");

	# every acknowledged call is there
	acknowledged_present($coord, "cycle $cycle", \%transfer_kind, \%hold_ids, \%released_holds);
}

# after the last recovery the cluster still takes cross-node work
like($coord->safe_psql('postgres', "SELECT escrow.transfer($w1[0], $w2[0], 1)"),
	qr/^\d+$/, 'a new cross-node transfer works after the last recovery');
is($coord->safe_psql('postgres', 'SELECT count(*) FROM escrow.verify_ledger()'),
	'0', 'and the ledger is still consistent');

$_->stop for @nodes;
done_testing();
