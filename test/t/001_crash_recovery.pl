
# 001_crash_recovery.pl -- the ledger survives a crash in the middle of a
# busy run.
#
# Four background psql clients run long, randomly generated sequences of
# escrow.transfer / hold / capture / release / refund / expire_holds calls
# (some with idempotency keys) in autocommit mode against 20 accounts in two
# currencies.  Each call prints a tagged line with its result, so a printed
# line is an acknowledged commit.  After about two seconds the server is
# stopped with "immediate" (no shutdown checkpoint, backends killed), then
# restarted, and we check:
#
#   - (while the load runs) verify_ledger(), called over and over by a
#     fifth client, never reports a problem;
#   - verify_ledger() returns no rows (zero-sum journal, balances, holds,
#     refunds and hash chains all consistent after WAL replay);
#   - every transfer/capture/refund id a client printed exists, with the
#     right kind; every hold id printed exists; every hold printed as
#     released is released;
#   - posted sums to zero per currency;
#   - every idempotency key maps to one transfer: all ids printed for a key
#     (also when a client retries the key after the crash) are the same,
#     equal the stored result, and that transfer exists.
#
# The kill/restart cycle runs three times; each later cycle first retries
# some keys of the previous one, as a client would after a crash.  The SQL
# scripts are generated with a fixed seed.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

use EscrowPay::Harness qw(escrowpay_conf acknowledged_present acknowledged_call start_psql_script);

my $CLIENTS    = 4;
my $STATEMENTS = 40000;    # per client and cycle: far more than 2 s of work
my $RUN_SECS   = 2;
my $CYCLES     = 3;

my $node = PostgreSQL::Test::Cluster->new('node');
$node->init;
$node->append_conf('postgresql.conf', escrowpay_conf($node) . "max_connections = 30\n");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION escrowpay');

# 20 accounts: 12 EUR deposit accounts, 4 EUR credit lines, 4 JPY deposit
# accounts; every deposit account gets funds.
$node->safe_psql('postgres', q{
DO $$
DECLARE a bigint;
BEGIN
  FOR i IN 1..12 LOOP
    a := escrow.open_account('eur-' || i, 'EUR');
    PERFORM escrow.deposit(a, 100000);
  END LOOP;
  FOR i IN 1..4 LOOP
    PERFORM escrow.open_account('eur-credit-' || i, 'EUR', 'credit', 50000);
  END LOOP;
  FOR i IN 1..4 LOOP
    a := escrow.open_account('jpy-' || i, 'JPY');
    PERFORM escrow.deposit(a, 1000000);
  END LOOP;
END $$;
});

my %accounts;    # currency => [ids]
for my $row (split /\n/,
	$node->safe_psql('postgres',
		q{SELECT currency, id FROM escrow.accounts WHERE kind <> 'system' ORDER BY id}))
{
	my ($cur, $id) = split /\|/, $row;
	push @{ $accounts{$cur} }, $id;
}
is(scalar(@{ $accounts{EUR} }) + scalar(@{ $accounts{JPY} }), 20, '20 accounts opened');

my @all = (@{ $accounts{EUR} }, @{ $accounts{JPY} });

# One random statement.  Tags: T transfer id, K key transfer id, H hold id,
# C capture id, R hold id + amount released, F refund id, E expired count.
sub pick { return $_[ int(rand(@_)) ]; }

sub pair
{
	# mostly within one currency; sometimes across (refused with EP004)
	my $cur = rand() < 0.8 ? 'EUR' : 'JPY';
	my @acc = @{ $accounts{$cur} };
	my $a = pick(@acc);
	my $b = rand() < 0.03 ? pick(@all) : pick(@acc);
	$b = pick(@acc) while $b == $a;
	return ($a, $b);
}

sub statement
{
	my ($client, $cycle, $n, $keys) = @_;
	my $r = rand();
	my ($a, $b) = pair();
	my $amount = 1 + int(rand(2000));
	if ($r < 0.30)
	{
		return "SELECT 'T ' || escrow.transfer($a, $b, $amount);";
	}
	elsif ($r < 0.38)
	{
		my $key = "c$client-y$cycle-n$n";
		my $sql = "SELECT 'K $key ' || escrow.transfer($a, $b, $amount, '$key');";
		push @$keys, $sql;
		return $sql;
	}
	elsif ($r < 0.40 && @$keys)
	{
		# the same call with the same key again
		return pick(@$keys);
	}
	elsif ($r < 0.60)
	{
		my $expiry = rand() < 0.3 ? "'1 second'" : 'NULL';
		return "SELECT 'H ' || escrow.hold($a, $b, $amount, $expiry);";
	}
	elsif ($r < 0.75)
	{
		my $amt = rand() < 0.5 ? 'NULL' : 1 + int(rand(500));
		my $final = rand() < 0.3 ? 'true' : 'false';
		return "SELECT 'C ' || escrow.capture(h.id, $amt, NULL, $final) FROM "
		  . "(SELECT id FROM escrow.holds WHERE status = 'open' AND debit_account = $a "
		  . "ORDER BY id DESC LIMIT 1) h;";
	}
	elsif ($r < 0.83)
	{
		return "SELECT 'R ' || h.id || ' ' || escrow.release(h.id) FROM "
		  . "(SELECT id FROM escrow.holds WHERE status = 'open' AND debit_account = $a "
		  . "ORDER BY id LIMIT 1) h;";
	}
	elsif ($r < 0.97)
	{
		my $amt = rand() < 0.3 ? 'NULL' : 1 + int(rand(300));
		return "SELECT 'F ' || escrow.refund(t.id, $amt) FROM "
		  . "(SELECT id FROM escrow.transfers WHERE kind IN ('capture', 'transfer') "
		  . "AND refunded < amount AND credit_account = $a ORDER BY id DESC LIMIT 1) t;";
	}
	else
	{
		return "SELECT 'E ' || escrow.expire_holds(20);";
	}
}

my $tmp = PostgreSQL::Test::Utils::tempdir;

# What clients were told, over all cycles.
my (%transfer_kind, %hold_ids, %released_holds, %key_id);
my $key_mismatch = 0;
my @retry;    # per client: key statements to retry in the next cycle

for my $cycle (1 .. $CYCLES)
{
	my @handles;
	for my $client (1 .. $CLIENTS)
	{
		srand(1000 * $cycle + $client);
		my @keys;
		my @lines = @{ $retry[$client] // [] };
		push @lines, statement($client, $cycle, $_, \@keys) for 1 .. $STATEMENTS;
		my $script = "$tmp/c$client-y$cycle.sql";
		open my $fh, '>', $script or die "$script: $!";
		print $fh "$_\n" for @lines;
		close $fh;
		# retry in the next cycle, as a client would after the crash: some
		# keys from early in this script (likely acknowledged) and some from
		# further on (likely never run, or in flight at the crash)
		$retry[$client] = [ grep { defined } @keys[ 0 .. 9 ], @keys[ 2000 .. 2029 ] ];

		my $out = "$tmp/c$client-y$cycle.out";
		my $err = "$tmp/c$client-y$cycle.err";
		push @handles,
		  {
			out => $out,
			err => $err,
			h   => start_psql_script($node->connstr('postgres'), $script, $out, $err)
		  };
	}

	# an auditor runs verify_ledger() over and over while the clients work:
	# it reads one snapshot, so it must never see a half-posted transfer
	my $vscript = "$tmp/verify-y$cycle.sql";
	open my $vfh, '>', $vscript or die "$vscript: $!";
	print $vfh "SELECT 'W ' || count(*) FROM escrow.verify_ledger();\n" for 1 .. 10000;
	close $vfh;
	my $vout = "$tmp/verify-y$cycle.out";
	my $vh = start_psql_script($node->connstr('postgres'), $vscript, $vout,
		"$tmp/verify-y$cycle.err");

	sleep($RUN_SECS);
	$node->stop('immediate');
	$vh->finish;
	my @verified = split /\n/, slurp_file($vout);
	my @unclean = grep { $_ ne 'W 0' } @verified;
	ok(@verified > 0 && !@unclean,
		"cycle $cycle: verify_ledger() ran " . scalar(@verified) . " times during the load, always clean")
	  or diag("verify_ledger under load: @unclean[0 .. ($#unclean < 9 ? $#unclean : 9)]");

	my ($cut_off, $acked, $unexpected) = (0, 0, 0);
	for my $c (@handles)
	{
		$c->{h}->finish;    # psql exits once its connection is gone
		my $err = slurp_file($c->{err});
		$cut_off++ if $err =~ /connection to server was lost|server closed the connection/;
		for my $line (split /\n/, slurp_file($c->{out}))
		{
			$acked++;
			next if acknowledged_call($line, \%transfer_kind, \%hold_ids, \%released_holds);
			if ($line =~ /^K (\S+) (\d+)$/)
			{
				$transfer_kind{$2} = 'transfer';
				if (exists $key_id{$1} && $key_id{$1} != $2)
				{
					diag("key $1 returned $key_id{$1} and later $2");
					$key_mismatch++;
				}
				$key_id{$1} = $2;
			}
			elsif ($line =~ /^E \d+$/) { }
			else { $acked--; $unexpected++; diag("unexpected client output: $line"); }
		}
	}
	is($cut_off, $CLIENTS, "cycle $cycle: all $CLIENTS clients were cut off mid-run");
	cmp_ok($acked, '>', 100, "cycle $cycle: clients acknowledged $acked calls before the crash");
	is($unexpected, 0, "cycle $cycle: no unexpected client output");

	$node->start;

	my $problems = $node->safe_psql('postgres', 'SELECT * FROM escrow.verify_ledger()');
	is($problems, '', "cycle $cycle: verify_ledger() finds no problem after recovery");

	is($node->safe_psql('postgres',
			q{SELECT string_agg(currency || ' ' || s, ', ') FROM
			  (SELECT currency, sum(posted) s FROM escrow.balances GROUP BY currency
			   HAVING sum(posted) <> 0) x}),
		'', "cycle $cycle: posted sums to zero per currency");

	# every acknowledged transfer exists with the kind the client saw
	acknowledged_present($node, "cycle $cycle", \%transfer_kind, \%hold_ids, \%released_holds);

	# idempotency keys: one transfer per key, the one every client saw
	is($key_mismatch, 0, "cycle $cycle: every key always returned the same transfer id");
	my %stored = map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres',
		q{SELECT key, result FROM escrow.idempotency_keys WHERE key LIKE 'c%-y%-n%'});
	my @bad_keys = grep { ($stored{$_} // -1) != $key_id{$_} } sort keys %key_id;
	is(scalar(@bad_keys), 0,
		"cycle $cycle: all " . scalar(keys %key_id) . " acknowledged keys are stored with the id returned")
	  or diag('bad keys: ' . join(' ', @bad_keys[0 .. ($#bad_keys < 20 ? $#bad_keys : 19)]));
	is($node->safe_psql('postgres',
			q{SELECT count(*) FROM escrow.idempotency_keys k
			   WHERE NOT EXISTS (SELECT 1 FROM escrow.transfers t
			                      WHERE t.id = k.result AND t.kind = 'transfer')}),
		'0', "cycle $cycle: every stored key points at its committed transfer");
}

# after the last recovery the ledger still takes new work
my ($x, $y) = @{ $accounts{EUR} }[ 0, 1 ];
like($node->safe_psql('postgres', "SELECT escrow.transfer($x, $y, 1)"),
	qr/^\d+$/, 'a new transfer works after the last recovery');
is($node->safe_psql('postgres', 'SELECT count(*) FROM escrow.verify_ledger()'),
	'0', 'and the ledger is still consistent');

$node->stop;
done_testing();
