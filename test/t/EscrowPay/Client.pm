
# EscrowPay::Client -- many psql sessions driven from one Perl process.
#
# DBD::Pg is not among the test dependencies, so each client is a psql
# process reading SQL from a pipe.  After each call the client echoes a
# banner with psql's :SQLSTATE variable ("00000" on success), so the driver
# learns the exact SQLSTATE of every call without parsing error messages:
#
#     <the call>;
#     \echo '@@17' :SQLSTATE
#
# Output lines before the banner are the call's result (psql -A -t: one line
# per row, columns separated by "|").  Error messages go to a per-client
# log file, which failures quote.
#
# wait_any() multiplexes all clients with select(), so N clients really run
# N calls at once in N backends.  A client whose psql exits (the server
# crashed or was stopped) reports its pending call as lost: it was never
# acknowledged.
#
# Used by test/t/003_model.pl, 004_crash_cycles.pl and 005_fuzz.pl.

package EscrowPay::Client;

use strict;
use warnings;

use Fcntl;
use IO::Handle;
use IO::Select;
use POSIX ();
use Time::HiRes ();

# EscrowPay::Client->new(connstr => ..., name => ..., log => FILE,
#                        psql_args => [...])
sub new
{
	my ($class, %a) = @_;
	my $self = bless {
		name    => $a{name} // 'client',
		log     => $a{log},
		buf     => '',
		n       => 0,
		pending => undef,
		alive   => 1,
	}, $class;

	pipe(my $in_r, my $in_w) or die "pipe: $!";
	pipe(my $out_r, my $out_w) or die "pipe: $!";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# the child only execs psql: no Perl END blocks may run here
		open(STDIN, '<&', $in_r) or POSIX::_exit(126);
		open(STDOUT, '>&', $out_w) or POSIX::_exit(126);
		if (defined $a{log})
		{
			open(STDERR, '>>', $a{log}) or POSIX::_exit(126);
		}
		close $in_w;
		close $out_r;
		exec('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=0',
			'-v', 'VERBOSITY=verbose', @{ $a{psql_args} // [] },
			'-d', $a{connstr})
		  or POSIX::_exit(127);
	}
	close $in_r;
	close $out_w;
	$in_w->autoflush(1);
	my $flags = fcntl($out_r, F_GETFL, 0);
	fcntl($out_r, F_SETFL, $flags | O_NONBLOCK);
	$self->{pid} = $pid;
	$self->{in}  = $in_w;
	$self->{out} = $out_r;
	return $self;
}

sub name  { return $_[0]{name}; }
sub alive { return $_[0]{alive}; }
sub busy  { return defined $_[0]{pending}; }

# Send one SQL call (it must end with ";"); $tag is handed back with the
# result.  Returns false when the client is dead.
sub send
{
	my ($self, $sql, $tag) = @_;
	die "$self->{name}: a call is already pending" if defined $self->{pending};
	return 0 unless $self->{alive};
	my $n = ++$self->{n};
	$self->{pending} = { n => $n, sql => $sql, tag => $tag,
		start => Time::HiRes::time() };
	local $SIG{PIPE} = 'IGNORE';
	my $msg = "$sql\n\\echo '\@\@$n' :SQLSTATE\n";
	my $off = 0;
	while ($off < length $msg)
	{
		my $w = syswrite($self->{in}, $msg, length($msg) - $off, $off);
		if (!defined $w)
		{
			next if $!{EINTR} || $!{EAGAIN};
			$self->_died;
			return 0;
		}
		$off += $w;
	}
	return 1;
}

sub _died
{
	my ($self) = @_;
	$self->{alive} = 0;
	close $self->{in};
	close $self->{out};
	waitpid($self->{pid}, 0);
}

# Read what is there; returns a completed result or undef.
#   { state => SQLSTATE | 'lost', rows => [lines], sql => ..., tag => ...,
#     secs => elapsed }
sub _read
{
	my ($self) = @_;
	while (1)
	{
		my $r = sysread($self->{out}, my $chunk, 65536);
		if (!defined $r)
		{
			last if $!{EAGAIN} || $!{EWOULDBLOCK};
			next if $!{EINTR};
			$r = 0;
		}
		if ($r == 0)
		{
			# EOF: psql exited (connection lost)
			my $p = $self->{pending};
			$self->{pending} = undef;
			$self->_died;
			return $p ? { %$p, state => 'lost', rows => [] } : { state => 'eof' };
		}
		$self->{buf} .= $chunk;
	}
	my $p = $self->{pending};
	return undef unless $p;
	if ($self->{buf} =~ /(?:^|\n)\@\@$p->{n} (\S+)\n/)
	{
		my $state = $1;
		my $body = substr($self->{buf}, 0, $-[0]);
		$self->{buf} = substr($self->{buf}, $+[0]);
		$self->{pending} = undef;
		my @rows = length($body) ? split(/\n/, $body, -1) : ();
		return { %$p, state => $state, rows => \@rows,
			secs => Time::HiRes::time() - $p->{start} };
	}
	return undef;
}

# Wait until at least one of @clients completes its call; returns a list of
# [client, result] pairs.  Dies after $timeout seconds without progress,
# or returns an empty list when $quiet.
sub wait_any
{
	my ($clients, $timeout, $quiet) = @_;
	$timeout //= $ENV{ESCROWPAY_CLIENT_TIMEOUT} // 300;
	my $sel = IO::Select->new;
	my %by_fh;
	for my $c (@$clients)
	{
		next unless $c->{alive} && $c->{pending};
		$sel->add($c->{out});
		$by_fh{ fileno($c->{out}) } = $c;
	}
	return () unless $sel->count;
	my $deadline = Time::HiRes::time() + $timeout;
	while (1)
	{
		my @ready = $sel->can_read(1);
		my @done;
		for my $fh (@ready)
		{
			my $c = $by_fh{ fileno($fh) };
			my $res = $c->_read;
			push @done, [ $c, $res ] if $res && $res->{state} ne 'eof';
		}
		return @done if @done;
		return () if $quiet && Time::HiRes::time() > $deadline;
		if (Time::HiRes::time() > $deadline)
		{
			my @why = map {
				sprintf('%s (pid %d %s): %s', $_->{name}, $_->{pid},
					kill(0, $_->{pid}) ? 'running' : 'gone', $_->{pending}{sql})
			} grep { $_->{alive} && $_->{pending} } @$clients;
			die "no client answered within $timeout s; waiting for: " . join('; ', @why);
		}
	}
}

# Run one call and wait for it (convenience for sequential use).
sub call
{
	my ($self, $sql, $timeout) = @_;
	$self->send($sql) or return { state => 'lost', rows => [], sql => $sql };
	while (1)
	{
		my @d = wait_any([$self], $timeout);
		return $d[0][1] if @d;
		return { state => 'lost', rows => [], sql => $sql } unless $self->{alive};
	}
}

# A call that must succeed; returns its rows.
sub call_ok
{
	my ($self, $sql) = @_;
	my $r = $self->call($sql);
	die "$self->{name}: $sql failed with $r->{state}\n" . $self->log_tail
	  unless $r->{state} eq '00000';
	return wantarray ? @{ $r->{rows} } : join("\n", @{ $r->{rows} });
}

# The last lines of the client's error log.
sub log_tail
{
	my ($self, $lines) = @_;
	$lines //= 12;
	return '' unless defined $self->{log} && -e $self->{log};
	open my $fh, '<', $self->{log} or return '';
	my @all = <$fh>;
	close $fh;
	my $from = @all > $lines ? @all - $lines : 0;
	return join('', @all[ $from .. $#all ]);
}

# Tell psql to quit after what it is doing.  psql does not always exit by
# itself when the server goes away (it may wait for the next command with a
# closed connection), and it flushes its output when it exits: so after a
# crash, every result psql received still reaches us, then EOF.
sub hangup
{
	my ($self) = @_;
	return unless $self->{alive} && !$self->{hung_up};
	local $SIG{PIPE} = 'IGNORE';
	syswrite($self->{in}, "\\q\n");
	$self->{hung_up} = 1;
}

sub quit
{
	my ($self) = @_;
	return unless $self->{alive};
	local $SIG{PIPE} = 'IGNORE';
	syswrite($self->{in}, "\\q\n");
	close $self->{in};
	waitpid($self->{pid}, 0);
	close $self->{out};
	$self->{alive} = 0;
}

sub DESTROY
{
	my ($self) = @_;
	if ($self->{alive} && $self->{pid})
	{
		kill 'TERM', $self->{pid};
		waitpid($self->{pid}, 0);
	}
}

1;
