# 014_monitoring_queries.pl -- docs/monitoring/queries.yaml, the
# postgres_exporter queries file, works against escrow.metrics.
#
# Each query of the file runs, as a login granted only USAGE on schema
# escrow, SELECT on escrow.metrics and EXECUTE on escrow.deal_transitions()
# (the exporter login of docs/monitoring.md), on a database with holds, deals and a worker that
# has run; its columns are exactly the ones the file declares (LABEL and
# GAUGE / COUNTER), every value column is a number, and every metric name
# the view produces is exported by some query (<query>_<column>), so the
# file and the view cannot drift apart.  The file is read with a small
# parser of the subset of YAML it uses.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use EscrowPay::Harness qw(escrowpay_conf);

my $file = "$FindBin::RealBin/../../docs/monitoring/queries.yaml";
open my $fh, '<', $file or die "cannot read $file: $!";
my (%queries, @order, $name, $in_query);
while (my $line = <$fh>)
{
	next if $line =~ /^\s*#/ || $line =~ /^\s*$/;
	if ($line =~ /^(\w+):\s*$/) { $name = $1; push @order, $name; $in_query = 0; next; }
	if ($line =~ /^  query: \|\s*$/) { $in_query = 1; next; }
	if ($line =~ /^  metrics:\s*$/) { $in_query = 0; next; }
	if ($in_query && $line =~ /^    (.*)$/) { $queries{$name}{sql} .= "$1\n"; next; }
	if ($line =~ /^    - (\w+):\s*$/) { push @{ $queries{$name}{columns} }, [$1]; next; }
	if ($line =~ /^        usage: "(\w+)"\s*$/) { push @{ $queries{$name}{columns}[-1] }, $1; next; }
}
close $fh;
ok(scalar(@order) >= 5, scalar(@order) . ' queries read from queries.yaml');

my $node = PostgreSQL::Test::Cluster->new('monitoring');
$node->init;
$node->append_conf('postgresql.conf', escrowpay_conf($node) . q{
escrowpay.maintenance_interval = 1
escrowpay.maintenance_database = 'postgres'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION escrowpay;
SELECT escrow.open_account('buyer', 'EUR'), escrow.open_account('shop', 'EUR');
SELECT escrow.deposit(1 + 1, 10000);
SELECT escrow.hold(2, 3, 100, '30 minutes'), escrow.hold(2, 3, 200);
SELECT escrow.register_member('B1', 'Buyer', 'b@example.org', 2);
SELECT escrow.register_merchant('M1', 'Shop', 'm@example.org', 3);
SELECT escrow.open_deal('B1', 'M1', 300);
CREATE ROLE escrow_exporter LOGIN;
GRANT USAGE ON SCHEMA escrow TO escrow_exporter;
GRANT SELECT ON escrow.metrics TO escrow_exporter;
GRANT EXECUTE ON FUNCTION escrow.deal_transitions() TO escrow_exporter;
});
ok( $node->poll_query_until(
		'postgres', 'SELECT count(*) >= 3 FROM escrow.maintenance_runs WHERE last_success IS NOT NULL'),
	'the worker has run its tasks');

my %exported;
for my $q (@order)
{
	my $sql = $queries{$q}{sql} // '';
	my @cols = @{ $queries{$q}{columns} // [] };
	ok(@cols && !grep({ @$_ != 2 || $_->[1] !~ /^(LABEL|GAUGE|COUNTER)$/ } @cols),
		"$q: every column has a usage of LABEL, GAUGE or COUNTER");
	my ($rc, $out, $err) = $node->psql('postgres',
		"\\pset footer off\n\\pset tuples_only off\n\\pset format unaligned\n$sql",
		extra_params => [ '-U', 'escrow_exporter' ]);
	is($rc, 0, "$q runs as the exporter login") or diag($err);
	my ($header, @rows) = split /\n/, $out;
	is($header // '', join('|', map { $_->[0] } @cols), "$q returns the columns the file declares");
	# nothing is overdue here: that query alone may return no row
	# nothing is overdue here, and no checkpoint key is set: those may
	# return no row
	ok(@rows > 0 || $q =~ /^escrowpay_(receivables_overdue|checkpoint)$/, "$q returns rows");
	my @value_idx = grep { $cols[$_][1] ne 'LABEL' } 0 .. $#cols;
	my @bad = grep {
		my @f = split /\|/, $_, -1;
		grep { $f[$_] !~ /^-?\d+(\.\d+)?$/ } @value_idx
	} @rows;
	is(join("\n", @bad), '', "$q: every value is a number");
	$exported{"${q}_$_->[0]"} = 1 for grep { $_->[1] ne 'LABEL' } @cols;
}

# the metrics that have no row here are named by the view's definition
my @unexported = grep { !$exported{$_} } split /\n/,
  $node->safe_psql('postgres', q{SELECT DISTINCT m[1] FROM pg_catalog.regexp_matches(
	pg_catalog.pg_get_viewdef('escrow.metrics'::regclass), '''(escrowpay_\w+)''', 'g') m ORDER BY 1});
is(join(', ', @unexported), '', 'every metric of escrow.metrics is exported by queries.yaml');

$node->stop;
done_testing();
