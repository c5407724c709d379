
# EscrowPay::Model -- a model of escrowpay that predicts the exact outcome
# (result or SQLSTATE) of every call a client makes, for every public
# function of the extension (%FUNCTIONS below; 003_model.pl fails when
# pg_proc has a public function that is not listed there).
#
# Each client ("actor") owns its accounts, holds, transfers, idempotency
# keys, parties, deals, receivables, cash terminal and settlement links:
# nobody else touches them, and its calls run one at a time, so the model
# can predict every result exactly (balances, held amounts, refund limits,
# terminal inventories, settlement positions, and which SQLSTATE each bad
# call gets, in the order the C code checks things).  Shared accounts are
# touched by every client: a debit of a shared account may be refused
# (EP001) or not, depending on the others, so there the model accepts both
# and learns from the answer; only invariants are checked for the shared
# accounts.  Deals past a deadline are moved by whichever client's
# run_maintenance() gets there first: the model knows what maintenance
# will do to them and learns when it happened (see "Deadlines" below).
#
# Structure: one predictor per function (gen_<function>), built from
# shared state transitions that mirror the C code (s_post = a posting,
# s_hold_place / s_capture / s_release / s_refund = the hold and refund
# primitives, src_* = a deal's payment sources, fx_* = what a deal step
# does to the money, fin_* = agency and credit-finance settlement).  When
# the C code changes a rule, change the one transition that mirrors it.
# A prediction is a list of acceptable outcomes, each with a SQLSTATE, a
# check of the returned rows and an effect on the model.
#
# The model state of a client can be loaded from the database (at the
# start, and after a crash), and compared with it (at the end, and after a
# crash, where the call in flight may or may not have committed).

package EscrowPay::Model;

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Storable qw(dclone);
use Time::HiRes ();

use constant MAXI => 9223372036854775807;
use constant MINI => -9223372036854775807 - 1;
use constant I32 => 2147483647;
# escrowpay's bounds (escrow.limits(), docs/reference.md "Limits"): an
# amount argument (22023 above it); |posted| of a deposit or credit
# account's balance row, its held amount and credit limit; |posted| of a
# system account's balance row (22003 when a posting or hold would pass it)
use constant MAX_AMOUNT => 1_000_000_000_000_000;
use constant MAX_BALANCE => 10_000_000_000_000_000;
use constant MAX_SYSTEM_BALANCE => 100_000_000_000_000_000;

# The documented SQLSTATEs (README.md "Errors")
our @DOCUMENTED = qw(22023 22003 42501 P0002 EP001 EP002 EP003 EP004 EP005
  EP006 EP007 EP008);

# Every public function of schema escrow (EXECUTE granted to escrow_app,
# escrow_admin, escrow_auditor or escrow_party) and the predictor that
# calls it.  003_model.pl compares this with pg_proc: a public function
# missing here fails the test, so a new function cannot be forgotten.
our %FUNCTIONS = (
	deposit => 'gen_deposit', withdraw => 'gen_withdraw', transfer => 'gen_transfer',
	hold => 'gen_hold', capture => 'gen_capture', release => 'gen_release',
	refund => 'gen_refund', hold_batch => 'gen_hold_batch',
	capture_batch => 'gen_capture_batch', set_credit_limit => 'gen_set_credit_limit',
	expire_holds => 'gen_expire_holds', run_maintenance => 'gen_run_maintenance',
	apply_retention => 'gen_apply_retention',
	open_account => 'gen_open_account', set_account_shards => 'gen_set_account_shards',
	register_member => 'gen_register_member', register_merchant => 'gen_register_merchant',
	register_institution => 'gen_register_institution',
	open_deal => 'gen_open_deal', issue_identity_code => 'gen_deal',
	confirm_identity => 'gen_deal', reserve => 'gen_deal', mark_shipped => 'gen_deal',
	mark_delivered => 'gen_deal', confirm_inspection => 'gen_deal', cancel_deal => 'gen_deal',
	reject_delivery => 'gen_deal', request_return => 'gen_deal', confirm_return => 'gen_deal',
	open_dispute => 'gen_deal', resolve_dispute => 'gen_deal', serve_first => 'gen_deal',
	write_off => 'gen_deal',
	pay_cash => 'gen_deal', set_payment_sources => 'gen_deal',
	pay_invoice => 'gen_pay_receivable', repay => 'gen_pay_receivable',
	register_terminal => 'gen_register_terminal', load_terminal_cash => 'gen_refill',
	unload_terminal_cash => 'gen_refill', make_change => 'gen_make_change',
	link_external_account => 'gen_link_external_account',
	close_settlement_batch => 'gen_close_settlement_batch',
	settlement_export => 'gen_settlement_export',
	verify_ledger => 'gen_verify_ledger', fold_journal => 'gen_fold_journal',
	current_party => 'gen_read_only',
	deal_transitions => 'gen_read_only', state_machine_dot => 'gen_read_only',
	next_actions => 'gen_next_actions',
	txn_no_valid => 'gen_txn_no_valid', limits => 'gen_read_only', assign_account => 'gen_assign_account',
	distribute => 'gen_read_only',
	authorise_account_use => 'gen_account_use', revoke_account_use => 'gen_account_use',
	checkpoint => 'gen_checkpoint', inclusion_proof => 'gen_inclusion_proof',
	checkpoint_public_key => 'gen_checkpoint_public_key',
	balance_at => 'gen_balance_history', statement => 'gen_balance_history',
);

# Behaviour switches that other work on escrowpay changes; each names the
# rule it mirrors, so a change of behaviour is one line here.
our %RULES = (
	# escrow.refund() refuses (EP007) payments on receivables (pay_invoice,
	# repay) as deal transfers; 0: it refunds them like any transfer
	refund_refuses_receivable_payments => 1,
);

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

sub mul_ovf
{
	my ($a, $b) = @_;
	return 0 if $a == 0 || $b == 0;
	return undef if abs($a) > MAXI / abs($b);
	return $a * $b;
}

sub min { my ($a, $b) = @_; return $a < $b ? $a : $b; }
sub max { my ($a, $b) = @_; return $a > $b ? $a : $b; }

sub lit
{
	my ($v) = @_;
	return 'NULL' unless defined $v;
	return "'$v'::bigint" if $v < 0;
	return "$v";
}

# an integer argument (not bigint: the function takes integer)
sub nlit { my ($v) = @_; return defined $v ? "($v)::integer" : 'NULL::integer'; }

sub tlit
{
	my ($v) = @_;
	return 'NULL' unless defined $v;
	(my $q = $v) =~ s/'/''/g;
	return "'$q'";
}

sub alit
{
	my ($list, $type) = @_;
	$type //= 'bigint';
	return "NULL::${type}[]" unless defined $list;
	return "'{" . join(',', map { defined $_ ? $_ : 'NULL' } @$list) . "}'::${type}[]";
}

# Since when the server counts identity-code attempts (SQL): codes issued
# before are void.  A promoted standby counts from its promotion, which a
# test that promotes one sets here (a timestamp taken after the promotion).
our $CODES_COUNTED_FROM = 'pg_postmaster_start_time()';

# The intervals the model uses: an expiry or deadline either passes at once
# (a microsecond) or never within a run (days: a soak slowed past an hour by
# a busy machine once expired one-hour holds that the model kept open).
my %INTERVAL_KEY = (
	NULL            => 'NULL',
	'30 days'       => '0 months 30 days 0 us',
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

# a deal's transaction number: EP, 10 digits, Luhn check digit
sub luhn_digit
{
	my ($digits) = @_;
	my $sum = 0;
	my @d = reverse split //, $digits;
	for my $i (0 .. $#d)
	{
		my $x = $d[$i];
		if ($i % 2 == 0) { $x *= 2; $x -= 9 if $x > 9; }
		$sum += $x;
	}
	return (10 - $sum % 10) % 10;
}

sub txn_no { my ($id) = @_; my $d = sprintf('%010d', $id); return "EP$d" . luhn_digit($d); }

# change.c: fewest pieces paying $change from $avail pieces of $denoms
# (ascending), exactly as the C code chooses among equals (binary bundles,
# a 0/1 programme over the amount, reconstruction from the last bundle).
# Returns the pieces used per denomination, undef (no exact change) or
# '22023' (change out of range).
sub make_change
{
	my ($change, $denoms, $avail) = @_;
	my @use = (0) x @$denoms;
	return \@use if $change == 0;
	return '22023' if $change < 0 || $change > 1_000_000;
	my @b;
	for my $i (0 .. $#$denoms)
	{
		my $d = $denoms->[$i];
		next if $d > $change;
		my $left = min($avail->[$i], CORE::int($change / $d));
		my $k = 1;
		while ($left > 0)
		{
			my $take = min($k, $left);
			push @b, [ $i, $d * $take, $take ] if $d * $take <= $change;
			$left -= $take;
			$k *= 2;
		}
	}
	my @best = (0, (I32) x $change);
	my @took = map { '' } @b;
	for my $bi (0 .. $#b)
	{
		my ($i, $val, $p) = @{ $b[$bi] };
		for (my $v = $change; $v >= $val; $v--)
		{
			my $prev = $best[ $v - $val ];
			if ($prev != I32 && $prev + $p < $best[$v])
			{
				$best[$v] = $prev + $p;
				vec($took[$bi], $v, 1) = 1;
			}
		}
	}
	return undef if $best[$change] == I32;
	my $v = $change;
	for (my $bi = $#b; $bi >= 0 && $v > 0; $bi--)
	{
		if (vec($took[$bi], $v, 1))
		{
			$use[ $b[$bi][0] ] += $b[$bi][2];
			$v -= $b[$bi][1];
		}
	}
	return \@use;
}

# The deal lifecycle as the model knows it (mirrors the table in lifecycle.c;
# the test compares it with escrow.deal_transitions()).  Actors: B buyer,
# M merchant, I inspector, A escrow_admin, S system.  Settlement models
# offering it: E escrow, A agency, C credit_finance ('' all).
our @TRANSITIONS = (
	[qw(open_deal start order_received B), ''],
	[qw(confirm_identity order_received identity_confirmed B), ''],
	[qw(reserve identity_confirmed funds_reserved B), ''],
	[qw(pay_cash identity_confirmed funds_reserved B), 'E'],
	[qw(serve_first identity_confirmed delivered M), 'EA'],
	[qw(pay_cash delivered settled B), 'E'],
	[qw(mark_shipped funds_reserved shipped M), ''],
	[qw(mark_delivered shipped delivered MI), ''],
	[qw(confirm_inspection delivered settled BI), ''],
	[qw(auto_accept delivered settled S), ''],
	[qw(complete settled completed S), ''],
	[qw(invoice_due settled invoiced S), 'A'],
	[qw(pay_invoice invoiced completed B), 'A'],
	[qw(cancel_deal order_received cancelled BM), ''],
	[qw(cancel_deal identity_confirmed cancelled BM), ''],
	[qw(cancel_deal funds_reserved cancelled BM), ''],
	[qw(expire funds_reserved expired S), ''],
	[qw(reject_delivery delivered returned BI), ''],
	[qw(request_return settled returned B), ''],
	[qw(confirm_return returned refunded M), ''],
	[qw(open_dispute shipped disputed BM), ''],
	[qw(open_dispute delivered disputed BM), ''],
	[qw(open_dispute settled disputed BM), ''],
	[qw(open_dispute returned disputed BM), ''],
	[qw(resolve_dispute disputed resolved A), ''],
	# deadlines the model's runs never reach (the merchants' default 14, 14
	# and 7 days): the deal is escalated, the return confirmed, the deal
	# served first marked unpaid (then paid late or written off)
	[qw(escalate shipped disputed S), ''],
	[qw(auto_confirm_return returned refunded S), ''],
	[qw(mark_unpaid delivered unpaid S), 'E'],
	[qw(pay_cash unpaid settled B), 'E'],
	[qw(write_off unpaid written_off M), 'E'],
);

# Which deals at its stage a party's step is for (lifecycle.c's when): 1
# only a deal served first and not paid yet, 0 only one that is not; and
# the steps refused once the stage's deadline passed (in_time)
our %FOR_SERVED_UNPAID = ('pay_cash delivered' => 1, 'confirm_inspection delivered' => 0);
our %IN_TIME = map { $_ => 1 } ('mark_shipped funds_reserved', 'mark_delivered shipped',
	'reject_delivery delivered', 'request_return settled', 'open_dispute returned');

# The actor letters of @TRANSITIONS as escrow.deal_transitions() names them
our @ACTOR_NAMES = ([ B => 'buyer' ], [ M => 'merchant' ], [ I => 'inspector' ], [ S => 'system' ],
	[ A => 'escrow_admin' ]);

our %MODEL_LETTER = (escrow => 'E', agency => 'A', credit_finance => 'C');
our %MODEL_NAME = reverse %MODEL_LETTER;

# deal stages in the order of deal.h (set_payment_sources compares them)
our %STAGE_NO;
@STAGE_NO{qw(start order_received identity_confirmed funds_reserved shipped delivered
  settled invoiced completed cancelled expired returned refunded disputed resolved unpaid
  written_off)} = 0 .. 16;

# What run_maintenance() does to a deal past its deadline, by stage (a
# settled payment-agency deal whose invoice is unpaid: invoice_due)
our %MAINTENANCE = (funds_reserved => 'expire', delivered => 'auto_accept',
	settled => 'complete');

sub maintenance_action
{
	my ($d) = @_;
	return 'invoice_due' if $d->{stage} eq 'settled' && $d->{settlement} eq 'agency'
	  && $d->{rkind} eq 'invoice' && $d->{rstatus} eq 'open';
	# an escrow deal served first and not paid by its payment deadline
	return 'mark_unpaid' if $d->{stage} eq 'delivered' && $d->{settlement} eq 'escrow'
	  && $d->{held} == 0 && $d->{captured} == 0;
	return $MAINTENANCE{ $d->{stage} };
}

# The steps a deal at STAGE of SETTLEMENT, holding HELD and having captured
# CAPTURED, past its deadline (OVERDUE) or not, its receivable open (OPEN)
# or not, may take now (escrow.next_actions()), sorted: "action (actors)"
sub next_actions
{
	my ($stage, $settlement, $held, $captured, $overdue, $open) = @_;
	my $served_unpaid = $settlement eq 'escrow' && $held == 0 && $captured == 0
	  && ($stage eq 'delivered' || $stage eq 'unpaid');
	# the system step run_maintenance() takes when the deadline passes
	my $system = { funds_reserved => 'expire', shipped => 'escalate', returned => 'auto_confirm_return',
		delivered => $served_unpaid ? 'mark_unpaid' : 'auto_accept',
		settled => $settlement eq 'agency' && $open ? 'invoice_due' : 'complete' }->{$stage} // '';
	my @out;
	for my $t (@TRANSITIONS)
	{
		my ($action, $from, undef, $who, $models) = (@{$t}[ 0 .. 3 ], $t->[4]);
		next unless $from eq $stage;
		next if $models ne '' && index($models, $MODEL_LETTER{$settlement}) < 0;
		if ($who eq 'S') { next unless $action eq $system; }
		else
		{
			my $for = $FOR_SERVED_UNPAID{"$action $from"};
			next if defined $for && $for != ($served_unpaid ? 1 : 0);
			next if $IN_TIME{"$action $from"} && $overdue;
		}
		push @out, "$action (" . join(' or ', map { $_->[1] } grep { index($who, $_->[0]) >= 0 } @ACTOR_NAMES) . ')';
	}
	return @out ? join(', ', sort @out) : 'none';
}

# a cash terminal's denominations (minor units), ascending; with 3 and 4
# greedy change-making fails (6 is 3+3, not 4+1+1)
our @DENOMS = (1, 3, 4, 10, 25, 100, 500, 1000, 2000, 5000);
our @LOAD   = (60, 40, 40, 50, 40, 40, 20, 10, 4, 2);

# ------------------------------------------------------------------ world
# The accounts every client may name: shared accounts, funding accounts,
# and ids that exist nowhere.  (setup calls set_account_shards as 0.1.0
# callers do: it changes nothing since folding replaced balance shards.)
#
# Per client c: accounts c<c>-d1, -d2 (deposits), -cr (credit line), -s
# (settlement), -f (fees, settled with the bank), -j
# (JPY), -n (the institution's), -t (the terminal's cash), -q (the second
# merchant's); parties m<c> (pays from d1, owns d2 too, may pay from k's
# credit line), k<c> (credit line), j<c> (JPY), merchants s<c> and q<c>
# (q: inspection window and cooling-off of a microsecond, so its deals
# fall due at once), institution n<c> (agency and credit finance, settles
# f with the bank); terminal term-c<c>.

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
	my $denoms = '{' . join(',', @DENOMS) . '}';
	my $load   = '{' . join(',', @LOAD) . '}';
	for my $c (1 .. $n)
	{
		my $bps = 100 + 50 * ($c % 5);
		my $disc = 100 + 25 * ($c % 4);
		$sql .= <<"EOS";
DO \$\$
DECLARE d1 bigint; d2 bigint; cr bigint; s bigint; f bigint; j bigint; n bigint; t bigint; q bigint;
        o bigint;
BEGIN
  d1 := escrow.open_account('c$c-d1', 'EUR');
  d2 := escrow.open_account('c$c-d2', 'EUR');
  cr := escrow.open_account('c$c-cr', 'EUR', 'credit', 300000);
  s  := escrow.open_account('c$c-s', 'EUR');
  f  := escrow.open_account('c$c-f', 'EUR');
  j  := escrow.open_account('c$c-j', 'JPY');
  n  := escrow.open_account('c$c-n', 'EUR');
  t  := escrow.open_account('c$c-t', 'EUR');
  q  := escrow.open_account('c$c-q', 'EUR');
  o  := escrow.open_account('c$c-o', 'EUR', 'system');
  PERFORM escrow.set_account_shards(s, 2);
  PERFORM escrow.deposit(d1, 1000000);
  PERFORM escrow.deposit(d2, 200000);
  PERFORM escrow.deposit(s, 50000);
  PERFORM escrow.deposit(j, 5000000);
  PERFORM escrow.deposit(n, 1000000000000);
  PERFORM escrow.register_member('m$c', 'member $c', 'm$c\@example.org', d1);
  PERFORM escrow.register_member('k$c', 'credit member $c', 'k$c\@example.org', cr);
  PERFORM escrow.register_member('j$c', 'yen member $c', 'j$c\@example.org', j);
  PERFORM escrow.register_merchant('s$c', 'shop $c', 's$c\@example.org', s,
                                   fee_bps => $bps, fee_account => f);
  PERFORM escrow.register_merchant('q$c', 'quick shop $c', 'q$c\@example.org', q,
                                   inspection_window => interval '1 microsecond',
                                   cooling_off => interval '1 microsecond',
                                   pay_within => interval '1 microsecond',
                                   fee_bps => $bps, fee_account => f);
  PERFORM escrow.register_institution('n$c', 'institution $c', 'n$c\@example.org', n,
                                      discount_bps => $disc, repay_within => interval '30 days');
  PERFORM escrow.register_terminal('term-c$c', 'terminal $c', t, '$denoms');
  PERFORM escrow.load_terminal_cash('term-c$c', '$denoms', '$load');
  PERFORM escrow.link_external_account(f, 'n$c', 'IBAN-c$c-f');
  PERFORM escrow.assign_account(d2, 'm$c');
  PERFORM escrow.authorise_account_use(cr, 'm$c', 'pay_from', 'k$c');
END \$\$;
EOS
	}
	return $sql;
}

# $q is a sub(sql) returning the output of psql -A -t (safe_psql)
sub load_world
{
	my ($q, $n) = @_;
	my %w = (n => $n);
	for my $row (split /\n/,
		$q->(q{SELECT id, owner, kind, currency FROM escrow.accounts ORDER BY id}))
	{
		my ($id, $owner, $kind, $cur) = split /\|/, $row;
		if ($owner eq 'escrow:funding')
		{
			$w{funding}{$cur} = $id;
			$w{ext}{$id} = { kind => 'system', cur => $cur, funding => 1, platform => 1 };
		}
		elsif ($owner =~ /^shared-/)
		{
			$w{ext}{$id} = { kind => 'deposit', cur => $cur, shared => 1 };
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
		nobj  => 0,                # names of new accounts, parties, terminals
		stats => {},
		failures => [],
		queue => [],               # calls that must come next
	}, $class;
	return $self;
}

sub c { return $_[0]{c}; }

# the client's party numbers: m1, k1, j1, s1, q1, n1 and new ones (p1-3)
sub party_re { my ($c) = @_; return "^[mkjsqnpvy]$c(-[0-9]+)?\$"; }

# -------------------------------------------------------- state from DB
# Everything the client owns, as the database has it.  Both the model
# state and what it is compared with have this shape.
sub load_state
{
	my ($self, $q) = @_;
	my $c = $self->{c};
	my $pre = party_re($c);
	my %st = (acct => {}, role => {}, holds => {}, anon_holds => [],
		xfers => {}, anon_xfers => [], keys => {}, deals => {}, parties => {},
		term => {}, linked => {}, clearing => {}, batches => {}, recv => {}, ext => {},
		owner => {}, auth => {});
	for my $row (split /\n/, $q->(qq{
		SELECT a.id, substr(a.owner, length('c$c-') + 1), a.kind, a.currency,
		       b.posted, a.held, a.credit_limit, 0,
		       a.kind = 'deposit'
		         AND NOT EXISTS (SELECT 1 FROM escrow.entries e WHERE e.account = a.id)
		         AND NOT EXISTS (SELECT 1 FROM escrow.unfolded u WHERE u.account = a.id)
		         AND NOT EXISTS (SELECT 1 FROM escrow.terminals t WHERE t.cash_account = a.id)
		         AND NOT EXISTS (SELECT 1 FROM escrow.parties p
		                          WHERE a.id IN (p.account, p.settlement_account, p.fee_account))
		         AND NOT EXISTS (SELECT 1 FROM escrow.account_owners o WHERE o.account = a.id)
		         AND NOT EXISTS (SELECT 1 FROM escrow.settlement_links l WHERE l.account = a.id),
		       coalesce((SELECT sum(e.amount) FROM escrow.journal e
		                  WHERE e.account = a.id
		                    AND e.kind NOT IN ('settlement', 'deposit', 'withdraw')), 0)
		     - coalesce((SELECT sum(l.settled) FROM escrow.settlement_lines l
		                  WHERE l.account = a.id), 0),
		       a.platform
		  FROM escrow.accounts a JOIN escrow.balances b ON b.account = a.id
		 WHERE a.owner LIKE 'c$c-%' ORDER BY a.id}))
	{
		my ($id, $role, $kind, $cur, $posted, $held, $limit, $shards, $fresh, $pos, $platform) =
		  split /\|/, $row;
		$st{acct}{$id} = { id => $id, role => $role, kind => $kind, cur => $cur,
			posted => $posted, held => $held, limit => $limit, shards => $shards,
			pos => $pos, own => 1, fresh => $fresh eq 't' ? 1 : 0,
			platform => $platform eq 't' ? 1 : 0 };
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
		       coalesce(o.deal, r.deal, 0),
		       (o.terminal IS NOT NULL OR o.batch IS NOT NULL)::int
		  FROM escrow.transfers t
		  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id
		  LEFT JOIN escrow.receivables r ON r.id = o.receivable
		 WHERE t.debit_account = ANY ('$own') OR t.credit_account = ANY ('$own') ORDER BY t.id}))
	{
		my ($id, $kind, $d, $cr, $amt, $ref, $hold, $rof, $deal, $owner) = split /\|/, $row;
		$st{xfers}{$id} = { id => $id, kind => $kind, debit => $d, credit => $cr,
			amount => $amt, refunded => $ref, hold => $hold, refund_of => $rof, deal => $deal,
			owner => $owner };
	}
	for my $row (split /\n/, $q->(qq{
		SELECT key, request, coalesce(result::text, ''), coalesce(results::text, '')
		  FROM escrow.idempotency_keys WHERE key LIKE 'c$c-%' ORDER BY key}))
	{
		my ($key, $req, $res, $ress) = split /\|/, $row;
		$st{keys}{$key} = { req => $req, result => length($ress) ? $ress : $res };
	}
	for my $row (split /\n/, $q->(qq{
		SELECT party_no, kind, coalesce(account, settlement_account, 0),
		       coalesce(clearing_account, 0), discount_bps
		  FROM escrow.parties WHERE party_no ~ '$pre' ORDER BY party_no}))
	{
		my ($no, $kind, $acct, $clearing, $disc) = split /\|/, $row;
		$st{parties}{$no} = { kind => $kind, account => $acct, discount => $disc };
		if ($clearing)
		{
			$st{clearing}{$no} = $clearing;
			$st{ext}{$clearing} = { kind => 'system', cur => 'EUR', clearing => 1, platform => 1 };
		}
	}
	for my $row (split /\n/, $q->(qq{
		SELECT d.id, d.buyer, d.merchant, d.amount, d.stage, d.held, d.captured,
		       d.refunded, d.fee, coalesce(d.hold_id, 0), coalesce(d.capture_transfer, 0),
		       coalesce(d.fee_transfer, 0), coalesce(d.inspector, ''), d.fee_bps,
		       d.debit_account, d.credit_account, coalesce(d.fee_account, 0),
		       (SELECT count(*) FROM escrow.deal_events e WHERE e.deal = d.id),
		       -- a code issued before the server started counting (its
		       -- start, or a standby's promotion) is void (EP008)
		       d.code_hmac IS NOT NULL AND d.code_issued_at >= $CODES_COUNTED_FROM,
		       d.code_attempts,
		       d.settlement, coalesce(d.institution_account, 0), d.discount_bps,
		       coalesce(d.prepay_transfer, 0), d.payment_method, coalesce(d.institution, ''),
		       coalesce(d.deadline <= clock_timestamp(), false),
		       d.ship_within < interval '1 second',
		       coalesce(r.id, 0), coalesce(r.kind, ''), coalesce(r.amount, 0),
		       coalesce(r.paid, 0), coalesce(r.status, ''),
		       coalesce((SELECT string_agg(s.account || ':' || s.amount || ':' || coalesce(s.hold_id, 0)
		                   || ':' || coalesce(s.capture_transfer, 0) || ':' || s.captured || ':'
		                   || s.refunded, ',' ORDER BY s.position)
		                  FROM escrow.deal_sources s WHERE s.deal = d.id), '')
		  FROM escrow.deals d LEFT JOIN escrow.receivables r ON r.deal = d.id
		 WHERE d.merchant IN ('s$c', 'q$c') ORDER BY d.id}))
	{
		my @f = split /\|/, $row, -1;
		my $d = {
			id => $f[0], buyer => $f[1], merchant => $f[2], amount => $f[3],
			stage => $f[4], held => $f[5], captured => $f[6], refunded => $f[7],
			fee => $f[8], hold_id => $f[9], capture_transfer => $f[10],
			fee_transfer => $f[11], inspector => length($f[12]) ? $f[12] : undef,
			bps => $f[13], debit => $f[14], credit => $f[15], fee_account => $f[16],
			events => $f[17], code_pending => $f[18] eq 't' ? 1 : 0,
			attempts => $f[19], code => undef, settlement => $f[20],
			inst_account => $f[21], discount => $f[22], prepay_transfer => $f[23],
			method => $f[24], split => $f[24] eq 'split' ? 1 : 0, inst => $f[25],
			late => $f[26] eq 't' ? 1 : 0, ship_tiny => $f[27] eq 't' ? 1 : 0,
			q => $f[2] eq "q$c" ? 1 : 0,
			rid => $f[28], rkind => $f[29], ramount => $f[30], rpaid => $f[31],
			rstatus => $f[32], pays => [] };
		$d->{src} = [ map {
			my ($a, $m, $h, $t, $cap, $ref) = split /:/;
			{ account => $a, amount => $m, hold => $h, capture => $t, captured => $cap,
			  refunded => $ref }
		} split /,/, $f[33] ] if $d->{split};
		$st{deals}{ $d->{id} } = $d;
		$st{recv}{ $d->{rid} } = $d->{id} if $d->{rid};
	}
	for my $row (split /\n/, $q->(qq{
		SELECT o.account, o.party FROM escrow.account_owners o
		 WHERE o.account = ANY ('$own') ORDER BY 1}))
	{
		my ($acct, $party) = split /\|/, $row;
		$st{owner}{$acct} = $party;
	}
	for my $row (split /\n/, $q->(qq{
		SELECT account, party, purpose, id FROM escrow.account_authorisations
		 WHERE account = ANY ('$own') AND revoked_at IS NULL ORDER BY 1}))
	{
		my ($acct, $party, $purpose, $id) = split /\|/, $row;
		$st{auth}{$acct}{$party}{$purpose} = $id;
	}
	for my $row (split /\n/, $q->(qq{
		SELECT t.terminal_no, t.cash_account, c.denomination, c.pieces
		  FROM escrow.terminals t JOIN escrow.terminal_cash c USING (terminal_no)
		 WHERE t.terminal_no ~ '^term-c$c(-[0-9]+)?\$' ORDER BY 1, 3}))
	{
		my ($no, $acct, $denom, $pieces) = split /\|/, $row;
		$st{term}{$no}{acct} = $acct;
		$st{term}{$no}{cash}{$denom} = $pieces;
	}
	for my $row (split /\n/, $q->(qq{
		SELECT account, institution FROM escrow.settlement_links
		 WHERE institution ~ '$pre' ORDER BY 1}))
	{
		my ($acct, $inst) = split /\|/, $row;
		$st{linked}{$acct} = $inst;
	}
	for my $row (split /\n/, $q->(qq{
		SELECT b.institution, b.id, b.lines, b.paid_out, b.collected,
		       coalesce((SELECT string_agg(l.account || ':' || l.settled, ' ' ORDER BY l.account)
		                   FROM escrow.settlement_lines l WHERE l.batch = b.id AND l.settled <> 0), '')
		  FROM escrow.settlement_batches b WHERE b.institution ~ '$pre' ORDER BY b.id}))
	{
		my ($inst, $id, $lines, $out, $in, $settled) = split /\|/, $row, -1;
		$st{batches}{$inst} = { id => $id, n => ($st{batches}{$inst}{n} // 0) + 1,
			lines => $lines, paid_out => $out, collected => $in, settled => $settled };
		$st{batch_lines}{$id} = $settled;
		$st{batch_inst}{$id} = $inst;
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
	# deals past a deadline: wait for maintenance to move them
	for my $d (sort { $a->{id} <=> $b->{id} } values %{ $st->{deals} })
	{
		push @{ $self->{queue} }, [ 'maintain', $d->{id}, 0 ] if is_due($d);
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
		($x) = grep { $_->{role} eq $y->{role} } @{ $m->{anon_acct} // [] } unless $x;
		if (!$x) { push @out, "account $id: not in model"; next; }
		for my $f (qw(posted held limit pos))
		{
			push @out, "account $id ($y->{role}) $f: model $x->{$f}, db $y->{$f}"
			  if $x->{$f} != $y->{$f};
		}
	}
	push @out, "account $_: not in db"
	  for grep { !$d->{acct}{$_} } sort { $a <=> $b } keys %{ $m->{acct} };
	push @out, _diff_records('hold', $m->{holds}, $m->{anon_holds}, $d->{holds},
		[qw(debit credit amount captured released status deal)]);
	push @out, _diff_records('transfer', $m->{xfers}, $m->{anon_xfers}, $d->{xfers},
		[qw(kind debit credit amount refunded hold refund_of deal owner)]);
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
		for my $f (qw(stage held captured refunded fee events attempts settlement method
			debit discount rkind rpaid rstatus late))
		{
			push @out, "deal $id $f: model $x->{$f}, db $y->{$f}" if $x->{$f} ne $y->{$f};
		}
		for my $f (qw(hold_id capture_transfer fee_transfer prepay_transfer rid))
		{
			push @out, "deal $id $f: model $x->{$f}, db $y->{$f}"
			  if $x->{$f} && $x->{$f} > 0 && $x->{$f} ne $y->{$f};
		}
		my ($ms, $ds) = map { _src_text($_) } $x, $y;
		push @out, "deal $id sources: model $ms, db $ds" if $ms ne $ds;
	}
	for my $what (qw(term linked parties owner auth))
	{
		# authorisations: which are in force (a crash may hide a new one's id)
		my ($a, $b) = map { $what eq 'auth' ? _flat($_->{$what}) =~ s/=[^,{}\[\]]+([,}])/=1$1/gr
			: _flat($_->{$what}) } $m, $d;
		push @out, "$what: model $a, db $b" if $a ne $b;
	}
	my ($mb, $db) = map { my $bs = $_->{batches}; join(' ', map { "$_:$bs->{$_}{n}" } sort keys %$bs) } $m, $d;
	push @out, "settlement batches: model $mb, db $db" if $mb ne $db;
	for my $i (sort keys %{ $m->{batches} })
	{
		my ($x, $y) = ($m->{batches}{$i}{id}, ($d->{batches}{$i} // {})->{id} // '');
		push @out, "settlement batch of $i: model $x, db $y" if defined $x && $x ne $y;
	}
	return @out;
}

sub _src_text
{
	my ($x) = @_;
	return '-' unless $x->{split};
	return join(',', map { join(':', $_->{account}, $_->{amount}, $_->{captured}, $_->{refunded}) }
		@{ $x->{src} });
}

sub _flat
{
	my ($v) = @_;
	return $v // '' unless ref $v;
	return '{' . join(',', map { "$_=" . _flat($v->{$_}) } sort keys %$v) . '}' if ref $v eq 'HASH';
	return '[' . join(',', map { _flat($_) } @$v) . ']';
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
	push @{ $pool{ _rec_key($left{$_}, $fields) } }, $_ for sort { $a <=> $b } keys %left;
	for my $r (grep { !defined $_->{id} } @$anon)
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

sub _sim { return { a => {}, h => {}, t => {}, d => {}, term => {}, new_h => [], new_t => [],
		new_d => [], keys => {}, amb => 0 }; }

sub s_acct
{
	my ($self, $s, $id) = @_;
	return undef unless defined $id;
	return $s->{a}{$id} if exists $s->{a}{$id};
	if (my $r = $self->{st}{acct}{$id}) { return $s->{a}{$id} = {%$r}; }
	return $self->{w}{ext}{$id} // $self->{st}{ext}{$id};    # shared, funding, clearing or undef
}

# _s_copy(S, SIM, STATE, ID, DEEP): row ID of $self->{st}{STATE} as the
# simulation S sees it, copied into $s->{SIM} at its first read (deeply
# with DEEP); undef when there is no such row.
sub _s_copy
{
	my ($self, $s, $sim, $state, $id, $deep) = @_;
	return undef unless defined $id;
	return $s->{$sim}{$id} if exists $s->{$sim}{$id};
	if (my $r = $self->{st}{$state}{$id}) { return $s->{$sim}{$id} = $deep ? dclone($r) : {%$r}; }
	return undef;
}

sub s_hold { my ($self, $s, $id) = @_; return $self->_s_copy($s, 'h', 'holds', $id, 0); }
sub s_xfer { my ($self, $s, $id) = @_; return $self->_s_copy($s, 't', 'xfers', $id, 0); }
sub s_deal { my ($self, $s, $id) = @_; return $self->_s_copy($s, 'd', 'deals', $id, 1); }
sub s_term { my ($self, $s, $no) = @_; return $self->_s_copy($s, 'term', 'term', $no, 1); }

# Write a simulation into state $st.
sub commit
{
	my ($s, $st) = @_;
	for my $kind ([ 'a', 'acct' ], [ 'h', 'holds' ], [ 't', 'xfers' ], [ 'd', 'deals' ])
	{
		my ($k, $f) = @$kind;
		for my $id (keys %{ $s->{$k} })
		{
			next unless $st->{$f}{$id};    # shared / funding accounts
			$st->{$f}{$id} = $k eq 'd' ? dclone($s->{$k}{$id}) : { %{ $s->{$k}{$id} } };
		}
	}
	for my $h (@{ $s->{new_h} })
	{
		if (defined $h->{id}) { $st->{holds}{ $h->{id} } = {%$h}; push @{ $st->{hold_list} }, $h->{id}; }
		else { push @{ $st->{anon_holds} }, $st->{by_tmp}{ $h->{tmp} } = {%$h}; }
	}
	for my $t (@{ $s->{new_t} })
	{
		if (defined $t->{id}) { $st->{xfers}{ $t->{id} } = {%$t}; push @{ $st->{xfer_list} }, $t->{id}; }
		else { push @{ $st->{anon_xfers} }, $st->{by_tmp}{ $t->{tmp} } = {%$t}; }
	}
	for my $d (@{ $s->{new_d} })
	{
		if (defined $d->{id}) { $st->{deals}{ $d->{id} } = dclone($d); push @{ $st->{deal_list} }, $d->{id}; }
		else { push @{ $st->{anon_deals} }, dclone($d); }
	}
	for my $a (@{ $s->{new_a} // [] })
	{
		# id unknown: a crash cut the call off (matched by its owner name)
		push @{ $st->{anon_acct} }, {%$a} and next unless defined $a->{id};
		$st->{acct}{ $a->{id} } = {%$a};
		$st->{role}{ $a->{role} } = $a->{id};
	}
	$st->{term}{$_} = dclone($s->{term}{$_}) for keys %{ $s->{term} };
	$st->{parties}{$_} = { %{ $s->{parties}{$_} } } for keys %{ $s->{parties} // {} };
	$st->{linked}{$_} = $s->{linked}{$_} for keys %{ $s->{linked} // {} };
	$st->{owner}{$_} = $s->{owner}{$_} for keys %{ $s->{owner} // {} };
	for my $a (keys %{ $s->{auth} // {} })
	{
		for my $p (keys %{ $s->{auth}{$a} })
		{
			for my $u (keys %{ $s->{auth}{$a}{$p} })
			{
				my $v = $s->{auth}{$a}{$p}{$u};
				if (defined $v) { $st->{auth}{$a}{$p}{$u} = $v; }
				else
				{
					delete $st->{auth}{$a}{$p}{$u};
					delete $st->{auth}{$a}{$p} unless %{ $st->{auth}{$a}{$p} };
					delete $st->{auth}{$a} unless %{ $st->{auth}{$a} };
				}
			}
		}
	}
	for my $i (keys %{ $s->{batches} // {} })
	{
		my $b = $s->{batches}{$i};
		$st->{batches}{$i} = {%$b};    # id unknown: a crash cut the call off
		next unless defined $b->{id};
		$st->{batch_lines}{ $b->{id} } = $b->{settled};
		$st->{batch_inst}{ $b->{id} } = $i;
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
	my ($self, $s, $id, $delta, $unhold, $cur, $allow_funding, $kind, $no_platform, $no_system) = @_;
	my $a = $self->s_acct($s, $id) or return 'P0002';
	return 'EP004' if defined $$cur && $a->{cur} ne $$cur;
	return '22023' if $a->{funding} && !$allow_funding;
	# the platform's own account, named by a public call (accounts.platform)
	return 'EP007' if $a->{platform} && $no_platform;
	# a system account debited by a public call of escrow_app (check_system_debit)
	return '42501' if $no_system && $a->{kind} eq 'system';
	$$cur = $a->{cur};
	if ($a->{own})
	{
		# amounts are at most MAX_AMOUNT and balances within their bounds:
		# no sum here leaves the integers Perl keeps exactly
		my $np = $a->{posted} + $delta;
		my $nh = $a->{held} - $unhold;
		if ($delta < 0 && $a->{kind} ne 'system')
		{
			return 'EP001' if $np + $a->{limit} - $nh < 0;
		}
		return '22003'
		  if abs($np) > ($a->{kind} eq 'system' ? MAX_SYSTEM_BALANCE : MAX_BALANCE);
		$a->{posted} = $np;
		$a->{held}   = $nh;
		# a settlement batch's position: payments between parties only
		$a->{pos} += $delta unless $kind =~ /^(deposit|withdraw|settlement)$/;
	}
	elsif ($a->{shared} && $delta < 0)
	{
		$s->{amb} = 1;    # refused or not, depending on the other clients
	}
	return undef;
}

# ep_post_transfer: both legs in ascending account id order; %ref: public
# => 1 for a public call (every account its caller named refuses the
# platform's own: all but the funding account of a deposit or withdrawal;
# and, when the call runs as escrow_app ($self->{app}), a system account
# it debits)
sub s_post
{
	my ($self, $s, $kind, $debit, $credit, $amount, $unhold, %ref) = @_;
	my $funding = $kind eq 'deposit' || $kind eq 'withdraw';
	return '22023' if $debit == $credit;
	my $cur;
	my $named_debit = $ref{public} && $kind ne 'deposit';
	my @legs = ([ $debit, -$amount, $unhold, $named_debit, $named_debit && $self->{app} ],
		[ $credit, $amount, 0, $ref{public} && $kind ne 'withdraw', 0 ]);
	@legs = reverse @legs if $credit < $debit;
	for my $l (@legs)
	{
		my ($id, $delta, $unhold_leg, $no_platform, $no_system) = @$l;
		my $e = $self->_leg($s, $id, $delta, $unhold_leg, \$cur, $funding, $kind, $no_platform,
			$no_system);
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
		refund_of => $ref{refund_of} // 0, deal => $ref{deal} // 0, owner => $ref{owner} // 0,
		tmp => -(++$self->{tmpid}) };
	push @{ $s->{new_t} }, $t;
	$s->{t}{ $t->{tmp} } = $t;
	return (undef, $t);
}

# ep_post_funding: money in (deposit) or out (withdraw) of the ledger;
# %ref: owner => 1 for a terminal's (escrow.transfer_owners)
sub s_funding
{
	my ($self, $s, $kind, $acct, $amount, %ref) = @_;
	my $a = $self->s_acct($s, $acct) or return 'P0002';
	my $f = $self->{w}{funding}{ $a->{cur} };
	return $kind eq 'deposit' ? $self->s_post($s, 'deposit', $f, $acct, $amount, 0, %ref)
	  : $self->s_post($s, 'withdraw', $acct, $f, $amount, 0, %ref);
}

# ep_check_hold_accounts (public: a hold the caller names the accounts of)
sub _hold_accounts
{
	my ($self, $s, $debit, $credit, $public) = @_;
	return '22023' if $debit == $credit;
	my $c = $self->s_acct($s, $credit) or return 'P0002';
	return '22023' if $c->{funding};
	return 'EP007' if $c->{platform} && $public;
	my $d = $self->s_acct($s, $debit) or return 'P0002';
	return 'EP004' if $d->{cur} ne $c->{cur};
	return '22023' if $d->{funding};
	return 'EP007' if $d->{platform} && $public;
	return '42501' if $public && $self->{app} && $d->{kind} eq 'system';
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
	return '22003' if $nh > MAX_BALANCE;
	if ($a->{kind} ne 'system')
	{
		return 'EP001' if $a->{posted} + $a->{limit} - $nh < 0;
	}
	$a->{held} = $nh;
	return undef;
}

sub s_hold_place
{
	my ($self, $s, $debit, $credit, $amount, $expiry, $deal) = @_;
	my $e = $self->_hold_accounts($s, $debit, $credit, !$deal)
	  // $self->_add_held($s, $debit, $amount);
	return $e if $e;
	my $h = { id => undef, debit => $debit, credit => $credit, amount => $amount,
		captured => 0, released => 0, status => 'open', deal => $deal // 0,
		tiny => ($expiry // '') eq '1 microsecond' ? 1 : 0, tmp => -(++$self->{tmpid}) };
	push @{ $s->{new_h} }, $h;
	$s->{h}{ $h->{tmp} } = $h;    # found by later steps of the same call
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
		hold => $hid, deal => $h->{deal}, public => !$deal);
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

# ep_refund_transfer after the key claim (the deal check is the caller's);
# $public: escrow.refund(), whose caller names the transfer
sub s_refund
{
	my ($self, $s, $tid, $amount, $public) = @_;
	my $t = $self->s_xfer($s, $tid) or return 'P0002';
	return '22023' if $t->{kind} ne 'capture' && $t->{kind} ne 'transfer';
	my $rest = $t->{amount} - $t->{refunded};
	return 'EP006' if !defined $amount && $rest == 0;
	$amount //= $rest;
	return 'EP006' if $amount > $rest;
	$t->{refunded} += $amount;
	# a refund belongs to the owner of what it refunds (a deal's refunds are the deal's)
	return $self->s_post($s, 'refund', $t->{credit}, $t->{debit}, $amount, 0,
		refund_of => $tid, deal => $t->{deal}, owner => $t->{owner}, public => $public);
}

# refuse_if_owned() of escrow.refund(): a transfer that belongs to a deal
# (its captures, fees, payouts, refunds), a receivable (payments, payments
# sent back), a cash terminal or a settlement batch is reversed only by it
sub owned_by_deal
{
	my ($self, $tid) = @_;
	my $t = $self->{st}{xfers}{$tid} or return 0;
	return $t->{deal} || $t->{owner};
}

# ------------------------------------------------ owners of accounts
sub owner_of
{
	my ($self, $s, $acct) = @_;
	return $s->{owner}{$acct} if exists $s->{owner}{$acct};
	return $self->{st}{owner}{$acct};
}

sub auth_of
{
	my ($self, $s, $acct, $party, $purpose) = @_;
	return $s->{auth}{$acct}{$party}{$purpose}
	  if $s->{auth} && $s->{auth}{$acct} && $s->{auth}{$acct}{$party} && exists $s->{auth}{$acct}{$party}{$purpose};
	return $self->{st}{auth}{$acct} && $self->{st}{auth}{$acct}{$party} ? $self->{st}{auth}{$acct}{$party}{$purpose} : undef;
}

sub acct_exists
{
	my ($self, $acct) = @_;
	return defined $acct && ($self->{st}{acct}{$acct} || $self->{w}{ext}{$acct} || $self->{st}{ext}{$acct});
}

# ep_require_account_use: the party owns the account, or its owner let it
# pay from it (or be paid into it); 42501, P0002 for no account at all
sub require_use
{
	my ($self, $s, $acct, $party, $into) = @_;
	my $owner = $self->owner_of($s, $acct);
	return $self->acct_exists($acct) ? '42501' : 'P0002' unless defined $owner;
	return undef if $owner eq $party;
	return undef if $self->auth_of($s, $acct, $party, $into ? 'pay_into' : 'pay_from');
	return '42501';
}

sub is_terminal_account
{
	my ($self, $s, $acct) = @_;
	return grep { ($s->{term}{$_} // $self->{st}{term}{$_})->{acct} == $acct }
	  keys %{ { %{ $self->{st}{term} }, %{ $s->{term} } } };
}

# ep_assign_account_owner: not a terminal's cash account, not the
# platform's fee account, not another party's
sub assign_owner
{
	my ($self, $s, $acct, $party) = @_;
	return '22023' if $self->is_terminal_account($s, $acct);
	return '22023' if $acct == $self->own('f');
	my $owner = $self->owner_of($s, $acct);
	return '22023' if defined $owner && $owner ne $party;
	$s->{owner}{$acct} = $party;
	return undef;
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

# _batch_ids(ROWS): what a batch call that made ROWS (hashes) predicts: no
# error, an array of as many ids, and, once the call returned, each row
# given its id in order
sub _batch_ids
{
	my ($rows) = @_;
	return (undef, _ids_array(scalar @$rows), sub {
		my @ids = $_[0][0] =~ /(\d+)/g;
		$rows->[$_]{id} = $ids[$_] for 0 .. $#$rows;
	});
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

# A prediction refused with one SQLSTATE
sub refuse { my ($op, $sql, $state) = @_; return { op => $op, sql => $sql, outcomes => [ _refused($state) ] }; }

# Predict a call: $body->($s) runs the simulation after the key claim and
# returns (error) or (undef, result check, learn-ids sub).  $key undef: a
# call without a key.  A simulation that debited a shared account may also
# be refused (EP001).
sub predict
{
	my ($self, $op, $sql, $body, %o) = @_;
	return { op => $op, sql => $sql, outcomes => $self->_keyed($o{key}, $o{req}, $body, %o) };
}

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
	my @out = (_ok($check // \&_is_void, $s, $learn2));
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
	# a system account has no funds limit: "too much" for it is an amount
	# above the largest one accepted
	return $a->{kind} eq 'system' ? MAX_AMOUNT : $a->{posted} + $a->{limit} - $a->{held};
}

sub new_key { my ($self) = @_; return sprintf('c%d-k%d', $self->{c}, ++$self->{nkey}); }

# a new name for an account, party or terminal of this client
sub new_name { my ($self, $prefix) = @_; return sprintf('%s%d-%d', $prefix, $self->{c}, ++$self->{nobj}); }

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
# the client's system account, or an id that does not exist
sub pick_account
{
	my ($self, $p_odd) = @_;
	my $r = $self->{rng};
	my $w = $self->{w};
	return $r->pick($self->eur_accounts) unless $r->chance($p_odd // 0.1);
	my $clearing = $self->{st}{clearing}{"n$self->{c}"};
	my $v = $r->weighted(jpy => 3, funding => 2, unknown => 4, jfunding => 1, terminal => 1,
		clearing => $clearing ? 1 : 0, system => 3);
	return $self->own('j') if $v eq 'jpy';
	return $self->own('o') if $v eq 'system';
	return $self->own('t') if $v eq 'terminal';
	return $clearing if $v eq 'clearing';
	return $w->{funding}{EUR} if $v eq 'funding';
	return $w->{funding}{JPY} if $v eq 'jfunding';
	return unknown_id($w, $r);
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
	my @ids = grep { $deals_too || !$self->owned_by_deal($_) }
	  sort { $a <=> $b } recent($self->{st}{xfer_list}, 400);
	my @refundable = grep {
		my $t = $self->{st}{xfers}{$_};
		($t->{kind} eq 'capture' || $t->{kind} eq 'transfer') && $t->{refunded} < $t->{amount}
	} @ids;
	return $r->pick(@refundable) if @refundable && $r->chance(0.75);
	return $r->pick(@ids) if @ids && $r->chance(0.8);
	return unknown_id($self->{w}, $r);
}

# The ledger calls made as escrow_app now and then (next_call)
our %APP_CALLS = map { $_ => 1 } qw(deposit withdraw transfer hold capture release refund
  hold_batch capture_batch);

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
	# verify_ledger() reads the whole journal: after 2500, 5000, 10000, ...
	# calls of each client, so a long run does not spend itself there
	if (++$self->{ncalls} == ($self->{next_verify} //= 2500))
	{
		$self->{next_verify} *= 2;
		return $self->gen_verify_ledger;
	}
	my $op = $r->weighted(
		tiny_hold => $self->{no_tiny} ? 0 : 2,
		deposit => 7, withdraw => 6, transfer => 14, hold => 12, capture => 10,
		release => 5, refund => 9, hold_batch => 5, capture_batch => 5,
		deal => 30, replay => 4, set_credit_limit => 2,
		expire_holds => 1, run_maintenance => 1, apply_retention => 0.3, pay_receivable => 4, refill => 1.5,
		make_change => 0.7, register => 1.5, open_account => 0.4, register_terminal => 0.2,
		set_account_shards => 0.2, fold_journal => 1, link_external_account => 0.3,
		close_settlement_batch => 0.6, settlement_export => 0.3, read_only => 1,
		txn_no_valid => 0.3, assign_account => 0.3, account_use => 0.6,
		checkpoint => 0.3, inclusion_proof => 0.6, checkpoint_public_key => 0.2,
		balance_history => 0.6, next_actions => 0.4);
	# the ledger calls run now and then as escrow_app (the other calls as
	# the superuser that runs the test): the model refuses its debits of a
	# system account (42501); sql_to_send() wraps the call
	$self->{app} = $APP_CALLS{$op} && $r->chance(0.25);
	my $call = $self->${ \"gen_$op" }();
	$call->{as_app} = 1 if $self->{app};
	$self->{app} = 0;
	return $call;
}

# The SQL a client sends for prediction $pred: its call, or for a call
# made as escrow_app the call between SET ROLE and RESET ROLE, the
# SQLSTATE psql reports for the whole being the call's
sub sql_to_send
{
	my ($pred) = @_;
	return $pred->{sql} unless $pred->{as_app};
	return "SET ROLE escrow_app;\n$pred->{sql}\n\\set ep_state :SQLSTATE\nRESET ROLE;\n"
	  . "\\set SQLSTATE :ep_state";
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
	return $self->_funding_call('deposit', $acct, $amount, $key);
}

sub gen_withdraw
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.9) ? $r->pick($self->eur_accounts, $self->own('j'), $self->own('o'))
	  : $self->pick_account(1);
	my $amount = $self->pick_amount(15000);
	if ($self->{st}{acct}{$acct} && $r->chance(0.1))
	{
		$amount = $self->available($acct) + 1 + $r->int(100);    # just too much
	}
	my $key = $self->pick_key;
	return $self->_funding_call('withdraw', $acct, $amount, $key);
}

# _funding_call(KIND, ACCT, AMOUNT, KEY): the call of deposit or withdraw
# (KIND), which move money between ACCT and its currency's funding account
sub _funding_call
{
	my ($self, $kind, $acct, $amount, $key) = @_;
	my $sql = sprintf('SELECT escrow.%s(%s, %s, %s);', $kind, lit($acct), lit($amount), tlit($key));
	return $self->_money_call($kind, $sql, $acct, $amount, $key, sub {
		my ($s) = @_;
		# funding_account_of() runs before the key is claimed
		return 'P0002' unless $self->s_acct($s, $acct);
		return undef;
	}, sub {
		my ($s) = @_;
		return $self->s_funding($s, $kind, $acct, $amount, public => 1);
	}, "$kind(" . ($acct // "NULL") . "," . ($amount // "NULL") . ")");
}

sub gen_transfer
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $v = $r->weighted(own => 8, to_shared => 3, from_shared => 3, odd => 2, system => 1.5);
	my ($d, $c);
	if ($v eq 'own') { ($d, $c) = ($r->pick($self->eur_accounts), $r->pick($self->eur_accounts)); }
	elsif ($v eq 'system')
	{
		($d, $c) = ($self->own('o'), $r->pick($self->eur_accounts));
		($d, $c) = ($c, $d) if $r->chance(0.5);
	}
	elsif ($v eq 'to_shared') { ($d, $c) = ($r->pick($self->eur_accounts), $self->shared_eur); }
	elsif ($v eq 'from_shared') { ($d, $c) = ($self->shared_eur, $r->pick($self->eur_accounts)); }
	else { ($d, $c) = ($self->pick_account(0.5), $self->pick_account(0.5)); }
	my $amount = $v eq 'from_shared' ? 1 + $r->int(3000) : $self->pick_amount(20000);
	if ($self->{st}{acct}{$d} && $r->chance(0.08))
	{
		$amount = $self->available($d) + 1 + $r->int(100);
	}
	my $key = $self->pick_key;
	my $sql = sprintf('SELECT escrow.transfer(%s, %s, %s, %s);', lit($d), lit($c),
		lit($amount), tlit($key));
	return $self->_money_call('transfer', $sql, [ $d, $c ], $amount, $key, undef, sub {
		my ($s) = @_;
		return $self->s_post($s, 'transfer', $d, $c, $amount, 0, public => 1);
	}, "transfer(" . join(",", map { $_ // "NULL" } $d, $c, $amount) . ")");
}

# deposit / withdraw / transfer: argument checks, $pre (before the key),
# key claim, $body.
sub _money_call
{
	my ($self, $op, $sql, $accts, $amount, $key, $pre, $body, $req) = @_;
	my @ids = ref $accts ? @$accts : ($accts);
	return refuse($op, $sql, '22023')
	  if grep { !defined } @ids or !defined $amount or $amount <= 0 or $amount > MAX_AMOUNT
		or bad_key($key);
	if ($pre)
	{
		my $e = $pre->(_sim());
		return refuse($op, $sql, $e) if $e;
	}
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my ($e, $t) = $body->($s);
		return $e if $e;
		return (undef, \&_is_id, sub { $t->{id} = $_[0][0]; });
	}, key => $key, req => $req);
}

sub gen_hold
{
	my ($self, %o) = @_;
	my $r = $self->{rng};
	my $d = $r->chance(0.92) ? $r->pick($self->eur_accounts, $self->own('o')) : $self->pick_account(1);
	my $c = $r->chance(0.6) ? $r->pick($self->eur_accounts)
	  : $r->chance(0.8) ? $self->shared_eur : $self->pick_account(1);
	$d = $c if $r->chance(0.02);
	my $amount = $self->pick_amount(20000);
	if ($self->{st}{acct}{$d} && $r->chance(0.1))
	{
		$amount = $self->available($d) + 1 + $r->int(50);
	}
	$amount = MAXI if $r->chance(0.01);
	my $expiry = $o{expiry} // $r->weighted(NULL => 8, '30 days' => 2);
	$expiry = undef if $expiry eq 'NULL';
	my $key = exists $o{key} ? $o{key} : $self->pick_key;
	my $sql = sprintf('SELECT escrow.hold(%s, %s, %s, %s, %s);', lit($d), lit($c),
		lit($amount), ilit($expiry), tlit($key));
	return refuse('hold', $sql, '22023')
	  if !defined $d || !defined $c || !defined $amount || $amount <= 0 || $amount > MAX_AMOUNT
		|| bad_key($key);
	# holds are only generated with an own (or invalid) debit account
	if (!$self->{st}{acct}{$d} && !$self->_hold_accounts(_sim(), $d, $c, 1))
	{
		return $self->gen_hold(%o);
	}
	return $self->predict('hold', $sql, sub {
		my ($s) = @_;
		my ($e, $h) = $self->s_hold_place($s, $d, $c, $amount, $expiry);
		return $e if $e;
		return (undef, \&_is_id, sub { $h->{id} = $_[0][0]; });
	}, key => $key, req => "hold($d,$c,$amount," . ikey($expiry) . ')');
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
	return refuse('capture', "SELECT escrow.capture($hid);", 'EP002');
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
	return refuse('capture', $sql, '22023')
	  if (defined $amount && ($amount <= 0 || $amount > MAX_AMOUNT)) || bad_key($key)
		|| $final eq 'NULL';
	return $self->predict('capture', $sql, sub {
		my ($s) = @_;
		my ($e, $t) = $self->s_capture($s, $hid, $amount, $final eq 'true');
		return $e if $e;
		return (undef, \&_is_id, sub { $t->{id} = $_[0][0]; });
	}, key => $key, req => sprintf('capture(%d,%s,%s)', $hid, $amount // 'NULL',
		$final eq 'true' ? 'final' : 'partial'));
}

sub gen_release
{
	my ($self) = @_;
	my $hid = $self->pick_hold_id;
	my $key = $self->pick_key(0.25);
	my $sql = sprintf('SELECT escrow.release(%s, %s);', lit($hid), tlit($key));
	return refuse('release', $sql, '22023') if bad_key($key);
	return $self->predict('release', $sql, sub {
		my ($s) = @_;
		my ($e, $rest) = $self->s_release($s, $hid);
		return $e if $e;
		return (undef, _is_value($rest));
	}, key => $key, req => "release($hid)");
}

sub gen_refund
{
	my ($self, $tid, $amount) = @_;
	my $r = $self->{rng};
	$tid //= $self->pick_transfer_id;
	my $t = $self->{st}{xfers}{$tid};
	if (@_ < 3)
	{
		if ($t && $r->chance(0.85))
		{
			my $rest = $t->{amount} - $t->{refunded};
			$amount = $r->chance(0.25) ? undef : $r->chance(0.08) ? $rest + 1 : 1 + $r->int($rest || 1);
		}
		else { $amount = $self->pick_amount(1000, 0.3); }
	}
	my $key = @_ < 3 ? $self->pick_key(0.25) : undef;
	my $sql = sprintf('SELECT escrow.refund(%s, %s, %s);', lit($tid), lit($amount), tlit($key));
	return refuse('refund', $sql, '22023')
	  if (defined $amount && ($amount <= 0 || $amount > MAX_AMOUNT)) || bad_key($key);
	# a deal's transfers are reversed only by the deal's steps (before the key)
	return refuse('refund', $sql, 'EP007') if $self->owned_by_deal($tid);
	return $self->predict('refund', $sql, sub {
		my ($s) = @_;
		my ($e, $x) = $self->s_refund($s, $tid, $amount, 1);
		return $e if $e;
		return (undef, \&_is_id, sub { $x->{id} = $_[0][0]; });
	}, key => $key, req => sprintf('refund(%d,%s)', $tid, $amount // 'NULL'));
}

sub gen_hold_batch
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $n = 1 + $r->int(6);
	my (@d, @c, @a);
	for (1 .. $n)
	{
		my $d = $r->chance(0.05) ? $self->own('o') : $r->pick($self->own('d1'), $self->own('d2'), $self->own('cr'));
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
	my $expiry = $r->chance(0.2) ? '30 days' : undef;
	my $key = $self->pick_key(0.3);
	my $sql = sprintf('SELECT escrow.hold_batch(%s, %s, %s, %s, %s);', alit($da), alit($ca),
		alit($aa), ilit($expiry), tlit($key));
	my $bad_array = sub {
		my ($x) = @_;
		return !defined $x || !@$x || grep { !defined } @$x;
	};
	return refuse('hold_batch', $sql, '22023')
	  if $bad_array->($da) || $bad_array->($ca) || @$ca != @$da || $bad_array->($aa)
	  || @$aa != @$da || grep { $_ <= 0 || $_ > MAX_AMOUNT } @$aa or bad_key($key);
	my $canon = join('', map { "$d[$_],$c[$_],$a[$_];" } 0 .. $n - 1) . ikey($expiry);
	return $self->_predict_batch('hold_batch', $sql, $key, $canon, sub {
		my ($s) = @_;
		for my $i (0 .. $n - 1)
		{
			my $e = $self->_hold_accounts($s, $d[$i], $c[$i], 1);
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
		return _batch_ids(\@h);
	});
}

# _predict_batch(NAME, SQL, KEY, CANON, SIM): the prediction of batch call
# NAME, whose request (under idempotency key KEY) is the sha256 of the
# canonical list CANON and whose replay returns a value
sub _predict_batch
{
	my ($self, $name, $sql, $key, $canon, $sim) = @_;
	return $self->predict($name, $sql, $sim, key => $key, req => "$name(sha256:" . sha256_hex($canon) . ')',
		replay_check => sub { _is_value($_[0]) });
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
	my %seen;
	return refuse('capture_batch', $sql, '22023')
	  if !@$hids || (defined $amounts && (@$amounts != @$hids
			|| grep { defined && ($_ <= 0 || $_ > MAX_AMOUNT) } @$amounts))
	  || $final eq 'NULL' || grep({ $seen{$_}++ } @$hids) || bad_key($key);
	my $canon = join('', map {
		my $a = defined $amounts ? $amounts->[$_] : undef;
		"$hids->[$_]," . ($a // 'NULL') . ';'
	} 0 .. $#$hids) . ($final eq 'true' ? 'final' : 'partial');
	return $self->_predict_batch('capture_batch', $sql, $key, $canon, sub {
		my ($s) = @_;
		my @t;
		for my $i (0 .. $#$hids)
		{
			my ($e, $t) = $self->s_capture($s, $hids->[$i],
				defined $amounts ? $amounts->[$i] : undef, $final eq 'true');
			return $e if $e;
			push @t, $t;
		}
		return _batch_ids(\@t);
	});
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
	return refuse('set_credit_limit', $sql, '22023')
	  if !defined $limit || $limit < 0 || $limit > MAX_BALANCE;
	return $self->predict('set_credit_limit', $sql, sub {
		my ($s) = @_;
		my $x = $self->s_acct($s, $acct) or return 'P0002';
		return '22023' if $x->{kind} ne 'credit';
		return 'EP001' if $x->{held} - $x->{posted} > $limit;
		$x->{limit} = $limit;
		return (undef, \&_is_void);
	});
}

sub gen_expire_holds
{
	my ($self) = @_;
	my $n = $self->{rng}->pick(1, 5, 100, 0);
	my $sql = "SELECT escrow.expire_holds($n);";
	return refuse('expire_holds', $sql, '22023') unless $n > 0;
	return { sql => $sql, op => 'expire_holds', outcomes => [ _ok(sub {
		$_[0][0] =~ /^\d+$/ ? undef : "expected a count, got [@{$_[0]}]" }) ] };
}

# The model's server keeps keys and events forever (escrowpay.*_retention
# 0): apply_retention() deletes nothing, whatever max_rows
sub gen_apply_retention
{
	my ($self) = @_;
	my $n = $self->{rng}->pick(1, 100, 10000, 0);
	my $sql = "SELECT purged || ':' || deleted FROM escrow.apply_retention($n) ORDER BY 1;";
	return refuse('apply_retention', $sql, '22023') unless $n > 0;
	return { sql => $sql, op => 'apply_retention', outcomes => [ _ok(sub {
		my $got = join(' ', @{ $_[0] });
		$got eq 'deal_events:0 idempotency_keys:0' ? undef
		  : "expected nothing deleted (retention off), got $got" }) ] };
}

# Every client's deals past a deadline are due: which call moves which
# deal depends on timing, so the counts are not predicted; but no due deal
# of any client may fail (the model creates only due deals whose step
# cannot be refused).
sub gen_run_maintenance
{
	my ($self, $n) = @_;
	$n //= $self->{rng}->pick(10, 100, 0);
	my $sql = "SELECT action || ':' || deals FROM escrow.run_maintenance($n) ORDER BY 1;";
	return refuse('run_maintenance', $sql, '22023') unless $n > 0;
	return { sql => $sql, op => 'run_maintenance', outcomes => [ _ok(sub {
		my $got = join(' ', @{ $_[0] });
		$got =~ /^auto_accept:\d+ auto_confirm_return:\d+ complete:\d+ escalate:\d+ expire:\d+ failed:0 invoice_due:\d+ mark_unpaid:\d+$/ ? undef
		  : "expected the counts of auto_accept, auto_confirm_return, complete, escalate, expire, invoice_due, mark_unpaid and failed:0, got $got" }) ] };
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

# Whether an actor is known: a registered party (every client's parties of
# the setup; parties registered later are never picked as actors unless
# they are the deal's) or "system"
sub known_actor
{
	my ($actor) = @_;
	return lc($actor) eq 'system' || $actor =~ /^[mkjsqn]\d+$/;
}

# An actor refused for having no part (ep_require_known_actor): P0002 when
# unknown, else 42501
sub no_part { my ($actor) = @_; return known_actor($actor) ? '42501' : 'P0002'; }

# ep_deal_check: EP007 (no such step from this stage, or not offered for
# the deal's settlement model) / P0002 (an actor with no part in the deal
# that is no party) / 42501 / undef (allowed), and the new stage
sub deal_check
{
	my ($d, $action, $actor, $extra) = @_;
	my ($t) = grep { $_->[0] eq $action && $_->[1] eq $d->{stage} } @TRANSITIONS;
	return 'EP007' unless $t;
	return 'EP007' if $t->[4] ne '' && index($t->[4], $MODEL_LETTER{ $d->{settlement} }) < 0;
	my $roles = _roles($d, $actor) . ($extra // '');
	unless (grep { index($t->[3], $_) >= 0 } split //, $roles)
	{
		return no_part($actor) if $roles eq '' && $t->[3] =~ /[BMI]/;
		return '42501';
	}
	# a step for a deal served first and not paid yet only, or for one that is not
	my $for = $FOR_SERVED_UNPAID{"$action $d->{stage}"};
	return 'EP007' if defined $for && $for != served_unpaid($d);
	return (undef, $t->[2]);
}

sub financed { return $_[0]{settlement} ne 'escrow'; }

# ep_deal_served_unpaid: served first, nothing held or captured yet
sub served_unpaid
{
	my ($d) = @_;
	return !financed($d) && $d->{held} == 0 && $d->{captured} == 0
	  && ($d->{stage} eq 'delivered' || $d->{stage} eq 'unpaid') ? 1 : 0;
}

# a deal is due when its deadline passed at a stage run_maintenance() acts on
sub is_due { my ($d) = @_; return $d->{late} && $MAINTENANCE{ $d->{stage} } ? 1 : 0; }

# ep_deal_commit_step: the stage, an event, and the deadline the step sets
# (undef keeps it; 'none' clears it; ship, inspect and return pass at once
# for the model's tiny intervals, pay too at a quick merchant; deliver and
# refund are the merchants' default 14 days and never pass in a run)
sub step_commit
{
	my ($x, $to, $deadline) = @_;
	$x->{stage} = $to;
	$x->{events}++;
	return unless defined $deadline;
	$x->{late} = $deadline eq 'ship' ? $x->{ship_tiny}
	  : $deadline eq 'inspect' || $deadline eq 'return' || $deadline eq 'pay' ? $x->{q} : 0;
}

# A transfer the deal makes (owned by it in transfer_owners)
sub s_deal_transfer
{
	my ($self, $s, $x, $debit, $credit, $amount) = @_;
	return $self->s_post($s, 'transfer', $debit, $credit, $amount, 0, deal => $x->{id});
}

# after a step that created holds, transfers or a receivable whose ids the
# call does not return, read the deal's references (a bookkeeping query)
sub _follow_up
{
	my ($self, $deal, %recs) = @_;
	my $f = $self->{pending_follow_up} //= [ $deal, {} ];
	$f->[1]{$_} = $recs{$_} for keys %recs;
}

sub take_follow_up
{
	my ($self, $succeeded) = @_;
	my $f = delete $self->{pending_follow_up};
	return unless $f && $succeeded;
	unshift @{ $self->{queue} }, [ 'deal_refs', @$f ];
}

# ---------------------------------------------------- payment sources
# sources.c: a deal's sources (one: the deal row itself), in the buyer's
# order; holds and captures are touched in ascending account order.
sub src_list
{
	my ($x) = @_;
	return $x->{src} if $x->{split};
	return [ { account => $x->{debit}, amount => $x->{amount}, hold => $x->{hold_id},
		capture => $x->{capture_transfer}, captured => $x->{captured}, refunded => $x->{refunded},
		single => 1 } ];
}

sub src_save
{
	my ($x, $src) = @_;
	return if $x->{split};
	$x->{hold_id} = $src->[0]{hold};
	$x->{capture_transfer} = $src->[0]{capture};
}

sub src_order { my ($src) = @_; return sort { $src->[$a]{account} <=> $src->[$b]{account} } 0 .. $#$src; }

sub src_ref { my ($x, $what, $src) = @_; return $x->{split} ? "src_$what:$src->{account}" : $what eq 'hold' ? 'hold' : 'capture'; }

sub src_reserve
{
	my ($self, $s, $x) = @_;
	my $src = src_list($x);
	# the buyer's own accounts, or ones their owners let it pay from
	for my $i (src_order($src))
	{
		my $e = $self->require_use($s, $src->[$i]{account}, $x->{buyer}, 0);
		return $e if $e;
	}
	for my $i (src_order($src))
	{
		my ($e, $h) = $self->s_hold_place($s, $src->[$i]{account}, $x->{credit},
			$src->[$i]{amount}, undef, $x->{id});
		return $e if $e;
		$src->[$i]{hold} = $h->{tmp};
		$self->_follow_up($x->{id}, src_ref($x, 'hold', $src->[$i]) => $h);
	}
	src_save($x, $src);
	$x->{held} = $x->{amount};
	return undef;
}

sub src_capture
{
	my ($self, $s, $x, $share) = @_;
	my $src = src_list($x);
	my @take = map { 0 } @$src;
	my $left = $share;
	for my $i (0 .. $#$src)
	{
		next unless $src->[$i]{hold};
		$take[$i] = min($left, $src->[$i]{amount});
		$left -= $take[$i];
	}
	return 'XX000' if $left != 0;
	for my $i (src_order($src))
	{
		next unless $src->[$i]{hold};
		if ($take[$i] > 0)
		{
			my ($e, $t) = $self->s_capture($s, $src->[$i]{hold}, $take[$i], 1, $x->{id});
			return $e if $e;
			$src->[$i]{capture} = $t->{tmp};
			$src->[$i]{captured} = $take[$i];
			$self->_follow_up($x->{id}, src_ref($x, 'capture', $src->[$i]) => $t);
		}
		else
		{
			my ($e) = $self->s_release($s, $src->[$i]{hold}, $x->{id});
			return $e if $e;
		}
	}
	src_save($x, $src);
	$x->{captured} = $share;
	$x->{held} = 0;
	return undef;
}

sub src_release
{
	my ($self, $s, $x) = @_;
	return (undef, 0) if $x->{held} == 0;
	my $src = src_list($x);
	my $released = 0;
	for my $i (src_order($src))
	{
		next unless $src->[$i]{hold} && $src->[$i]{captured} == 0;
		my ($e, $r) = $self->s_release($s, $src->[$i]{hold}, $x->{id});
		return $e if $e;
		$released += $r;
	}
	$x->{held} = 0;
	return (undef, $released);
}

sub src_refund
{
	my ($self, $s, $x, $share) = @_;
	my $src = src_list($x);
	my @take = map { 0 } @$src;
	my $left = $share;
	for (my $i = $#$src; $i >= 0 && $left > 0; $i--)
	{
		$take[$i] = max(0, min($left, $src->[$i]{captured} - $src->[$i]{refunded}));
		$left -= $take[$i];
	}
	return 'XX000' if $left != 0;
	for my $i (src_order($src))
	{
		next unless $take[$i];
		my ($e) = $self->s_refund($s, $src->[$i]{capture}, $take[$i]);
		return $e if $e;
		$src->[$i]{refunded} += $take[$i];
	}
	src_save($x, $src);
	$x->{refunded} += $share;
	return undef;
}

# ------------------------------------------------ what deal steps move
# reserve: escrow holds the sources; agency freezes nothing; credit
# finance holds the buyer's line for the institution and pre-pays the
# merchant less the discount
sub fx_reserve
{
	my ($self, $s, $x) = @_;
	my $e = $self->require_use($s, $x->{credit}, $x->{merchant}, 1);
	return $e if $e;
	return $self->src_reserve($s, $x) unless financed($x);
	$e = $self->require_use($s, $x->{inst_account}, $x->{inst}, 0);
	return $e if $e;
	return undef if $x->{settlement} eq 'agency';
	$e = $self->require_use($s, $x->{debit}, $x->{buyer}, 0);
	return $e if $e;
	my $h;
	($e, $h) = $self->s_hold_place($s, $x->{debit}, $x->{inst_account}, $x->{amount}, undef, $x->{id});
	return $e if $e;
	$x->{held} = $x->{amount};
	$x->{hold_id} = $h->{tmp};
	my $t;
	($e, $t) = $self->s_deal_transfer($s, $x, $x->{inst_account}, $x->{credit},
		$x->{amount} - fee_of($x->{amount}, $x->{discount}));
	return $e if $e;
	$x->{prepay_transfer} = $t->{tmp};
	$self->_follow_up($x->{id}, hold => $h, prepay => $t);
	return undef;
}

sub fx_fee
{
	my ($self, $s, $x, $fee) = @_;
	return undef unless $fee > 0;
	my ($e, $t) = $self->s_deal_transfer($s, $x, $x->{credit}, $x->{fee_account}, $fee);
	return $e if $e;
	$x->{fee_transfer} = $t->{tmp};
	$self->_follow_up($x->{id}, fee => $t);
	return undef;
}

sub open_receivable
{
	my ($self, $x, $kind, $amount) = @_;
	@$x{qw(rid rkind ramount rpaid rstatus)} = (-1, $kind, $amount // $x->{amount}, 0, 'open');
	$self->_follow_up($x->{id}, recv => 1);
}

# ep_deal_settle (confirm_inspection, auto_accept, pay_cash later)
sub fx_settle
{
	my ($self, $s, $x) = @_;
	if ($x->{settlement} eq 'credit_finance')
	{
		my ($e, $t) = $self->s_capture($s, $x->{hold_id}, undef, 1, $x->{id});
		return $e if $e;
		$x->{capture_transfer} = $t->{tmp};
		$self->_follow_up($x->{id}, capture => $t);
		$x->{captured} = $x->{held};
		$x->{held} = 0;
		$self->open_receivable($x, 'loan');
		return undef;
	}
	if ($x->{settlement} eq 'agency')
	{
		my ($e, $t) = $self->s_deal_transfer($s, $x, $x->{inst_account}, $x->{credit}, $x->{amount});
		return $e if $e;
		$x->{capture_transfer} = $t->{tmp};
		$self->_follow_up($x->{id}, capture => $t);
		$x->{captured} = $x->{amount};
		$x->{fee} = fee_of($x->{amount}, $x->{bps});
		$e = $self->fx_fee($s, $x, $x->{fee});
		return $e if $e;
		$self->open_receivable($x, 'invoice');
		return undef;
	}
	return 'EP007' if $x->{held} == 0;    # served first, not paid yet
	my $e = $self->src_capture($s, $x, $x->{held});
	return $e if $e;
	$x->{fee} = fee_of($x->{captured}, $x->{bps});
	return $self->fx_fee($s, $x, $x->{fee});
}

# the result of a settling step: the capture (or payout) transfer, NULL
# for a deal paid from several sources
sub settle_check { my ($x) = @_; return $x->{split} ? \&_is_void : \&_is_id; }

# cancel_deal / expire
sub fx_release_step
{
	my ($self, $s, $x) = @_;
	return $self->fin_unwind($s, $x) if financed($x);
	my ($e) = $self->src_release($s, $x);
	return $e;
}

# ep_finance_unwind: undo everything a financed deal moved
sub fin_unwind
{
	my ($self, $s, $x) = @_;
	my $e;
	if ($x->{fee_transfer})
	{
		($e) = $self->s_refund($s, $x->{fee_transfer}, undef);
		return $e if $e;
		$x->{fee} = 0;
	}
	if ($x->{captured} > 0 && $x->{settlement} eq 'agency')
	{
		($e) = $self->s_refund($s, $x->{capture_transfer}, undef);
		return $e if $e;
		$x->{refunded} = $x->{captured};
	}
	if ($x->{prepay_transfer})
	{
		($e) = $self->s_refund($s, $x->{prepay_transfer}, undef);
		return $e if $e;
	}
	if ($x->{captured} > 0 && $x->{settlement} eq 'credit_finance')
	{
		($e) = $self->s_refund($s, $x->{capture_transfer}, undef);
		return $e if $e;
		$x->{refunded} = $x->{captured};
	}
	if ($x->{held} > 0)
	{
		($e) = $self->s_release($s, $x->{hold_id}, $x->{id});
		return $e if $e;
		$x->{held} = 0;
	}
	# cancel_receivable: what the buyer paid on an invoice goes back
	if ($x->{rid} && $x->{rstatus} ne 'cancelled')
	{
		$x->{rstatus} = 'cancelled';
		if ($x->{rpaid} > 0 && $x->{rkind} eq 'invoice')
		{
			($e) = $self->s_deal_transfer($s, $x, $x->{inst_account}, $x->{debit}, $x->{rpaid});
			return $e if $e;
		}
	}
	return undef;
}

# escrow_split() in model_escrow.c: the buyer gets $bs back, the merchant keeps the
# rest; the fee follows what the merchant keeps
sub fx_split
{
	my ($self, $s, $x, $bs) = @_;
	my $ms = $x->{amount} - $bs;
	my $new_fee = fee_of($ms, $x->{bps});
	return 'EP007' if $x->{captured} == 0 && $x->{held} == 0 && $ms > 0;
	if ($x->{captured} == 0)
	{
		if ($ms > 0)
		{
			my $e = $self->src_capture($s, $x, $ms)
			  // $self->fx_fee($s, $x, $new_fee);
			return $e if $e;
			$x->{fee} = $new_fee;
		}
		else
		{
			my ($e) = $self->src_release($s, $x);
			return $e if $e;
		}
		return undef;
	}
	if ($x->{fee} > $new_fee)
	{
		my ($e) = $self->s_refund($s, $x->{fee_transfer}, $x->{fee} - $new_fee);
		return $e if $e;
		$x->{fee} = $new_fee;
	}
	return $self->src_refund($s, $x, $bs) if $bs > 0;
	return undef;
}

# ep_finance_split: resolve_dispute of an agency or credit-finance deal.
# The merchant keeps $share less the fee (agency) or the discount (credit
# finance) on it; the buyer owes the institution $share.
sub fin_split
{
	my ($self, $s, $x, $bs) = @_;
	my $share = $x->{amount} - $bs;
	my $credit = $x->{settlement} eq 'credit_finance';
	my $prepaid = sub { $_[0] - fee_of($_[0], $x->{discount}) };
	my ($e, $t);
	return $self->fin_unwind($s, $x) if $share == 0;
	if ($x->{captured} == 0)
	{
		# before receipt: the share received as confirm_inspection would the amount
		if ($credit)
		{
			my $back = $x->{prepay_transfer} ? $prepaid->($x->{amount}) - $prepaid->($share) : 0;
			if ($back > 0)
			{
				($e) = $self->s_refund($s, $x->{prepay_transfer}, $back);
				return $e if $e;
			}
			($e, $t) = $self->s_capture($s, $x->{hold_id}, $share, 1, $x->{id});
			return $e if $e;
			$x->{held} = 0;
		}
		else
		{
			($e, $t) = $self->s_deal_transfer($s, $x, $x->{inst_account}, $x->{credit}, $share);
			return $e if $e;
		}
		$x->{capture_transfer} = $t->{tmp};
		$self->_follow_up($x->{id}, capture => $t);
		$x->{captured} = $share;
		unless ($credit)
		{
			$x->{fee} = fee_of($share, $x->{bps});
			$e = $self->fx_fee($s, $x, $x->{fee});
			return $e if $e;
		}
		$self->open_receivable($x, $credit ? 'loan' : 'invoice', $share);
		return undef;
	}
	return undef if $bs == 0;
	if ($credit)
	{
		my $back = $prepaid->($x->{amount}) - $prepaid->($share);
		if ($back > 0)
		{
			($e) = $self->s_refund($s, $x->{prepay_transfer}, $back);
			return $e if $e;
		}
	}
	else
	{
		my $new_fee = fee_of($share, $x->{bps});
		if ($x->{fee} > $new_fee)
		{
			($e) = $self->s_refund($s, $x->{fee_transfer}, $x->{fee} - $new_fee);
			return $e if $e;
			$x->{fee} = $new_fee;
		}
	}
	($e) = $self->s_refund($s, $x->{capture_transfer}, $bs);
	return $e if $e;
	$x->{refunded} = $bs;
	# the receivable written down to the share; an invoice's payments beyond
	# it go back to the buyer, a loan's stay on the buyer's line
	if ($x->{ramount} != $share)
	{
		if ($x->{rpaid} > $share && $x->{rkind} eq 'invoice')
		{
			($e) = $self->s_deal_transfer($s, $x, $x->{inst_account}, $x->{debit}, $x->{rpaid} - $share);
			return $e if $e;
		}
		$x->{ramount} = $share;
		$x->{rpaid} = min($x->{rpaid}, $share);
		$x->{rstatus} = $x->{rpaid} == $share ? 'paid' : 'open';
	}
	return undef;
}

sub fx_confirm_return
{
	my ($self, $s, $x) = @_;
	return $self->fin_unwind($s, $x) if financed($x);
	return $self->fx_split($s, $x, $x->{amount});
}

# What run_maintenance() does to a due deal
sub fx_maintain
{
	my ($self, $s, $x) = @_;
	my $action = maintenance_action($x);
	my ($err, $to) = deal_check($x, $action, 'system', 'S');
	return $err if $err;
	my $e;
	if ($action eq 'expire') { $e = $self->fx_release_step($s, $x); step_commit($x, $to, 'none') unless $e; }
	elsif ($action eq 'auto_accept') { $e = $self->fx_settle($s, $x); step_commit($x, $to, 'return') unless $e; }
	else { step_commit($x, $to, 'none'); }
	return $e;
}

# ---------------------------------------------------------- deal steps
# One lifecycle step: the transition table (EP007, then 42501), then
# $o{effect}->($s, $x) (error, or undef and a result check), then the
# stage, an event and the deadline.
sub deal_step
{
	my ($self, $op, $sql, $d, $action, $actor, %o) = @_;
	my ($err, $to) = deal_check($d, $action, $actor, $o{extra});
	return refuse($op, $sql, $err) if $err;
	my $id = $d->{id};
	my $pred = $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $x = $self->s_deal($s, $id);
		my ($e, $check) = $o{effect} ? $o{effect}->($s, $x) : ();
		return $e if $e;
		step_commit($x, $to, $o{deadline});
		return (undef, $check // $o{check});
	});
	return $self->after_step($pred, $id);
}

# after a successful step: a deal now past its deadline waits for
# maintenance before anything else happens to it
sub after_step
{
	my ($self, $pred, $id) = @_;
	for my $o (grep { $_->{state} eq '00000' } @{ $pred->{outcomes} })
	{
		my $apply = $o->{apply};
		$o->{apply} = sub {
			my ($st, $rows) = @_;
			$apply->($st, $rows);
			my $d = $st->{deals}{$id};
			push @{ $self->{queue} }, [ 'maintain', $id, 0 ] if $d && is_due($d);
		};
	}
	return $pred;
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
		$d->{inspector} // "i$c", '', "n$c");
}

my %WHO = (confirm_identity => 'B', reserve => 'B', mark_shipped => 'M',
	mark_delivered => 'MI', confirm_inspection => 'BI', cancel_deal => 'BM',
	reject_delivery => 'BI', request_return => 'B', confirm_return => 'M',
	open_dispute => 'BM', write_off => 'M', serve_first => 'M', set_payment_sources => 'B');

sub gen_deal
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @live = grep { $_->{stage} !~ /^(cancelled|refunded|resolved|completed|expired|written_off)$/ && !is_due($_) }
	  map { $self->{st}{deals}{$_} } sort { $a <=> $b } recent($self->{st}{deal_list}, 200);
	@live = grep { $_->{stage} ne 'settled' || $r->chance(0.3) } @live;
	return $self->gen_open_deal if @live < 4 || $r->chance(0.12);
	my $d = $r->pick(@live);
	if ($r->chance(0.08))
	{
		# any action at all, by anyone: mostly refused with EP007 or 42501
		my $action = $r->pick(qw(reserve mark_shipped mark_delivered confirm_inspection
			cancel_deal reject_delivery request_return confirm_return open_dispute
			resolve_dispute issue_identity_code confirm_identity serve_first pay_cash
			set_payment_sources write_off));
		return $self->gen_deal_step($d, $action, $self->pick_actor($d, ''));
	}
	my $esc = $d->{settlement} eq 'escrow';
	my %next = (
		order_received => [ issue_identity_code => 3, confirm_identity => 6, cancel_deal => 1,
			set_payment_sources => 1 ],
		identity_confirmed => [ reserve => 9, cancel_deal => 1, pay_cash => $esc ? 2 : 0.2,
			serve_first => 1.5, set_payment_sources => 1 ],
		funds_reserved => [ mark_shipped => 8, cancel_deal => 2, set_payment_sources => 1 ],
		shipped => [ mark_delivered => 8, open_dispute => 2, set_payment_sources => 0.5 ],
		delivered => [ confirm_inspection => 6, reject_delivery => 2, open_dispute => 2,
			pay_cash => $d->{held} == 0 && $d->{captured} == 0 ? 6 : 0.3, set_payment_sources => 0.5 ],
		settled => [ request_return => 6, open_dispute => 3, refund_capture => 1,
			refund_payment => $d->{rid} ? 6 : 0, pay_receivable => $d->{rid} ? 4 : 0 ],
		invoiced => [ pay_receivable => 6, refund_payment => 2, request_return => 0.5 ],
		returned => [ confirm_return => 8, open_dispute => 2 ],
		disputed => [ resolve_dispute => 1 ],
		unpaid => [ pay_cash => 1, write_off => 4 ],
	);
	my $action = $r->weighted(@{ $next{ $d->{stage} } });
	if ($action eq 'confirm_identity' && !$d->{code_pending})
	{
		$action = $r->chance(0.9) ? 'issue_identity_code' : 'confirm_identity';
	}
	# a deal locked by wrong codes can only be cancelled
	$action = $r->chance(0.7) ? 'cancel_deal' : $action
	  if $d->{stage} eq 'order_received' && $d->{attempts} >= 5;
	if ($action eq 'refund_capture')
	{
		# refund part of the deal's capture behind the deal's back: refused
		# (EP007), the deal's transfers move only through the deal
		return $self->gen_refund unless $d->{capture_transfer} > 0;
		my $pred = $self->gen_refund($d->{capture_transfer},
			1 + $r->int(CORE::int($d->{amount} / 4) || 1));
		$pred->{path} = "refund of a $d->{settlement} deal's capture or payout";
		return $pred;
	}
	if ($action eq 'refund_payment')
	{
		# refund a payment the buyer made on its invoice or loan
		my @p = grep { $self->{st}{xfers}{$_} } @{ $d->{pays} };
		return $self->gen_pay_receivable($d) unless @p;
		my $t = $self->{st}{xfers}{ $r->pick(@p) };
		my $rest = $t->{amount} - $t->{refunded};
		my $pred = $self->gen_refund($t->{id}, $r->chance(0.5) ? undef : 1 + $r->int($rest || 1));
		$pred->{path} = "refund of a $d->{settlement} deal's receivable payment";
		return $pred;
	}
	return $self->gen_pay_receivable($d) if $action eq 'pay_receivable';
	return $self->gen_deal_step($d, $action, $self->pick_actor($d, $WHO{$action} // ''));
}

sub gen_open_deal
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my @members = grep { $self->{st}{parties}{$_}{kind} eq 'member' && /^p/ } sort keys %{ $self->{st}{parties} };
	my $buyer = $r->weighted("m$c" => 50, "k$c" => 30, "j$c" => 3, "s$c" => 2, 'nobody' => 2, '' => 1,
		@members ? ($r->pick(@members) => 5) : ());
	my $merchant = $r->weighted("s$c" => 80, "q$c" => 15, "m$c" => 2, 'nobody' => 2, '' => 1);
	my $settlement = $r->weighted(escrow => 55, agency => 20, credit_finance => 20,
		instalments => 1, NULL => 3);
	$settlement = 'credit_finance' if $buyer eq "k$c" && $r->chance(0.4);
	my $inst = $settlement =~ /^(agency|credit_finance)$/
	  ? $r->weighted("n$c" => 94, NULL => 2, nobody => 1, "s$c" => 1, "m$c" => 1, "q$c" => 1)
	  : $r->weighted(NULL => 97, "n$c" => 3);
	$inst = undef if $inst eq 'NULL';
	my $model = $settlement eq 'NULL' ? 'escrow' : $settlement;
	my $amount = $r->chance(0.95) ? 100 + $r->int(5000) : $r->pick(0, -1, undef);
	my $inspector = $r->chance(0.4) ? "i$c" : $r->chance(0.03) ? $buyer : $r->chance(0.01) ? 'SYSTEM' : undef;
	# deals that fall due for expiry at once (not credit finance: its
	# expiry claws the pre-payment back, which may fail)
	my $ship = $r->chance(0.97) ? ($model ne 'credit_finance' && $r->chance(0.08) ? '1 microsecond' : '7 days') : undef;
	my $key = $r->chance(0.2) ? ($r->chance(0.9) ? $self->new_key : 'setup-key') : undef;
	my $carrier = $r->chance(0.5) ? "carrier-$c" : undef;
	my $sql = sprintf("SELECT escrow.open_deal(%s, %s, %s, 'counter 3', %s, NULL, %s, %s, %s, %s, %s);",
		tlit($buyer), tlit($merchant), lit($amount), tlit($carrier), tlit($inspector), ilit($ship),
		tlit($key), $settlement eq 'NULL' ? 'NULL' : tlit($settlement), tlit($inst));
	my $refuse = sub { return refuse('open_deal', $sql, $_[0]); };
	return $refuse->('22023') if $buyer eq '' || $merchant eq '' || !defined $amount
	  || $amount <= 0 || $amount > MAX_AMOUNT || !defined $ship || bad_key($key);
	return $refuse->('22023') if $buyer eq $merchant || !$MODEL_LETTER{$model}
	  || ($model eq 'escrow') != !defined $inst;
	return $refuse->('22023') if defined $inspector
	  && (lc $inspector eq 'system' || $inspector eq $buyer || $inspector eq $merchant);
	my $parties = $self->{st}{parties};
	for ([ $buyer, 'member' ], [ $merchant, 'merchant' ])
	{
		my $p = $parties->{ $_->[0] } or return $refuse->('P0002');
		return $refuse->('22023') if $p->{kind} ne $_->[1];
	}
	# free-text arguments are length-prefixed in the request text
	my $txt = sub { defined $_[0] ? length($_[0]) . ":$_[0]" : 'NULL' };
	my $req = sprintf('open_deal(%s,%s,%d,%s,%s,NULL,%s,%s,%s,%s)', $txt->($buyer),
		$txt->($merchant), $amount, $txt->('counter 3'), $txt->($carrier), $txt->($inspector),
		ikey($ship), $model, $txt->($inst));
	return $self->predict('open_deal', $sql, sub {
		my ($s) = @_;
		my $ba = $self->s_acct($s, $parties->{$buyer}{account});
		my $ma = $self->s_acct($s, $parties->{$merchant}{account});
		return 'EP004' if $ba->{cur} ne $ma->{cur};
		return '22023' if $model eq 'credit_finance' && $ba->{kind} ne 'credit';
		my $i;
		if (defined $inst)
		{
			$i = $parties->{$inst} or return 'P0002';
			return '22023' if $i->{kind} ne 'institution';
			return 'EP004' if $self->s_acct($s, $i->{account})->{cur} ne $ba->{cur};
		}
		my $d = { id => undef, buyer => $buyer, merchant => $merchant, amount => $amount,
			stage => 'order_received', held => 0, captured => 0, refunded => 0, fee => 0,
			hold_id => 0, capture_transfer => 0, fee_transfer => 0, inspector => $inspector,
			bps => $model eq 'credit_finance' ? 0 : 100 + 50 * ($c % 5),
			debit => $parties->{$buyer}{account}, credit => $parties->{$merchant}{account},
			fee_account => $self->own('f'), events => 1, code_pending => 0, attempts => 0,
			code => undef, settlement => $model, inst_account => $i ? $i->{account} : 0, inst => $inst,
			discount => $i ? $i->{discount} : 0, prepay_transfer => 0,
			method => $ba->{kind} eq 'credit' ? 'credit' : 'balance', split => 0,
			late => 0, ship_tiny => $ship eq '1 microsecond' ? 1 : 0,
			q => $merchant eq "q$c" ? 1 : 0, rid => 0, rkind => '', ramount => 0, rpaid => 0,
			rstatus => '', pays => [] };
		push @{ $s->{new_d} }, $d;
		return (undef, \&_is_id, sub { $d->{id} = $_[0][0]; });
	}, key => $key, req => $req);
}

# One lifecycle step on deal $d, following deal_steps.c: argument checks,
# lock (P0002), transition table (EP007, then 42501), then money.
sub gen_deal_step
{
	my ($self, $d, $action, $actor) = @_;
	my $r = $self->{rng};
	my $id = $d->{id};
	# now and then a deal that does not exist
	if ($r->chance(0.01) && $action ne 'confirm_identity' && $action ne 'resolve_dispute'
		&& $action ne 'pay_cash' && $action ne 'set_payment_sources')
	{
		$d = { %$d, id => unknown_id($self->{w}, $r), missing => 1 };
		$d->{id} = 999_999_999_999 if $d->{id} <= 0;
		$id = $d->{id};
	}
	my $reason = $r->chance(0.97) ? "'because'" : $r->pick("''", 'NULL');
	my $act = tlit($actor);
	my $bad_actor = $actor eq '';
	my $sql;
	return $self->gen_issue_identity_code($d) if $action eq 'issue_identity_code';
	return $self->gen_confirm_identity($d) if $action eq 'confirm_identity';
	return $self->gen_resolve_dispute($d) if $action eq 'resolve_dispute';
	return $self->gen_pay_cash($d) if $action eq 'pay_cash';
	return $self->gen_set_payment_sources($d, $actor) if $action eq 'set_payment_sources';
	if ($action eq 'mark_shipped') { $sql = "SELECT escrow.mark_shipped($id, 'carrier', 'TRACK-$id', $act);"; }
	elsif ($action eq 'serve_first')
	{
		$act = 'NULL' if $r->chance(0.02);
		$sql = "SELECT escrow.serve_first($id, $act);";
		$bad_actor = $act eq 'NULL';    # an empty actor is no party (42501)
	}
	elsif ($action =~ /^(reserve|mark_delivered|confirm_inspection|confirm_return)$/)
	{
		$sql = "SELECT escrow.$action($id, $act);";
	}
	elsif ($action =~ /^(cancel_deal|reject_delivery|request_return|open_dispute|write_off)$/)
	{
		$sql = "SELECT escrow.$action($id, $reason, $act);";
		$bad_actor ||= $reason ne "'because'";
	}
	else { die "unknown deal action $action"; }
	return refuse($action, $sql, '22023') if $bad_actor;
	return refuse($action, $sql, 'P0002') if $d->{missing};
	my %how = (
		reserve => { deadline => 'ship', effect => sub { $self->fx_reserve(@_) // (undef,
			sub { $_[0][0] =~ /^\d{10}$/ ? undef : "expected an auth number, got [@{$_[0]}]" }) } },
		mark_shipped => { deadline => 'deliver', effect => sub { $_[1]{late} ? 'EP007' : undef } },
		mark_delivered => { deadline => 'inspect' },
		confirm_inspection => { deadline => 'return',
			effect => sub { $self->fx_settle(@_) // (undef, settle_check($_[1])) } },
		cancel_deal => { deadline => 'none', effect => sub { $self->fx_release_step(@_) } },
		reject_delivery => { deadline => 'refund', effect => sub { $_[1]{late} ? 'EP007' : undef } },
		request_return => { deadline => 'refund', effect => sub { $_[1]{late} ? 'EP007' : undef } },
		confirm_return => { deadline => 'none', effect => sub { $self->fx_confirm_return(@_) } },
		open_dispute => { deadline => 'none' },
		write_off => { deadline => 'none' },
		# escrow: the payment deadline; agency: the inspection window
		serve_first => { deadline => financed($d) ? 'inspect' : 'pay' },
	);
	return $self->deal_step($action, $sql, $d, $action, $actor, %{ $how{$action} });
}

sub gen_issue_identity_code
{
	my ($self, $d) = @_;
	my $sql = "SELECT escrow.issue_identity_code($d->{id});";
	return refuse('issue_identity_code', $sql, 'P0002') if $d->{missing};
	return refuse('issue_identity_code', $sql, 'EP007') if $d->{stage} ne 'order_received';
	return $self->predict('issue_identity_code', $sql, sub {
		my ($s) = @_;
		my $x = $self->s_deal($s, $d->{id});
		$x->{events}++;
		$x->{code_pending} = 1;    # the count of wrong attempts does not reset
		return (undef, sub { $_[0][0] =~ /^\d{8}$/ ? undef : "expected an 8-digit code, got [@{$_[0]}]" },
			sub { $x->{code} = $_[0][0]; $x->{code_at} = Time::HiRes::time(); $x->{code_expired} = 0; });
	});
}

sub gen_confirm_identity
{
	my ($self, $d) = @_;
	my $r = $self->{rng};
	my $code = $d->{code};
	if (!defined $code || $r->chance(0.15))
	{
		$code = sprintf('%08d', $r->int(100000000));
		$code = '00000000' if defined $d->{code} && $code eq $d->{code};
		$code = '' if $r->chance(0.05);
	}
	my $sql = "SELECT escrow.confirm_identity($d->{id}, '$code');";
	return refuse('confirm_identity', $sql, '22023') if $code eq '';
	my ($err, $to) = deal_check($d, 'confirm_identity', $d->{buyer});
	return refuse('confirm_identity', $sql, $err) if $err;
	return refuse('confirm_identity', $sql, 'EP008') if !$d->{code_pending} || $d->{attempts} >= 5
	  || $d->{code_expired};
	# a code lives escrowpay.code_ttl (900 s): in a long run under load the
	# buyer may come too late (EP008), and the model learns it expired
	my $age = Time::HiRes::time() - ($d->{code_at} // Time::HiRes::time());
	my $expired = { state => 'EP008', check => sub { undef },
		apply => sub { my ($st) = @_; $st->{deals}{ $d->{id} }{code_expired} = 1 if $st->{deals}{ $d->{id} }; } };
	return { op => 'confirm_identity', sql => $sql, outcomes => [ $expired ] } if $age > 960;
	my $pred = $self->predict('confirm_identity', $sql, sub {
		my ($s) = @_;
		my $x = $self->s_deal($s, $d->{id});
		if (defined $d->{code} && $code eq $d->{code})
		{
			step_commit($x, $to, undef);
			$x->{code_pending} = 0;
			$x->{code} = undef;
			return (undef, _is_value('t'));
		}
		$x->{events}++;
		$x->{attempts}++;
		return (undef, _is_value('f'));
	});
	push @{ $pred->{outcomes} }, $expired if $age > 840;
	return $pred;
}

sub gen_resolve_dispute
{
	my ($self, $d) = @_;
	my $r = $self->{rng};
	my $bs = $r->int($d->{amount} + 1);
	my $ms = $d->{amount} - $bs;
	my $v = $r->weighted(ok => 85, sum => 8, neg => 4, huge => 3);
	($bs, $ms) = ($bs, $ms + 1) if $v eq 'sum';
	($bs, $ms) = (-1, $d->{amount} + 1) if $v eq 'neg';
	($bs, $ms) = (MAXI, MAXI) if $v eq 'huge';
	my $sql = "SELECT escrow.resolve_dispute($d->{id}, " . lit($bs) . ', ' . lit($ms) . ');';
	return refuse('resolve_dispute', $sql, '22023')
	  if $bs < 0 || $ms < 0 || $bs > MAX_AMOUNT || $ms > MAX_AMOUNT;
	my ($err, $to) = deal_check($d, 'resolve_dispute', 'postgres', 'A');
	return refuse('resolve_dispute', $sql, $err) if $err;
	my $sum = add_ovf($bs, $ms);
	return refuse('resolve_dispute', $sql, '22003') unless defined $sum;
	return refuse('resolve_dispute', $sql, '22023') if $sum != $d->{amount};
	return $self->deal_step('resolve_dispute', $sql, $d, 'resolve_dispute', 'postgres', extra => 'A',
		deadline => 'none', effect => sub {
			financed($_[1]) ? $self->fin_split($_[0], $_[1], $bs) : $self->fx_split($_[0], $_[1], $bs) });
}

# set_payment_sources: the buyer pays from these accounts (sources.c)
sub gen_set_payment_sources
{
	my ($self, $d, $actor) = @_;
	my $r = $self->{rng};
	my @pool = map { $self->own($_) } qw(d1 d2 cr f);
	my $n = $r->weighted(1 => 3, 2 => 4, 3 => 2);
	my @acc;
	while (@acc < $n)
	{
		my $a = $r->pick(@pool);
		push @acc, $a unless grep { $_ == $a } @acc;
	}
	my @amt;
	my $left = $d->{amount};
	for my $i (0 .. $n - 1)
	{
		my $m = $i == $n - 1 ? $left : 1 + $r->int(max(1, $left - ($n - 1 - $i)));
		$m = $left - ($n - 1 - $i) if $m > $left - ($n - 1 - $i);
		push @amt, $m;
		$left -= $m;
	}
	my $v = $r->weighted(none => 80, odd => 6, sum => 3, zero => 2, dup => 2, nulls => 2,
		long => 1, short => 2, actor => 2);
	if ($v eq 'odd')
	{
		$acc[ $r->int($n) ] = $r->pick($self->own('j'), $self->{w}{funding}{EUR},
			unknown_id($self->{w}, $r), $self->own('s'));
	}
	elsif ($v eq 'sum') { $amt[-1]++; }
	elsif ($v eq 'zero') { $amt[ $r->int($n) ] = $r->pick(0, -3); }
	elsif ($v eq 'dup' && $n > 1) { $acc[1] = $acc[0]; }
	elsif ($v eq 'long') { @acc = (1 .. 17); @amt = (1) x 17; }
	elsif ($v eq 'short') { pop @amt; }
	elsif ($v eq 'actor') { $actor = $self->pick_actor($d, ''); }
	my ($ad, $md) = (\@acc, \@amt);
	($ad, $md) = @{ $r->pick([ undef, \@amt ], [ \@acc, undef ], [ [], [] ]) } if $v eq 'nulls';
	my $act = $r->chance(0.01) ? undef : $actor;
	my $sql = sprintf('SELECT escrow.set_payment_sources(%d, %s, %s, %s);', $d->{id}, alit($ad),
		alit($md), tlit($act));
	my $op = 'set_payment_sources';
	return refuse($op, $sql, '22023') if !defined $ad || !defined $md || !defined $act;
	return refuse($op, $sql, '22023') if @$ad != @$md || @$ad < 1 || @$ad > 16;
	my $total = 0;
	for my $i (0 .. $#$ad)
	{
		return refuse($op, $sql, '22023')
		  if !defined $ad->[$i] || !defined $md->[$i] || $md->[$i] <= 0 || $md->[$i] > MAX_AMOUNT;
		return refuse($op, $sql, '22023') if grep { $ad->[$_] == $ad->[$i] } 0 .. $i - 1;
		$total = add_ovf($total, $md->[$i]) // return refuse($op, $sql, '22003');
	}
	return refuse($op, $sql, 'P0002') if $d->{missing};
	return refuse($op, $sql, 'EP007')
	  if $STAGE_NO{ $d->{stage} } < $STAGE_NO{order_received} || $STAGE_NO{ $d->{stage} } > $STAGE_NO{delivered};
	return refuse($op, $sql, _roles($d, $act) eq '' ? no_part($act) : '42501') unless _roles($d, $act) =~ /B/;
	return refuse($op, $sql, 'EP007') if financed($d) || $d->{method} eq 'cash';
	return refuse($op, $sql, '22023') if $total != $d->{amount};
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my @kinds;
		for my $a (@$ad)
		{
			my $x = $self->s_acct($s, $a);
			my $kind = $x ? $x->{kind} : undef;
			return 'P0002' unless $kind;
			return '22023' if $kind ne 'deposit' && $kind ne 'credit';
			return 'EP004' if $x->{cur} ne 'EUR';
			my $e = $self->require_use($s, $a, $d->{buyer}, 0);
			return $e if $e;
			push @kinds, $kind;
		}
		my $x = $self->s_deal($s, $d->{id});
		my $reserved = $x->{held} > 0;
		my ($e) = $self->src_release($s, $x);
		return $e if $e;
		$x->{split} = @$ad > 1 ? 1 : 0;
		$x->{src} = $x->{split} ? [ map { { account => $ad->[$_], amount => $md->[$_], hold => 0,
			capture => 0, captured => 0, refunded => 0 } } 0 .. $#$ad ] : undef;
		$x->{method} = $x->{split} ? 'split' : $kinds[0] eq 'credit' ? 'credit' : 'balance';
		$x->{debit} = $ad->[0];
		$x->{hold_id} = 0;
		if ($reserved)
		{
			$e = $self->src_reserve($s, $x);
			return $e if $e;
		}
		$x->{events}++;
		return undef;
	});
}

# pay_cash: cash at the deal's terminal (terminal.c): pay now (reserves)
# or pay later (settles a deal served first); the change as the terminal
# makes it
sub gen_pay_cash
{
	my ($self, $d) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $term = $r->weighted("term-c$c" => 95, 'term-none' => 3, NULL => 2);
	$term = undef if $term eq 'NULL';
	my $amount = $d->{amount};
	my @pieces;
	my $v = $r->weighted(exact => 30, round => 50, big => 8, short => 5, odd => 3, bad => 2, none => 2);
	my $target = $v eq 'round' ? $amount + (-$amount % $r->pick(100, 500, 1000)) : $amount;
	if ($v eq 'big') { push @pieces, 5000 while 5000 * @pieces < $amount; }
	else
	{
		my $left = $target;
		for my $p (reverse @DENOMS)
		{
			while ($left >= $p) { push @pieces, $p; $left -= $p; }
		}
	}
	pop @pieces if $v eq 'short';
	push @pieces, 7 if $v eq 'odd';
	$pieces[0] = $r->pick(0, -100) if $v eq 'bad' && @pieces;
	@pieces = () if $v eq 'none';
	@pieces = reverse @pieces if $r->chance(0.3);
	my $sql = sprintf('SELECT denomination || \':\' || pieces FROM escrow.pay_cash(%s, %d, %s);',
		tlit($term), $d->{id}, $r->chance(0.01) ? 'NULL::bigint[]' : alit(\@pieces));
	my $op = 'pay_cash';
	return refuse($op, $sql, '22023') if !defined $term || $sql =~ /NULL::bigint\[\]/ || !@pieces
	  || grep { $_ <= 0 || $_ > MAX_AMOUNT } @pieces;
	my $later = $d->{stage} eq 'delivered' || $d->{stage} eq 'unpaid';
	my ($err, $to) = deal_check($d, 'pay_cash', $d->{buyer});
	return refuse($op, $sql, $err) if $err;
	$err = $self->require_use(_sim(), $d->{credit}, $d->{merchant}, 1);
	return refuse($op, $sql, $err) if $err;
	return refuse($op, $sql, 'EP007') if $d->{split};
	my $t = $self->{st}{term}{$term} or return refuse($op, $sql, 'P0002');
	my @denoms = sort { $a <=> $b } keys %{ $t->{cash} };
	my %have = %{ $t->{cash} };
	my $total = 0;
	for my $p (@pieces)
	{
		return refuse($op, $sql, '22023') unless exists $have{$p};
		$total = add_ovf($total, $p) // return refuse($op, $sql, '22003');
		return refuse($op, $sql, '22003') if $have{$p} == I32;
		$have{$p}++;
	}
	return refuse($op, $sql, '22003') if till_value(\%have) > MAX_BALANCE;
	return refuse($op, $sql, 'EP001') if $total < $amount;
	my $use = make_change($total - $amount, \@denoms, [ map { $have{$_} } @denoms ]);
	return refuse($op, $sql, 'EP001') unless defined $use;
	return refuse($op, $sql, $use) unless ref $use;
	my @change = map { $use->[$_] ? "$denoms[$_]:$use->[$_]" : () } 0 .. $#denoms;
	my $path = 'pay_cash, ' . ($later ? 'pay later (settles)' : 'pay now (reserves)');
	my $pred = $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $tt = $self->s_term($s, $term);
		$tt->{cash}{ $denoms[$_] } = $have{ $denoms[$_] } - $use->[$_] for 0 .. $#denoms;
		my ($e) = $self->s_funding($s, 'deposit', $tt->{acct}, $amount, owner => 1);
		return $e if $e;
		my $x = $self->s_deal($s, $d->{id});
		$x->{debit} = $tt->{acct};
		$x->{method} = 'cash';
		my $h;
		($e, $h) = $self->s_hold_place($s, $tt->{acct}, $x->{credit}, $amount, undef, $x->{id});
		return $e if $e;
		$x->{hold_id} = $h->{tmp};
		$x->{held} = $amount;
		$self->_follow_up($x->{id}, hold => $h);
		if ($later)
		{
			$e = $self->fx_settle($s, $x);
			return $e if $e;
		}
		step_commit($x, $to, $later ? 'return' : 'ship');
		return (undef, sub {
			my $got = join(' ', @{ $_[0] });
			$got eq "@change" ? undef : "expected change [@change], got [$got]" });
	});
	$pred->{path} = $path;
	return $self->after_step($pred, $d->{id});
}

# ----------------------------------------------------------- follow-ups
# Read a deal's references after a step created records whose ids the
# call did not return, and give the model's records their ids.
my $REFS_SQL = "SELECT d.stage, coalesce(d.hold_id, 0), coalesce(d.capture_transfer, 0), "
  . "coalesce(d.fee_transfer, 0), coalesce(d.prepay_transfer, 0), "
  . "coalesce((SELECT r.id FROM escrow.receivables r WHERE r.deal = d.id), 0), "
  . "coalesce((SELECT string_agg(s.account || ':' || coalesce(s.hold_id, 0) || ':' "
  . "|| coalesce(s.capture_transfer, 0), ',') FROM escrow.deal_sources s WHERE s.deal = d.id), '') "
  . "FROM escrow.deals d WHERE d.id = %d FOR UPDATE";

sub gen_deal_refs
{
	my ($self, $deal, $recs) = @_;
	return { sql => sprintf($REFS_SQL, $deal) . ';', op => 'bookkeeping', outcomes => [ {
		state => '00000', check => sub { undef },
		apply => sub { my ($st, $rows) = @_; name_refs($st, $deal, $recs, $rows) if $rows && @$rows; } } ] };
}

sub name_refs
{
	my ($st, $deal, $recs, $rows) = @_;
	my ($stage, $hold, $cap, $fee, $prepay, $rid, $srcs) = split /\|/, $rows->[0], -1;
	my $d = $st->{deals}{$deal} or return;
	my %src = map { my ($a, $h, $t) = split /:/; ($a => [ $h, $t ]) } split /,/, $srcs // '';
	my %hold_of;
	# holds first: captures made in the same call point at them
	for my $name (sort { ($b =~ /hold/) <=> ($a =~ /hold/) or $a cmp $b } keys %$recs)
	{
		my $rec = $recs->{$name};
		if ($name eq 'recv') { $d->{rid} = $rid; $st->{recv}{$rid} = $deal; next; }
		my ($field, $id);
		if ($name eq 'hold') { ($field, $id) = ('hold_id', $hold); }
		elsif ($name eq 'capture') { ($field, $id) = ('capture_transfer', $cap); }
		elsif ($name eq 'fee') { ($field, $id) = ('fee_transfer', $fee); }
		elsif ($name eq 'prepay') { ($field, $id) = ('prepay_transfer', $prepay); }
		elsif ($name =~ /^src_(hold|capture):(\d+)$/)
		{
			$id = $src{$2} ? $src{$2}[ $1 eq 'hold' ? 0 : 1 ] : 0;
			my ($s) = grep { $_->{account} == $2 } @{ $d->{src} // [] };
			$s->{$1} = $id if $s;
		}
		$d->{$field} = $id if $field;
		next unless $id;
		my $x = name_anon($st, $name =~ /hold/ ? 'holds' : 'xfers', $rec->{tmp}, $id) or next;
		if ($name =~ /hold/) { $hold_of{ $rec->{tmp} } = $id; }
		elsif ($x->{hold} < 0 && $hold_of{ $x->{hold} }) { $x->{hold} = $hold_of{ $x->{hold} }; }
	}
}

# give the record made with temporary id $tmp its real id; returns it
sub name_anon
{
	my ($st, $by_id, $tmp, $id) = @_;
	my $x = delete $st->{by_tmp}{$tmp} or return undef;
	$x->{id} = $id;
	$st->{$by_id}{$id} = $x;
	push @{ $st->{ $by_id eq 'holds' ? 'hold_list' : 'xfer_list' } }, $id;
	return $x;
}

# ------------------------------------------------------------ deadlines
# A deal past its deadline is moved by whichever client's
# run_maintenance() takes it first.  Its owner then calls
# run_maintenance() itself and reads the deal (FOR UPDATE: after any
# maintenance still running on it); the deal is either where it was or
# one or more maintenance steps further, each of which the model
# simulates.  Nothing else is done to a due deal meanwhile, except a step
# the deadline refuses (EP007 either way).
sub gen_maintain
{
	my ($self, $id, $tries) = @_;
	my $d = $self->{st}{deals}{$id};
	return $self->next_call unless $d && is_due($d);
	my $r = $self->{rng};
	unshift @{ $self->{queue} }, [ 'resolve_due', $id, $tries ];
	if (!$tries && $r->chance(0.5))
	{
		# a step the passed deadline refuses, maintained or not
		my %probe = (funds_reserved => [ 'mark_shipped', $d->{merchant} ],
			delivered => [ 'reject_delivery', $d->{buyer} ], settled => [ 'request_return', $d->{buyer} ]);
		my ($action, $actor) = @{ $probe{ $d->{stage} } };
		my $pred = $self->gen_deal_step($d, $action, $actor);
		if (!grep { $_->{state} ne 'EP007' } @{ $pred->{outcomes} })
		{
			unshift @{ $self->{queue} }, [ 'run_maintenance', 100 ];
			return $pred;
		}
	}
	return $self->gen_run_maintenance(100);
}

# the simulations of up to $n maintenance steps of deal $id, each on top
# of the one before: [ overlay, follow-up records ] per step
sub maintenance_chain
{
	my ($self, $id) = @_;
	my @chain;
	my %recs;
	my $s = _sim();
	while (@chain < 3)
	{
		my $x = $self->s_deal($s, $id);
		last unless is_due($x);
		my $next = dclone($s);
		local $self->{pending_follow_up};
		my $action = maintenance_action($x);
		my $e = $self->fx_maintain($next, $self->s_deal($next, $id));
		last if $e;
		%recs = (%recs, %{ ($self->{pending_follow_up} // [ $id, {} ])->[1] });
		push @chain, [ $next, {%recs}, @chain ? "$chain[-1][2], $action" : $action ];
		$s = $next;
	}
	return @chain;
}

sub gen_resolve_due
{
	my ($self, $id, $tries) = @_;
	my $d = $self->{st}{deals}{$id};
	return $self->next_call unless $d && is_due($d);
	my $sql = sprintf($REFS_SQL, $id) . ';';
	my $stage_is = sub {
		my ($want, $fail) = @_;
		return sub {
			my ($rows) = @_;
			my ($stage) = split /\|/, $rows->[0] // '';
			return "deal $id is $stage, expected $want" if ($stage // '') ne $want;
			return $fail;
		};
	};
	my $requeue = sub {
		my ($st, $n) = @_;
		my $x = $st->{deals}{$id};
		push @{ $self->{queue} }, [ 'maintain', $id, $n ] if $x && is_due($x);
	};
	my @outcomes = ({ state => '00000',
		check => $stage_is->($d->{stage}, $tries >= 30
			? "deal $id is still $d->{stage} past its deadline after 30 calls of run_maintenance()" : undef),
		apply => sub { $requeue->($_[0], $tries + 1); } });
	for my $step ($self->maintenance_chain($id))
	{
		my ($s, $recs, $actions) = @$step;
		push @outcomes, { state => '00000', check => $stage_is->($s->{d}{$id}{stage}),
			apply => sub {
				my ($st, $rows) = @_;
				$self->{stats}{by_path}{"deal of the $d->{settlement} model moved by run_maintenance: $actions"}{'00000'}++
				  if $rows;
				commit($s, $st);
				name_refs($st, $id, $recs, $rows) if $rows && @$rows;
				$requeue->($st, 0);
			} };
	}
	return { sql => $sql, op => 'bookkeeping', outcomes => \@outcomes };
}

# ---------------------------------------------------------- receivables
# pay_invoice / repay (finance.c): the key claim, the receivable (P0002,
# kind 22023, status EP007, more than outstanding 22023), then a transfer
# from the paying account into the institution's account (invoice) or the
# buyer's credit line (loan).
sub gen_pay_receivable
{
	my ($self, $d) = @_;
	my $r = $self->{rng};
	if (!$d)
	{
		my @with = grep { $_->{rid} > 0 } map { $self->{st}{deals}{$_} } recent($self->{st}{deal_list}, 200);
		return $self->gen_deal unless @with;
		$d = $r->pick(@with);
	}
	my $fn = $d->{rkind} eq 'loan' ? 'repay' : 'pay_invoice';
	$fn = $fn eq 'repay' ? 'pay_invoice' : 'repay' if $r->chance(0.05);
	my $rid = $r->chance(0.97) ? $d->{rid} : $r->pick(undef, 999_999_999, -1);
	my $pay_to = $d->{rkind} eq 'loan' ? $d->{debit} : $d->{inst_account};
	# mostly an account of the buyer's own (the one path that can pay),
	# else one of this client's or a wrong one
	my $owner = $self->{st}{owner};
	my @buyers = sort { $a <=> $b } grep { $owner->{$_} eq $d->{buyer} && $_ != $pay_to } keys %$owner;
	my $from = @buyers && $r->chance(0.6) ? $r->pick(@buyers)
	  : $r->chance(0.85) ? $r->pick(map { $self->own($_) } qw(d1 d2 cr f)) : $r->weighted(
		to => 3, jpy => 2, funding => 2, unknown => 2, null => 1);
	$from = $from eq 'to' ? $pay_to : $from eq 'jpy' ? $self->own('j') : $from eq 'funding'
	  ? $self->{w}{funding}{EUR} : $from eq 'unknown' ? 999_999_999_999 : $from eq 'null' ? undef : $from;
	my $out = $d->{ramount} - $d->{rpaid};
	my $amount = $r->chance(0.35) ? undef : $r->chance(0.05) ? $out + 1 : $r->chance(0.03)
	  ? $r->pick(0, -1) : 1 + $r->int(max(1, $out));
	my $key = $self->pick_key(0.4);
	my $sql = sprintf('SELECT escrow.%s(%s, %s, %s, %s);', $fn, lit($rid), lit($from), lit($amount), tlit($key));
	return refuse($fn, $sql, '22023') if !defined $rid || !defined $from
	  || (defined $amount && ($amount <= 0 || $amount > MAX_AMOUNT)) || bad_key($key);
	return $self->predict($fn, $sql, sub {
		my ($s) = @_;
		my $deal = $self->{st}{recv}{$rid} or return 'P0002';
		my $x = $self->s_deal($s, $deal);
		return '22023' if $x->{rkind} ne ($fn eq 'repay' ? 'loan' : 'invoice');
		return 'EP007' if $x->{rstatus} ne 'open';
		my $outstanding = $x->{ramount} - $x->{rpaid};
		my $amt = $amount // $outstanding;
		return '22023' if $amt > $outstanding;
		# the buyer pays from its own account, or one it may pay from
		my $e = $self->require_use($s, $from, $x->{buyer}, 0);
		return $e if $e;
		my $t;
		($e, $t) = $self->s_post($s, 'transfer', $from, $pay_to, $amt, 0,
			deal => $RULES{refund_refuses_receivable_payments} ? $deal : 0);
		return $e if $e;
		$x->{rpaid} += $amt;
		$x->{rstatus} = 'paid' if $x->{rpaid} == $x->{ramount};
		if ($amt == $outstanding && $x->{stage} eq 'invoiced')
		{
			# the invoice cleared: the payment completes the deal
			my ($err, $to) = deal_check($x, $fn, $x->{buyer});
			return $err if $err;
			step_commit($x, $to, 'none');
		}
		else
		{
			$x->{events}++;
			if ($amt == $outstanding && $x->{stage} eq 'settled' && $x->{settlement} eq 'agency'
				&& $x->{late})
			{
				# cooling-off over and now paid: what run_maintenance() would do
				step_commit($x, 'completed', 'none');
			}
		}
		return (undef, \&_is_id, sub { $t->{id} = $_[0][0]; push @{ $x->{pays} }, $_[0][0]; });
	}, key => $key, req => sprintf('%s(%s,%s,%s)', $fn, $rid, $from, $amount // 'NULL'));
}

# ------------------------------------------------------------ terminals
sub my_terminals { my ($self) = @_; return sort keys %{ $self->{st}{term} }; }

# register_terminal: a new terminal needs a new deposit account of its own
sub gen_register_terminal
{
	my ($self, $acct) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	if (!defined $acct && $r->chance(0.4))
	{
		# open a new account first, then register a terminal on it
		my $role = $self->new_name('t');
		$role =~ s/^t$c-/t/;
		push @{ $self->{queue} }, [ 'register_terminal', $role ];
		return $self->gen_open_account(owner => "c$c-$role");
	}
	my $no = defined $acct ? $r->weighted(new => 30, taken => 1) : $r->weighted(new => 6, taken => 2, empty => 1, long => 1, null => 1);
	$no = $no eq 'new' ? sprintf('term-c%d-%d', $c, ++$self->{nobj}) : $no eq 'taken' ? "term-c$c"
	  : $no eq 'empty' ? '' : $no eq 'long' ? 'x' x 65 : undef;
	my $account = defined $acct ? $self->own($acct)
	  : $r->pick($self->own('d1'), $self->own('t'), $self->{w}{funding}{EUR}, 999_999_999_999,
		$self->own('n'), undef);
	my $denoms = $r->weighted(ok => defined $acct ? 40 : 8, null => 1, empty => 1, zero => 1, many => 1);
	my @den = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1000);
	my $dsql = $denoms eq 'ok' ? alit(\@den) : $denoms eq 'null' ? 'NULL::bigint[]'
	  : $denoms eq 'empty' ? "'{}'::bigint[]" : $denoms eq 'zero' ? alit([ 5, 0 ])
	  : alit([ 1 .. 65 ]);
	my $name = $r->chance(0.97) ? "'terminal'" : 'NULL';
	my $sql = sprintf('SELECT escrow.register_terminal(%s, %s, %s, %s);', tlit($no), $name,
		lit($account), $dsql);
	my $op = 'register_terminal';
	return refuse($op, $sql, '22023') if !defined $no || $name eq 'NULL' || $no eq '' || length($no) > 64
	  || $denoms ne 'ok';
	return refuse($op, $sql, '22023') if $self->{st}{term}{$no} || $no eq "term-c$c";
	return refuse($op, $sql, '22023') unless defined $account;
	my $a = $self->{st}{acct}{$account};
	my $fresh = $a && $a->{kind} eq 'deposit' && $a->{fresh} && $a->{held} == 0 && $a->{shards} == 0
	  && !defined $self->{st}{owner}{$account} && !$self->{st}{linked}{$account};
	return refuse($op, $sql, 'P0002') unless $fresh;
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $acc = $self->s_acct($s, $account);
		$acc->{fresh} = 0;
		$acc->{platform} = 1;    # the terminal's: the public calls refuse it
		my %cash = map { $_ => 0 } @den;
		$s->{term}{$no} = { acct => $account, cash => \%cash };
		return (undef, _is_value($no));
	});
}

# load_terminal_cash / unload_terminal_cash: the pieces, then the money
# (a deposit of their value; an unload withdraws only the float)
sub gen_refill
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $fn = $r->chance(0.5) ? 'load_terminal_cash' : 'unload_terminal_cash';
	my @terms = $self->my_terminals;
	my $no = $r->chance(0.95) ? $r->pick(@terms) : $r->pick('term-none', undef);
	my $t = defined $no ? $self->{st}{term}{$no} : undef;
	my @denoms = $t ? sort { $a <=> $b } keys %{ $t->{cash} } : (1, 5);
	my $n = 1 + $r->int(3);
	my (@d, @k);
	for (1 .. $n)
	{
		my $x = $r->pick(@denoms);
		push @d, $x;
		my $have = $t ? $t->{cash}{$x} : 5;
		push @k, $fn eq 'load_terminal_cash' ? 1 + $r->int(20)
		  : $r->chance(0.9) ? 1 + $r->int(max(1, CORE::int($have / 3))) : $have + 1;
	}
	my $v = $r->weighted(none => 85, odd => 4, nulls => 3, len => 3, zero => 3, huge => 2);
	push @d, 7 and push @k, 1 if $v eq 'odd';
	pop @k if $v eq 'len';
	$k[0] = 0 if $v eq 'zero';
	$k[0] = I32 if $v eq 'huge' && $fn eq 'load_terminal_cash';
	my ($dd, $kk) = (\@d, \@k);
	($dd, $kk) = @{ $r->pick([ undef, \@k ], [ \@d, undef ], [ [], [] ]) } if $v eq 'nulls';
	my $sql = sprintf('SELECT escrow.%s(%s, %s, %s);', $fn, tlit($no), alit($dd), alit($kk));
	return refuse($fn, $sql, '22023') unless defined $no;
	return refuse($fn, $sql, 'P0002') unless $t;
	my $elems = sub {
		my ($x, $what) = @_;
		return '22023' if !defined $x || !@$x || @$x > 64;
		return '22023' if grep { !defined || $_ <= 0 || $_ > MAX_AMOUNT } @$x;
		return undef;
	};
	my $e = $elems->($dd, 'denominations') // $elems->($kk, 'counts');
	return refuse($fn, $sql, $e) if $e;
	return refuse($fn, $sql, '22023') if @$dd != @$kk;
	my $sign = $fn eq 'load_terminal_cash' ? 1 : -1;
	return $self->predict($fn, $sql, sub {
		my ($s) = @_;
		my $tt = $self->s_term($s, $no);
		my $value = 0;
		for my $i (0 .. $#$dd)
		{
			return '22023' unless exists $tt->{cash}{ $dd->[$i] };
			my $pieces = $tt->{cash}{ $dd->[$i] } + $sign * $kk->[$i];
			return 'EP001' if $pieces < 0;
			return '22003' if $pieces > I32;
			$tt->{cash}{ $dd->[$i] } = $pieces;
			my $m = mul_ovf($dd->[$i], $kk->[$i]) // return '22003';
			$value = add_ovf($value, $m) // return '22003';
		}
		# one load or unload moves at most an amount; a till holds at most
		# MAX_BALANCE in cash
		return '22023' if $value > MAX_AMOUNT;
		return '22003' if $sign > 0 && till_value($tt->{cash}) > MAX_BALANCE;
		my $e;
		if ($sign > 0) { ($e) = $self->s_funding($s, 'deposit', $tt->{acct}, $value, owner => 1); }
		else
		{
			my $a = $self->s_acct($s, $tt->{acct});
			my $float = min($value, max($a->{posted} - $a->{held}, 0));
			($e) = $self->s_funding($s, 'withdraw', $tt->{acct}, $float, owner => 1) if $float > 0;
		}
		return $e if $e;
		return (undef, _is_value($value));
	});
}

# what a till's pieces are worth (denomination => pieces)
sub till_value
{
	my ($cash) = @_;
	my $v = 0;
	$v += $_ * $cash->{$_} for keys %$cash;
	return $v;
}

# make_change: the same programme as the terminals (immutable, strict)
sub gen_make_change
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @d = $r->chance(0.5) ? (1, 3, 4) : (1, 5, 10, 25, 100);
	my @k = map { $r->int(6) } @d;
	my $amount = $r->chance(0.9) ? $r->int(40) : $r->pick(-1, 2_000_000, undef);
	my $v = $r->weighted(none => 85, len => 4, neg => 4, zero => 3, null => 2, many => 2);
	my ($dd, $kk) = ([@d], [@k]);
	pop @$kk if $v eq 'len';
	$kk->[0] = -1 if $v eq 'neg';
	$dd->[0] = 0 if $v eq 'zero';
	$kk = undef if $v eq 'null';
	($dd, $kk) = ([ 1 .. 65 ], [ (1) x 65 ]) if $v eq 'many';
	my $sql = sprintf('SELECT escrow.make_change(%s, %s, %s);', lit($amount), alit($dd), alit($kk, 'integer'));
	my $op = 'make_change';
	return { op => $op, sql => $sql, outcomes => [ _ok(\&_is_void) ] } if !defined $amount || !defined $kk;
	return refuse($op, $sql, '22023') if @$dd != @$kk || !@$dd || @$dd > 64
	  || grep({ $dd->[$_] <= 0 || $kk->[$_] < 0 } 0 .. $#$dd);
	my $use = make_change($amount, $dd, $kk);
	return refuse($op, $sql, '22023') if defined $use && !ref $use;
	return { op => $op, sql => $sql, outcomes => [ _ok(defined $use
		? _is_value('{' . join(',', @$use) . '}') : \&_is_void) ] };
}

# --------------------------------------------------- settlement batches
# link_external_account: the institution (locked, its clearing account
# made on first use), then the account, then the link
sub gen_link_external_account
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $acct = $r->pick(map({ $self->own($_) } qw(d2 f cr d1 t)), $self->own('j'), $self->{w}{funding}{EUR},
		999_999_999_999, undef);
	my $inst = $r->weighted("n$c" => 8, "s$c" => 1, nobody => 1, NULL => 1);
	$inst = undef if $inst eq 'NULL';
	my $ref = $r->weighted(ok => 9, empty => 1, null => 1);
	$ref = $ref eq 'ok' ? "IBAN-c$c-$acct" : $ref eq 'empty' ? '' : undef if defined $acct;
	$ref = 'IBAN' unless defined $acct;
	my $sql = sprintf('SELECT escrow.link_external_account(%s, %s, %s);', lit($acct), tlit($inst), tlit($ref));
	my $op = 'link_external_account';
	return refuse($op, $sql, '22023') if !defined $acct || !defined $inst || !defined $ref || $ref eq '';
	my $p = $self->{st}{parties}{$inst} or return refuse($op, $sql, 'P0002');
	return refuse($op, $sql, '22023') if $p->{kind} ne 'institution';
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $a = $self->s_acct($s, $acct);
		return 'P0002' unless $a && ($a->{kind} eq 'deposit' || $a->{kind} eq 'credit');
		return 'EP007' if $a->{platform};    # a terminal's cash account
		return 'EP004' if $a->{cur} ne 'EUR';
		return '22023' if $self->{st}{linked}{$acct};
		$s->{linked}{$acct} = $inst;
		return undef;
	});
}

# close_settlement_batch: each linked account's position (payments since
# the last batch) paid out to or collected from its outside account
sub gen_close_settlement_batch
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $inst = $r->weighted("n$c" => 9, "s$c" => 0.5, nobody => 0.5, NULL => 0.3);
	$inst = undef if $inst eq 'NULL';
	my $last = defined $inst ? $self->{st}{batches}{$inst} : undef;
	my $cut = $r->weighted(now => 8, same => $last ? 2 : 0, earlier => $last ? 1 : 0, future => 0.5, null => 0.3);
	my $cutoff = $cut eq 'now' ? 'now()' : $cut eq 'same'
	  ? "(SELECT cutoff FROM escrow.settlement_batches WHERE id = $last->{id})"
	  : $cut eq 'earlier' ? "(SELECT cutoff - interval '1 second' FROM escrow.settlement_batches WHERE id = $last->{id})"
	  : $cut eq 'future' ? "now() + interval '1 hour'" : 'NULL';
	my $sql = sprintf('SELECT escrow.close_settlement_batch(%s, %s);', tlit($inst), $cutoff);
	my $op = 'close_settlement_batch';
	return refuse($op, $sql, '22023') if !defined $inst || $cut eq 'null' || $cut eq 'future';
	my $p = $self->{st}{parties}{$inst} or return refuse($op, $sql, 'P0002');
	return refuse($op, $sql, '22023') if $p->{kind} ne 'institution';
	return { op => $op, sql => $sql, outcomes => [ _ok(_is_value($last->{id})) ] } if $cut eq 'same';
	return refuse($op, $sql, '22023') if $cut eq 'earlier';
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $clearing = $self->{st}{clearing}{$inst};
		my ($out, $in, @lines) = (0, 0);
		for my $acct (sort { $a <=> $b } grep { $self->{st}{linked}{$_} eq $inst } keys %{ $self->{st}{linked} })
		{
			my $ac = $self->s_acct($s, $acct);
			my $pos = $ac->{pos};
			my $settled = $pos > 0 ? min($pos, max($ac->{posted} - $ac->{held}, 0)) : $pos;
			next unless $settled;
			my ($e) = $settled > 0 ? $self->s_post($s, 'settlement', $acct, $clearing, $settled, 0, owner => 1)
			  : $self->s_post($s, 'settlement', $clearing, $acct, -$settled, 0, owner => 1);
			return $e if $e;
			$ac->{pos} -= $settled;
			$settled > 0 ? ($out += $settled) : ($in -= $settled);
			push @lines, "$acct:$settled";
		}
		my $nb = { id => undef, n => ($last ? $last->{n} : 0) + 1, paid_out => $out, collected => $in,
			settled => join(' ', @lines) };
		$s->{batches}{$inst} = $nb;
		return (undef, \&_is_id, sub { $nb->{id} = $_[0][0]; });
	});
}

# settlement_export: the batch's lines and the clearing line, summing to 0
sub gen_settlement_export
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @ids = sort { $a <=> $b } keys %{ $self->{st}{batch_lines} // {} };
	my $id = @ids && $r->chance(0.9) ? $r->pick(@ids) : $r->pick(999_999_999, undef);
	my $sql = sprintf("SELECT coalesce(string_agg(line || ':' || account || ':' || amount, ' ' ORDER BY line), '-') "
		. "FROM escrow.settlement_export(%s);", lit($id));
	return { op => 'settlement_export', sql => $sql, outcomes => [ _ok(_is_value('-')) ] }
	  unless defined $id && defined $self->{st}{batch_lines}{$id};
	my $inst = $self->{st}{batch_inst}{$id};
	my @lines = map { [ split /:/ ] } grep { length } split / /, $self->{st}{batch_lines}{$id};
	my $sum = 0;
	$sum += $_->[1] for @lines;
	my $want = join(' ', '0:' . $self->{st}{clearing}{$inst} . ':' . (-$sum),
		map { ($_ + 1) . ":$lines[$_][0]:$lines[$_][1]" } 0 .. $#lines);
	# the clearing line is only known for the client's own institution
	return { op => 'settlement_export', sql => $sql, outcomes => [ _ok(_is_value($want)) ] };
}

# ------------------------------------------------ accounts and parties
sub gen_open_account
{
	my ($self, %o) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $owner = $o{owner} // "c$c-" . $self->new_name('x') =~ s/^x$c-/x/r;
	my ($cur, $kind, $limit) = ('EUR', 'deposit', 0);
	my $v = $o{owner} ? 'ok' : $r->weighted(ok => 6, credit => 2, blank => 0.5, reserved => 0.5,
		kind => 0.5, neg => 0.5, limit => 0.5, cur => 0.5, null => 0.3);
	($kind, $limit) = ('credit', 1000 * $r->int(100)) if $v eq 'credit';
	$owner = ' ' if $v eq 'blank';
	$owner = 'escrow:mine' if $v eq 'reserved';
	$kind = 'savings' if $v eq 'kind';
	($kind, $limit) = ('credit', -1) if $v eq 'neg';
	$limit = 500 if $v eq 'limit';
	$cur = 'XXX' if $v eq 'cur';
	$cur = undef if $v eq 'null';
	my $sql = sprintf('SELECT escrow.open_account(%s, %s, %s, %s);', tlit($owner), tlit($cur),
		tlit($kind), lit($limit));
	my $op = 'open_account';
	return refuse($op, $sql, '22023') if !defined $cur || $owner =~ /^\s*$/ || $owner =~ /^escrow:/i
	  || $kind !~ /^(deposit|credit|system)$/ || $limit < 0 || ($limit && $kind ne 'credit') || $cur eq 'XXX';
	(my $role = $owner) =~ s/^c$c-//;
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $a = { id => undef, role => $role, kind => $kind, cur => $cur, posted => 0, held => 0,
			limit => $limit, shards => 0, pos => 0, own => 1, fresh => 1 };
		push @{ $s->{new_a} }, $a;
		return (undef, \&_is_id, sub { $a->{id} = $_[0][0]; });
	});
}

# register_member / register_merchant / register_institution: argument
# checks, the account (P0002), then the party number and login role
sub gen_register
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $fn = $r->weighted(register_member => 4, register_merchant => 3, register_institution => 3);
	my $letter = { register_member => 'p', register_merchant => 'v', register_institution => 'y' }->{$fn};
	my $kind = { register_member => 'member', register_merchant => 'merchant', register_institution => 'institution' }->{$fn};
	my $no = $r->weighted(new => 7, taken => 2, bad => 0.5, system => 0.3, empty => 0.3, null => 0.2);
	$no = $no eq 'new' ? $self->new_name($letter) : $no eq 'taken' ? $r->pick("m$c", "s$c", "n$c", "k$c")
	  : $no eq 'bad' ? $r->pick('-x', 'a b', 'x' x 65, "m$c!") : $no eq 'system' ? 'system'
	  : $no eq 'empty' ? '' : undef;
	# a party registers with an account of its own: a new one, nobody's yet
	my @free = grep { $self->{st}{acct}{$_}{role} =~ /^x\d+$/ && !defined $self->{st}{owner}{$_} }
	  sort { $a <=> $b } keys %{ $self->{st}{acct} };
	if (!@free && $r->chance(0.5))
	{
		push @{ $self->{queue} }, [ 'register' ];
		return $self->gen_open_account;
	}
	my $acct = $r->weighted(new => @free ? 12 : 0, d2 => 1, cr => 1, f => 1, funding => 1, unknown => 1,
		jpy => 1, t => 0.5, null => 0.3);
	$acct = $acct eq 'new' ? $r->pick(@free) : $acct eq 'funding' ? $self->{w}{funding}{EUR}
	  : $acct eq 'unknown' ? 999_999_999_999
	  : $acct eq 'null' ? undef : $acct eq 'jpy' ? $self->own('j') : $self->own($acct);
	my $role = $r->chance(0.03) ? 'no_such_role_x' : undef;
	my $name = $r->chance(0.98) ? 'new party' : undef;
	my %a = (window => '2 days', cooling => '7 days', bps => 100, fee => $self->own('f'),
		discount => 50, repay => '7 days');
	my $v = $r->weighted(none => 80, window => 3, bps => 3, feeacct => 3, feecur => 2, feesame => 2,
		discount => 3, repay => 3);
	$a{window} = undef if $v eq 'window';
	$a{bps} = $r->pick(-1, 10001, undef) if $v eq 'bps';
	$a{fee} = undef if $v eq 'feeacct';
	$a{fee} = $self->own('j') if $v eq 'feecur';
	$a{fee} = $acct if $v eq 'feesame';
	$a{discount} = $r->pick(-1, 10001, undef) if $v eq 'discount';
	$a{repay} = undef if $v eq 'repay';
	my $sql;
	if ($fn eq 'register_member')
	{
		$sql = sprintf('SELECT escrow.register_member(%s, %s, %s, %s, %s);', tlit($no), tlit($name),
			"'x\@example.org'", lit($acct), tlit($role));
	}
	elsif ($fn eq 'register_merchant')
	{
		$sql = sprintf('SELECT escrow.register_merchant(%s, %s, %s, %s, %s, %s, %s, %s, %s);', tlit($no),
			tlit($name), "'x\@example.org'", lit($acct), ilit($a{window}), ilit($a{cooling}),
			nlit($a{bps}), lit($a{fee}), tlit($role));
	}
	else
	{
		$sql = sprintf('SELECT escrow.register_institution(%s, %s, %s, %s, %s, %s, %s);', tlit($no),
			tlit($name), "'x\@example.org'", lit($acct), nlit($a{discount}), ilit($a{repay}), tlit($role));
	}
	# the argument limits (a party number is at most 64 bytes) are checked
	# before anything else, as EP_CHECK_ARGS does
	return refuse($fn, $sql, '22023') if !defined $no || $no eq '' || length($no) > 64 || !defined $name
	  || !defined $acct;
	if ($fn eq 'register_merchant')
	{
		return refuse($fn, $sql, '22023') if !defined $a{window}
		  || !defined $a{bps} || $a{bps} < 0 || $a{bps} > 10000 || ($a{bps} > 0 && !defined $a{fee});
	}
	if ($fn eq 'register_institution')
	{
		return refuse($fn, $sql, '22023') if !defined $a{repay}
		  || !defined $a{discount} || $a{discount} < 0 || $a{discount} > 10000;
	}
	return $self->predict($fn, $sql, sub {
		my ($s) = @_;
		my $x = $self->s_acct($s, $acct);
		return 'P0002' unless $x && ($x->{kind} eq 'deposit' || $x->{kind} eq 'credit');
		if ($fn eq 'register_merchant')
		{
			return '22023' if $x->{kind} ne 'deposit';
			if (defined $a{fee})
			{
				my $f = $self->s_acct($s, $a{fee});
				return 'P0002' unless $f && ($f->{kind} eq 'deposit' || $f->{kind} eq 'credit');
				return 'EP004' if $f->{cur} ne $x->{cur};
				return '22023' if $a{fee} == $acct;
			}
		}
		return '22023' if $fn eq 'register_institution' && $x->{kind} ne 'deposit';
		return '22023' if $no !~ /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
		return '22023' if $no eq 'system';
		return '22023' if defined $role;
		return '22023' if $self->{st}{parties}{$no};
		my $e = $self->assign_owner($s, $acct, $no);
		return $e if $e;
		$s->{parties}{$no} = { kind => $kind, account => $acct,
			discount => $fn eq 'register_institution' ? $a{discount} : 0 };
		return (undef, _is_value($no));
	});
}

# assign_account: the party (P0002), the account (deposit or credit line,
# P0002), then the owner rules (22023)
sub gen_assign_account
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my @new = grep { $self->{st}{acct}{$_}{role} =~ /^x\d+$/ } sort { $a <=> $b } keys %{ $self->{st}{acct} };
	my $acct = $r->weighted(new => @new ? 4 : 0, d2 => 2, d1 => 1, t => 1, f => 1, funding => 0.5,
		unknown => 0.5, null => 0.2);
	$acct = $acct eq 'new' ? $r->pick(@new) : $acct eq 'funding' ? $self->{w}{funding}{EUR}
	  : $acct eq 'unknown' ? 999_999_999_999 : $acct eq 'null' ? undef : $self->own($acct);
	my $party = $r->weighted("m$c" => 4, "k$c" => 2, "s$c" => 1, nobody => 0.5, '' => 0.2, NULL => 0.2);
	$party = undef if $party eq 'NULL';
	my $sql = sprintf('SELECT escrow.assign_account(%s, %s);', lit($acct), tlit($party));
	my $op = 'assign_account';
	return refuse($op, $sql, '22023') if !defined $acct || !defined $party || $party eq '';
	return refuse($op, $sql, 'P0002') unless $self->{st}{parties}{$party};
	return $self->predict($op, $sql, sub {
		my ($s) = @_;
		my $a = $self->s_acct($s, $acct);
		return 'P0002' unless $a && ($a->{kind} eq 'deposit' || $a->{kind} eq 'credit');
		return $self->assign_owner($s, $acct, $party);
	});
}

# authorise_account_use / revoke_account_use: arguments and purpose
# (22023), the account (P0002), its owner acting (42501); authorise: the
# party (P0002), not the owner (22023), the id in force; revoke: P0002
# when nothing is in force
sub gen_account_use
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $c = $self->{c};
	my $fn = $r->chance(0.6) ? 'authorise_account_use' : 'revoke_account_use';
	my $acct = $r->weighted(cr => 4, d2 => 2, d1 => 2, s => 1, f => 0.5, unknown => 0.3, null => 0.1);
	$acct = $acct eq 'unknown' ? 999_999_999_999 : $acct eq 'null' ? undef : $self->own($acct);
	my $party = $r->weighted("m$c" => 4, "k$c" => 2, "q$c" => 1, nobody => 0.3, '' => 0.1);
	my $purpose = $r->weighted(pay_from => 6, pay_into => 2, pay_out => 0.3);
	my $actor = $r->chance(0.85) ? ($self->{st}{owner}{ $acct // 0 } // "k$c") : $r->pick("m$c", "k$c", "s$c");
	my $sql = sprintf('SELECT escrow.%s(%s, %s, %s, %s);', $fn, lit($acct), tlit($party), tlit($purpose),
		tlit($actor));
	return refuse($fn, $sql, '22023') if !defined $acct || $party eq '' || $purpose eq 'pay_out';
	return refuse($fn, $sql, 'P0002') unless $self->acct_exists($acct);
	my $owner = $self->{st}{owner}{$acct};
	return refuse($fn, $sql, no_part($actor)) if !defined $owner || $owner ne $actor;
	if ($fn eq 'authorise_account_use')
	{
		return refuse($fn, $sql, 'P0002') unless $self->{st}{parties}{$party};
		return refuse($fn, $sql, '22023') if $party eq $actor;
		my $id = $self->auth_of(_sim(), $acct, $party, $purpose);
		return { op => $fn, sql => $sql, outcomes => [ _ok(_is_value($id)) ] } if $id;
		return $self->predict($fn, $sql, sub {
			my ($s) = @_;
			$s->{auth}{$acct}{$party}{$purpose} = 'new';
			return (undef, \&_is_id, sub { $s->{auth}{$acct}{$party}{$purpose} = $_[0][0]; });
		});
	}
	my $id = $self->auth_of(_sim(), $acct, $party, $purpose) or return refuse($fn, $sql, 'P0002');
	return $self->predict($fn, $sql, sub {
		my ($s) = @_;
		$s->{auth}{$acct}{$party}{$purpose} = undef;
		return (undef, _is_value($id));
	});
}

# set_account_shards: kept for 0.1.0 callers, changes nothing and returns
# 0 (folding replaced balance shards); its arguments are still checked
sub gen_set_account_shards
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.9) ? $self->own('s') : $r->pick(999_999_999_999, undef);
	my $n = $r->weighted(some => 5, zero => 1, over => 0.5, null => 0.3);
	$n = $n eq 'some' ? 1 + $r->int(64) : $n eq 'zero' ? 0 : $n eq 'over' ? 65 : undef;
	my $sql = sprintf('SELECT escrow.set_account_shards(%s, %s);', lit($acct), lit($n));
	my $op = 'set_account_shards';
	return refuse($op, $sql, '22023') if !defined $acct || !defined $n || $n < 0 || $n > 64;
	return refuse($op, $sql, 'P0002') unless $self->{st}{acct}{$acct};
	return $self->predict($op, $sql, sub {
		return (undef, _is_value(0));
	});
}

# fold_journal: moves the legs waiting in escrow.unfolded into the hash-
# chained entries; no balance, held amount or result of any call changes,
# and it never waits (it skips accounts other transactions hold)
sub gen_fold_journal
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $n = $r->weighted(some => 8, zero => 1, null => 0.5);
	$n = $n eq 'some' ? 1 + $r->int(2000) : $n eq 'zero' ? $r->pick(0, -1) : undef;
	my $sql = sprintf('SELECT escrow.fold_journal(%s) >= 0;', $n // 'NULL');
	return refuse('fold_journal', $sql, '22023') if !defined $n || $n < 1;
	return { op => 'fold_journal', sql => $sql, outcomes => [ _ok(_is_value('t')) ] };
}

# --------------------------------------------------------- checkpoints
# Checkpoints are global: another client's checkpoint may be under way
# (55P03), or may already have sealed everything (NULL); whether a
# transfer is sealed yet depends on them too (55000).  What is exact is
# the proof itself: the transfer in it is the model's, its leaf hash is
# the canonical encoding of its fields, and its audit path leads to the
# checkpoint's root (RFC 6962 / 9162, recomputed here).
sub gen_checkpoint
{
	return { op => 'checkpoint', sql => "SELECT coalesce(escrow.checkpoint()::text, 'none');",
		outcomes => [ _ok(sub {
			return "expected a checkpoint number or none, got [@{ $_[0] }]"
			  unless @{ $_[0] } == 1 && $_[0][0] =~ /^([1-9]\d*|none)$/;
			return undef; }), _refused('55P03') ] };
}

# the key of escrowpay.checkpoint_key_file (the test nodes have one)
sub gen_checkpoint_public_key
{
	return { op => 'checkpoint_public_key',
		sql => "SELECT key_id || ':' || (public_key LIKE '-----BEGIN PUBLIC KEY-----%') "
		  . "FROM escrow.checkpoint_public_key();",
		outcomes => [ _ok(sub {
			return "expected <key id>:true, got [@{ $_[0] }]"
			  unless @{ $_[0] } == 1 && $_[0][0] =~ /^[0-9a-f]{16}:true$/;
			return undef; }) ] };
}

sub _canonical_transfer
{
	my ($t) = @_;
	my $text = sub { my $b = $_[0]; utf8::encode($b); return pack('C', length $b) . $b; };
	return pack('q>', $t->{id}) . $text->($t->{kind})
	  . pack('q>q>q>', $t->{debit_account}, $t->{credit_account}, $t->{amount})
	  . $text->($t->{currency}) . pack('q>q>q>', $t->{hold_id}, $t->{refund_of}, $t->{created_at_us});
}

# RFC 9162 2.1.3.2: the root an audit path leads to, or undef
sub _path_root
{
	my ($index, $size, $leaf, @path) = @_;
	return undef if $index < 0 || $index >= $size;
	my ($fn, $sn, $r) = ($index, $size - 1, $leaf);
	for my $p (@path)
	{
		return undef if $sn == 0;
		if (($fn & 1) || $fn == $sn)
		{
			$r = Digest::SHA::sha256("\x01" . $p . $r);
			($fn, $sn) = ($fn >> 1, $sn >> 1) while !($fn & 1) && $fn != 0;
		}
		else
		{
			$r = Digest::SHA::sha256("\x01" . $r . $p);
		}
		($fn, $sn) = ($fn >> 1, $sn >> 1);
	}
	return $sn == 0 ? $r : undef;
}

sub _proof_check
{
	my ($t) = @_;
	return sub {
		my ($rows) = @_;
		return "expected one proof, got [@$rows]" unless @$rows == 1;
		my $p = eval { JSON::PP::decode_json($rows->[0]) };
		return "not JSON: $rows->[0]" unless $p;
		my $x = $p->{transfer};
		for my $f ([ id => 'id' ], [ kind => 'kind' ], [ amount => 'amount' ],
			[ debit_account => 'debit' ], [ credit_account => 'credit' ])
		{
			return "proof of transfer $t->{id}: $f->[0] $x->{$f->[0]}, the model's $t->{$f->[1]}"
			  unless $x->{ $f->[0] } eq $t->{ $f->[1] };
		}
		my $leaf = Digest::SHA::sha256("\x00" . _canonical_transfer($x));
		return "proof of transfer $t->{id}: leaf hash $p->{leaf_hash} is not its fields'"
		  unless unpack('H*', $leaf) eq $p->{leaf_hash};
		my $root = _path_root($p->{leaf_index}, $p->{checkpoint}{tree_size}, $leaf,
			map { pack('H*', $_) } @{ $p->{audit_path} });
		return "proof of transfer $t->{id}: the audit path does not lead to the root"
		  unless defined $root && unpack('H*', $root) eq $p->{checkpoint}{root};
		return undef;
	};
}

sub gen_inclusion_proof
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @ids = recent($self->{st}{xfer_list}, 400);
	if (@ids && $r->chance(0.9))
	{
		my $t = $self->{st}{xfers}{ $r->pick(@ids) };
		return { op => 'inclusion_proof',
			sql => sprintf('SELECT escrow.inclusion_proof(%s)::text;', lit($t->{id})),
			outcomes => [ _ok(_proof_check($t)), _refused('55000') ] };
	}
	my $id = $r->chance(0.2) ? undef : unknown_id($self->{w}, $r);
	my $sql = sprintf('SELECT escrow.inclusion_proof(%s)::text;', lit($id));
	return refuse('inclusion_proof', $sql, '22023') unless defined $id;
	# no checkpoint yet (55000) comes before looking the transfer up
	return { op => 'inclusion_proof', sql => $sql, outcomes => [ _refused('P0002'), _refused('55000') ] };
}

# --------------------------------------------------------- balance history
# The client's own accounts change only through its calls: as of now
# ('infinity') balance_at is the model's balance, before every transfer
# ('-infinity') 0, and the statement of all time sums to the balance and
# ends at it.  Unknown accounts and shards: P0002; NULL: 22023; a period
# ending before it starts: 22023.
sub gen_balance_history
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $acct = $r->chance(0.9) ? $r->pick($self->eur_accounts, $self->own('j'))
	  : $r->chance(0.8) ? unknown_id($self->{w}, $r) : undef;
	my $a = $self->{st}{acct}{$acct // ''};
	if ($r->chance(0.5))
	{
		my $at = $r->pick(("'infinity'") x 4, "'-infinity'", 'NULL');
		my $sql = sprintf('SELECT escrow.balance_at(%s, %s);', lit($acct), $at);
		return refuse('balance_at', $sql, '22023') if !defined $acct || $at eq 'NULL';
		return refuse('balance_at', $sql, 'P0002') unless $a;
		return { op => 'balance_at', sql => $sql,
			outcomes => [ _ok(_is_value($at eq "'-infinity'" ? 0 : $a->{posted})) ] };
	}
	my ($from, $to) = $r->chance(0.9) ? ("'-infinity'", "'infinity'") : ("'infinity'", "'-infinity'");
	my $sql = sprintf("SELECT coalesce(sum(amount), 0) || ':' || coalesce((array_agg(balance ORDER BY created_at DESC, "
		. "transfer DESC))[1], 0) FROM escrow.statement(%s, %s, %s);", lit($acct), $from, $to);
	return refuse('statement', $sql, '22023') unless defined $acct;
	return refuse('statement', $sql, 'P0002') unless $a;
	return refuse('statement', $sql, '22023') if $from eq "'infinity'";
	return { op => 'statement', sql => $sql, outcomes => [ _ok(_is_value("$a->{posted}:$a->{posted}")) ] };
}

# --------------------------------------------------------- read-only
sub gen_verify_ledger
{
	return { op => 'verify_ledger', sql => "SELECT count(*) FROM escrow.verify_ledger();",
		outcomes => [ _ok(_is_value(0)) ] };
}

sub gen_read_only
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $v = $r->pick(qw(current_party deal_transitions state_machine_dot limits distribute));
	# a single server has no Citus: distribute() refuses, changing nothing
	return { op => 'distribute', sql => 'SELECT count(*) FROM escrow.distribute();',
		outcomes => [ _refused('0A000') ] } if $v eq 'distribute';
	# the money bounds escrowpay reports are the ones modelled here
	return { op => 'limits',
		sql => "SELECT string_agg(kind || '=' || maximum, ',' ORDER BY kind) FROM escrow.limits() "
		  . "WHERE unit = 'minor units';",
		outcomes => [ _ok(_is_value(sprintf('amount=%s,balance=%s,credit_limit=%s,held=%s,system balance=%s',
			MAX_AMOUNT, MAX_BALANCE, MAX_BALANCE, MAX_BALANCE, MAX_SYSTEM_BALANCE))) ] }
	  if $v eq 'limits';
	return { op => 'current_party', sql => 'SELECT escrow.current_party();', outcomes => [ _ok(\&_is_void) ] }
	  if $v eq 'current_party';
	return { op => 'deal_transitions', sql => "SELECT count(*) FROM escrow.deal_transitions();",
		outcomes => [ _ok(_is_value(scalar @TRANSITIONS)) ] } if $v eq 'deal_transitions';
	return { op => 'state_machine_dot',
		sql => "SELECT escrow.state_machine_dot() LIKE 'digraph escrowpay_deal {%' AND "
		  . "escrow.state_machine_dot() LIKE '%delivered -> settled [label=\"pay_cash%';",
		outcomes => [ _ok(_is_value('t')) ] };
}

# next_actions: the steps a deal in a situation may take, from the model's
# transition table (a pure function: any stage, model and amounts)
sub gen_next_actions
{
	my ($self) = @_;
	my $r = $self->{rng};
	my $stage = $r->weighted(ok => 30, null => 1, bogus => 1, long => 0.5);
	$stage = $stage eq 'ok' ? $r->pick(sort keys %STAGE_NO) : $stage eq 'bogus' ? 'paid'
	  : $stage eq 'long' ? 'x' x 65 : undef;
	my $settlement = $r->weighted(ok => 30, null => 1, bogus => 1);
	$settlement = $settlement eq 'ok' ? $r->pick(sort keys %MODEL_LETTER) : $settlement eq 'bogus' ? 'cash' : undef;
	my ($held, $captured) = map { $r->weighted(zero => 3, some => 2, null => 0.2) } 1 .. 2;
	($held, $captured) = map { $_ eq 'zero' ? 0 : $_ eq 'some' ? 500 : undef } $held, $captured;
	my ($overdue, $open) = map { $r->pick('true', 'false', undef) } 1 .. 2;
	my $sql = sprintf(q{SELECT coalesce(string_agg(x, ', ' ORDER BY x), 'none') }
		  . q{FROM unnest(string_to_array(escrow.next_actions(%s, %s, %s, %s, %s, %s), ', ')) x;},
		tlit($stage), tlit($settlement), lit($held), lit($captured), $overdue // 'NULL', $open // 'NULL');
	my $op = 'next_actions';
	return refuse($op, $sql, '22023')
	  if !defined $stage || !defined $settlement || !defined $held || !defined $captured
	  || !exists $STAGE_NO{$stage} || !exists $MODEL_LETTER{$settlement};
	return { op => $op, sql => $sql, outcomes => [ _ok(_is_value(next_actions($stage, $settlement, $held,
		$captured, ($overdue // '') eq 'true', ($open // '') eq 'true'))) ] };
}

sub gen_txn_no_valid
{
	my ($self) = @_;
	my $r = $self->{rng};
	my @ids = recent($self->{st}{deal_list}, 50);
	my $no = txn_no(@ids ? $r->pick(@ids) : 1 + $r->int(1000));
	my $valid = 't';
	my $v = $r->weighted(ok => 5, digit => 3, short => 1, prefix => 1, null => 0.5);
	if ($v eq 'digit')
	{
		my $i = 2 + $r->int(11);
		substr($no, $i, 1) = (substr($no, $i, 1) + 1 + $r->int(9)) % 10;
		$valid = 'f';
	}
	($no, $valid) = (substr($no, 0, 12), 'f') if $v eq 'short';
	($no, $valid) = ('XP' . substr($no, 2), 'f') if $v eq 'prefix';
	($no, $valid) = (undef, '') if $v eq 'null';
	return { op => 'txn_no_valid', sql => sprintf('SELECT escrow.txn_no_valid(%s);', tlit($no)),
		outcomes => [ _ok($valid eq '' ? \&_is_void : _is_value($valid)) ] };
}

# --------------------------------------------------------------- results
# Check a result against the prediction and apply it: the first outcome
# with the SQLSTATE the call got whose check passes.  Returns undef, or a
# failure description.
sub observe
{
	my ($self, $pred, $res) = @_;
	my $op = $pred->{op};
	$self->{stats}{calls}++;
	$self->{stats}{by_op}{$op}{ $res->{state} }++;
	$self->{stats}{by_path}{ $pred->{path} }{ $res->{state} }++ if $pred->{path};
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
		my ($o) = grep { !defined $_->{check}->($res->{rows}) } @match;
		if (!$o)
		{
			$o = $match[0];
			$fail = "$pred->{sql}: " . $o->{check}->($res->{rows});
		}
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
# swept by another client's expire_holds(), and deals past a deadline were
# moved by another client's run_maintenance().
sub tiny_variants
{
	my ($self, $st) = @_;
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
	for my $id (sort { $a <=> $b } grep { is_due($st->{deals}{$_}) } keys %{ $st->{deals} })
	{
		my @more;
		for my $v (@out)
		{
			local $self->{st} = $v;
			for my $step ($self->maintenance_chain($id))
			{
				my $x = dclone($v);
				commit($step->[0], $x);
				push @more, $x;
			}
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
	if ($pred && $pred->{op} ne 'bookkeeping')
	{
		for my $o (@{ $pred->{outcomes} })
		{
			next unless $o->{state} eq '00000';
			my $st = dclone($self->{st});
			local $self->{queue} = [];
			local $self->{pending_follow_up};
			$o->{apply}->($st, undef);
			push @c, $st;
		}
	}
	return map { $self->tiny_variants($_) } @c;
}

1;
