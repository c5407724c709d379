
# 009_checkpoints.pl -- signed checkpoints, checked the way an outside
# auditor checks them: offline, with only the public key.
#
# A node with escrowpay preloaded and the maintenance worker on
# (maintenance_interval 1 second; its checkpoint task every round once a
# good key is set, never before):
#
#   - the key of escrowpay.checkpoint_key_file: not set, missing, readable
#     by group or others, not PEM, or not an Ed25519 key (an EC key):
#     checkpoint() and checkpoint_public_key() are refused with 55000 and
#     a detail saying why; nothing is written;
#   - the worker makes checkpoints on its own: after a workload (more than
#     two chunks of 1024 transfers, so that stored subtrees are used) a
#     checkpoint covering every transfer appears without anyone calling
#     checkpoint();
#   - scripts/escrowpay-verify accepts the inclusion proofs of the first,
#     a middle, a chunk-boundary and the last transfer, and the checkpoint
#     alone, under the public key exported by checkpoint_public_key() and
#     the one openssl derives from the key file;
#   - it refuses (exit 1) a proof whose transfer amount, time, leaf index,
#     audit path or root was altered, a checkpoint whose signature, size
#     or time was altered, and every proof under another public key;
#   - key rotation: a new key file takes effect without restart; the next
#     checkpoint is signed with it, its proofs verify under the new key
#     and not the old one, and verify_ledger() still checks the earlier
#     checkpoints under the key each was signed with.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use EscrowPay::Harness qw(escrowpay_conf checkpoint_key);

my $verifier = "$FindBin::RealBin/../../scripts/escrowpay-verify";
my $node = PostgreSQL::Test::Cluster->new('checkpoints');
$node->init;
my $conf = escrowpay_conf($node);
my $key = $node->basedir . '/checkpoint.pem';
$node->append_conf('postgresql.conf', $conf . q{
escrowpay.maintenance_interval = 1
escrowpay.maintenance_database = 'postgres'
escrowpay.checkpoint_interval = -1
log_min_messages = warning
});
$node->start;
my $q = sub { $node->safe_psql('postgres', $_[0]) };
$q->('CREATE EXTENSION escrowpay');
my $tmp = PostgreSQL::Test::Utils::tempdir;

# point escrowpay.checkpoint_key_file at $file and reload
sub set_key_file
{
	my ($file) = @_;
	$q->("ALTER SYSTEM SET escrowpay.checkpoint_key_file = '$file'");
	$q->('SELECT pg_reload_conf()');
	# the setting is read at each call; wait until a new session sees it
	$node->poll_query_until('postgres',
		"SELECT current_setting('escrowpay.checkpoint_key_file') = '$file'")
	  or die "the reload did not take";
}

# set escrowpay.checkpoint_interval and reload
sub set_interval
{
	my ($s) = @_;
	$q->("ALTER SYSTEM SET escrowpay.checkpoint_interval = $s");
	$q->('SELECT pg_reload_conf()');
	$node->poll_query_until('postgres',
		"SELECT setting = '$s' FROM pg_settings WHERE name = 'escrowpay.checkpoint_interval'")
	  or die "the reload did not take";
}

# the SQLSTATE and message of a call that must fail
sub refusal
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err);
	return $err;
}

# ------------------------------------------------------------ bad keys
my %bad;
{
	my $f = "$tmp/not-pem.pem";
	open my $fh, '>', $f or die;
	print $fh "this is no key\n";
	close $fh;
	chmod 0600, $f;
	$bad{'not PEM'} = [ $f, qr/holds no private key in PEM/ ];
	my $ec = "$tmp/ec.pem";
	system('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
		'-out', $ec) == 0 or die "openssl EC key";
	chmod 0600, $ec;
	$bad{'an EC key'} = [ $ec, qr/not an Ed25519 key/ ];
	my $open = "$tmp/group-readable.pem";
	checkpoint_key($open);
	chmod 0640, $open;
	$bad{'mode 0640'} = [ $open, qr/group or world access \(mode 0640\)/ ];
	$bad{'missing'} = [ "$tmp/none.pem", qr/could not be opened/ ];
}
$q->(q{SELECT escrow.open_account('k-buyer', 'USD'), escrow.open_account('k-shop', 'USD');
       SELECT escrow.deposit(2, 1000000)});
for my $what (sort keys %bad)
{
	my ($file, $why) = @{ $bad{$what} };
	set_key_file($file);
	for my $fn ('escrow.checkpoint()', 'escrow.checkpoint_public_key()')
	{
		my $err = refusal("SELECT $fn");
		like($err, qr/ERROR:  55000: cannot use escrowpay.checkpoint_key_file/,
			"key file $what: $fn refused with 55000");
		like($err, $why, "key file $what: $fn says why");
	}
}
set_key_file('');
like(refusal('SELECT escrow.checkpoint()'),
	qr/ERROR:  55000: escrowpay.checkpoint_key_file is not set/,
	'no key file: checkpoint() refused with 55000');
is($q->('SELECT count(*) FROM escrow.checkpoints'), '0', 'the refusals wrote no checkpoint');

# ------------------------------------------------------------ the worker
set_key_file($key);
set_interval(1);
$q->(q{SELECT count(escrow.transfer(2, 3, 1)) FROM generate_series(1, 2500)});
my $last = $q->('SELECT max(id) FROM escrow.transfers');
ok($node->poll_query_until('postgres',
		"SELECT coalesce(max(last_transfer), 0) >= $last FROM escrow.checkpoints"),
	'the worker made a checkpoint covering every transfer');
is($q->('SELECT count(*) FROM escrow.checkpoint_chunks'), '2',
	'two complete chunks of 1024 transfers are stored');
is($q->('SELECT problem || detail FROM escrow.verify_ledger()'), '',
	'verify_ledger() finds the checkpoints matching the journal');
# stop the worker's checkpoints: what follows wants a fixed latest checkpoint
set_interval(-1);
# a last transfer, sealed by hand (a worker checkpoint may race it: NULL then)
$q->('SELECT escrow.transfer(2, 3, 7)');
$q->('SELECT escrow.checkpoint()');
$last = $q->('SELECT max(id) FROM escrow.transfers');
is($q->("SELECT max(last_transfer) = $last FROM escrow.checkpoints"), 't',
	'the latest checkpoint covers the last transfer');

# ------------------------------------------------------------ offline checks
my $pub = "$tmp/public.pem";
{
	open my $fh, '>', $pub or die;
	print $fh $q->('SELECT public_key FROM escrow.checkpoint_public_key()'), "\n";
	close $fh;
}
my $pub2 = "$tmp/public-openssl.pem";
system('openssl', 'pkey', '-in', $key, '-pubout', '-out', $pub2) == 0 or die 'openssl pkey';

# run the verifier on a JSON document; returns (exit status, output)
sub verify
{
	my ($what, $doc, $public) = @_;
	my $file = "$tmp/doc.json";
	open my $fh, '>', $file or die;
	print $fh (ref $doc ? encode_json($doc) : $doc);
	close $fh;
	my $out = `python3 '$verifier' $what --public-key '$public' '$file' 2>&1`;
	return ($? >> 8, $out);
}

my $json = JSON::PP->new->canonical;
my %proof;
for my $id (1, 2, 1025, 1026, 2049, $last)
{
	$proof{$id} = $json->decode($q->("SELECT escrow.inclusion_proof($id)"));
	my ($rc, $out) = verify('proof', $proof{$id}, $pub);
	is($rc, 0, "transfer $id: the offline verifier accepts its proof") or diag($out);
	like($out, qr/transfer $id .*included as leaf \d+ of checkpoint/, "transfer $id: it says so");
}
{
	my ($rc, $out) = verify('proof', $proof{1025}, $pub2);
	is($rc, 0, 'the public key openssl derives from the key file verifies too') or diag($out);
	($rc, $out) = verify('checkpoint', $proof{$last}{checkpoint}, $pub);
	is($rc, 0, 'the checkpoint alone verifies') or diag($out);
}

# altered proofs and checkpoints fail
sub altered
{
	my ($id, $change) = @_;
	my $p = $json->decode($json->encode($proof{$id}));
	$change->($p);
	return $p;
}
sub flip { my ($hex) = @_; substr($hex, 0, 1) = substr($hex, 0, 1) eq '0' ? '1' : '0'; return $hex; }
my %bad_proofs = (
	'the amount raised' => altered(1025, sub { $_[0]{transfer}{amount}++ }),
	'the time moved' => altered(1025, sub { $_[0]{transfer}{created_at_us} += 1 }),
	'another leaf index' => altered(1025, sub { $_[0]{leaf_index}++ }),
	'an audit path hash changed' => altered(1025, sub { $_[0]{audit_path}[3] = flip($_[0]{audit_path}[3]) }),
	'an audit path hash dropped' => altered(1025, sub { pop @{ $_[0]{audit_path} } }),
	'the root changed' => altered(2, sub { $_[0]{checkpoint}{root} = flip($_[0]{checkpoint}{root}) }),
	'the signature changed' => altered(2, sub { $_[0]{checkpoint}{signature} = flip($_[0]{checkpoint}{signature}) }),
	'the tree size changed' => altered(2, sub { $_[0]{checkpoint}{tree_size}++ }),
	'the leaf hash claimed for other fields' => altered(2049, sub { $_[0]{transfer}{debit_account} = 3; $_[0]{transfer}{credit_account} = 2 }),
);
for my $what (sort keys %bad_proofs)
{
	my ($rc, $out) = verify('proof', $bad_proofs{$what}, $pub);
	is($rc, 1, "a proof with $what is refused") or diag($out);
	like($out, qr/^FAILED: /m, "a proof with $what: FAILED");
}
for my $what ('signature', 'created_at_us', 'last_transfer')
{
	my $c = $json->decode($json->encode($proof{$last}{checkpoint}));
	if ($what eq 'signature') { $c->{$what} = flip($c->{$what}) } else { $c->{$what}++ }
	my ($rc, $out) = verify('checkpoint', $c, $pub);
	is($rc, 1, "a checkpoint with its $what altered is refused") or diag($out);
}

# ------------------------------------------------------------ rotation
my $old_pub = $pub;
my $new_key = checkpoint_key("$tmp/checkpoint-2.pem");
set_key_file($new_key);
my $new_id = $q->('SELECT key_id FROM escrow.checkpoint_public_key()');
isnt($new_id, $q->('SELECT key_id FROM escrow.checkpoints ORDER BY seq DESC LIMIT 1'),
	'rotation: the new key has a new id');
$q->('SELECT escrow.transfer(2, 3, 11)');
$q->('SELECT escrow.checkpoint()');
is($q->('SELECT key_id FROM escrow.checkpoints ORDER BY seq DESC LIMIT 1'), $new_id,
	'rotation: the next checkpoint is signed with the new key, without restart');
my $new_pub = "$tmp/public-2.pem";
system('openssl', 'pkey', '-in', $new_key, '-pubout', '-out', $new_pub) == 0 or die 'openssl pkey';
my $p = $q->('SELECT escrow.inclusion_proof(1)');
my ($rc, $out) = verify('proof', $p, $new_pub);
is($rc, 0, 'rotation: a proof against the new checkpoint verifies under the new key') or diag($out);
($rc, $out) = verify('proof', $p, $old_pub);
is($rc, 1, 'rotation: and not under the old key') or diag($out);
like($out, qr/signature does not verify/, 'rotation: the old key fails on the signature');
is($q->('SELECT problem || detail FROM escrow.verify_ledger()'), '',
	'rotation: verify_ledger() checks every checkpoint under its own key');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/task checkpoint failed/, 'the worker never failed a checkpoint while a key was set')
  or diag(join("\n", grep { /task checkpoint failed/ } split /\n/, $log));
done_testing();
