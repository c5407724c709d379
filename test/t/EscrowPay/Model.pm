
# EscrowPay::Model -- a model of escrowpay's money calls that predicts the
# exact outcome (result or SQLSTATE) of every call a client makes.
#
# Each client ("actor") owns its accounts, holds, transfers, idempotency
# keys, parties and deals: nobody else touches them, and its calls run one
# at a time, so the model can predict every result exactly (balances, held
# amounts, refund limits, and which SQLSTATE each bad call gets, in the
# order the C code checks things).  Shared accounts are touched by every
# client: a debit of a shared account may be refused (EP001) or not,
# depending on the others, so there the model accepts both and learns from
# the answer; only invariants are checked for the shared accounts.
#
# The simulation mirrors the C code's order of checks (argument checks,
# idempotency key claim, account/hold/transfer lookups in lock order,
# funds, overflow) -- when the code changes that order on purpose, update
# the model.  A prediction is a list of acceptable outcomes, each with a
# SQLSTATE, a check of the returned rows and an effect on the model.
#
# The model state of a client can be loaded from the database (at the
# start, and after a crash), and compared with it (at the end, and after a
# crash, where the call in flight may or may not have committed).

package EscrowPay::Model;

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Storable qw(dclone);

use constant MAXI => 9223372036854775807;
use constant MINI => -9223372036854775807 - 1;

# The documented SQLSTATEs (README.md, DESIGN.md "Errors")
our @DOCUMENTED = qw(22023 22003 42501 P0002 EP001 EP002 EP003 EP004 EP005
  EP006 EP007 EP008);

# ------------------------------------------------------------------ PRNG
# xorshift32 per client: each client's choices depend only on the seed and
# on what the client has seen, not on how the clients interleave.
package EscrowPay::Rng;

sub new
{
	my ($class, $seed) = @_;
	my $x = ($seed * 2654435761 + 0x9E3779B9) & 0xFFFFFFFF;
	$x ||= 1;
	my $self = bless { x => $x }, $class;
	$self->next32 for 1 .. 8;
	return $self;
}

sub next32
{
	my ($self) = @_;
	my $x = $self->{x};
	$x ^= ($x << 13) & 0xFFFFFFFF;
	$x ^= $x >> 17;
	$x ^= ($x << 5) & 0xFFFFFFFF;
	return $self->{x} = $x;
}

sub rand { my ($s, $n) = @_; return $s->next32 / 4294967296 * ($n // 1); }
sub int { my ($s, $n) = @_; return CORE::int($s->rand($n)); }
sub range { my ($s, $lo, $hi) = @_; return $lo + $s->int($hi - $lo + 1); }
sub chance { my ($s, $p) = @_; return $s->rand < $p; }
sub pick { my $s = shift; return $_[ $s->int(scalar @_) ]; }

sub weighted
{
	my ($s, @pairs) = @_;
	my $total = 0;
	$total += $pairs[ 2 * $_ + 1 ] for 0 .. $#pairs / 2;
	my $r = $s->rand($total);
	for (my $i = 0; $i < @pairs; $i += 2)
	{
		return $pairs[$i] if ($r -= $pairs[ $i + 1 ]) < 0;
	}
	return $pairs[-2];
}

package EscrowPay::Model;

# ------------------------------------------------------------- helpers
sub add_ovf
{
	my ($a, $b) = @_;
	return undef if ($b > 0 && $a > MAXI - $b) || ($b < 0 && $a < MINI - $b);
	return $a + $b;
}

sub sub_ovf
{
	my ($a, $b) = @_;
	return undef if ($b < 0 && $a > MAXI + $b) || ($b > 0 && $a < MINI + $b);
	return $a - $b;
}

sub lit
{
	my ($v) = @_;
	return 'NULL' unless defined $v;
	return "'$v'::bigint" if $v < 0;
	return "$v";
}

sub tlit
{
	my ($v) = @_;
	return 'NULL' unless defined $v;
	(my $q = $v) =~ s/'/''/g;
	return "'$q'";
}

sub alit
{
	my ($list) = @_;
	return 'NULL::bigint[]' unless defined $list;
	return "'{" . join(',', map { defined $_ ? $_ : 'NULL' } @$list) . "}'::bigint[]";
}

my %INTERVAL_KEY = (
	NULL            => 'NULL',
	'1 hour'        => '0 months 0 days 3600000000 us',
	'1 microsecond' => '0 months 0 days 1 us',
	'7 days'        => '0 months 7 days 0 us',
	'2 days'        => '0 months 2 days 0 us',
);

sub ilit { my ($i) = @_; return defined $i ? "interval '$i'" : 'NULL::interval'; }
sub ikey { my ($i) = @_; return $INTERVAL_KEY{ $i // 'NULL' } // die "no key for interval $i"; }

sub fee_of
{
	my ($amount, $bps) = @_;
	return CORE::int($amount / 10000) * $bps + CORE::int(($amount % 10000) * $bps / 10000);
}

# The deal lifecycle as the model knows it (mirrors the table in deal.c;
# the test compares it with escrow.deal_transitions()).  Actors: B buyer,
# M merchant, I inspector, A escrow_admin, S system.
our @TRANSITIONS = (
	[qw(open_deal start order_received B)],
	[qw(confirm_identity order_received identity_confirmed B)],
	[qw(reserve identity_confirmed funds_reserved B)],
	[qw(mark_shipped funds_reserved shipped M)],
	[qw(mark_delivered shipped delivered MI)],
	[qw(confirm_inspection delivered settled BI)],
	[qw(auto_accept delivered settled S)],
	[qw(complete settled completed S)],
	[qw(cancel_deal order_received cancelled BM)],
	[qw(cancel_deal identity_confirmed cancelled BM)],
	[qw(cancel_deal funds_reserved cancelled BM)],
	[qw(expire funds_reserved expired S)],
	[qw(reject_delivery delivered returned BI)],
	[qw(request_return settled returned B)],
	[qw(confirm_return returned refunded M)],
	[qw(open_dispute shipped disputed BM)],
	[qw(open_dispute delivered disputed BM)],
	[qw(open_dispute settled disputed BM)],
	[qw(open_dispute returned disputed BM)],
	[qw(resolve_dispute disputed resolved A)],
);

# ------------------------------------------------------------------ world
# The accounts every client may name: shared accounts, funding accounts,
# balance shards (not accounts: P0002), and ids that exist nowhere.
#
# new_world(n_clients) returns the setup SQL's parameters; load_world
# fills in the ids after the setup SQL ran.

sub setup_sql
{
	my ($n) = @_;
	my $sql = <<'EOS';
DO $$
DECLARE a bigint;
BEGIN
  -- shared accounts (every client moves money in and out of them)
  FOR i IN 1..2 LOOP
    a := escrow.open_account('shared-' || i, 'EUR');
    PERFORM escrow.deposit(a, 100000);
  END LOOP;
  a := escrow.open_account('shared-hot', 'EUR');
  PERFORM escrow.set_account_shards(a, 4);
  PERFORM escrow.deposit(a, 100000);
  PERFORM escrow.deposit(a, 1, 'setup-key');
  PERFORM escrow.open_account('shared-jpy', 'JPY');
  PERFORM escrow.set_account_shards(
    (SELECT id FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'JPY'), 2);
END $$;
EOS
	for my $c (1 .. $n)
	{
		my $bps = 100 + 50 * ($c % 5);
		$sql .= <<"EOS";
DO \$\$
DECLARE d1 bigint; d2 bigint; cr bigint; s bigint; f bigint; j bigint;
BEGIN
  d1 := escrow.open_account('c$c-d1', 'EUR');
  d2 := escrow.open_account('c$c-d2', 'EUR');
  cr := escrow.open_account('c$c-cr', 'EUR', 'credit', 300000);
  s  := escrow.open_account('c$c-s', 'EUR');
  f  := escrow.open_account('c$c-f', 'EUR');
  j  := escrow.open_account('c$c-j', 'JPY');
  PERFORM escrow.set_account_shards(s, 2);
  PERFORM escrow.deposit(d1, 1000000);
  PERFORM escrow.deposit(d2, 200000);
  PERFORM escrow.deposit(s, 50000);
  PERFORM escrow.deposit(j, 5000000);
  PERFORM escrow.register_member('m$c', 'member $c', 'm$c\@example.org', d1);
  PERFORM escrow.register_member('k$c', 'credit member $c', 'k$c\@example.org', cr);
  PERFORM escrow.register_member('j$c', 'yen member $c', 'j$c\@example.org', j);
  PERFORM escrow.register_merchant('s$c', 'shop $c', 's$c\@example.org', s,
                                   fee_bps => $bps, fee_account => f);
END \$\$;
EOS
	}
	return $sql;
}

# $q is a sub(sql) returning the output of psql -A -t (safe_psql)
sub load_world
{
	my ($q, $n) = @_;
	my %w = (n => $n, seen_transfer => {}, seen_hold => {}, seen_deal => {});
	for my $row (split /\n/,
		$q->(q{SELECT id, owner, kind, currency, coalesce(parent, 0) FROM escrow.accounts ORDER BY id}))
	{
		my ($id, $owner, $kind, $cur, $parent) = split /\|/, $row;
		if ($kind eq 'shard') { push @{ $w{shards} }, $id; }
		elsif ($owner eq 'escrow:funding')
		{
			$w{funding}{$cur} = $id;
			$w{ext}{$id} = { kind => 'system', cur => $cur, funding => 1 };
		}
		elsif ($owner =~ /^shared-/)
		{
			$w{ext}{$id} = { kind => 'deposit', cur => $cur, shared => 1,
				hot => $owner eq 'shared-hot' ? 1 : 0 };
			push @{ $w{shared}{$cur} }, $id;
		}
	}
	$w{max_id} = $q->(q{SELECT max(id) FROM escrow.accounts});
	return \%w;
}

# ids that exist nowhere (or are not what they are passed as)
sub unknown_id
{
	my ($w, $rng) = @_;
	return $rng->pick(0, -1, MINI, MAXI, 1_000_000_000_000 + $rng->int(1_000_000),
		2_147_483_648);
}

# ------------------------------------------------------------------ actor
sub new
{
	my ($class, %a) = @_;
	my $self = bless {
		c     => $a{client},
		w     => $a{world},
		rng   => EscrowPay::Rng->new($a{seed} * 1000 + $a{client}),
		st    => undef,            # the model state (load_state)
		nkey  => 0,
		stats => {},
		failures => [],
		queue => [],               # calls that must come next
	}, $class;
	return $self;
}

sub c { return $_[0]{c}; }

# -------------------------------------------------------- state from DB
# Everything the client owns, as the database has it.  Both the model
# state and what it is compared with have this shape.
sub load_state
{
	my ($self, $q) = @_;
	my $c = $self->{c};
	my %st = (acct => {}, role => {}, holds => {}, anon_holds => [],
		xfers => {}, anon_xfers => [], keys => {}, deals => {});
	for my $row (split /\n/, $q->(qq{
		SELECT a.id, substr(a.owner, length('c$c-') + 1), a.kind, a.currency,
		       a.posted + coalesce((SELECT sum(s.posted) FROM escrow.accounts s
		                             WHERE s.parent = a.id), 0),
		       a.held, a.credit_limit, a.shards
		  FROM escrow.accounts a WHERE a.owner LIKE 'c$c-%' ORDER BY a.id}))
	{
		my ($id, $role, $kind, $cur, $posted, $held, $limit, $shards) = split /\|/, $row;
		$st{acct}{$id} = { id => $id, role => $role, kind => $kind, cur => $cur,
			posted => $posted, held => $held, limit => $limit, shards => $shards, own => 1 };
		$st{role}{$role} = $id;
	}
	my $own = '{' . join(',', sort { $a <=> $b } keys %{ $st{acct} }) . '}';
	for my $row (split /\n/, $q->(qq{
		SELECT id, debit_account, credit_account, amount, captured, released, status,
		       coalesce(expires_at < clock_timestamp() + interval '1 minute', false),
		       coalesce(deal, 0)
		  FROM escrow.holds WHERE debit_account = ANY ('$own') ORDER BY id}))
	{
		my ($id, $d, $cr, $amt, $cap, $rel, $status, $tiny, $deal) = split /\|/, $row;
		$st{holds}{$id} = { id => $id, debit => $d, credit => $cr, amount => $amt,
			captured => $cap, released => $rel, status => $status, deal => $deal,
			tiny => $tiny eq 't' ? 1 : 0 };
	}
	for my $row (split /\n/, $q->(qq{
		SELECT t.id, t.kind, t.debit_account, t.credit_account, t.amount, t.refunded,
		       coalesce(t.hold_id, 0), coalesce(t.refund_of, 0),
		       coalesce((SELECT dt.deal FROM escrow.deal_transfers dt WHERE dt.transfer_id = t.id),
		                (SELECT h.deal FROM escrow.holds h WHERE h.id = t.hold_id), 0)
		  FROM escrow.transfers t
		 WHERE t.debit_account = ANY ('$own') OR t.credit_account = ANY ('$own') ORDER BY t.id}))
	{
		my ($id, $kind, $d, $cr, $amt, $ref, $hold, $rof, $deal) = split /\|/, $row;
		$st{xfers}{$id} = { id => $id, kind => $kind, debit => $d, credit => $cr,
			amount => $amt, refunded => $ref, hold => $hold, refund_of => $rof, deal => $deal };
	}
	for my $row (split /\n/, $q->(qq{
		SELECT key, request, coalesce(result::text, ''), coalesce(results::text, '')
		  FROM escrow.idempotency_keys WHERE key LIKE 'c$c-%' ORDER BY key}))
	{
		my ($key, $req, $res, $ress) = split /\|/, $row;
		$st{keys}{$key} = { req => $req, result => length($ress) ? $ress : $res };
	}
	for my $row (split /\n/, $q->(qq{
		SELECT d.id, d.buyer, d.merchant, d.amount, d.stage, d.held, d.captured,
		       d.refunded, d.fee, coalesce(d.hold_id, 0), coalesce(d.capture_transfer, 0),
		       coalesce(d.fee_transfer, 0), coalesce(d.inspector, ''), d.fee_bps,
		       d.debit_account, d.credit_account, coalesce(d.fee_account, 0),
		       (SELECT count(*) FROM escrow.deal_events e WHERE e.deal = d.id),
		       d.code_hmac IS NOT NULL, d.code_attempts
		  FROM escrow.deals d WHERE d.merchant = 's$c' ORDER BY d.id}))
	{
		my @f = split /\|/, $row;
		$st{deals}{ $f[0] } = {
			id => $f[0], buyer => $f[1], merchant => $f[2], amount => $f[3],
			stage => $f[4], held => $f[5], captured => $f[6], refunded => $f[7],
			fee => $f[8], hold_id => $f[9], capture_transfer => $f[10],
			fee_transfer => $f[11], inspector => length($f[12]) ? $f[12] : undef,
			bps => $f[13], debit => $f[14], credit => $f[15], fee_account => $f[16],
			events => $f[17], code_pending => $f[18] eq 't' ? 1 : 0,
			attempts => $f[19], code => undef };
	}
	# ids in the order the client learnt them (ascending): the generators
	# look at the most recent ones only, so a long run stays fast
	$st{hold_list} = [ sort { $a <=> $b } keys %{ $st{holds} } ];
	$st{xfer_list} = [ sort { $a <=> $b } keys %{ $st{xfers} } ];
	$st{deal_list} = [ sort { $a <=> $b } keys %{ $st{deals} } ];
	$st{key_list}  = [ sort keys %{ $st{keys} } ];
	return \%st;
}

# the last $n entries of a list
sub recent
{
	my ($list, $n) = @_;
	return @$list <= $n ? @$list : @$list[ $#$list - $n + 1 .. $#$list ];
}

sub adopt
{
	my ($self, $st) = @_;
	$self->{st} = $st;
	$self->{queue} = [];
	delete $self->{pending_follow_up};
	# holds with a tiny expiry left open: release them first
	for my $h (sort { $a->{id} <=> $b->{id} } values %{ $st->{holds} })
	{
		push @{ $self->{queue} }, [ 'release_tiny', $h->{id} ]
		  if $h->{tiny} && $h->{status} eq 'open';
	}
}

# Differences between two states (model vs database), as text lines.
sub diff_states
{
	my ($m, $d) = @_;
	my @out;
	for my $id (sort { $a <=> $b } keys %{ $d->{acct} })
	{
		my ($x, $y) = ($m->{acct}{$id}, $d->{acct}{$id});
		if (!$x) { push @out, "account $id: not in model"; next; }
		for my $f (qw(posted held limit))
		{
			push @out, "account $id ($y->{role}) $f: model $x->{$f}, db $y->{$f}"
			  if $x->{$f} != $y->{$f};
		}
	}
	push @out, _diff_records('hold', $m->{holds}, $m->{anon_holds}, $d->{holds},
		[qw(debit credit amount captured released status deal)]);
	push @out, _diff_records('transfer', $m->{xfers}, $m->{anon_xfers}, $d->{xfers},
		[qw(kind debit credit amount refunded hold refund_of deal)]);
	push @out, sprintf('keys: model %d, db %d', scalar keys %{ $m->{keys} },
		scalar keys %{ $d->{keys} })
	  if keys %{ $m->{keys} } != keys %{ $d->{keys} };
	for my $k (sort keys %{ $m->{keys} })
	{
		my ($x, $y) = ($m->{keys}{$k}, $d->{keys}{$k});
		if (!$y) { push @out, "key $k: not in db"; next; }
		push @out, "key $k request: model $x->{req}, db $y->{req}" if $x->{req} ne $y->{req};
		push @out, "key $k result: model $x->{result}, db $y->{result}"
		  if defined $x->{result} && $x->{result} ne $y->{result};
	}
	my $mdeals = keys(%{ $m->{deals} }) + @{ $m->{anon_deals} // [] };
	push @out, sprintf('deals: model %d, db %d', $mdeals, scalar keys %{ $d->{deals} })
	  if $mdeals != keys %{ $d->{deals} };
	for my $id (sort { $a <=> $b } keys %{ $m->{deals} })
	{
		my ($x, $y) = ($m->{deals}{$id}, $d->{deals}{$id});
		if (!$y) { push @out, "deal $id: not in db"; next; }
		for my $f (qw(stage held captured refunded fee events attempts))
		{
			push @out, "deal $id $f: model $x->{$f}, db $y->{$f}" if $x->{$f} ne $y->{$f};
		}
		for my $f (qw(hold_id capture_transfer fee_transfer))
		{
			push @out, "deal $id $f: model $x->{$f}, db $y->{$f}"
			  if $x->{$f} && $x->{$f} ne $y->{$f};
		}
	}
	return @out;
}

sub _rec_key
{
	my ($r, $fields) = @_;
	return join('|', map { $r->{$_} // '?' } @$fields);
}

sub _diff_records
{
	my ($what, $mine, $anon, $db, $fields) = @_;
	my @out;
	my %left = %$db;
	for my $id (sort { $a <=> $b } keys %$mine)
	{
		my $y = delete $left{$id};
		if (!$y) { push @out, "$what $id: not in db"; next; }
		my ($a, $b) = (_rec_key($mine->{$id}, $fields), _rec_key($y, $fields));
		push @out, "$what $id: model $a, db $b" if $a ne $b;
	}
	# records whose id the model does not know: match as a multiset
	my %pool;
	push @{ $pool{ _rec_key($left{$_}, $fields) } }, $_ for keys %left;
	for my $r (@$anon)
	{
		my $k = _rec_key($r, $fields);
		if (@{ $pool{$k} // [] }) { my $id = shift @{ $pool{$k} }; delete $left{$id}; }
		else { push @out, "$what (id unknown to the model) $k: not in db"; }
	}
	push @out, "$what $_: in db, not in model (" . _rec_key($left{$_}, $fields) . ')'
	  for sort { $a <=> $b } keys %left;
	return @out;
}

# ------------------------------------------------------ simulation layer
# A simulation works on copies of the records it touches (an overlay), so
# a refused call leaves the model untouched; commit() writes the overlay
# into a state (the model's own, or a copy when reconciling after a crash).

sub _sim { return { a => {}, h => {}, t => {}, d => {}, new_h => [], new_t => [],
		keys => {}, amb => 0 }; }

sub s_acct
{
	my ($self, $s, $id) = @_;
	return undef unless defined $id;
	return $s->{a}{$id} if exists $s->{a}{$id};
	if (my $r = $self->{st}{acct}{$id}) { return $s->{a}{$id} = {%$r}; }
	return $self->{w}{ext}{$id};    # shared, funding or undef
}

sub s_hold
{
	my ($self, $s, $id) = @_;
	return undef unless defined $id;
	return $s->{h}{$id} if exists $s->{h}{$id};
	if (my $r = $self->{st}{holds}{$id}) { return $s->{h}{$id} = {%$r}; }
	return undef;
}

sub s_xfer
{
	my ($self, $s, $id) = @_;
	return undef unless defined $id;
	return $s->{t}{$id} if exists $s->{t}{$id};
	if (my $r = $self->{st}{xfers}{$id}) { return $s->{t}{$id} = {%$r}; }
	return undef;
}

sub s_deal
{
	my ($self, $s, $id) = @_;
	return undef unless defined $id;
	return $s->{d}{$id} if exists $s->{d}{$id};
	if (my $r = $self->{st}{deals}{$id}) { return $s->{d}{$id} = {%$r}; }
	return undef;
}

# Write a simulation into state $st.  $ids: ids learnt from the result
# (new holds / transfers in creation order, may be shorter).
sub commit
{
	my ($s, $st) = @_;
	for my $kind ([ 'a', 'acct' ], [ 'h', 'holds' ], [ 't', 'xfers' ], [ 'd', 'deals' ])
	{
		my ($k, $f) = @$kind;
		for my $id (keys %{ $s->{$k} })
		{
			next unless $st->{$f}{$id};    # shared / funding accounts
			%{ $st->{$f}{$id} } = %{ $s->{$k}{$id} };
		}
	}
	for my $h (@{ $s->{new_h} })
	{
		if (defined $h->{id}) { $st->{holds}{ $h->{id} } = {%$h}; push @{ $st->{hold_list} }, $h->{id}; }
		else { push @{ $st->{anon_holds} }, {%$h}; }
	}
	for my $t (@{ $s->{new_t} })
	{
		if (defined $t->{id}) { $st->{xfers}{ $t->{id} } = {%$t}; push @{ $st->{xfer_list} }, $t->{id}; }
		else { push @{ $st->{anon_xfers} }, {%$t}; }
	}
	for my $d (@{ $s->{new_d} // [] })
	{
		if (defined $d->{id}) { $st->{deals}{ $d->{id} } = {%$d}; push @{ $st->{deal_list} }, $d->{id}; }
		else { push @{ $st->{anon_deals} }, {%$d}; }
	}
	for my $k (sort keys %{ $s->{keys} })
	{
		push @{ $st->{key_list} }, $k unless $st->{keys}{$k};
	}
	$st->{flow}{$_} += $s->{flow}{$_} for keys %{ $s->{flow} // {} };
	$st->{keys}{$_} = { %{ $s->{keys}{$_} } } for keys %{ $s->{keys} };
}

# Post one leg; mirrors post_leg / post_leg_slow.  Returns an error or undef.
sub _leg
{
	my ($self, $s, $id, $delta, $unhold, $cur, $allow_funding) = @_;
	my $a = $self->s_acct($s, $id) or return 'P0002';
	return 'EP004' if defined $$cur && $a->{cur} ne $$cur;
	return '22023' if $a->{funding} && !$allow_funding;
	$$cur = $a->{cur};
	if ($a->{own})
	{
		my $np = add_ovf($a->{posted}, $delta) // return '22003';
		my $nh = $a->{held} - $unhold;
		if ($delta < 0 && $a->{kind} ne 'system')
		{
			my $avail = add_ovf($np, $a->{limit}) // return '22003';
			$avail = sub_ovf($avail, $nh) // return '22003';
			return 'EP001' if $avail < 0;
		}
		$a->{posted} = $np;
		$a->{held}   = $nh;
	}
	elsif (abs($delta) > 2**62)
	{
		# balances of shared and funding accounts are far from the limits:
		# a huge debit of a funding account, or credit of a shared one,
		# overflows; a huge debit of a shared deposit account is refused
		return '22003' if $a->{funding} && $delta < 0;
		return '22003' if $a->{shared} && $delta > 0;
		return 'EP001' if $a->{shared};
	}
	elsif ($a->{shared} && $delta < 0)
	{
		$s->{amb} = 1;    # refused or not, depending on the other clients
	}
	return undef;
}

# ep_post_transfer: both legs in ascending account id order
sub s_post
{
	my ($self, $s, $kind, $debit, $credit, $amount, $unhold, %ref) = @_;
	my $funding = $kind eq 'deposit' || $kind eq 'withdraw';
	return '22023' if $debit == $credit;
	my $cur;
	my @legs = ([ $debit, -$amount, $unhold ], [ $credit, $amount, 0 ]);
	@legs = reverse @legs if $credit < $debit;
	for my $l (@legs)
	{
		my $e = $self->_leg($s, @$l, \$cur, $funding);
		return $e if $e;
	}
	for my $leg ([ $debit, -$amount ], [ $credit, $amount ])
	{
		my $a = $self->s_acct($s, $leg->[0]);
		$s->{flow}{"shared:$a->{cur}"} += $leg->[1] if $a->{shared};
		$s->{flow}{"funding:$a->{cur}"} += $leg->[1] if $a->{funding};
	}
	my $t = { id => undef, kind => $kind, debit => $debit, credit => $credit,
		amount => $amount, refunded => 0, hold => $ref{hold} // 0,
		refund_of => $ref{refund_of} // 0, deal => $ref{deal} // 0 };
	push @{ $s->{new_t} }, $t;
	return (undef, $t);
}

# ep_check_hold_accounts
sub _hold_accounts
{
	my ($self, $s, $debit, $credit) = @_;
	return '22023' if $debit == $credit;
	my $c = $self->s_acct($s, $credit) or return 'P0002';
	return '22023' if $c->{funding};
	my $d = $self->s_acct($s, $debit) or return 'P0002';
	return 'EP004' if $d->{cur} ne $c->{cur};
	return '22023' if $d->{funding};
	return undef;
}

# ep_add_held
sub _add_held
{
	my ($self, $s, $debit, $amount) = @_;
	my $a = $self->s_acct($s, $debit);
	die "model: holds on accounts the client does not own are not generated"
	  unless $a->{own};
	my $nh = add_ovf($a->{held}, $amount) // return '22003';
	if ($a->{kind} ne 'system')
	{
		my $avail = add_ovf($a->{posted}, $a->{limit}) // return '22003';
		$avail = sub_ovf($avail, $nh) // return '22003';
		return 'EP001' if $avail < 0;
	}
	$a->{held} = $nh;
	return undef;
}

sub s_hold_place
{
	my ($self, $s, $debit, $credit, $amount, $expiry, $deal) = @_;
	my $e = $self->_hold_accounts($s, $debit, $credit)
	  // $self->_add_held($s, $debit, $amount);
	return $e if $e;
	my $h = { id => undef, debit => $debit, credit => $credit, amount => $amount,
		captured => 0, released => 0, status => 'open', deal => $deal // 0,
		tiny => ($expiry // '') eq '1 microsecond' ? 1 : 0 };
	push @{ $s->{new_h} }, $h;
	return (undef, $h);
}

# ep_capture_hold after the key claim
sub s_capture
{
	my ($self, $s, $hid, $amount, $final, $deal) = @_;
	my $h = $self->s_hold($s, $hid) or return 'P0002';
	# a deal's hold moves only through that deal
	return 'EP007' if $h->{deal} != ($deal // 0);
	return 'EP002' if $h->{status} ne 'open' || $h->{tiny};
	my $rest = $h->{amount} - $h->{captured} - $h->{released};
	$amount //= $rest;
	return 'EP003' if $amount > $rest;
	$h->{captured} += $amount;
	my $unhold = $amount;
	if ($final) { $h->{released} += $rest - $amount; $unhold = $rest; }
	$h->{status} = 'captured'
	  if $h->{amount} - $h->{captured} - $h->{released} == 0;
	return $self->s_post($s, 'capture', $h->{debit}, $h->{credit}, $amount, $unhold,
		hold => $hid, deal => $h->{deal});
}

sub s_release
{
	my ($self, $s, $hid, $deal) = @_;
	my $h = $self->s_hold($s, $hid) or return 'P0002';
	return 'EP007' if $h->{deal} != ($deal // 0);
	return 'EP002' if $h->{status} ne 'open';
	my $rest = $h->{amount} - $h->{captured} - $h->{released};
	$h->{released} += $rest;
	$h->{status} = 'released';
	my $a = $self->s_acct($s, $h->{debit});
	$a->{held} -= $rest;
	return (undef, $rest);
}

sub s_refund
{
	my ($self, $s, $tid, $amount) = @_;
	my $t = $self->s_xfer($s, $tid) or return 'P0002';
	return '22023' if $t->{kind} ne 'capture' && $t->{kind} ne 'transfer';
	my $rest = $t->{amount} - $t->{refunded};
	return 'EP006' if !defined $amount && $rest == 0;
	$amount //= $rest;
	return 'EP006' if $amount > $rest;
	$t->{refunded} += $amount;
	return $self->s_post($s, 'refund', $t->{credit}, $t->{debit}, $amount, 0,
		refund_of => $tid);
}

# Idempotency: ('new') | ('replay', result) | ('EP005')
sub key_state
{
	my ($self, $s, $key, $req) = @_;
	return ('new') unless defined $key;
	return ('EP005') if $key eq 'setup-key';
	my $k = $s->{keys}{$key} // $self->{st}{keys}{$key};
	return ('new') unless $k;
	return ('replay', $k->{result}) if $k->{req} eq $req;
	return ('EP005');
}

sub bad_key { my ($key) = @_; return defined $key && (length($key) == 0 || length($key) > 200); }

# ------------------------------------------------------------ outcomes
# A prediction: { sql, op, outcomes => [ { state, check(rows) -> error
# text or undef, apply(st, rows) } ] }

sub _refused
{
	my ($state) = @_;
	return { state => $state, check => sub { undef }, apply => sub { } };
}

sub _ok
{
	my ($check, $s, $learn) = @_;
	return {
		state => '00000',
		check => $check // sub { undef },
		apply => sub {
			my ($st, $rows) = @_;
			$learn->($rows) if $learn && $rows;
			commit($s, $st) if $s;
		} };
}

sub _is_id
{
	my ($rows) = @_;
	return "expected one id, got [@$rows]" unless @$rows == 1 && $rows->[0] =~ /^[1-9]\d*$/;
	return undef;
}

sub _is_value
{
	my ($want) = @_;
	return sub {
		my ($rows) = @_;
		return "expected $want, got [@$rows]" unless @$rows == 1 && $rows->[0] eq $want;
		return undef;
	};
}

sub _is_void
{
	my ($rows) = @_;
	return "expected no value, got [@$rows]" if @$rows > 1 || (@$rows && $rows->[0] ne '');
	return undef;
}

sub _ids_array
{
	my ($n) = @_;
	return sub {
		my ($rows) = @_;
		return "expected an array of $n ids, got [@$rows]"
		  unless @$rows == 1 && $rows->[0] =~ /^\{(\d+(?:,\d+)*)\}$/
		  && scalar(split /,/, $1) == $n;
		return undef;
	};
}

# Predict a keyed call: $pre are errors raised before the key claim,
# $body->($s) runs the simulation after it and returns (error, result
# check, learn-ids sub).
sub _keyed
{
	my ($self, $key, $req, $body, %o) = @_;
	my $s = _sim();
	my ($ks, $prior) = $self->key_state($s, $key, $req);
	return [ _refused('EP005') ] if $ks eq 'EP005';
	return [ _ok($o{replay_check} ? $o{replay_check}->($prior) : _is_value($prior)) ]
	  if $ks eq 'replay';
	my ($err, $check, $learn) = $body->($s);
	return [ _refused($err) ] if $err;
	my $rec = { req => $req, result => undef };
	$s->{keys}{$key} = $rec if defined $key;
	my $learn2 = sub {
		my ($rows) = @_;
		$rec->{result} = $rows->[0] if defined $key && @$rows;
		$learn->($rows) if $learn;
	};
	my @out = (_ok($check, $s, $learn2));
	push @out, _refused('EP001') if $s->{amb};
	return \@out;
}

# ---------------------------------------------------------- generators
sub own { my ($self, $role) = @_; return $self->{st}{role}{$role}; }

sub eur_accounts { my ($self) = @_; return map { $self->own($_) } qw(d1 d2 cr s f); }

sub available
{
	my ($self, $id) = @_;
	my $a = $self->{st}{acct}{$id};
	return $a->{kind} eq 'system' ? MAXI : $a->{posted} + $a->{limit} - $a->{held};
}

sub new_key { my ($self) = @_; return sprintf('c%d-k%d', $self->{c}, ++$self->{nkey}); }

# a key argument: mostly none, sometimes a fresh key, sometimes bad
sub pick_key
{
	my ($self, $p_key) = @_;
	my $r = $self->{rng};
	return undef unless $r->chance($p_key // 0.3);
	my $v = $r->weighted(fresh => 90, empty => 2, long => 2, setup => 3, reuse => 3);
	return $self->new_key if $v eq 'fresh';
	return '' if $v eq 'empty';
	return 'x' x 201 if $v eq 'long';
	return 'setup-key' if $v eq 'setup';
	my @k = recent($self->{st}{key_list}, 500);
	return @k ? $r->pick(@k) : $self->new_key;
}

# an amount: mostly sane, sometimes bad or extreme
sub pick_amount
{
	my ($self, $typical, $p_bad) = @_;
	my $r = $self->{rng};
	return 1 + $r->int($typical) unless $r->chance($p_bad // 0.08);
	return $r->pick(undef, 0, -1, MINI, MAXI);
}

# a debit/credit account: own EUR mostly; sometimes shared, JPY, funding,
# a shard, or an id that does not exist
sub pick_account
{
	my ($self, $p_odd) = @_;
	my $r = $self->{rng};
	my $w = $self->{w};
	return $r->pick($self->eur_accounts) unless $r->chance($p_odd // 0.1);
	my $v = $r->weighted(jpy => 3, funding => 2, shard => 2, unknown => 2, jfunding => 1);
	return $self->own('j') if $v eq 'jpy';
	return $w->{funding}{EUR} if $v eq 'funding';
	return $w->{funding}{JPY} if $v eq 'jfunding';
	return $r->pick(@{ $w->{shards} }) if $v eq 'shard';
	return unknown_id($w, $r);
}

sub sharded
{
	my ($self, $id) = @_;
	return 0 unless defined $id;
	my $a = $self->{st}{acct}{$id} // $self->{w}{ext}{$id} // return 0;
	return $a->{own} ? $a->{shards} > 0 : $a->{hot} || 0;
}

sub shared_eur { my ($self) = @_; return $self->{rng}->pick(@{ $self->{w}{shared}{EUR} }); }

sub open_holds
{
	my ($self) = @_;
	return grep { $_->{status} eq 'open' && !$_->{tiny} }
	  map { $self->{st}{holds}{$_} } sort { $a <=> $b } recent($self->{st}{hold_list}, 300);
}

sub pick_hold_id
{
	my ($self) = @_;
	my $r = $self->{rng};
	# a deal's hold moves only through the deal (EP007): now and then
	my $deals_too = $r->chance(0.03);
	my @open = grep { $deals_too || !$_->{deal} } $self->open_holds;
	return $r->pick(map { $_->{id} } @open) if @open && $r->chance(0.8);
	my @all = recent($self->{st}{hold_list}, 300);
	return $r->pick(@all) if @all && $r->chance(0.7);
	return unknown_id($self->{w}, $r);
}

sub pick_transfer_id
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $deals_too = $r->chance(0.03);
	my @ids = grep { $deals_too || !$self->{st}{xfers}{$_}{deal} }
	  sort { $a <=> $b } recent($self->{st}{xfer_list}, 400);
	my @refundable = grep {
		my $t = $self->{st}{xfers}{$_};
		($t->{kind} eq 'capture' || $t->{kind} eq 'transfer') && $t->{refunded} < $t->{amount}
	} @ids;
	return $r->pick(@refundable) if @refundable && $r->chance(0.75);
	return $r->pick(@ids) if @ids && $r->chance(0.8);
	return unknown_id($self->{w}, $r);
}

# The next call of this client: { sql, op, outcomes }
sub next_call
{
	my ($self) = @_;
	if (my $q = shift @{ $self->{queue} })
	{
		my ($what, @args) = @$q;
		return $args[0] if $what eq 'raw';
		return $self->${ \"gen_$what" }(@args);
	}
	my $r = $self->{rng};
	my $op = $r->weighted(
		tiny_hold => $self->{no_tiny} ? 0 : 2,
		deposit => 7, withdraw => 6, transfer => 14, hold => 12, capture => 10,
		release => 5, refund => 9, hold_batch => 5, capture_batch => 5,
		deal => 22, replay => 4, set_credit_limit => 2,
		expire_holds => 1, run_maintenance => 1);
	return $self->${ \"gen_$op" }();
}

sub gen_deposit
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.85) ? $r->pick($self->eur_accounts, $self->own('j'))
	  : $self->pick_account(1);
	my $amount = $self->pick_amount(20000);
	my $key = $self->pick_key;
	# a deposit that would overflow: into an unsharded account with funds
	if ($r->chance(0.03))
	{
		$acct = $self->own('d1');
		$amount = MAXI;
	}
	my $sql = sprintf('SELECT escrow.deposit(%s, %s, %s);', lit($acct), lit($amount), tlit($key));
	return $self->_money_call('deposit', $sql, $acct, $amount, $key, sub {
		my ($s) = @_;
		# funding_account_of() runs before the key is claimed
		return 'P0002' unless $self->s_acct($s, $acct);
		return undef;
	}, sub {
		my ($s) = @_;
		my $a = $self->s_acct($s, $acct);
		my $f = $self->{w}{funding}{ $a->{cur} };
		return $self->s_post($s, 'deposit', $f, $acct, $amount, 0);
	}, "deposit(" . ($acct // "NULL") . "," . ($amount // "NULL") . ")");
}

sub gen_withdraw
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.9) ? $r->pick($self->eur_accounts, $self->own('j'))
	  : $self->pick_account(1);
	my $amount = $self->pick_amount(15000);
	if ($self->{st}{acct}{$acct} && $r->chance(0.1))
	{
		$amount = $self->available($acct) + 1 + $r->int(100);    # just too much
	}
	my $key = $self->pick_key;
	my $sql = sprintf('SELECT escrow.withdraw(%s, %s, %s);', lit($acct), lit($amount), tlit($key));
	return $self->_money_call('withdraw', $sql, $acct, $amount, $key, sub {
		my ($s) = @_;
		return 'P0002' unless $self->s_acct($s, $acct);
		return undef;
	}, sub {
		my ($s) = @_;
		my $a = $self->s_acct($s, $acct);
		my $f = $self->{w}{funding}{ $a->{cur} };
		return $self->s_post($s, 'withdraw', $acct, $f, $amount, 0);
	}, "withdraw(" . ($acct // "NULL") . "," . ($amount // "NULL") . ")");
}

sub gen_transfer
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $v = $r->weighted(own => 8, to_shared => 3, from_shared => 3, odd => 2);
	my ($d, $c);
	if ($v eq 'own') { ($d, $c) = ($r->pick($self->eur_accounts), $r->pick($self->eur_accounts)); }
	elsif ($v eq 'to_shared') { ($d, $c) = ($r->pick($self->eur_accounts), $self->shared_eur); }
	elsif ($v eq 'from_shared') { ($d, $c) = ($self->shared_eur, $r->pick($self->eur_accounts)); }
	else { ($d, $c) = ($self->pick_account(0.5), $self->pick_account(0.5)); }
	my $amount = $v eq 'from_shared' ? 1 + $r->int(3000) : $self->pick_amount(20000);
	if (defined $amount && $amount > 2**62 && $self->sharded($c))
	{
		# which balance shard a huge credit lands on (and whether it
		# overflows there) depends on the other clients: not predictable
		$c = $d == $self->own('d2') ? $self->own('d1') : $self->own('d2');
	}
	if ($self->{st}{acct}{$d} && $r->chance(0.08))
	{
		$amount = $self->available($d) + 1 + $r->int(100);
	}
	my $key = $self->pick_key;
	my $sql = sprintf('SELECT escrow.transfer(%s, %s, %s, %s);', lit($d), lit($c),
		lit($amount), tlit($key));
	return $self->_money_call('transfer', $sql, [ $d, $c ], $amount, $key, undef, sub {
		my ($s) = @_;
		return $self->s_post($s, 'transfer', $d, $c, $amount, 0);
	}, "transfer(" . join(",", map { $_ // "NULL" } $d, $c, $amount) . ")");
}

# deposit / withdraw / transfer: argument checks, $pre (before the key),
# key claim, $body.
sub _money_call
{
	my ($self, $op, $sql, $accts, $amount, $key, $pre, $body, $req) = @_;
	my @ids = ref $accts ? @$accts : ($accts);
	my $pred = { sql => $sql, op => $op };
	if (grep { !defined } @ids or !defined $amount or $amount <= 0 or bad_key($key))
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	if ($pre)
	{
		my $e = $pre->(_sim());
		if ($e) { $pred->{outcomes} = [ _refused($e) ]; return $pred; }
	}
	$pred->{outcomes} = $self->_keyed($key, $req, sub {
		my ($s) = @_;
		my ($e, $t) = $body->($s);
		return $e if $e;
		return (undef, \&_is_id, sub { $t->{id} = $_[0][0]; });
	});
	return $pred;
}

sub gen_hold
{
	my ($self, %o) = @_;
	my $r = $self->{rng};
	my $d = $r->chance(0.92) ? $r->pick($self->eur_accounts) : $self->pick_account(1);
	my $c = $r->chance(0.6) ? $r->pick($self->eur_accounts)
	  : $r->chance(0.8) ? $self->shared_eur : $self->pick_account(1);
	$d = $c if $r->chance(0.02);
	my $amount = $self->pick_amount(20000);
	if ($self->{st}{acct}{$d} && $r->chance(0.1))
	{
		$amount = $self->available($d) + 1 + $r->int(50);
	}
	$amount = MAXI if $r->chance(0.01);
	my $expiry = $o{expiry} // $r->weighted(NULL => 8, '1 hour' => 2);
	$expiry = undef if $expiry eq 'NULL';
	my $key = exists $o{key} ? $o{key} : $self->pick_key;
	my $sql = sprintf('SELECT escrow.hold(%s, %s, %s, %s, %s);', lit($d), lit($c),
		lit($amount), ilit($expiry), tlit($key));
	my $pred = { sql => $sql, op => 'hold' };
	if (!defined $d || !defined $c || !defined $amount || $amount <= 0 || bad_key($key))
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	# holds are only generated with an own (or invalid) debit account
	if (!$self->{st}{acct}{$d} && !$self->_hold_accounts(_sim(), $d, $c))
	{
		$d = $self->own('d2');
		return $self->gen_hold(%o);
	}
	$pred->{outcomes} = $self->_keyed($key, "hold($d,$c,$amount," . ikey($expiry) . ')', sub {
		my ($s) = @_;
		my ($e, $h) = $self->s_hold_place($s, $d, $c, $amount, $expiry);
		return $e if $e;
		return (undef, \&_is_id, sub { $h->{id} = $_[0][0]; });
	});
	return $pred;
}

# A hold that expires at once: capture is refused (EP002, expired), and
# release works unless someone's expire_holds() swept it first.
sub gen_tiny_hold
{
	my ($self) = @_;
	my $pred = $self->gen_hold(expiry => '1 microsecond', key => undef);
	for my $o (@{ $pred->{outcomes} })
	{
		next unless $o->{state} eq '00000';
		my $apply = $o->{apply};
		$o->{apply} = sub {
			my ($st, $rows) = @_;
			$apply->($st, $rows);
			if ($rows && @$rows)
			{
				push @{ $self->{queue} }, [ 'capture_tiny', $rows->[0] ],
				  [ 'release_tiny', $rows->[0] ];
			}
		};
	}
	return $pred;
}

sub gen_capture_tiny
{
	my ($self, $hid) = @_;
	return { sql => "SELECT escrow.capture($hid);", op => 'capture',
		outcomes => [ _refused('EP002') ] };
}

sub gen_release_tiny
{
	my ($self, $hid) = @_;
	my $h = $self->{st}{holds}{$hid};
	my $rest = $h->{amount} - $h->{captured} - $h->{released};
	my $ended = sub {
		my ($status) = @_;
		return sub {
			my ($st) = @_;
			my $x = $st->{holds}{$hid};
			$x->{released} = $x->{amount} - $x->{captured};
			$x->{status} = $status;
			$x->{tiny} = 0;
			$st->{acct}{ $x->{debit} }{held} -= $rest;
		};
	};
	return { sql => "SELECT escrow.release($hid);", op => 'release', outcomes => [
		{ state => '00000', check => _is_value($rest), apply => $ended->('released') },
		# swept by an expire_holds() of another client meanwhile
		{ state => 'EP002', check => sub { undef }, apply => $ended->('expired') } ] };
}

sub gen_capture
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $hid = $self->pick_hold_id;
	my $h = $self->{st}{holds}{$hid};
	my $amount;
	if ($h && $r->chance(0.85))
	{
		my $rest = $h->{amount} - $h->{captured} - $h->{released};
		$amount = $r->chance(0.3) ? undef : $r->chance(0.08) ? $rest + 1 : 1 + $r->int($rest || 1);
	}
	else { $amount = $self->pick_amount(1000, 0.3); }
	$amount = 0 if $r->chance(0.02);
	my $final = $r->chance(0.25) ? 'true' : $r->chance(0.02) ? 'NULL' : 'false';
	my $key = $self->pick_key(0.25);
	my $sql = sprintf('SELECT escrow.capture(%s, %s, %s, %s);', lit($hid), lit($amount),
		tlit($key), $final);
	my $pred = { sql => $sql, op => 'capture' };
	if ((defined $amount && $amount <= 0) || bad_key($key) || $final eq 'NULL')
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	my $req = sprintf('capture(%d,%s,%s)', $hid, $amount // 'NULL',
		$final eq 'true' ? 'final' : 'partial');
	$pred->{outcomes} = $self->_keyed($key, $req, sub {
		my ($s) = @_;
		my ($e, $t) = $self->s_capture($s, $hid, $amount, $final eq 'true');
		return $e if $e;
		return (undef, \&_is_id, sub { $t->{id} = $_[0][0]; });
	});
	return $pred;
}

sub gen_release
{
	my ($self) = @_;
	my $hid = $self->pick_hold_id;
	my $key = $self->pick_key(0.25);
	my $sql = sprintf('SELECT escrow.release(%s, %s);', lit($hid), tlit($key));
	my $pred = { sql => $sql, op => 'release' };
	if (bad_key($key)) { $pred->{outcomes} = [ _refused('22023') ]; return $pred; }
	$pred->{outcomes} = $self->_keyed($key, "release($hid)", sub {
		my ($s) = @_;
		my ($e, $rest) = $self->s_release($s, $hid);
		return $e if $e;
		return (undef, _is_value($rest));
	});
	return $pred;
}

sub gen_refund
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $tid = $self->pick_transfer_id;
	my $t = $self->{st}{xfers}{$tid};
	my $amount;
	if ($t && $r->chance(0.85))
	{
		my $rest = $t->{amount} - $t->{refunded};
		$amount = $r->chance(0.25) ? undef : $r->chance(0.08) ? $rest + 1 : 1 + $r->int($rest || 1);
	}
	else { $amount = $self->pick_amount(1000, 0.3); }
	my $key = $self->pick_key(0.25);
	my $sql = sprintf('SELECT escrow.refund(%s, %s, %s);', lit($tid), lit($amount), tlit($key));
	my $pred = { sql => $sql, op => 'refund' };
	if ((defined $amount && $amount <= 0) || bad_key($key))
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	# a deal's transfers are reversed only by the deal's steps
	if ($t && $t->{deal})
	{
		$pred->{outcomes} = [ _refused('EP007') ];
		return $pred;
	}
	$pred->{outcomes} = $self->_keyed($key, sprintf('refund(%d,%s)', $tid, $amount // 'NULL'), sub {
		my ($s) = @_;
		my ($e, $x) = $self->s_refund($s, $tid, $amount);
		return $e if $e;
		return (undef, \&_is_id, sub { $x->{id} = $_[0][0]; });
	});
	return $pred;
}

sub gen_hold_batch
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $n = 1 + $r->int(6);
	my (@d, @c, @a);
	for (1 .. $n)
	{
		my $d = $r->pick($self->own('d1'), $self->own('d2'), $self->own('cr'));
		my $c = $r->chance(0.5) ? $self->shared_eur : $r->pick($self->own('s'), $self->own('f'));
		push @d, $d;
		push @c, $c;
		push @a, 1 + $r->int(5000);
	}
	# adversarial: one bad element, a bad array, an amount too big
	my $v = $r->weighted(none => 70, elem => 12, arrays => 6, big => 6, overflow => 2);
	if ($v eq 'elem')
	{
		my $i = $r->int($n);
		if ($r->chance(0.5)) { $c[$i] = $self->pick_account(1); }
		else { $d[$i] = $r->pick($self->own('j'), $self->{w}{funding}{EUR}, $c[$i]); }
	}
	elsif ($v eq 'big') { $a[ $r->int($n) ] = $self->available($d[0]) + 1; }
	elsif ($v eq 'overflow') { @a = map { MAXI } @a; }
	my ($da, $ca, $aa) = (\@d, \@c, \@a);
	if ($v eq 'arrays')
	{
		my $w = $r->weighted(null => 1, empty => 1, short => 1, nullelem => 1, zero => 1);
		if ($w eq 'null') { $da = undef; }
		elsif ($w eq 'empty') { $ca = []; }
		elsif ($w eq 'short') { $aa = [ @a[ 0 .. $n - 2 ] ]; $aa = [ 1, @a ] if $n == 1; }
		elsif ($w eq 'nullelem') { $aa = [@a]; $aa->[ $r->int($n) ] = undef; }
		else { $aa = [@a]; $aa->[ $r->int($n) ] = $r->pick(0, -5); }
	}
	my $expiry = $r->chance(0.2) ? '1 hour' : undef;
	my $key = $self->pick_key(0.3);
	my $sql = sprintf('SELECT escrow.hold_batch(%s, %s, %s, %s, %s);', alit($da), alit($ca),
		alit($aa), ilit($expiry), tlit($key));
	my $pred = { sql => $sql, op => 'hold_batch' };
	my $bad_array = sub {
		my ($x) = @_;
		return !defined $x || !@$x || grep { !defined } @$x;
	};
	if ($bad_array->($da) || $bad_array->($ca) || @$ca != @$da || $bad_array->($aa)
		|| @$aa != @$da || grep { $_ <= 0 } @$aa or bad_key($key))
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	my $canon = join('', map { "$d[$_],$c[$_],$a[$_];" } 0 .. $n - 1) . ikey($expiry);
	$pred->{outcomes} = $self->_keyed($key, 'hold_batch(sha256:' . sha256_hex($canon) . ')', sub {
		my ($s) = @_;
		for my $i (0 .. $n - 1)
		{
			my $e = $self->_hold_accounts($s, $d[$i], $c[$i]);
			return $e if $e;
		}
		# per debit account in ascending id order: sum its amounts (22003),
		# then reserve the sum (EP001), before the next account
		my %amounts;
		push @{ $amounts{ $d[$_] } }, $a[$_] for 0 .. $n - 1;
		for my $acct (sort { $a <=> $b } keys %amounts)
		{
			my $total = 0;
			$total = add_ovf($total, $_) // return '22003' for @{ $amounts{$acct} };
			my $e = $self->_add_held($s, $acct, $total);
			return $e if $e;
		}
		my @h;
		for my $i (0 .. $n - 1)
		{
			my $h = { id => undef, debit => $d[$i], credit => $c[$i], amount => $a[$i],
				captured => 0, released => 0, status => 'open', tiny => 0, deal => 0 };
			push @{ $s->{new_h} }, $h;
			push @h, $h;
		}
		return (undef, _ids_array($n), sub {
			my @ids = $_[0][0] =~ /(\d+)/g;
			$h[$_]{id} = $ids[$_] for 0 .. $#h;
		});
	}, replay_check => sub { _is_value($_[0]) });
	return $pred;
}

sub gen_capture_batch
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $deals_too = $r->chance(0.03);
	my @open = grep { $deals_too || !$_->{deal} } $self->open_holds;
	my @ids;
	my @pool = map { $_->{id} } @open;
	for (1 .. 1 + $r->int(5))
	{
		last unless @pool;
		push @ids, splice(@pool, $r->int(scalar @pool), 1);
	}
	push @ids, $self->pick_hold_id if !@ids || $r->chance(0.1);
	my @amt = map {
		my $h = $self->{st}{holds}{$_};
		my $rest = $h ? $h->{amount} - $h->{captured} - $h->{released} : 10;
		$r->chance(0.3) ? undef : $r->chance(0.05) ? $rest + 1 : 1 + $r->int($rest || 1)
	} @ids;
	my $amounts = $r->chance(0.2) ? undef : \@amt;
	my $v = $r->weighted(none => 85, dup => 4, empty => 3, short => 3, zero => 3, nullfinal => 2);
	my $final = $r->chance(0.3) ? 'true' : 'false';
	my $hids = \@ids;
	if ($v eq 'dup') { $hids = [ @ids, $ids[0] ]; $amounts = undef; }
	elsif ($v eq 'empty') { $hids = []; }
	elsif ($v eq 'short') { $amounts = [ 1, @amt ]; }
	elsif ($v eq 'zero') { $amounts = [@amt]; $amounts->[ $r->int(scalar @amt) ] = 0; }
	elsif ($v eq 'nullfinal') { $final = 'NULL'; }
	my $key = $self->pick_key(0.3);
	my $sql = sprintf('SELECT escrow.capture_batch(%s, %s, %s, %s);', alit($hids),
		defined $amounts ? alit($amounts) : 'NULL', tlit($key), $final);
	my $pred = { sql => $sql, op => 'capture_batch' };
	my %seen;
	if (!@$hids || (defined $amounts && (@$amounts != @$hids || grep { defined && $_ <= 0 } @$amounts))
		|| $final eq 'NULL' || grep({ $seen{$_}++ } @$hids) || bad_key($key))
	{
		$pred->{outcomes} = [ _refused('22023') ];
		return $pred;
	}
	my $canon = join('', map {
		my $a = defined $amounts ? $amounts->[$_] : undef;
		"$hids->[$_]," . ($a // 'NULL') . ';'
	} 0 .. $#$hids) . ($final eq 'true' ? 'final' : 'partial');
	$pred->{outcomes} = $self->_keyed($key, 'capture_batch(sha256:' . sha256_hex($canon) . ')', sub {
		my ($s) = @_;
		my @t;
		for my $i (0 .. $#$hids)
		{
			my ($e, $t) = $self->s_capture($s, $hids->[$i],
				defined $amounts ? $amounts->[$i] : undef, $final eq 'true');
			return $e if $e;
			push @t, $t;
		}
		return (undef, _ids_array(scalar @$hids), sub {
			my @x = $_[0][0] =~ /(\d+)/g;
			$t[$_]{id} = $x[$_] for 0 .. $#t;
		});
	}, replay_check => sub { _is_value($_[0]) });
	return $pred;
}

# the same keyed call once more: the same result, nothing changes
sub gen_replay
{
	my ($self) = @_;
	my @k = recent($self->{replay_list} // [], 500);
	return $self->gen_transfer unless @k;
	my $key = $self->{rng}->pick(@k);
	my $want = $self->{st}{keys}{$key}{result};
	return { sql => $self->{replays}{$key}, op => 'replay',
		outcomes => [ _ok(_is_value($want)) ] };
}

sub gen_set_credit_limit
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.8) ? $self->own('cr') : $self->pick_account(1);
	my $a = $self->{st}{acct}{$acct};
	my $limit;
	if ($a && $a->{kind} eq 'credit')
	{
		my $used = $a->{held} - $a->{posted};
		$limit = $r->chance(0.2) ? $used - 1 - $r->int(10) : $used + $r->int(300000);
	}
	else { $limit = $r->pick(0, 1000, -1, undef); }
	my $sql = sprintf('SELECT escrow.set_credit_limit(%s, %s);', lit($acct), lit($limit));
	my $pred = { sql => $sql, op => 'set_credit_limit' };
	return { %$pred, outcomes => [ _refused('22023') ] } if !defined $limit || $limit < 0;
	my $s = _sim();
	my $x = $self->s_acct($s, $acct);
	return { %$pred, outcomes => [ _refused('P0002') ] } unless $x;
	return { %$pred, outcomes => [ _refused('22023') ] } if $x->{kind} ne 'credit';
	return { %$pred, outcomes => [ _refused('EP001') ] }
	  if $x->{held} - $x->{posted} > $limit;
	$x->{limit} = $limit;
	return { %$pred, outcomes => [ _ok(\&_is_void, $s) ] };
}

sub gen_expire_holds
{
	my ($self) = @_;
	my $n = $self->{rng}->pick(1, 5, 100, 0);
	return { sql => "SELECT escrow.expire_holds($n);", op => 'expire_holds',
		outcomes => [ $n > 0 ? _ok(sub {
			$_[0][0] =~ /^\d+$/ ? undef : "expected a count, got [@{$_[0]}]" }) : _refused('22023') ] };
}

sub gen_run_maintenance
{
	my ($self) = @_;
	my $n = $self->{rng}->pick(10, 100, 0);
	return { sql => "SELECT action || ':' || deals FROM escrow.run_maintenance($n) ORDER BY 1;",
		op => 'run_maintenance',
		outcomes => [ $n > 0 ? _ok(sub {
			my $got = join(' ', @{ $_[0] });
			# no deadline of any deal passes during the test
			(@{ $_[0] } && !grep { !/^\w+:0$/ } @{ $_[0] }) ? undef : "got $got" }) : _refused('22023') ] };
}

# ----------------------------------------------------------------- deals
sub _roles
{
	my ($d, $actor) = @_;
	my $r = '';
	$r .= 'B' if $actor eq $d->{buyer};
	$r .= 'M' if $actor eq $d->{merchant};
	$r .= 'I' if defined $d->{inspector} && $actor eq $d->{inspector};
	return $r;
}

# EP007 / 42501 / undef (allowed) for action by actor, and the new stage
sub deal_check
{
	my ($d, $action, $actor, $extra) = @_;
	my ($t) = grep { $_->[0] eq $action && $_->[1] eq $d->{stage} } @TRANSITIONS;
	return 'EP007' unless $t;
	my $roles = _roles($d, $actor) . ($extra // '');
	return '42501' unless grep { index($t->[3], $_) >= 0 } split //, $roles;
	return (undef, $t->[2]);
}

sub pick_actor
{
	my ($self, $d, $who) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $n = $self->{w}{n};
	my $other = 1 + ($c % $n);
	my @cand;
	push @cand, $d->{buyer} if $who =~ /B/;
	push @cand, $d->{merchant} if $who =~ /M/;
	push @cand, $d->{inspector} if $who =~ /I/ && defined $d->{inspector};
	return $r->pick(@cand) if @cand && $r->chance(0.9);
	return $r->pick($d->{buyer}, $d->{merchant}, "m$other", "s$other", 'nobody',
		$d->{inspector} // "i$c", '');
}

sub gen_deal
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @live = grep { $_->{stage} !~ /^(cancelled|refunded|resolved|completed|expired)$/ }
	  map { $self->{st}{deals}{$_} } sort { $a <=> $b } recent($self->{st}{deal_list}, 200);
	@live = grep { $_->{stage} ne 'settled' || $r->chance(0.3) } @live;
	return $self->gen_open_deal if @live < 3 || $r->chance(0.12);
	my $d = $r->pick(@live);
	if ($r->chance(0.08))
	{
		# any action at all, by anyone: mostly refused with EP007 or 42501
		my $action = $r->pick(qw(reserve mark_shipped mark_delivered confirm_inspection
			cancel_deal reject_delivery request_return confirm_return open_dispute
			resolve_dispute issue_identity_code confirm_identity));
		return $self->gen_deal_step($d, $action, $self->pick_actor($d, ''));
	}
	my %next = (
		order_received => [ issue_identity_code => 3, confirm_identity => 6, cancel_deal => 1 ],
		identity_confirmed => [ reserve => 9, cancel_deal => 1 ],
		funds_reserved => [ mark_shipped => 8, cancel_deal => 2 ],
		shipped => [ mark_delivered => 8, open_dispute => 2 ],
		delivered => [ confirm_inspection => 6, reject_delivery => 2, open_dispute => 2 ],
		settled => [ request_return => 6, open_dispute => 3, refund_capture => 1 ],
		returned => [ confirm_return => 8, open_dispute => 2 ],
		disputed => [ resolve_dispute => 1 ],
	);
	my $action = $r->weighted(@{ $next{ $d->{stage} } });
	if ($action eq 'confirm_identity' && !$d->{code_pending})
	{
		$action = $r->chance(0.9) ? 'issue_identity_code' : 'confirm_identity';
	}
	# a deal locked by wrong codes can only be cancelled
	$action = $r->chance(0.7) ? 'cancel_deal' : $action
	  if $d->{stage} eq 'order_received' && $d->{attempts} >= 5;
	my %who = (confirm_identity => 'B', reserve => 'B', mark_shipped => 'M',
		mark_delivered => 'MI', confirm_inspection => 'BI', cancel_deal => 'BM',
		reject_delivery => 'BI', request_return => 'B', confirm_return => 'M',
		open_dispute => 'BM');
	if ($action eq 'refund_capture')
	{
		# refund part of the deal's capture behind the deal's back: a later
		# confirm_return must then be refused (EP006), changing nothing
		return $self->gen_refund unless $d->{capture_transfer};
		my $amt = 1 + $r->int(CORE::int($d->{amount} / 4) || 1);
		return $self->_refund_call($d->{capture_transfer}, $amt);
	}
	return $self->gen_deal_step($d, $action,
		$self->pick_actor($d, $who{$action} // ''));
}

sub _refund_call
{
	my ($self, $tid, $amount) = @_;
	my $pred = { sql => "SELECT escrow.refund($tid, $amount);", op => 'refund' };
	my $t = $self->{st}{xfers}{$tid};
	return { %$pred, outcomes => [ _refused('EP007') ] } if $t && $t->{deal};
	$pred->{outcomes} = $self->_keyed(undef, '', sub {
		my ($s) = @_;
		my ($e, $x) = $self->s_refund($s, $tid, $amount);
		return $e if $e;
		return (undef, \&_is_id, sub { $x->{id} = $_[0][0]; });
	});
	return $pred;
}

sub gen_open_deal
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $buyer = $r->weighted("m$c" => 60, "k$c" => 30, "j$c" => 3, "s$c" => 2, 'nobody' => 2, '' => 1);
	my $merchant = $r->weighted("s$c" => 95, "m$c" => 2, 'nobody' => 2, '' => 1);
	my $amount = $r->chance(0.95) ? 100 + $r->int(5000) : $r->pick(0, -1, undef);
	my $inspector = $r->chance(0.4) ? "i$c" : $r->chance(0.03) ? $buyer : undef;
	my $ship = $r->chance(0.97) ? '7 days' : undef;
	my $key = $r->chance(0.2) ? ($r->chance(0.9) ? $self->new_key : 'setup-key') : undef;
	my $sql = sprintf("SELECT escrow.open_deal(%s, %s, %s, 'counter 3', %s, NULL, %s, %s, %s);",
		tlit($buyer), tlit($merchant), lit($amount), $r->chance(0.5) ? "'carrier-$c'" : 'NULL',
		tlit($inspector), ilit($ship), tlit($key));
	my $pred = { sql => $sql, op => 'open_deal' };
	my $refuse = sub { $pred->{outcomes} = [ _refused($_[0]) ]; return $pred; };
	return $refuse->('22023') if $buyer eq '' || $merchant eq '' || !defined $amount
	  || $amount <= 0 || !defined $ship || bad_key($key);
	return $refuse->('22023') if $buyer eq $merchant
	  || (defined $inspector && ($inspector eq $buyer || $inspector eq $merchant));
	my %kind = ("m$c" => 'member', "k$c" => 'member', "j$c" => 'member', "s$c" => 'merchant');
	for ([ $buyer, 'member' ], [ $merchant, 'merchant' ])
	{
		return $refuse->('P0002') unless $kind{ $_->[0] };
		return $refuse->('22023') if $kind{ $_->[0] } ne $_->[1];
	}
	# free-text arguments are length-prefixed in the request text
	my $txt = sub { defined $_[0] ? length($_[0]) . ":$_[0]" : 'NULL' };
	my $req = sprintf('open_deal(%s,%s,%d,%s,%s,NULL,%s,%s,escrow,NULL)', $txt->($buyer),
		$txt->($merchant), $amount, $txt->('counter 3'),
		$txt->($sql =~ /'carrier-$c'/ ? "carrier-$c" : undef), $txt->($inspector), ikey($ship));
	$pred->{outcomes} = $self->_keyed($key, $req, sub {
		my ($s) = @_;
		return 'EP004' if $buyer eq "j$c";
		my %acct = ("m$c" => 'd1', "k$c" => 'cr');
		my $d = { id => undef, buyer => $buyer, merchant => $merchant, amount => $amount,
			stage => 'order_received', held => 0, captured => 0, refunded => 0, fee => 0,
			hold_id => 0, capture_transfer => 0, fee_transfer => 0, inspector => $inspector,
			bps => 100 + 50 * ($c % 5), debit => $self->own($acct{$buyer}),
			credit => $self->own('s'), fee_account => $self->own('f'), events => 1,
			code_pending => 0, attempts => 0, code => undef };
		push @{ $s->{new_d} }, $d;
		return (undef, \&_is_id, sub { $d->{id} = $_[0][0]; });
	});
	return $pred;
}

# One lifecycle step on deal $d.  The model follows deal_api.c: argument
# checks, lock (P0002), transition table (EP007, then 42501), then money.
sub gen_deal_step
{
	my ($self, $d, $action, $actor) = @_;
	my $r = $self->{rng};
	my $id = $d->{id};
	my ($sql, $pre_err);
	my $reason = $r->chance(0.97) ? "'because'" : $r->pick("''", 'NULL');
	my $bad_reason = $reason ne "'because'";
	my $act = tlit($actor);
	my $bad_actor = $actor eq '';
	if ($action eq 'issue_identity_code')
	{
		$sql = "SELECT escrow.issue_identity_code($id);";
		$bad_actor = 0;    # no actor: the code goes to the buyer
	}
	elsif ($action eq 'confirm_identity')
	{
		my $code = $d->{code};
		if (!defined $code || $r->chance(0.15))
		{
			$code = sprintf('%08d', $r->int(100000000));
			$code = '00000000' if defined $d->{code} && $code eq $d->{code};
			$code = '' if $r->chance(0.05);
		}
		$sql = "SELECT escrow.confirm_identity($id, '$code');";
		return $self->_confirm_identity($d, $code, $sql);
	}
	elsif ($action eq 'reserve') { $sql = "SELECT escrow.reserve($id, $act);"; }
	elsif ($action eq 'mark_shipped')
	{
		$sql = "SELECT escrow.mark_shipped($id, 'carrier', 'TRACK-$id', $act);";
	}
	elsif ($action =~ /^(mark_delivered|confirm_inspection|confirm_return)$/)
	{
		$sql = "SELECT escrow.$action($id, $act);";
	}
	elsif ($action =~ /^(cancel_deal|reject_delivery|request_return|open_dispute)$/)
	{
		$sql = "SELECT escrow.$action($id, $reason, $act);";
		$bad_actor ||= $bad_reason;
	}
	elsif ($action eq 'resolve_dispute')
	{
		my $bs = $r->int($d->{amount} + 1);
		my $ms = $d->{amount} - $bs;
		my $v = $r->weighted(ok => 85, sum => 8, neg => 4, huge => 3);
		($bs, $ms) = ($bs, $ms + 1) if $v eq 'sum';
		($bs, $ms) = (-1, $d->{amount} + 1) if $v eq 'neg';
		($bs, $ms) = (MAXI, MAXI) if $v eq 'huge';
		$sql = "SELECT escrow.resolve_dispute($id, " . lit($bs) . ', ' . lit($ms) . ');';
		return $self->_resolve($d, $bs, $ms, $sql);
	}
	else { die "unknown deal action $action"; }
	my $pred = { sql => $sql, op => $action };
	return { %$pred, outcomes => [ _refused('22023') ] } if $bad_actor;

	if ($action eq 'issue_identity_code')
	{
		return { %$pred, outcomes => [ _refused('EP007') ] } if $d->{stage} ne 'order_received';
		my $s = _sim();
		my $x = $self->s_deal($s, $id);
		$x->{events}++;
		$x->{code_pending} = 1;    # the count of wrong attempts does not reset
		return { %$pred, outcomes => [ _ok(sub {
			$_[0][0] =~ /^\d{8}$/ ? undef : "expected an 8-digit code, got [@{$_[0]}]" },
			$s, sub { $x->{code} = $_[0][0]; }) ] };
	}
	my ($err, $to) = deal_check($d, $action, $actor);
	return { %$pred, outcomes => [ _refused($err) ] } if $err;
	my $s = _sim();
	my $x = $self->s_deal($s, $id);
	my ($check, $learn);
	if ($action eq 'reserve')
	{
		my ($e, $h) = $self->s_hold_place($s, $x->{debit}, $x->{credit}, $x->{amount}, undef, $id);
		return { %$pred, outcomes => [ _refused($e) ] } if $e;
		$x->{held} = $x->{amount};
		$check = sub { $_[0][0] =~ /^\d{10}$/ ? undef : "expected an auth number, got [@{$_[0]}]" };
		$self->_follow_up($id, hold => $h);
	}
	elsif ($action eq 'confirm_inspection')
	{
		my ($e, $t) = $self->s_capture($s, $x->{hold_id}, undef, 1, $id);
		return { %$pred, outcomes => [ _refused($e) ] } if $e;
		$x->{captured} = $x->{held};
		$x->{held} = 0;
		$x->{fee} = fee_of($x->{captured}, $x->{bps});
		my $ft;
		if ($x->{fee} > 0)
		{
			($e, $ft) = $self->s_post($s, 'transfer', $x->{credit}, $x->{fee_account}, $x->{fee}, 0,
				deal => $id);
			return { %$pred, outcomes => [ _refused($e) ] } if $e;
		}
		$check = \&_is_id;
		$learn = sub { $t->{id} = $x->{capture_transfer} = $_[0][0]; };
		$self->_follow_up($id, fee => $ft) if $ft;
	}
	elsif ($action eq 'cancel_deal' && $x->{held} > 0)
	{
		my ($e) = $self->s_release($s, $x->{hold_id}, $id);
		return { %$pred, outcomes => [ _refused($e) ] } if $e;
		$x->{held} = 0;
	}
	elsif ($action eq 'confirm_return')
	{
		my $e = $self->_split($s, $x, $x->{amount});
		return { %$pred, outcomes => [ _refused($e) ] } if $e;
	}
	$x->{stage} = $to;
	$x->{events}++;
	my @out = (_ok($check, $s, $learn));
	push @out, _refused('EP001') if $s->{amb};
	return { %$pred, outcomes => \@out };
}

# after a step that created a hold or transfer whose id the call does not
# return, read the deal's references (a bookkeeping query, not a money call)
sub _follow_up
{
	my ($self, $deal, %recs) = @_;
	$self->{pending_follow_up} = [ $deal, \%recs ];
}

sub take_follow_up
{
	my ($self, $succeeded) = @_;
	my $f = delete $self->{pending_follow_up};
	return unless $f && $succeeded;
	my ($deal, $recs) = @$f;
	unshift @{ $self->{queue} }, [ 'deal_refs', $deal, $recs ];
}

sub gen_deal_refs
{
	my ($self, $deal, $recs) = @_;
	return {
		sql => "SELECT coalesce(hold_id, 0) || ' ' || coalesce(capture_transfer, 0) || ' ' "
		  . "|| coalesce(fee_transfer, 0) FROM escrow.deals WHERE id = $deal;",
		op => 'bookkeeping',
		outcomes => [ {
			state => '00000', check => sub { undef },
			apply => sub {
				my ($st, $rows) = @_;
				return unless $rows && @$rows;
				my ($hold, $cap, $fee) = split / /, $rows->[0];
				my $d = $st->{deals}{$deal};
				if ($recs->{hold}) { _name_anon($st, 'holds', 'anon_holds', $recs->{hold}, $hold); $d->{hold_id} = $hold; }
				if ($recs->{capture}) { _name_anon($st, 'xfers', 'anon_xfers', $recs->{capture}, $cap); $d->{capture_transfer} = $cap; }
				if ($recs->{fee}) { _name_anon($st, 'xfers', 'anon_xfers', $recs->{fee}, $fee); $d->{fee_transfer} = $fee; }
			} } ] };
}

# give an anonymous record (committed as a copy of $rec) its id
sub _name_anon
{
	my ($st, $by_id, $anon, $rec, $id) = @_;
	for my $i (0 .. $#{ $st->{$anon} })
	{
		my $x = $st->{$anon}[$i];
		next if grep { ($x->{$_} // '') ne ($rec->{$_} // '') }
		  qw(debit credit amount kind hold refund_of);
		splice(@{ $st->{$anon} }, $i, 1);
		$x->{id} = $id;
		$st->{$by_id}{$id} = $x;
		push @{ $st->{ $by_id eq 'holds' ? 'hold_list' : 'xfer_list' } }, $id;
		return;
	}
}

sub _confirm_identity
{
	my ($self, $d, $code, $sql) = @_;
	my $pred = { sql => $sql, op => 'confirm_identity' };
	return { %$pred, outcomes => [ _refused('22023') ] } if $code eq '';
	my ($err, $to) = deal_check($d, 'confirm_identity', $d->{buyer});
	return { %$pred, outcomes => [ _refused($err) ] } if $err;
	return { %$pred, outcomes => [ _refused('EP008') ] }
	  if !$d->{code_pending} || $d->{attempts} >= 5;
	my $s = _sim();
	my $x = $self->s_deal($s, $d->{id});
	$x->{events}++;
	if (defined $d->{code} && $code eq $d->{code})
	{
		$x->{stage} = $to;
		$x->{code_pending} = 0;
		$x->{code} = undef;
		return { %$pred, outcomes => [ _ok(_is_value('t'), $s) ] };
	}
	$x->{attempts}++;
	return { %$pred, outcomes => [ _ok(_is_value('f'), $s) ] };
}

sub _resolve
{
	my ($self, $d, $bs, $ms, $sql) = @_;
	my $pred = { sql => $sql, op => 'resolve_dispute' };
	return { %$pred, outcomes => [ _refused('22023') ] } if $bs < 0 || $ms < 0;
	my ($err, $to) = deal_check($d, 'resolve_dispute', 'postgres', 'A');
	return { %$pred, outcomes => [ _refused($err) ] } if $err;
	my $sum = add_ovf($bs, $ms);
	return { %$pred, outcomes => [ _refused('22003') ] } unless defined $sum;
	return { %$pred, outcomes => [ _refused('22023') ] } if $sum != $d->{amount};
	my $s = _sim();
	my $x = $self->s_deal($s, $d->{id});
	my $e = $self->_split($s, $x, $bs);
	return { %$pred, outcomes => [ _refused($e) ] } if $e;
	$x->{stage} = $to;
	$x->{events}++;
	my @out = (_ok(\&_is_void, $s));
	push @out, _refused('EP001') if $s->{amb};
	return { %$pred, outcomes => \@out };
}

# split() in deal_api.c
sub _split
{
	my ($self, $s, $x, $bs) = @_;
	my $ms = $x->{amount} - $bs;
	my $new_fee = fee_of($ms, $x->{bps});
	if ($x->{captured} == 0)
	{
		if ($ms > 0)
		{
			my ($e, $t) = $self->s_capture($s, $x->{hold_id}, $ms, 1, $x->{id});
			return $e if $e;
			$x->{captured} = $ms;
			my $ft;
			if ($new_fee > 0)
			{
				($e, $ft) = $self->s_post($s, 'transfer', $x->{credit}, $x->{fee_account}, $new_fee, 0,
					deal => $x->{id});
				return $e if $e;
			}
			$x->{fee} = $new_fee;
			$x->{held} = 0;
			$self->_follow_up($x->{id}, capture => $t, $ft ? (fee => $ft) : ());
		}
		else
		{
			if ($x->{held} > 0)
			{
				my ($e) = $self->s_release($s, $x->{hold_id}, $x->{id});
				return $e if $e;
			}
			$x->{held} = 0;
		}
		return undef;
	}
	if ($x->{fee} > $new_fee)
	{
		my ($e) = $self->s_refund($s, $x->{fee_transfer}, $x->{fee} - $new_fee);
		return $e if $e;
		$x->{fee} = $new_fee;
	}
	if ($bs > 0)
	{
		my ($e) = $self->s_refund($s, $x->{capture_transfer}, $bs);
		return $e if $e;
		$x->{refunded} += $bs;
	}
	return undef;
}

# --------------------------------------------------------------- results
# Check a result against the prediction and apply it.  Returns undef, or
# a failure description.
sub observe
{
	my ($self, $pred, $res) = @_;
	my $op = $pred->{op};
	$self->{stats}{calls}++;
	$self->{stats}{by_op}{$op}{ $res->{state} }++;
	my @match = grep { $_->{state} eq $res->{state} } @{ $pred->{outcomes} };
	my $fail;
	if (!@match)
	{
		$fail = sprintf("%s: expected %s, got %s [%s]", $pred->{sql},
			join(' or ', map { $_->{state} } @{ $pred->{outcomes} }), $res->{state},
			join(' ', @{ $res->{rows} }));
		$self->take_follow_up(0);
	}
	else
	{
		my $o = $match[0];
		my $bad = $o->{check}->($res->{rows});
		$fail = "$pred->{sql}: $bad" if $bad;
		$o->{apply}->($self->{st}, $res->{rows});
		if ($res->{state} eq '00000' && $pred->{op} ne 'replay'
			&& $pred->{sql} =~ /, '(c\d+-k\d+)'(?:, (?:true|false|NULL))?\);$/)
		{
			push @{ $self->{replay_list} }, $1 unless $self->{replays}{$1};
			$self->{replays}{$1} = $pred->{sql};
		}
		$self->take_follow_up($res->{state} eq '00000');
	}
	push @{ $self->{failures} }, $fail if $fail;
	return $fail;
}

# After a crash: a client retries its call in flight when it had an
# idempotency key.  If it committed, the retry is a replay; if not, and
# the database is exactly the state the prediction was made in ($exact),
# the old prediction still holds.
sub retry_after_crash
{
	my ($self, $pred, $exact, $old_st) = @_;
	return unless $pred && $pred->{op} ne 'bookkeeping'
	  && $pred->{sql} =~ /, '(c\d+-k\d+)'(?:, (?:true|false|NULL))?\);$/;
	my $key = $1;
	if ($old_st->{keys}{$key})
	{
		# the key was in use before: the call was a replay or a conflict,
		# and changed nothing either way
		return undef unless $exact;
		push @{ $self->{queue} }, [ 'raw', $pred ];
	}
	elsif (my $k = $self->{st}{keys}{$key})
	{
		# it committed before the crash: the retry replays its result
		push @{ $self->{queue} }, [ 'raw', { sql => $pred->{sql}, op => 'replay',
			outcomes => [ _ok(_is_value($k->{result})) ] } ];
		push @{ $self->{replay_list} }, $key unless $self->{replays}{$key};
		$self->{replays}{$key} = $pred->{sql};
	}
	elsif ($exact)
	{
		# it did not commit, and the database is the state the prediction
		# was made in: the prediction still holds
		push @{ $self->{queue} }, [ 'raw', $pred ];
	}
	else
	{
		return undef;
	}
	return $key;
}

# Variants of a state in which open holds with an expiry in the past were
# swept by another client's expire_holds().
sub tiny_variants
{
	my ($st) = @_;
	my @out = ($st);
	for my $h (grep { $_->{tiny} && $_->{status} eq 'open' } values %{ $st->{holds} })
	{
		my @more;
		for my $v (@out)
		{
			my $x = dclone($v);
			my $xh = $x->{holds}{ $h->{id} };
			my $rest = $xh->{amount} - $xh->{captured} - $xh->{released};
			$xh->{released} += $rest;
			$xh->{status} = 'expired';
			$x->{acct}{ $xh->{debit} }{held} -= $rest;
			push @more, $x;
		}
		push @out, @more;
	}
	return @out;
}

# For crash reconciliation: the states the database may be in, given
# that $pred was in flight (no effect, or one of its outcomes' effects).
sub candidate_states
{
	my ($self, $pred) = @_;
	my @c = ($self->{st});
	return map { tiny_variants($_) } @c unless $pred;
	for my $o (@{ $pred->{outcomes} })
	{
		next unless $o->{state} eq '00000';
		my $st = dclone($self->{st});
		local $self->{queue} = [];
		local $self->{pending_follow_up};
		$o->{apply}->($st, undef);
		push @c, $st;
	}
	return map { tiny_variants($_) } @c;
}

1;
