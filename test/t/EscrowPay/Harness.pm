
# EscrowPay::Harness -- what the reliability tests share: settings from the
# environment, a node with escrowpay, the model world, the load driver and
# the ledger-wide checks.

package EscrowPay::Harness;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();

use EscrowPay::Client;
use EscrowPay::Model;

our @EXPORT_OK = qw(setting new_node escrowpay_conf checkpoint_key model_world drive ledger_checks
  calls_as_predicted states_as_modelled server_crashes flow_totals table_fingerprints after_outage
  acknowledged_present acknowledged_call start_psql_script);

# setting(NAME, default, soak default): ESCROWPAY_<NAME> from the
# environment, else the soak default when ESCROWPAY_SOAK is set (make
# soak), else the default.
sub setting
{
	my ($name, $default, $soak) = @_;
	my $v = $ENV{"ESCROWPAY_$name"};
	return $v if defined $v && $v ne '';
	return $soak if $ENV{ESCROWPAY_SOAK} && defined $soak;
	return $default;
}

# The seed: ESCROWPAY_SEED, else fixed for make test (reproducible runs),
# else (make soak) a new one per run.  Always printed by the caller.
sub seed
{
	my $v = $ENV{ESCROWPAY_SEED};
	return $v if defined $v && $v =~ /^\d+$/;
	return $ENV{ESCROWPAY_SOAK} ? (time() ^ ($$ << 8)) % 1_000_000 : 20261123;
}

# What every node with escrowpay needs (docs/operations.md): escrowpay in
# shared_preload_libraries, a key file for identity codes (mode 0600,
# random secret) and an Ed25519 key that signs checkpoints (openssl
# genpkey, mode 0600), written here beside the node's data directory.
# Returns the postgresql.conf lines.
sub escrowpay_conf
{
	my ($node) = @_;
	my $file = $node->basedir . '/escrowpay.keys';
	# from /dev/urandom: rand() would disturb the tests' seeded sequences
	open my $rnd, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
	read($rnd, my $bytes, 32) == 32 or die "/dev/urandom: short read";
	close $rnd;
	open my $fh, '>', $file or die "$file: $!";
	print $fh 'tap1 ', unpack('H*', $bytes), "\n";
	close $fh;
	chmod(0600, $file) or die "chmod $file: $!";
	my $ckey = checkpoint_key($node->basedir . '/checkpoint.pem');
	return "shared_preload_libraries = 'escrowpay'\nescrowpay.hmac_key_file = '$file'\n"
	  . "escrowpay.checkpoint_key_file = '$ckey'\n";
}

# Write a new Ed25519 private key (PEM, mode 0600) to $file; returns $file.
sub checkpoint_key
{
	my ($file) = @_;
	unlink $file;
	system('openssl', 'genpkey', '-algorithm', 'ed25519', '-out', $file) == 0
	  or die "openssl genpkey -algorithm ed25519 -out $file failed";
	chmod(0600, $file) or die "chmod $file: $!";
	return $file;
}

# A started node with escrowpay installed (and amcheck for pg_amcheck);
# empty => 1: without them (a target for pg_restore); init => { ... }:
# options of PostgreSQL::Test::Cluster::init (allows_streaming => 1, ...).
sub new_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $o{init} // {} });
	$node->append_conf('postgresql.conf', escrowpay_conf($node) . join("\n",
		"max_connections = 40",
		"log_min_messages = warning",
		"log_min_error_statement = panic",
		@{ $o{conf} // [] }) . "\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION escrowpay; CREATE EXTENSION amcheck;')
	  unless $o{empty};
	return $node;
}

# Set up the model world for $n clients; returns (world, actors).
sub model_world
{
	my ($node, $n, $seed) = @_;
	my $q = sub { $node->safe_psql('postgres', $_[0]) };
	$q->(EscrowPay::Model::setup_sql($n));
	my $world = EscrowPay::Model::load_world($q, $n);
	my @actors;
	for my $c (1 .. $n)
	{
		my $a = EscrowPay::Model->new(client => $c, world => $world, seed => $seed);
		$a->adopt($a->load_state($q));
		push @actors, $a;
	}
	return ($world, \@actors);
}

# calls_as_predicted(RUN, NAME): the test that every call of a drive() run
# gave what the model predicted; the first ten failures shown otherwise.
sub calls_as_predicted
{
	my ($run, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @f = @{ $run->{failures} };
	return is(scalar @f, 0, $name) || diag(join("\n", @f[ 0 .. ($#f < 9 ? $#f : 9) ]));
}

# states_as_modelled(ACTORS, Q, NAME): for each client, the test that its
# state read through Q (a sub running SQL) is the model's; the first twenty
# differences shown otherwise.
sub states_as_modelled
{
	my ($actors, $q, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	for my $a (@$actors)
	{
		my @d = EscrowPay::Model::diff_states($a->{st}, $a->load_state($q));
		is(scalar @d, 0, 'client ' . $a->c . ": $name")
		  or diag(join("\n", @d[ 0 .. ($#d < 19 ? $#d : 19) ]));
	}
}

# Run the actors' calls through one psql client each, concurrently.
#   ops      => total calls to make (all clients together), or
#   seconds  => run until then (with ops: whichever comes first);
#   crash    => sub called when the time is up, while the clients are busy;
#               calls cut off by it are reported as lost (in flight);
#   stop_after_failures => give up after that many mispredictions.
# Returns { calls, failures => [...], pending => { client => pred } }.
sub drive
{
	my ($node, $actors, %o) = @_;
	my $tmp = $o{tmp} // PostgreSQL::Test::Utils::tempdir;
	my @clients;
	for my $a (@$actors)
	{
		push @clients, EscrowPay::Client->new(
			connstr => $node->connstr('postgres'),
			name    => 'c' . $a->c,
			log     => "$tmp/client-c" . $a->c . ".log");
	}
	my %actor_of = map { $clients[$_]{name} => $actors->[$_] } 0 .. $#clients;
	my $left = $o{ops} // 1e12;
	my $until = defined $o{seconds} ? Time::HiRes::time() + $o{seconds} : undef;
	my $max_fail = $o{stop_after_failures} // 20;
	my (@failures, $calls);
	my $crashed = 0;
	my $progress = Time::HiRes::time();
	$_->{lost} = undef for @$actors;
	my $feed = sub {
		for my $cl (@clients)
		{
			# once the calls are made, an actor still finishes the calls it
			# queued (reading a deal's new ids, waiting for maintenance)
			next if $cl->busy || !$cl->alive || $cl->{cut_off}
			  || ($left <= 0 && !@{ $actor_of{ $cl->name }{queue} });
			# without a crash to come, time up is as good as every call made
			$left = 0 if $until && !$o{crash} && Time::HiRes::time() > $until;
			last if $until && $o{crash} && Time::HiRes::time() > $until && !$crashed;
			last if $crashed && Time::HiRes::time() > $crashed + 3;
			my $a = $actor_of{ $cl->name };
			my $pred = $a->next_call;
			$left--;
			$cl->send(EscrowPay::Model::sql_to_send($pred), $pred);
		}
	};
	$feed->();
	while (grep { $_->busy } @clients)
	{
		my @done = EscrowPay::Client::wait_any(\@clients, $crashed ? 2 : 10, 1);
		if (@done) { $progress = Time::HiRes::time(); }
		elsif (Time::HiRes::time() - $progress > 300)
		{
			EscrowPay::Client::wait_any(\@clients, 0);    # dies, naming the calls
		}
		if (!@done && ($crashed || !postmaster_alive($node)))
		{
			# the server is gone: make the clients still waiting quit (psql
			# may sit waiting for its next command on a dead connection)
			$_->hangup for grep { $_->busy } @clients;
			@done = EscrowPay::Client::wait_any(\@clients, 30);
		}
		for my $done (@done)
		{
			my ($cl, $res) = @$done;
			my $a = $actor_of{ $cl->name };
			# after the crash, a call that failed for want of a connection
			# is as good as lost: nobody knows whether it committed
			$res->{state} = 'lost'
			  if $crashed && ($res->{state} =~ /^(08|57P)/ || $res->{state} !~ /^[0-9A-Z]{5}$/);
			if ($res->{state} eq 'lost')
			{
				trace("c" . $a->c . " LOST $res->{sql}");
				push @failures, "client " . $cl->name . " lost its connection during $res->{sql}\n"
				  . $cl->log_tail unless $o{crash};
				$a->{lost} = $res->{tag};
				$cl->{cut_off} = 1;
				next;
			}
			$calls++;
			trace("c" . $a->c . " $res->{state} $res->{sql} => " . join(' ', @{ $res->{rows} }));
			my $fail = $a->observe($res->{tag}, $res);
			if ($fail)
			{
				push @failures, "client " . $cl->name . ": $fail\n" . $cl->log_tail(8);
			}
		}
		if (@failures >= $max_fail)
		{
			$o{crash}->() if $o{crash} && !$crashed;
			last;
		}
		my $time_up = $until && Time::HiRes::time() > $until;
		if ($time_up && $o{crash} && !$crashed)
		{
			# crash the server under full load: the clients keep sending
			# calls until each finds its connection gone
			trace('CRASH');
			$o{crash}->();
			$crashed = Time::HiRes::time();
		}
		# after the crash, clients go on sending until each is cut off
		$feed->() unless $time_up && $o{crash} && !$crashed;
		# a long run says how far it got
		if ($ENV{ESCROWPAY_SOAK} && ($calls // 0) >= ($o{next_report} //= 50000))
		{
			diag(sprintf('progress: %d calls, %d mispredictions', $calls, scalar @failures));
			$o{next_report} += 50000;
		}
	}
	my %pending;
	for my $cl (@clients)
	{
		my $a = $actor_of{ $cl->name };
		$pending{ $a->c } = $cl->{pending}{tag} if $cl->busy;
	}
	$_->quit for @clients;
	return { calls => $calls, failures => \@failures, pending => \%pending };
}

# After an outage that cut the clients off (a crash, a failover): per
# actor, the state on $node must be exactly the model's state after the
# calls the client saw acknowledged -- or that state plus the one call that
# was in flight ($actor->{lost}: it may or may not have committed, nothing
# in between).  Then each actor adopts the state found and queues a retry of
# its in-flight call if it had an idempotency key (a committed one replays
# its first result, a lost one runs again).  Returns
#   { bad => [ "client N: differences", ... ], acked_transfers => n,
#     committed_in_flight => n, retried => n }
sub after_outage
{
	my ($node, $actors) = @_;
	my $q = sub { $node->safe_psql('postgres', $_[0]) };
	my %r = (bad => [], acked_transfers => 0, committed_in_flight => 0, retried => 0);
	for my $a (@$actors)
	{
		my $db = $a->load_state($q);
		my @cand = $a->candidate_states($a->{lost});
		my ($match, $best);
		for my $i (0 .. $#cand)
		{
			my @d = EscrowPay::Model::diff_states($cand[$i], $db);
			if (!@d) { $match = $i; last; }
			$best = \@d if !$best || @d < @$best;
		}
		if (!defined $match)
		{
			push @{ $r{bad} }, 'client ' . $a->c . ($a->{lost} ? " (in flight: $a->{lost}{sql})" : '')
			  . ":\n  " . join("\n  ", @$best[ 0 .. ($#$best < 14 ? $#$best : 14) ]);
		}
		elsif ($match > 0 && $a->{lost})
		{
			$r{committed_in_flight}++;
		}
		$r{acked_transfers} += grep { defined } keys %{ $a->{st}{xfers} };
		my $old = $a->{st};
		$a->adopt($db);
		$r{retried}++ if $a->retry_after_crash($a->{lost}, defined $match && $match == 0, $old);
	}
	return \%r;
}

# ESCROWPAY_TRACE=file: every call and its result, for debugging the model
sub trace
{
	return unless $ENV{ESCROWPAY_TRACE};
	open my $fh, '>>', $ENV{ESCROWPAY_TRACE} or return;
	print $fh "$_[0]\n";
	close $fh;
}

sub postmaster_alive
{
	my ($node) = @_;
	open my $fh, '<', $node->data_dir . '/postmaster.pid' or return 0;
	my $pid = <$fh>;
	close $fh;
	chomp $pid;
	return $pid && kill(0, $pid);
}

# Ledger-wide checks, each a test.  Returns the number that failed.
sub ledger_checks
{
	my ($node, $label) = @_;
	my $bad = 0;
	my $q = sub { $node->safe_psql('postgres', $_[0]) };
	my $problems = $q->('SELECT problem || \': \' || detail FROM escrow.verify_ledger()');
	is($problems, '', "$label: verify_ledger() finds no problem") or $bad++;
	is($q->(q{SELECT string_agg(currency || ' ' || s, ', ') FROM
		(SELECT currency, sum(posted) s FROM escrow.balances GROUP BY currency
		 HAVING sum(posted) <> 0) x}),
		'', "$label: the balances of every currency sum to zero") or $bad++;
	is($q->(q{SELECT count(*) FROM escrow.transfers t
		LEFT JOIN (SELECT transfer_id, count(*) AS n
		             FROM (SELECT transfer_id FROM escrow.entries
		                   UNION ALL SELECT transfer_id FROM escrow.unfolded) x GROUP BY 1) e
		       ON e.transfer_id = t.id
		WHERE coalesce(e.n, 0) <> 2}),
		'0', "$label: every transfer has its two journal entries, folded or not") or $bad++;
	my ($rc, $out, $err) = $node->psql('postgres',
		q{SELECT count(*) FROM pg_class c WHERE relnamespace = 'escrow'::regnamespace});
	my @cmd = ('pg_amcheck', '-h', $node->host, '-p', $node->port, '--schema', 'escrow',
		'--heapallindexed', '--parent-check', '--rootdescend', 'postgres');
	my ($stdout, $stderr) = run_command(\@cmd);
	is($stdout . $stderr, '', "$label: pg_amcheck --heapallindexed --parent-check finds nothing "
		  . "in the $out relations of schema escrow")
	  or $bad++;
	return $bad;
}

# acknowledged_present(node, label, {transfer id => kind}, {hold id => 1},
# {released hold id => 1}): every transfer a client saw acknowledged exists
# with the kind it saw, every acknowledged hold exists and every acknowledged
# release persists (crash tests, after recovery).
sub acknowledged_present
{
	my ($node, $label, $transfer_kind, $hold_ids, $released_holds) = @_;
	my $ids = join(',', sort { $a <=> $b } keys %$transfer_kind);
	my %found = map { split /\|/ } split /\n/,
	  $node->safe_psql('postgres',
		"SELECT id, kind FROM escrow.transfers WHERE id = ANY ('{$ids}'::bigint[])");
	my @missing = grep { ($found{$_} // '') ne $transfer_kind->{$_} } sort { $a <=> $b } keys %$transfer_kind;
	is(scalar(@missing), 0,
		"$label: all " . scalar(keys %$transfer_kind) . " acknowledged transfers exist")
	  or diag('missing or wrong kind: '
		  . join(' ', map { "$_ ($transfer_kind->{$_})" } @missing[ 0 .. ($#missing < 20 ? $#missing : 19) ]));
	my $holds = join(',', keys %$hold_ids);
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM escrow.holds WHERE id = ANY ('{$holds}'::bigint[])"),
		scalar(keys %$hold_ids),
		"$label: all " . scalar(keys %$hold_ids) . " acknowledged holds exist");
	my $released = join(',', keys %$released_holds);
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM escrow.holds WHERE status = 'released' "
			  . "AND id = ANY ('{$released}'::bigint[])"),
		scalar(keys %$released_holds),
		"$label: all " . scalar(keys %$released_holds) . " acknowledged releases persist");
	return;
}

# acknowledged_call(LINE, \%transfer_kind, \%hold_ids, \%released_holds):
# record a line a load client printed for an acknowledged call ("T id"
# transfer, "C id" capture, "F id" refund, "H id" hold, "R id amount"
# release) for acknowledged_present(); false for any other line.
sub acknowledged_call
{
	my ($line, $transfer_kind, $hold_ids, $released_holds) = @_;
	my %kind = (T => 'transfer', C => 'capture', F => 'refund');
	if ($line =~ /^([TCF]) (\d+)$/) { $transfer_kind->{$2} = $kind{$1}; }
	elsif ($line =~ /^H (\d+)$/) { $hold_ids->{$1} = 1; }
	elsif ($line =~ /^R (\d+) \d+$/) { $released_holds->{$1} = 1; }
	else { return 0; }
	return 1;
}

# Per table of schema escrow: row count and a hash of all rows.
sub table_fingerprints
{
	my ($node, $db) = @_;
	my $q = sub { $node->safe_psql($db // 'postgres', $_[0]) };
	my %fp;
	for my $t (split /\n/, $q->(q{SELECT relname FROM pg_class
		WHERE relnamespace = 'escrow'::regnamespace AND relkind = 'r' ORDER BY 1}))
	{
		$fp{$t} = $q->("SELECT count(*) || ' rows, md5 ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM escrow.$t t");
	}
	return \%fp;
}

# Lines of the server log that say a backend crashed.
sub server_crashes
{
	my ($node) = @_;
	my $log = slurp_file($node->logfile);
	return grep { /terminated by signal|was terminated|PANIC|TRAP:/ } split /\n/, $log;
}

# Money that went into shared and funding accounts according to the
# actors: { "shared:EUR" => n, "funding:EUR" => n, ... }
sub flow_totals
{
	my ($actors) = @_;
	my %t;
	for my $a (@$actors)
	{
		$t{$_} += $a->{st}{flow}{$_} for keys %{ $a->{st}{flow} // {} };
	}
	return \%t;
}

# start_psql_script(connstr, script, out, err): a psql client in the
# background running the file script against connstr, errors not stopping
# it (ON_ERROR_STOP=0), one unaligned value per line into the file out,
# its messages into err; returns the IPC::Run handle (finish() it).
sub start_psql_script
{
	my ($connstr, $script, $out, $err) = @_;
	return IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0', '-d', $connstr, '-f', $script ],
		'<', \undef, '>', $out, '2>', $err);
}

1;
