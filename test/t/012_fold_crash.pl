
# 012_fold_crash.pl -- folding interrupted by a crash loses and creates
# nothing.
#
# Credits and a system account's debits wait in escrow.unfolded until they
# are folded into the hash-chained entries (ledger.c).  This test:
#
#   1. posts 3,000 transfers between 40 accounts (their legs waiting), then
#      folds them in an open transaction and stops the server with
#      "immediate" before it commits: after WAL replay every leg is still
#      waiting, every balance is what it was, verify_ledger() finds
#      nothing, and a fold then completes;
#   2. turns the maintenance worker on (it folds every second) while four
#      clients post transfers, and stops the server with "immediate" in the
#      middle of both, three times: after each restart verify_ledger()
#      finds nothing, the balances of each currency sum to zero, and every
#      transfer a client was told about exists with its two legs;
#   3. lets the worker fold everything: nothing is left waiting, every
#      balance is unchanged by folding, the hash chains verify.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(sleep);

use EscrowPay::Harness qw(new_node);

my $node = new_node('fold', conf => [ "escrowpay.maintenance_database = 'postgres'" ]);
my $q = sub { $node->safe_psql('postgres', $_[0]) };

$q->(q{
DO $$
BEGIN
  FOR i IN 1..40 LOOP
    PERFORM escrow.deposit(escrow.open_account('fc-' || i, 'EUR'), 1000000);
  END LOOP;
END $$;
SELECT escrow.fold_journal();
SELECT count(escrow.transfer(a, b, 1 + (i % 97)))
  FROM (SELECT i, 2 + (i * 7) % 40 AS a, 2 + (i * 13 + 5) % 40 AS b
          FROM generate_series(1, 3000) i) x
 WHERE a <> b;
});

my $balances_sql = q{SELECT string_agg(account || ':' || posted, ',' ORDER BY account) FROM escrow.balances};
my $checks = sub {
	my ($label) = @_;
	is($q->('SELECT problem || \': \' || detail FROM escrow.verify_ledger()'), '',
		"$label: verify_ledger() finds no problem");
	is($q->(q{SELECT count(*) FROM (SELECT currency FROM escrow.balances GROUP BY currency
	                                 HAVING sum(posted) <> 0) c}),
		'0', "$label: the balances of every currency sum to zero");
	is($q->(q{SELECT count(*) FROM escrow.transfers t
	           LEFT JOIN (SELECT transfer_id, count(*) AS n
	                        FROM (SELECT transfer_id FROM escrow.entries
	                              UNION ALL SELECT transfer_id FROM escrow.unfolded) x
	                       GROUP BY transfer_id) l ON l.transfer_id = t.id
	           WHERE coalesce(l.n, 0) <> 2}),
		'0', "$label: every transfer has its two legs, folded or not");
};

# ---- 1. a fold that never commits
my $before = $q->($balances_sql);
my $waiting = $q->('SELECT count(*) FROM escrow.unfolded');
my $entries = $q->('SELECT count(*) FROM escrow.entries');
ok($waiting > 5000, "legs waiting before the fold ($waiting)");

my ($in, $out, $err) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
$in .= "BEGIN;\nSELECT 'folded ' || escrow.fold_journal(100000);\n";
my $deadline = time + 120;
$h->pump until $out =~ /folded (\d+)/ || time > $deadline;
my ($folded) = $out =~ /folded (\d+)/;
is($folded, $waiting, 'the open transaction folded every waiting leg');
$node->stop('immediate');
$h->kill_kill;
$node->start;
is($q->('SELECT count(*) FROM escrow.unfolded'), $waiting,
	'after the crash every leg is still waiting');
is($q->('SELECT count(*) FROM escrow.entries'), $entries, 'and no entry was added');
is($q->($balances_sql), $before, 'every balance is what it was');
$checks->('after a fold cut off by a crash');
is($q->('SELECT escrow.fold_journal(100000)'), $waiting, 'a fold then folds every leg');
is($q->('SELECT count(*) FROM escrow.unfolded'), '0', 'and nothing is left waiting');
is($q->($balances_sql), $before, 'folding moved no balance');
$checks->('after folding');

# ---- 2. the worker folding while clients post, crashed three times
$q->('ALTER SYSTEM SET escrowpay.maintenance_interval = 1');
$q->('SELECT pg_reload_conf()');
my $tmp = PostgreSQL::Test::Utils::tempdir;
my @told;
for my $cycle (1 .. 3)
{
	my @handles;
	for my $client (1 .. 4)
	{
		my $script = "$tmp/c$client-y$cycle.sql";
		open my $fh, '>', $script or die "$script: $!";
		for my $i (1 .. 20000)
		{
			my $a = 2 + ($i * $client * 7 + $cycle) % 40;
			my $b = 2 + ($i * 11 + $client) % 40;
			next if $a == $b;
			print $fh "SELECT 'T ' || escrow.transfer($a, $b, " . (1 + $i % 50) . ");\n";
		}
		close $fh;
		my $outf = "$tmp/c$client-y$cycle.out";
		push @handles, { out => $outf, h => IPC::Run::start(
			[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0', '-d', $node->connstr('postgres'),
			  '-f', $script ], '<', \undef, '>', $outf, '2>', "$tmp/c$client-y$cycle.err") };
	}
	sleep(2.5);
	$node->stop('immediate');
	for my $c (@handles)
	{
		$c->{h}->finish;
		push @told, map { /^T (\d+)$/ ? $1 : () } split /\n/, slurp_file($c->{out});
	}
	$node->start;
	$checks->("crash $cycle with the worker folding");
	my $missing = $q->('SELECT count(*) FROM unnest(\'{' . join(',', @told)
		  . '}\'::bigint[]) t(id) WHERE NOT EXISTS (SELECT 1 FROM escrow.transfers x WHERE x.id = t.id)');
	is($missing, '0', "crash $cycle: every transfer a client was told about exists (" . scalar(@told) . ')');
}

# ---- 3. the worker folds everything
$before = $q->($balances_sql);
my $left;
for (1 .. 120)
{
	$left = $q->('SELECT count(*) FROM escrow.unfolded');
	last if $left == 0;
	sleep(0.5);
}
is($left, '0', 'the worker folded every waiting leg');
is($q->($balances_sql), $before, 'folding moved no balance');
is($q->(q{SELECT count(*) FROM escrow.accounts a
           WHERE (SELECT coalesce(max(seq), 0) FROM escrow.entries e WHERE e.account = a.id)
              <> (SELECT count(*) FROM escrow.entries e WHERE e.account = a.id)}),
	'0', 'every account\'s chain is numbered 1..n without a gap');
$checks->('after the worker folded everything');

$node->stop;
done_testing();
