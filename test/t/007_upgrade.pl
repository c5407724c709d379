
# 007_upgrade.pl -- a database of every released version upgrades, money
# and all, to the version being built, and ends exactly like a fresh
# install of it.
#
# The test walks the whole chain from the oldest frozen release to the
# control file's default_version, along PostgreSQL's own update path:
#
#   - the oldest release's database is test/t/upgrade/<oldest>-dump.sql, a
#     pg_dump of a database that release's own library made from
#     test/t/upgrade/<oldest>-activity.sql (money, holds in every status,
#     refunds, batches, keys, deals in every stage, credit-finance and
#     agency deals with loans and invoices, deals paid from several
#     accounts, a cash terminal, a settlement batch, a party login role);
#     its clock is moved to now so deadlines ahead stay ahead;
#   - at each version, test/t/upgrade/<version>-calls.sql calls every
#     function the version declares through that declaration, with the
#     library being built: the state between installing a new package and
#     ALTER EXTENSION UPDATE.  Each call must work (rolled back) or refuse
#     cleanly -- SQLSTATE 55000 with a hint to run ALTER EXTENSION
#     escrowpay UPDATE -- and no backend may crash.  (CREATE EXTENSION of
#     the oldest release in a database of its own checks the library has
#     every C function it declares);
#   - records balances, every row of every table, and keyed calls to
#     replay, then runs ALTER EXTENSION escrowpay UPDATE TO the next one;
#   - checks: verify_ledger() is empty, escrow.balances unchanged, every
#     old row is still there with its old values (the changes the
#     migration makes on purpose are listed in %MIGRATED below), old
#     idempotency keys replay their first result, and the schema equals a
#     fresh install of that version in a database of its own: a normalised
#     pg_dump --schema-only of schema escrow (tables, columns, constraints,
#     indexes, functions with SECURITY DEFINER, search_path, volatility and
#     strictness, views, triggers, policies, comments, grants), plus the
#     extension's member objects, its dumped configuration tables, its
#     initial privileges, and the escrow roles with their memberships.
#
# At the last version, test/t/upgrade/<default>-calls.sql (when there is
# one) calls every function again, now through the new declarations on
# the upgraded data (old deals carry on), and each call must work.  Then
# new activity: model clients of Model.pm set up their world with the new
# API beside the upgraded data and run with every result predicted; the
# ledger checks of the harness close.
#
# Column order is not compared: ALTER TABLE ADD COLUMN appends, a fresh
# install puts a column where src/sql says, and nothing in escrowpay reads
# columns by position (docs/operations.md, "Upgrading").

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use EscrowPay::Harness qw(setting new_node model_world drive calls_as_predicted states_as_modelled ledger_checks server_crashes);
use EscrowPay::Model;

my $seed = EscrowPay::Harness::seed();
my $ops  = setting('UPGRADE_OPS', 1500, 15000);
diag("007_upgrade: ESCROWPAY_SEED=$seed ESCROWPAY_UPGRADE_OPS=$ops");

# What a migration changes on purpose in existing rows, per step: table =>
# a WHERE clause over the old rows (old columns) picking those the step
# may change.  The others must be there exactly as they were, and no row
# may appear or vanish.
my %MIGRATED = ('0.1.0--0.2.0' => {
	# agency deals completed with their invoice open wait as invoiced;
	# deals left waiting without a deadline get one (src/upgrade/0.1.0--0.2.0.sql)
	deals => "(settlement = 'agency' AND stage = 'completed' AND EXISTS "
	  . "(SELECT 1 FROM upgrade_snap.receivables r WHERE r.deal = deals.id "
	  . "AND r.kind = 'invoice' AND r.status = 'open')) OR "
	  . "(deadline IS NULL AND (stage IN ('shipped', 'returned') OR stage = 'delivered'))",
	# folding replaces balance shards: shard rows go, their money moves to
	# their accounts' rows, their entries wait as their accounts' legs
	# (escrow.balances, compared below, shows every balance unchanged)
	accounts => "kind = 'shard' OR shards > 0",
	entries => "account IN (SELECT id FROM upgrade_snap.accounts WHERE kind = 'shard')",
});

# Tables a step replaces: old table => a query over the new schema giving
# (at least) the old table's rows.
my %REPLACED = ('0.1.0--0.2.0' => {
	# a deal's transfers are owned by it, invoice payments sent back by the invoice
	deal_transfers => 'SELECT o.transfer_id, coalesce(o.deal, r.deal) AS deal '
	  . 'FROM escrow.transfer_owners o LEFT JOIN escrow.receivables r ON r.id = o.receivable '
	  . 'WHERE o.deal IS NOT NULL OR o.receivable IS NOT NULL',
	# the shards and parent columns went with balance shards
	# and the chain's count and head: the last entry is the head
	accounts => 'SELECT id, owner, kind, currency, posted, held, credit_limit, '
	  . '(SELECT count(*) FROM escrow.entries e WHERE e.account = a.id) AS entry_count, '
	  . "coalesce((SELECT hash FROM escrow.entries e WHERE e.account = a.id ORDER BY seq DESC LIMIT 1), "
	  . "decode(repeat('00', 32), 'hex')) AS chain_head, "
	  . '0::smallint AS shards, NULL::bigint AS parent, created_at FROM escrow.accounts a',
	entries => 'SELECT account, seq, transfer_id, amount, balance, hash FROM escrow.entries',
});

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $control = slurp_file("$FindBin::RealBin/../../escrowpay.control");
my ($default) = $control =~ /^default_version\s*=\s*'([^']+)'/m;
ok($default, "the control file names the default version ($default)");

my $node = new_node('upgrade', empty => 1);
my $q = sub { $node->safe_psql($_[1] // 'postgres', $_[0]) };

sub vcmp { my @a = split /\./, $_[0]; my @b = split /\./, $_[1];
	for (0 .. 2) { my $c = ($a[$_] // 0) <=> ($b[$_] // 0); return $c if $c; } return 0; }
my @versions = sort { vcmp($a, $b) } split /\n/,
  $q->(q{SELECT version FROM pg_available_extension_versions WHERE name = 'escrowpay'});
my $oldest = $versions[0];
note('versions installed: ' . join(' ', @versions));
for my $v (grep { $_ ne $default } @versions)
{
	my $p = $q->("SELECT path FROM pg_extension_update_paths('escrowpay')
		WHERE source = '$v' AND target = '$default'");
	ok($p ne '', "release $v has an update path to $default: $p");
}
my $path = $q->("SELECT coalesce(path, '$oldest') FROM pg_extension_update_paths('escrowpay')
	WHERE source = '$oldest' AND target = '$default'") || $oldest;
my @chain = split /--/, $path;
is($chain[-1], $default, "the chain from the oldest release ends at $default: @chain");

# the library being built loads every C function the oldest release
# declares (check_function_bodies looks each one up)
$q->("CREATE DATABASE symbols");
$q->("CREATE EXTENSION escrowpay VERSION '$oldest'", 'symbols');
my $cfuncs = $q->(q{SELECT count(*) FROM pg_proc WHERE pronamespace = 'escrow'::regnamespace
	AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')}, 'symbols');
ok($cfuncs > 0, "CREATE EXTENSION escrowpay VERSION '$oldest' with the library being built: "
	  . "the library has all its $cfuncs C functions");
# an empty database upgrades too
my ($rce, $oute, $erre) = $node->psql('symbols', 'ALTER EXTENSION escrowpay UPDATE');
is($rce, 0, "a database with nothing in it upgrades from $oldest to $default") or diag($erre);
$q->("DROP DATABASE symbols");

# the oldest release's database, as that release left it
my $dump = "$FindBin::RealBin/upgrade/$oldest-dump.sql";
ok(-e $dump, "test/t/upgrade/$oldest-dump.sql: a database of $oldest to upgrade");
my ($rc0, $out0, $err0) = $node->psql('postgres', undef,
	extra_params => [ '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $dump ]);
is($rc0, 0, "restored: escrowpay $oldest with its money, holds, deals and keys") or diag($err0);
$q->('CREATE EXTENSION amcheck');
# its clock moves to now: the deadlines and expiries ahead of it stay ahead
is($q->(q{
	WITH shift AS (SELECT now() - max(at) AS d FROM escrow.deal_events),
	     h AS (UPDATE escrow.holds SET expires_at = expires_at + (SELECT d FROM shift)
	            WHERE expires_at IS NOT NULL AND status = 'open' RETURNING 1),
	     dl AS (UPDATE escrow.deals SET deadline = deadline + (SELECT d FROM shift),
	                   code_expires_at = code_expires_at + (SELECT d FROM shift)
	             WHERE deadline IS NOT NULL OR code_expires_at IS NOT NULL RETURNING 1),
	     r AS (UPDATE escrow.receivables SET due_at = due_at + (SELECT d FROM shift) RETURNING 1)
	SELECT count(*) > 0 FROM (SELECT * FROM h UNION ALL SELECT * FROM dl UNION ALL SELECT * FROM r) x}),
	't', "the $oldest database's deadlines, expiries and due dates moved by the time since it was made");

my $ext_members = q{
	SELECT pg_describe_object(classid, objid, objsubid) AS object, classid, objid
	  FROM pg_depend
	 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'escrowpay')};

# replays: [ label, SQL making a keyed call exactly as a version's activity did ]
my %REPLAYS = (
	'0.1.0' => [
		[ 'deposit', q{SELECT escrow.deposit(id, 200000, 'u-key-1') FROM escrow.accounts WHERE owner = 'u-wallet'} ],
		[ 'withdraw', q{SELECT escrow.withdraw(id, 1000, 'u-key-withdraw') FROM escrow.accounts WHERE owner = 'u-other'} ],
		[ 'transfer', q{SELECT escrow.transfer(a.id, b.id, 4321, 'u-key-transfer') FROM escrow.accounts a, escrow.accounts b
			WHERE a.owner = 'u-other' AND b.owner = 'u-wallet'} ],
		[ 'hold', q{SELECT escrow.hold(a.id, b.id, 321, interval '30 days', 'u-key-hold') FROM escrow.accounts a, escrow.accounts b
			WHERE a.owner = 'u-other' AND b.owner = 'u-shop'} ],
		[ 'capture', q{SELECT escrow.capture((SELECT result FROM escrow.idempotency_keys WHERE key = 'old-c1-key-5'), 1000, 'old-c1-key-6')} ],
		[ 'release', q{SELECT escrow.release((SELECT min(id) FROM escrow.holds WHERE status = 'released' AND amount = 501), 'old-c1-key-7')} ],
		[ 'refund', q{SELECT escrow.refund((SELECT result FROM escrow.idempotency_keys WHERE key = 'old-c1-key-3'), 200, 'old-c1-key-4')} ],
		[ 'hold_batch', q{SELECT escrow.hold_batch(ARRAY[a.id, b.id], ARRAY[s.id, s.id], ARRAY[300, 400], NULL, 'old-c2-key-8')
			FROM escrow.accounts a, escrow.accounts b, escrow.accounts s
			WHERE a.owner = 'old-c2-d1' AND b.owner = 'old-c2-d2' AND s.owner = 'old-c2-s'} ],
		[ 'capture_batch', q{SELECT escrow.capture_batch((SELECT results FROM escrow.idempotency_keys WHERE key = 'old-c2-key-8'),
			ARRAY[100, 400]::bigint[], 'old-c2-key-9')} ],
		[ 'open_deal', q{SELECT escrow.open_deal('old-m3', 'old-s3', 1503, idempotency_key => 'old-c3-key-10')} ],
		[ 'repay', q{SELECT escrow.repay(r.id, a.id, 1500, 'u-key-repay') FROM escrow.receivables r, escrow.accounts a
			WHERE r.kind = 'loan' AND r.paid = 1500 AND a.owner = 'u-wallet'} ],
		[ 'pay_invoice', q{SELECT escrow.pay_invoice(r.id, a.id, 2000, 'u-key-invoice') FROM escrow.receivables r, escrow.accounts a
			WHERE r.kind = 'invoice' AND r.paid = 2000 AND a.owner = 'u-wallet'} ],
	]);

# Normalised pg_dump --schema-only of schema escrow in database $db, with
# escrowpay's objects dumped as if they were the DBA's (in a copy of $db
# whose catalogs forget the extension's membership and initial privileges,
# so pg_dump writes out every object and every grant).
sub schema_dump
{
	my ($db) = @_;
	my $copy = "${db}_schema";
	$q->("CREATE DATABASE $copy TEMPLATE $db");
	$q->(q{DELETE FROM pg_init_privs WHERE privtype = 'e';
		DELETE FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'escrowpay');}, $copy);
	my ($out, $err) = run_command([ 'pg_dump', '--schema-only', '--no-owner', '-n', 'escrow',
		'-h', $node->host, '-p', $node->port, '-d', $copy ]);
	is($err, '', "pg_dump of $db: no error");
	$q->("DROP DATABASE $copy");
	# pg_dump's entries (each after its "-- Name: ..." header), without
	# comments, SET lines and blank lines; the elements of a CREATE TABLE
	# sorted (column order is not compared)
	my @stmts;
	for my $entry (split /^-- Name: /m, $out)
	{
		my $e = join('', map { "$_\n" } grep { !/^--/ && !/^\s*$/ && !/^\\(un)?restrict / && !/^SET / && !/^SELECT pg_catalog\.set_config/ }
			split /\n/, $entry);
		next if $e eq '';
		if ($e =~ /^(.*?CREATE TABLE [^\n]*\(\n)(.*?)(\n\)[^\n]*;\n)(.*)$/s)
		{
			my ($head, $body, $tail, $more) = ($1, $2, $3, $4);
			$e = $head . join(",\n", sort map { s/,$//r } split /\n/, $body) . $tail . $more;
		}
		push @stmts, $e;
	}
	return join('', sort @stmts);
}

# What pg_dump does not show: the extension's members, its dumped tables,
# its initial privileges; the escrow roles and their memberships.
sub extension_facts
{
	my ($db) = @_;
	return join("\n",
		'members:', $q->("SELECT object FROM ($ext_members) m ORDER BY 1", $db),
		'config dumped:', $q->(q{SELECT c::regclass::text || ' ' || coalesce(w, '')
			FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, w)
			WHERE e.extname = 'escrowpay' ORDER BY 1}, $db),
		'initial privileges:', $q->(q{SELECT pg_describe_object(classoid, objoid, objsubid) || ' ' || privtype::text
			|| ' ' || (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(initprivs) a)
			FROM pg_init_privs WHERE privtype = 'e' AND (classoid, objoid) IN
			  (SELECT classid, objid FROM pg_depend WHERE refclassid = 'pg_extension'::regclass
			    AND deptype = 'e' AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'escrowpay'))
			ORDER BY 1}, $db));
}

sub roles_facts
{
	return $q->(q{SELECT r.rolname || ' login=' || r.rolcanlogin || ' super=' || r.rolsuper
		|| ' inherit=' || r.rolinherit || ' bypassrls=' || r.rolbypassrls || ' member of '
		|| coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m
		             JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '-')
		FROM pg_roles r WHERE r.rolname LIKE 'escrow\_%' ORDER BY 1});
}

sub compare_text
{
	my ($got, $want, $label) = @_;
	if ($got eq $want) { pass($label); return; }
	my ($g, $w) = ("$tmp/got.txt", "$tmp/want.txt");
	unlink $g, $w;
	PostgreSQL::Test::Utils::append_to_file($g, $got);
	PostgreSQL::Test::Utils::append_to_file($w, $want);
	my ($diff) = run_command([ 'diff', '-u', $w, $g ]);
	fail($label);
	diag("fresh install (-) vs upgraded (+):\n" . substr($diff, 0, 12000));
}

my %kinds;
for my $i (0 .. $#chain)
{
	my $v = $chain[$i];
	# every function $v declares, called through its $v declaration with
	# the library being built: works, or refuses cleanly
	my $calls = "$FindBin::RealBin/upgrade/$v-calls.sql";
	if (-e $calls)
	{
		my ($rc, $out, $err) = $node->psql('postgres', undef,
			extra_params => [ '-X', '-q', '-A', '-t', '-f', $calls ]);
		is($rc, 0, "test/t/upgrade/$v-calls.sql runs") or diag($err);
		my (%called, @worked, @refused, @bad);
		for my $row (grep { /^\w+\|/ } split /\n/, $out)
		{
			my ($fn, $state, $expect, $msg, $hint) = split /\|/, $row, 5;
			$called{$fn} = 1;
			if ($state eq 'EPOK0' || ($expect ne '' && $state eq $expect)) { push @worked, $fn; }
			elsif ($i < $#chain && $state eq '55000' && ($hint // '') =~ /ALTER EXTENSION escrowpay UPDATE/)
			{
				push @refused, $fn;
			}
			else { push @bad, "$fn: $state $msg" . ($hint ? " (hint: $hint)" : ''); }
		}
		my @missing = grep { !$called{$_} } split /\n/, $q->(q{SELECT DISTINCT p.proname FROM pg_proc p
			JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
			 AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'escrowpay') ORDER BY 1});
		is(join(', ', @missing), '', "test/t/upgrade/$v-calls.sql calls every function $v declares");
		is(join("\n", @bad), '', $i < $#chain
			? "through ${v}'s declarations the library being built works ("
			  . scalar(@worked) . ' functions) or refuses cleanly, telling to run ALTER EXTENSION escrowpay UPDATE ('
			  . scalar(@refused) . ')'
			: "upgraded to $v, every function works on the old data (" . scalar(@worked) . ' functions)');
		note("$v: refused until the update: " . join(', ', @refused)) if @refused;
		is(join("\n", server_crashes($node)), '', 'no backend crashed');
	}
	last if $i == $#chain;

	my $next = $chain[ $i + 1 ];
	my $step = "$v--$next";
	%kinds = map { split /\|/ } split /\n/, $q->(q{
		SELECT 'holds ' || status, count(*) FROM escrow.holds GROUP BY 1
		UNION ALL SELECT 'transfers ' || kind, count(*) FROM escrow.transfers GROUP BY 1
		UNION ALL SELECT 'deals ' || stage, count(*) FROM escrow.deals GROUP BY 1
		UNION ALL SELECT 'deals ' || settlement, count(*) FROM escrow.deals GROUP BY 1
		UNION ALL SELECT 'receivables ' || kind, count(*) FROM escrow.receivables GROUP BY 1
		UNION ALL SELECT 'keys', count(*) FROM escrow.idempotency_keys});
	note("$v ledger: " . join(', ', map { "$_ $kinds{$_}" } sort keys %kinds));

	# keyed calls of the old version, made again: their first results
	my @replays = map { [ $_->[0], $_->[1], $q->($_->[1]) ] } @{ $REPLAYS{$v} // [] };

	# every row of every table, as the old version has it
	my @tables = split /\n/, $q->(q{SELECT relname FROM pg_class
		WHERE relnamespace = 'escrow'::regnamespace AND relkind = 'r' ORDER BY 1});
	my %cols;
	$q->('DROP SCHEMA IF EXISTS upgrade_snap CASCADE; CREATE SCHEMA upgrade_snap');
	for my $t (@tables)
	{
		$cols{$t} = $q->("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
			WHERE attrelid = 'escrow.$t'::regclass AND attnum > 0 AND NOT attisdropped");
		$q->("CREATE TABLE upgrade_snap.$t AS SELECT * FROM escrow.$t");
	}
	my $bal_cols = 'account, owner, kind, currency, posted, held, credit_limit, available';
	my $balances = $q->("SELECT $bal_cols FROM escrow.balances ORDER BY account");

	# a DBA's own objects on escrowpay's views: a view reading one stops
	# the update (it re-creates the views); a grant to a role of its own
	# is listed to be granted again
	$q->(q{CREATE ROLE upgrade_reader; GRANT USAGE ON SCHEMA escrow TO upgrade_reader;
		GRANT SELECT ON escrow.balances TO upgrade_reader;
		CREATE VIEW public.my_balances AS SELECT account, posted FROM escrow.balances});
	my ($rcv, $outv, $errv) = $node->psql('postgres', "ALTER EXTENSION escrowpay UPDATE TO '$next'");
	like($errv, qr/ERROR:  escrowpay's views are read by views of your own: balances \(read by public\.my_balances\)/,
		"$step: a view of the DBA's reading escrow.balances stops the update, naming both");
	$q->('DROP VIEW public.my_balances');

	my ($rc, $out, $err) = $node->psql('postgres', "ALTER EXTENSION escrowpay UPDATE TO '$next'");
	is($rc, 0, "ALTER EXTENSION escrowpay UPDATE TO '$next' from $v") or diag($err);
	note($err) if $err;
	is($q->(q{SELECT extversion FROM pg_extension WHERE extname = 'escrowpay'}), $next, "the extension is at $next");
	my $roles_after_update = roles_facts();

	is($q->('SELECT problem || \': \' || detail FROM escrow.verify_ledger()'), '',
		"$step: verify_ledger() is empty");
	like($err, qr/WARNING:  escrowpay's views were re-created without the privileges you had granted.*\nHINT:  Grant them again: GRANT SELECT ON escrow.balances TO upgrade_reader;/s,
		"$step: the DBA's grant on escrow.balances to a role of its own is listed, to be granted again");
	$q->(q{REVOKE ALL ON SCHEMA escrow FROM upgrade_reader; DROP ROLE upgrade_reader});
	is($q->("SELECT $bal_cols FROM escrow.balances ORDER BY account"), $balances,
		"$step: escrow.balances unchanged");
	for my $t (@tables)
	{
		my $replaced = $REPLACED{$step}{$t};
		my $now = $replaced // "SELECT $cols{$t} FROM escrow.$t";
		if (!$replaced && $q->("SELECT to_regclass('escrow.$t') IS NULL") eq 't')
		{
			fail("$step: table escrow.$t is gone and nothing says what replaced it");
			next;
		}
		my $where = $MIGRATED{$step}{$t};
		my $old = "SELECT $cols{$t} FROM upgrade_snap.$t";
		my $kept = $where ? "$old WHERE NOT ($where)" : $old;
		my $lost = $q->("SELECT count(*) FROM ($kept EXCEPT ($now)) x");
		my $n = $q->("SELECT count(*) FROM upgrade_snap.$t");
		my $changed = $where ? $q->("SELECT count(*) FROM upgrade_snap.$t WHERE $where") : 0;
		my $count = $q->("SELECT count(*) FROM ($now) x");
		if ($replaced)
		{
			is($lost, '0', "$step: the $n rows of escrow.$t are all in what replaced it")
			  or diag($q->("SELECT * FROM ($kept EXCEPT ($now)) x LIMIT 5"));
			next;
		}
		is("$lost $count", "0 $n", "$step: the $n rows of escrow.$t are all there, as they were"
			  . ($where ? " (but for the $changed the migration updates)" : ''))
		  or diag($q->("SELECT * FROM ($kept EXCEPT ($now)) x LIMIT 5"));
	}
	for my $r (@replays)
	{
		my ($label, $sql, $first) = @$r;
		my ($rc2, $again, $err2) = $node->psql('postgres', $sql);
		is("$rc2 $again", "0 $first", "$step: the idempotency key of a $v $label replays its result ($first)")
		  or diag($err2);
	}

	# a fresh install of $next beside it
	my $fresh = 'fresh_' . ($next =~ s/\W/_/gr);
	$q->("CREATE DATABASE $fresh");
	$q->("CREATE EXTENSION escrowpay VERSION '$next'", $fresh);
	compare_text(extension_facts('postgres'), extension_facts($fresh),
		"$step: the extension's members, dumped tables and initial privileges are a fresh install's");
	compare_text($roles_after_update, roles_facts(),
		"$step: the escrow roles and their memberships are a fresh install's");
	compare_text(schema_dump('postgres'), schema_dump($fresh),
		"$step: schema escrow (pg_dump --schema-only, normalised) is a fresh install's");
	$q->("DROP DATABASE $fresh");
	$q->('DROP SCHEMA upgrade_snap CASCADE');
}

ok($kinds{'holds open'} && $kinds{'holds captured'} && $kinds{'holds released'} && $kinds{'holds expired'}
	  && $kinds{'transfers refund'} && $kinds{'deals completed'} && $kinds{'deals settled'}
	  && $kinds{'deals agency'} && $kinds{'deals credit_finance'} && $kinds{'receivables invoice'}
	  && $kinds{'receivables loan'} && $kinds{keys},
	'the upgraded ledger had holds in every status, refunds, deals settled and completed, agency and '
	  . 'credit-finance deals, loans, invoices and keys');

# new activity: model clients (test/t/EscrowPay/Model.pm) set up their
# world with the API of $default beside the upgraded data, and run with
# every result predicted.  (The model cannot adopt the 0.1.0 deals: its
# world follows the current API and grows with it, so the old database
# cannot hold it; the old deals carry on through the calls above.)
my ($world, $actors) = model_world($node, 3, $seed);
my $run = drive($node, $actors, ops => $ops);
calls_as_predicted($run, "model clients run on the upgraded database: $run->{calls} calls as predicted");
states_as_modelled($actors, sub { $q->($_[0]) }, 'its state in the upgraded database is as the model says');
ledger_checks($node, 'upgraded and continued');
is(join("\n", server_crashes($node)), '', 'no backend crashed');

diag(sprintf('007_upgrade: %s walked; %d transfers, %d holds, %d deals upgraded; %d model calls predicted after it',
	join(' -> ', @chain),
	map({ my $k = $_; my $s = 0; $s += $kinds{$_} for grep { /^$k / } keys %kinds; $s } qw(transfers holds)),
	(sub { my $s = 0; $s += $kinds{$_} for grep { /^deals (escrow|agency|credit_finance)$/ } keys %kinds; $s })->(),
	$run->{calls}));

$node->stop;
done_testing();
