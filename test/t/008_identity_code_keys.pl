
# 008_identity_code_keys.pl -- the key of identity codes stays secret, can
# be rotated, and the limit of wrong codes holds whatever the caller does
# with its transaction.
#
# A node with escrowpay in shared_preload_libraries, its keys in
# escrowpay.hmac_key_file (a 0600 file outside the data directory) and a
# leftover escrowpay.hmac_key line in postgresql.conf (an old setting an
# operator forgot to remove):
#
#   - the leftover is discarded with a warning when the server starts;
#   - a login role that is no superuser, in fresh sessions, reads neither
#     key nor file: SHOW, current_setting(), pg_settings, SHOW ALL,
#     pg_db_role_setting, pg_read_file(), COPY FROM, lo_import();
#   - ALTER DATABASE / ALTER ROLE ... SET of escrowpay.hmac_key or
#     escrowpay.hmac_key_file are refused, so pg_db_role_setting (readable
#     by everyone) never holds a key;
#   - a key file readable by group or others, missing, malformed, or no
#     key file configured: identity codes are refused with 55000;
#   - rotation: codes are issued under the first key of the file and keep
#     verifying under the others; a code whose key left the file is refused
#     (EP008), and no restart or reload is needed;
#   - guessing: 2000 wrong codes each in a rolled-back subtransaction, and
#     wrong codes in rolled-back transactions, get max_code_attempts tries
#     and no more; then the right code is refused (EP008), also after the
#     code is issued again;
#   - a restart voids codes issued before it (EP008), and the next code
#     gets only the attempts the committed count leaves;
#   - with escrowpay.code_attempt_slots full of deals whose codes are live,
#     an attempt is refused (53400) and nothing is tried; slots of expired
#     codes are reused.
#
# A second node without shared_preload_libraries refuses identity codes
# (55000, with a hint to preload escrowpay).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $K1       = 'k1-secret-' . ('7' x 40);
my $K2       = 'k2-secret-' . ('9' x 40);
my $LEFTOVER = 'leftover-hmac-key-0123456789abcdef';

my $node = PostgreSQL::Test::Cluster->new('keys');
$node->init;
my $keyfile = $node->basedir . '/escrowpay.keys';

# write the key file (mode 0600 unless told)
sub write_keys
{
	my ($text, $mode) = @_;
	open my $fh, '>', $keyfile or die "$keyfile: $!";
	print $fh $text;
	close $fh;
	chmod($mode // 0600, $keyfile) or die "chmod $keyfile: $!";
}
write_keys("# escrowpay identity-code keys: <key id> <secret>, first one signs\n\nk1 $K1\n");

$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'escrowpay'
escrowpay.hmac_key_file = '$keyfile'
escrowpay.hmac_key = '$LEFTOVER'
log_min_messages = warning
});
$node->start;

# Run SQL (psql script) as a role, in a fresh session; returns stdout and
# stderr (verbose errors, so that SQLSTATEs show).
sub run_sql
{
	my ($sql, %o) = @_;
	my ($out, $err) = ('', '');
	($o{node} // $node)->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$out, stderr => \$err, on_error_stop => 0,
		extra_params => [ '-U', $o{user} // 'postgres' ]);
	return ($out, $err);
}

# SQLSTATE of the first error of a statement ('none' without one)
sub sqlstate_of
{
	my ($sql, %o) = @_;
	my (undef, $err) = run_sql($sql, %o);
	return $err =~ /ERROR:  ([0-9A-Z]{5}):/ ? $1 : 'none';
}

like(slurp_file($node->logfile),
	qr/invalid configuration parameter name "escrowpay.hmac_key", removing it/,
	'a leftover escrowpay.hmac_key in postgresql.conf is discarded with a warning at start');

$node->safe_psql('postgres', q{
CREATE EXTENSION escrowpay;
CREATE ROLE app LOGIN IN ROLE escrow_app;
SELECT escrow.open_account('buyer', 'EUR'), escrow.open_account('shop', 'EUR');
SELECT escrow.deposit(2, 1000000);
SELECT escrow.register_member('B', 'Buyer', 'b@example.org', 2);
SELECT escrow.register_merchant('S', 'Shop', 's@example.org', 3);
});

# ---------------------------------------------------------------- reading
# the routes a role without superuser could take to the key
my @secrets = ($K1, $LEFTOVER, 'db-route-key-0123456789abcdef');
is(sqlstate_of(q{ALTER DATABASE postgres SET escrowpay.hmac_key = 'db-route-key-0123456789abcdef'}),
	'42602', 'ALTER DATABASE SET escrowpay.hmac_key is refused (the setting does not exist)');
is(sqlstate_of(q{ALTER ROLE app SET escrowpay.hmac_key = 'db-route-key-0123456789abcdef'}),
	'42602', 'ALTER ROLE SET escrowpay.hmac_key is refused');
is(sqlstate_of(qq{ALTER DATABASE postgres SET escrowpay.hmac_key_file = '$keyfile'}),
	'55P02', 'ALTER DATABASE SET escrowpay.hmac_key_file is refused (server configuration only)');
is(sqlstate_of(qq{ALTER ROLE app SET escrowpay.hmac_key_file = '$keyfile'}),
	'55P02', 'ALTER ROLE SET escrowpay.hmac_key_file is refused');
is(sqlstate_of(q{ALTER ROLE app IN DATABASE postgres SET escrowpay.hmac_key_file = '/tmp/x'}),
	'55P02', 'ALTER ROLE ... IN DATABASE SET escrowpay.hmac_key_file is refused');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_db_role_setting WHERE array_to_string(setconfig, ' ') LIKE '%escrowpay%'}),
	'0', 'pg_db_role_setting holds no escrowpay setting');

my %routes = (
	'SHOW escrowpay.hmac_key' => 'SHOW escrowpay.hmac_key',
	'current_setting(hmac_key)' => q{SELECT current_setting('escrowpay.hmac_key', true)},
	'SHOW escrowpay.hmac_key_file' => 'SHOW escrowpay.hmac_key_file',
	'current_setting(hmac_key_file)' => q{SELECT current_setting('escrowpay.hmac_key_file', true)},
	'pg_settings' => q{SELECT name, setting, sourcefile FROM pg_settings WHERE name LIKE 'escrowpay%'},
	'SHOW ALL' => 'SHOW ALL',
	'pg_db_role_setting' => 'SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting',
	'pg_read_file' => qq{SELECT pg_read_file('$keyfile')},
	'pg_read_binary_file' => qq{SELECT convert_from(pg_read_binary_file('$keyfile'), 'UTF8')},
	'COPY FROM file' => qq{CREATE TEMP TABLE k (line text); COPY k FROM '$keyfile'; TABLE k;},
	'lo_import' => qq{SELECT convert_from(lo_get(lo_import('$keyfile')), 'UTF8')},
	'escrow.deals' => 'SELECT * FROM escrow.deals');
for my $route (sort keys %routes)
{
	my ($out, $err) = run_sql($routes{$route}, user => 'app');
	my @seen = grep { index($out . $err, $_) >= 0 } @secrets;
	is("@seen", '', "a login role without superuser reads no key through $route");
}
is(sqlstate_of(qq{SELECT pg_read_file('$keyfile')}, user => 'app'), '42501',
	'pg_read_file() of the key file is refused to it');
is(sqlstate_of('SHOW escrowpay.hmac_key_file', user => 'app'), '42501',
	'SHOW escrowpay.hmac_key_file is refused to it');
is(sqlstate_of('SHOW escrowpay.hmac_key', user => 'app'), '42704',
	'escrowpay.hmac_key no longer exists');
like($node->safe_psql('postgres', 'SHOW escrowpay.hmac_key_file'), qr/escrowpay\.keys$/,
	'a superuser sees the path of the key file');

# ---------------------------------------------------------------- key file
sub new_deal { return $node->safe_psql('postgres', q{SELECT escrow.open_deal('B', 'S', 100)}); }
sub issue    { return $node->safe_psql('postgres', "SELECT escrow.issue_identity_code($_[0])"); }
sub confirm
{
	my ($deal, $code, %o) = @_;
	my ($out, $err) = run_sql("SELECT escrow.confirm_identity($deal, '$code')", %o);
	return $err =~ /ERROR:  ([0-9A-Z]{5}):/ ? $1 : $out;
}

my $d = new_deal();
my %bad = (
	'readable by group' => [ "k1 $K1\n", 0640 ],
	'readable by others' => [ "k1 $K1\n", 0604 ],
	'a secret under 32 characters' => [ "k1 short-secret-0123456789\n", 0600 ],
	'a key id with a space in it' => [ "k 1 $K1\n", 0600 ],
	'a key id over 16 characters' => [ "k12345678901234567 $K1\n", 0600 ],
	'a key id with a bad character' => [ "k1! $K1\n", 0600 ],
	'two keys of one id' => [ "k1 $K1\nk1 $K2\n", 0600 ],
	'no key, only comments' => [ "# nothing yet\n\n", 0600 ]);
for my $case (sort keys %bad)
{
	write_keys(@{ $bad{$case} });
	my (undef, $err) = run_sql("SELECT escrow.issue_identity_code($d)");
	like($err, qr/ERROR:  55000:.*\n(.*\n)*DETAIL:  /, "a key file with $case: 55000 with a detail");
	unlike($err, qr/\Q$K1\E|\Q$K2\E|short-secret/, "... which does not quote the secret");
}
unlink $keyfile;
is(sqlstate_of("SELECT escrow.issue_identity_code($d)"), '55000', 'a missing key file: 55000');
$node->safe_psql('postgres', "ALTER SYSTEM SET escrowpay.hmac_key_file = ''; SELECT pg_reload_conf()");
write_keys("k1 $K1\n");
$node->poll_query_until('postgres', q{SELECT current_setting('escrowpay.hmac_key_file') = ''});
my (undef, $err) = run_sql("SELECT escrow.issue_identity_code($d)");
like($err, qr/ERROR:  55000: escrowpay.hmac_key_file is not set/, 'no key file configured: 55000');
$node->safe_psql('postgres', "ALTER SYSTEM RESET escrowpay.hmac_key_file; SELECT pg_reload_conf()");
$node->poll_query_until('postgres', q{SELECT current_setting('escrowpay.hmac_key_file') <> ''});

# ---------------------------------------------------------------- rotation
my ($d1, $d3) = (new_deal(), new_deal());
my $c1 = issue($d1);
my $c3 = issue($d3);
write_keys("# k2 signs from now on; k1 still verifies\nk2\t$K2\nk1 $K1\n");
my $d2 = new_deal();
my $c2 = issue($d2);
is($node->safe_psql('postgres', "SELECT string_agg(code_key_id, ',' ORDER BY id) FROM escrow.deals WHERE id IN ($d1, $d2, $d3)"),
	'k1,k1,k2', 'each code hash is stored with the id of the key that made it');
is(confirm($d1, $c1), 't', 'after rotation, a code issued under the old key still verifies');
write_keys("k2 $K2\n");
is(confirm($d2, $c2), 't', 'a code issued under the new key verifies');
my (undef, $err3) = run_sql("SELECT escrow.confirm_identity($d3, '$c3')");
like($err3, qr/ERROR:  EP008: .*\n(.*\n)*DETAIL:  .*"k1".*no longer in/,
	'a code whose key left the key file is refused (EP008), the detail says so');
is(confirm($d3, '00000000'), 'EP008', '... also a wrong one, which costs no attempt');

# ---------------------------------------------------------------- guessing
# 2000 wrong codes, each in a subtransaction that is rolled back
my $g = new_deal();
my $cg = issue($g);
my $guess = $cg eq '00000000' ? '00000001' : '00000000';
my $counts = $node->safe_psql('postgres', qq{
DO \$\$
DECLARE answers text[] := '{}';
BEGIN
  FOR i IN 1..2000 LOOP
    BEGIN
      answers := answers || escrow.confirm_identity($g, '$guess')::text;
      RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo the attempt';
    EXCEPTION
      WHEN SQLSTATE 'P0001' THEN NULL;
      WHEN SQLSTATE 'EP008' THEN answers := answers || 'EP008'::text;
    END;
  END LOOP;
  RAISE NOTICE 'answers: %', (SELECT string_agg(a || ' x' || n, ', ' ORDER BY min)
    FROM (SELECT a, count(*) n, min(i) FROM unnest(answers) WITH ORDINALITY u(a, i) GROUP BY a) x);
END \$\$;
SELECT code_attempts FROM escrow.deals WHERE id = $g;
});
is($counts, '0', 'the rolled-back attempts left code_attempts at 0 (they were rolled back)');
is(confirm($g, $cg), 'EP008', 'after 2000 rolled-back guesses the right code is refused (EP008)');

# in whole transactions rolled back, one after the other
my $h = new_deal();
my $ch = issue($h);
my $wrong = $ch eq '11111111' ? '22222222' : '11111111';
my ($out) = run_sql(join('', map {
	"BEGIN; SELECT escrow.confirm_identity($h, '$wrong') AS answer; ROLLBACK;\n" } 1 .. 20));
my @answers = $out =~ /^([tf])$/mg;
is("@answers", 'f f f f f', 'wrong codes in rolled-back transactions: 5 answers (the limit), then refusals');
is(confirm($h, $ch), 'EP008', 'then the right code is refused (EP008)');
my $ch2 = issue($h);
is(confirm($h, $ch2), 'EP008', 'a new code for the deal gets no more attempts');
is($node->safe_psql('postgres', "SELECT code_attempts FROM escrow.deals WHERE id = $h"), '5',
	're-issuing the code wrote the count of attempts into code_attempts');

# the limit is checked before the code: the right code in a deal's last
# attempt still works, and a right code rolled back costs nothing
my $r = new_deal();
my $cr = issue($r);
my $w = $cr eq '33333333' ? '44444444' : '33333333';
run_sql(join('', map { "BEGIN; SELECT escrow.confirm_identity($r, '$w'); ROLLBACK;\n" } 1 .. 4));
run_sql("BEGIN; SELECT escrow.confirm_identity($r, '$cr'); ROLLBACK;");
is(confirm($r, $cr), 't', 'after 4 wrong and 1 right rolled back, the right code is accepted');

# ---------------------------------------------------------------- restart
my $x = new_deal();
my $cx = issue($x);
my $wx = $cx eq '55555555' ? '66666666' : '55555555';
run_sql(join('', map { "SELECT escrow.confirm_identity($x, '$wx');\n" } 1 .. 2));
run_sql(join('', map { "BEGIN; SELECT escrow.confirm_identity($x, '$wx'); ROLLBACK;\n" } 1 .. 2));
$node->restart;
my (undef, $errx) = run_sql("SELECT escrow.confirm_identity($x, '$cx')");
like($errx, qr/ERROR:  EP008: .*\n(.*\n)*DETAIL:  .*restart/,
	'after a restart, a code issued before it is void (EP008)');
my $cx2 = issue($x);
($out) = run_sql(join('', map { "SELECT escrow.confirm_identity($x, '$wx') AS answer;\n" } 1 .. 5));
@answers = $out =~ /^([tf])$/mg;
is("@answers", 'f f f', 'the new code gets the attempts the 2 committed wrong ones left (3)');
is(confirm($x, $cx2), 'EP008', 'and then the right code is refused');

# ---------------------------------------------------------------- full table
# 100 slots, each taken by a deal with a wrong attempt at a live code: the
# next deal's attempt is refused (53400) rather than counted nowhere; once
# those codes have expired, their slots are reused
$node->append_conf('postgresql.conf', "escrowpay.code_attempt_slots = 100\n");
$node->restart;
is($node->safe_psql('postgres', 'SHOW escrowpay.code_attempt_slots'), '100',
	'escrowpay.code_attempt_slots is set at server start');
$node->safe_psql('postgres', q{
SET client_min_messages = warning;
SET escrowpay.code_ttl = 10;
DO $$
DECLARE d bigint; c text;
BEGIN
  FOR i IN 1..100 LOOP
    d := escrow.open_deal('B', 'S', 100);
    c := escrow.issue_identity_code(d);
    PERFORM escrow.confirm_identity(d, CASE WHEN c = '00000000' THEN '00000001' ELSE '00000000' END);
  END LOOP;
END $$;
});
my $f = new_deal();
my $cf = issue($f);
my (undef, $errf) = run_sql("SELECT escrow.confirm_identity($f, '$cf')");
like($errf, qr/ERROR:  53400: .*\n(.*\n)*HINT:  .*escrowpay.code_attempt_slots/,
	'all slots taken by live codes: the attempt is refused (53400), the hint names the setting');
is($node->safe_psql('postgres', "SELECT stage || ' ' || code_attempts FROM escrow.deals WHERE id = $f"),
	'order_received 0', '... and the code was not tried');
sleep(11);
is(confirm($f, $cf), 't', 'once those codes have expired, their slots are reused');

# ---------------------------------------------------------------- no preload
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->append_conf('postgresql.conf', "escrowpay.hmac_key_file = '$keyfile'\n");
$plain->start;
$plain->safe_psql('postgres', q{
CREATE EXTENSION escrowpay;
SELECT escrow.open_account('buyer', 'EUR'), escrow.open_account('shop', 'EUR');
SELECT escrow.register_member('B', 'Buyer', 'b@example.org', 2);
SELECT escrow.register_merchant('S', 'Shop', 's@example.org', 3);
SELECT escrow.open_deal('B', 'S', 100);
});
my (undef, $errp) = run_sql('SELECT escrow.issue_identity_code(1)', node => $plain);
like($errp, qr/ERROR:  55000: .*\n(.*\n)*HINT:  .*shared_preload_libraries/,
	'without shared_preload_libraries: issue_identity_code is refused (55000), the hint says why');
is(sqlstate_of(q{SELECT escrow.confirm_identity(1, '12345678')}, node => $plain), '55000',
	'... and confirm_identity too');
$plain->stop;

$node->stop;
done_testing();
