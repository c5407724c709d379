/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The double-entry core: posting transfers and reserving funds.
 *
 * A transfer posts exactly two legs (debit -amount, credit +amount).  A leg
 * that needs a funds check (the debit of a deposit or credit account) is
 * applied to the account row when it is posted, with the check in the
 * UPDATE's WHERE clause; every other leg (every credit, a system account's
 * debit) touches no account row: it waits in escrow.unfolded, so that
 * credits to a busy account (a merchant, a fee or funding account) never
 * queue on its row.  Posting is one statement (ep_post_transfer), or its
 * rows written straight into the tables (post_direct(), direct.c).  The
 * waiting legs are folded into the hash-chained journal later (journal.c).
 *
 * accounts.posted counts folded money and applied legs only, so a funds
 * check is never fooled by a credit that could still roll back; when the
 * check refuses, post_slow() locks the accounts, counts the committed
 * credits waiting for them in their rows (ep_apply_credits) and decides
 * again before refusing.  escrow.balances and every view add the waiting
 * legs, so what they show is exact at any moment.  Accounts are locked in
 * ascending id order, so concurrent postings never deadlock.
 *
 *-------------------------------------------------------------------------
 */
#include "ledger.h"

#include "account.h"
#include "common/int.h"
#include "journal.h"
#include "money.h"
#include "plan.h"
#include "utils/builtins.h"

/*
 * Refuse (EP007) account id, one of the platform's own (accounts.platform:
 * a cash terminal's cash account, an institution's clearing account, a
 * funding account), named by the caller of a public call: its balance
 * moves only through the functions it serves.  The message names what it
 * belongs to.
 */
void
ep_refuse_platform_account(int64 id)
{
	static EpPlan terminal = EP_PLAN("SELECT terminal_no FROM escrow.terminals WHERE cash_account = $1",
		INT8OID);
	static EpPlan clearing = EP_PLAN("SELECT party_no FROM escrow.parties WHERE clearing_account = $1",
		INT8OID);
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	if (ep_exec(&terminal, values, NULL, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("account %lld belongs to terminal \"%s\"", (long long) id, ep_text(0, 1)),
				 errdetail("It is the terminal's cash account: its balance moves with the cash in the machine, only through the terminal's functions."),
				 errhint("Load and unload cash with escrow.load_terminal_cash() and escrow.unload_terminal_cash(); deals pay at the terminal with escrow.pay_cash().")));
	if (ep_exec(&clearing, values, NULL, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("account %lld belongs to the settlement batches of institution \"%s\"",
						(long long) id, ep_text(0, 1)),
				 errdetail("It is the institution's clearing account: its balance is the net of the batches settled with the institution."),
				 errhint("Settle with escrow.close_settlement_batch().")));
	ereport(ERROR,
			(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
			 errmsg("account %lld belongs to the platform", (long long) id),
			 errdetail("Its balance moves only through the functions it serves.")));
}

/*
 * Read an account (P0002 when missing), checking the currency it must be
 * in (EP004), that it is not a funding account unless allowed (22023) and
 * not another account of the platform's own unless allowed (EP007).  With
 * lock, the row is locked FOR UPDATE.
 */
void
ep_fetch_account(int64 id, const char *currency, bool allow_funding, bool allow_platform,
				 bool lock, EpAccount *a)
{
	static EpPlan fetch = EP_PLAN("SELECT kind, currency, posted, held, credit_limit, "
		"       owner = '" EP_FUNDING_OWNER "', platform "
		"  FROM escrow.accounts WHERE id = $1", INT8OID);
	static EpPlan fetch_locked = EP_PLAN("SELECT kind, currency, posted, held, credit_limit, "
		"       owner = '" EP_FUNDING_OWNER "', platform "
		"  FROM escrow.accounts WHERE id = $1 FOR UPDATE", INT8OID);
	bool		isnull;

	ep_exec_id(lock ? &fetch_locked : &fetch, id, "account");
	a->id = id;
	a->kind = ep_text(0, 1);
	a->currency = ep_text(0, 2);
	a->posted = ep_int64(0, 3);
	a->held = ep_int64(0, 4);
	a->limit = ep_int64(0, 5);
	a->funding = DatumGetBool(ep_datum(0, 6, &isnull));
	a->platform = DatumGetBool(ep_datum(0, 7, &isnull));

	if (currency != NULL && strcmp(currency, a->currency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("Account %lld is in %s, the other account is in %s.",
						   (long long) id, a->currency, currency)));
	if (a->funding && !allow_funding)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account %lld is the %s funding account", (long long) id, a->currency),
				 errdetail("Money enters and leaves the ledger only through deposit and withdraw."),
				 errhint("Use escrow.deposit() or escrow.withdraw().")));
	if (a->platform && !allow_platform)
		ep_refuse_platform_account(id);
}

/*
 * Refuse (42501) the debit of system account a named by a public call's
 * caller, unless the caller is escrow_admin (or a superuser): a system
 * account may go negative, so money taken out of it is created.  Called
 * only for a system account on the slow paths (the one-statement posting
 * and reservation leave a public call's system debit to them), so an
 * ordinary account pays nothing for it.
 */
static void
check_system_debit(const EpAccount *a)
{
	if (strcmp(a->kind, "system") != 0 || ep_caller_is_admin())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("only escrow_admin may take money out of system account %lld",
					(long long) a->id),
			 errdetail("A system account may go negative, so a debit of it creates money; the application may pay into it and release holds on it."),
			 errhint("An administrator (a member of escrow_admin) makes this call; the application moves money between deposit accounts.")));
}

/*
 * Refuse unless account a (locked, its credits counted) can give up `requested` more
 * than it gives now: available = posted + limit - held.  held_after is its
 * held amount after the change.
 */
static void
check_funds(const EpAccount *a, int64 posted_after, int64 held_after, int64 requested)
{
	int64		available;

	if (strcmp(a->kind, "system") == 0)
		return;
	available = ep_sub(ep_add(posted_after, a->limit, "available amount"),
					   held_after, "available amount");
	if (available >= 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
			 errmsg("insufficient %s on account %lld",
					strcmp(a->kind, "credit") == 0 ? "credit" : "funds",
					(long long) a->id),
			 errdetail("Available %lld, requested %lld (minor units of %s).",
					   (long long) (available + requested), (long long) requested,
					   a->currency),
			 strcmp(a->kind, "credit") == 0 ?
			 errhint("Raise the credit line with escrow.set_credit_limit() or ask for less.") :
			 errhint("Deposit funds or release holds first.")));
}

/*
 * The parameters $1..$7 of a statement inserting posting p into
 * escrow.transfers: id, kind, debit, credit, amount, hold (NULL: none),
 * refunded transfer (NULL: none)
 */
static void
transfer_params(const EpPosting *p, Datum *values, char *nulls)
{
	values[0] = Int64GetDatum(p->id);
	values[1] = CStringGetTextDatum(p->kind);
	values[2] = Int64GetDatum(p->debit);
	values[3] = Int64GetDatum(p->credit);
	values[4] = Int64GetDatum(p->amount);
	values[5] = Int64GetDatum(p->hold_id);
	values[6] = Int64GetDatum(p->refund_of);
	memset(nulls, ' ', 7);
	nulls[5] = p->hold_id ? ' ' : 'n';
	nulls[6] = p->refund_of ? ' ' : 'n';
}

/*
 * Whether a public call refuses the platform's own account as the debit
 * (debit true) or credit account of p: every account its caller named,
 * that is all but the funding account a deposit draws on or a withdrawal
 * pays into
 */
static bool
refuses_platform(const EpPosting *p, bool debit)
{
	return p->public_call && strcmp(p->kind, debit ? "deposit" : "withdraw") != 0;
}

/*
 * The slow path of a posting, taken when the one-statement posting did
 * not post: lock both accounts in ascending id order, count in each row
 * the committed credits waiting for it (ep_apply_credits), so that the
 * decision counts every credit that has arrived, and for each say
 * precisely why it cannot take its leg (missing, currency, funding
 * account, the platform's account named by a public call, a system account
 * debited by a public call's caller who is not escrow_admin, funds, bound).
 * Both legs are then applied to their rows under the locks.
 */
static void
post_slow(const EpPosting *p, bool funding)
{
	static EpPlan apply = EP_PLAN("UPDATE escrow.accounts SET posted = posted + $2, held = held - $3 WHERE id = $1",
		INT8OID, INT8OID, INT8OID);
	static EpPlan insert = EP_PLAN("WITH t AS ("
		"  INSERT INTO escrow.transfers "
		"    (id, kind, debit_account, credit_account, amount, hold_id, refund_of) "
		"  VALUES ($1, $2, $3, $4, $5, $6, $7)) "
		"INSERT INTO escrow.unfolded (account, transfer_id, amount, applied) "
		"VALUES ($3, $1, -$5, true), ($4, $1, $5, true)",
		INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID);
	int64		order[2];
	char	   *currency = NULL;
	Datum		values[7];
	char		nulls[7];
	int			i;

	order[0] = Min(p->debit, p->credit);
	order[1] = Max(p->debit, p->credit);
	for (i = 0; i < 2; i++)
	{
		EpAccount	a;
		bool		debit = order[i] == p->debit;
		int64		delta = debit ? -p->amount : p->amount;
		int64		unhold = debit ? p->debit_unhold : 0;

		ep_fetch_account(order[i], currency, funding, !refuses_platform(p, debit), true, &a);
		if (debit && refuses_platform(p, true))
			check_system_debit(&a);
		currency = a.currency;
		ep_apply_credits(a.id, &a.posted);
		if (debit)
			check_funds(&a, ep_sub(a.posted, p->amount, "account balance"),
						ep_sub(a.held, unhold, "held amount"), p->amount);
		ep_check_balance(a.id, strcmp(a.kind, "system") == 0, a.posted, delta);
		values[0] = Int64GetDatum(a.id);
		values[1] = Int64GetDatum(delta);
		values[2] = Int64GetDatum(unhold);
		ep_exec(&apply, values, NULL, 0);
	}

	transfer_params(p, values, nulls);
	ep_exec(&insert, values, nulls, 0);
}

/* Does owner name anybody? */
bool
ep_owned(const EpOwner *owner)
{
	return owner->deal || owner->receivable || owner->terminal || owner->batch;
}

/* Record who transfer id belongs to (escrow.transfer_owners) */
static void
record_owner(int64 id, const EpOwner *owner)
{
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.transfer_owners (transfer_id, deal, receivable, terminal, batch) "
		"VALUES ($1, nullif($2, 0), nullif($3, 0), $4, nullif($5, 0))",
		INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', owner->terminal ? ' ' : 'n', ' '};

	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(owner->deal);
	values[2] = Int64GetDatum(owner->receivable);
	values[3] = owner->terminal ? CStringGetTextDatum(owner->terminal) : (Datum) 0;
	values[4] = Int64GetDatum(owner->batch);
	ep_exec(&insert, values, nulls, 0);
}

/*
 * The direct writes of the ledger (direct.c): the reservation of a hold
 * and the posting of a transfer written straight into the tables, with
 * the qualifications of their statements (EP_RESERVE_SQL, ep_post_transfer()'s
 * post) in C.  Each says 0 (write nothing, let the slow path decide)
 * wherever its statement would write no row, and also on a NULL or an
 * overflow the statement would have raised on: the slow path is the one
 * that decides and says why, so a 0 costs time only.
 */

/* The columns of escrow.accounts the direct writes read */
typedef struct EpAccountCols
{
	AttrNumber	atts[8];		/* in the order of account_columns[] */
} EpAccountCols;

static const char *const account_columns[] = {"id", "owner", "kind", "currency", "posted", "held",
"credit_limit", "platform"};
static const Oid account_types[] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID,
BOOLOID};

#define EP_COL_POSTED 4
#define EP_COL_HELD 5

/* An account row as the direct writes read it */
typedef struct EpAccountRow
{
	Datum		currency;
	bool		funding;		/* owner = EP_FUNDING_OWNER */
	bool		system;			/* kind = 'system' */
	bool		platform;
	int64		posted;
	int64		held;
	int64		limit;
} EpAccountRow;

/* Is text datum d the string s? */
static bool
text_is(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);

	return VARSIZE_ANY_EXHDR(t) == strlen(s) && memcmp(VARDATA_ANY(t), s, strlen(s)) == 0;
}

/* Are text datums a and b equal (bytewise: a deterministic collation)? */
static bool
text_equal(Datum a, Datum b)
{
	text	   *x = DatumGetTextPP(a);
	text	   *y = DatumGetTextPP(b);

	return VARSIZE_ANY_EXHDR(x) == VARSIZE_ANY_EXHDR(y) &&
		memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) == 0;
}

/*
 * The columns of escrow.accounts (opened for a direct update) the direct
 * writes read, and its key on id; false when they are not all there as
 * this module creates them
 */
static bool
account_cols(EpDirect *accounts, EpAccountCols *cols)
{
	return ep_direct_columns(accounts, lengthof(account_columns), account_columns,
							 account_types, cols->atts) &&
		accounts->pkey->rd_index->indkey.values[0] == cols->atts[0];
}

/* Read account row slot into *a; false when a field is NULL */
static bool
account_row(TupleTableSlot *slot, const EpAccountCols *cols, EpAccountRow *a)
{
	Datum		v[8];
	bool		isnull;
	int			i;

	for (i = 1; i < 8; i++)
	{
		v[i] = slot_getattr(slot, cols->atts[i], &isnull);
		if (isnull)
			return false;
	}
	a->funding = text_is(v[1], EP_FUNDING_OWNER);
	a->system = text_is(v[2], "system");
	a->currency = v[3];
	a->posted = DatumGetInt64(v[4]);
	a->held = DatumGetInt64(v[5]);
	a->limit = DatumGetInt64(v[6]);
	a->platform = DatumGetBool(v[7]);
	return true;
}

/*
 * What a direct write decides on its debit row with: the amount reserved
 * on it (a hold) or taken from it (a posting, giving up unhold of what it
 * holds), and for a hold whether a public call named the accounts and the
 * credit row as the statement's snapshot saw it
 */
typedef struct EpDebit
{
	int64		amount;
	int64		unhold;
	bool		public_call;
	EpAccountRow credit;
	EpAccountCols cols;
} EpDebit;

/*
 * EP_RESERVE_SQL's qualification on a (version of the) debit row, the
 * credit row being r's: same currency, the debit no funding account, for a
 * public call neither account the platform's nor the debit a system
 * account, held stays within its bound and the folded funds cover it.
 * values[0] (held) becomes held + amount.  (An EpDirectSet.)
 */
static bool
reserve_qualifies(TupleTableSlot *slot, void *arg, Datum *values, bool *isnull)
{
	EpDebit    *r = arg;
	EpAccountRow a;
	int64		need;

	if (!account_row(slot, &r->cols, &a) || !text_equal(a.currency, r->credit.currency) ||
		a.funding)
		return false;
	if (r->public_call && (a.platform || r->credit.platform || a.system))
		return false;
	if (a.held > EP_MAX_BALANCE - r->amount)
		return false;
	/* posted >= (held + amount) - credit_limit */
	if (!a.system &&
		(pg_sub_s64_overflow(a.held + r->amount, a.limit, &need) || a.posted < need))
		return false;
	values[0] = Int64GetDatum(a.held + r->amount);
	return true;
}

/*
 * The reservation of EP_RESERVE_SQL written directly into escrow.accounts
 * (accounts, opened by ep_direct_open() for CMD_UPDATE), with the same
 * snapshot, qualification, row lock and handling of concurrent changes
 * (ep_direct_update()): 1 when it reserved amount on debit for credit, 0
 * when the statement would have updated no row (the caller's slow path
 * decides and says why), -1 when the table's columns are not the ones it
 * reads (the caller runs the statement).
 */
int
ep_reserve_direct(EpDirect *accounts, int64 debit, int64 credit, int64 amount,
				  bool public_call)
{
	EpDebit		r;
	TupleTableSlot *c;
	TupleTableSlot *a;

	if (!account_cols(accounts, &r.cols))
		return -1;
	r.amount = amount;
	r.public_call = public_call;
	if (debit == credit || (c = ep_direct_fetch(accounts, credit)) == NULL ||
		!account_row(c, &r.cols, &r.credit) || r.credit.funding ||
		(a = ep_direct_fetch(accounts, debit)) == NULL)
		return 0;
	return ep_direct_update(accounts, a, 1, &r.cols.atts[EP_COL_HELD], reserve_qualifies, &r) ?
		1 : 0;
}

/*
 * The qualification of the debit row's update in ep_post_transfer()'s
 * post (du) on a (version of the) row: the balance stays within its bound
 * and, but for a system account, the folded funds cover the amount once
 * unhold is given up.  values[] (posted, held) become posted - amount and
 * held - unhold.  (An EpDirectSet.)
 */
static bool
debit_qualifies(TupleTableSlot *slot, void *arg, Datum *values, bool *isnull)
{
	EpDebit    *b = arg;
	EpAccountRow a;
	int64		posted;
	int64		held;
	int64		need;

	if (!account_row(slot, &b->cols, &a) ||
		a.posted < b->amount - (a.system ? EP_MAX_SYSTEM_BALANCE : EP_MAX_BALANCE) ||
		pg_sub_s64_overflow(a.posted, b->amount, &posted) ||
		pg_sub_s64_overflow(a.held, b->unhold, &held))
		return false;
	if (!a.system && (pg_sub_s64_overflow(held, a.limit, &need) || posted < need))
		return false;
	values[0] = Int64GetDatum(posted);
	values[1] = Int64GetDatum(held);
	return true;
}

/*
 * ep_post_transfer()'s post written directly into the tables, tables
 * opened: 1 when it posted p, 0 when post would have posted nothing,
 * -1 when a table's columns are not the ones it writes.  funding: p is a
 * deposit or withdrawal.
 */
static int
post_rows(const EpPosting *p, bool funding, EpDirect *accounts, EpDirect *transfers,
		  EpDirect *unfolded)
{
	static const char *const transfer_columns[] = {"id", "kind", "debit_account",
	"credit_account", "amount", "hold_id", "refund_of"};
	static const Oid transfer_types[] = {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID};
	static const char *const leg_columns[] = {"account", "transfer_id", "amount", "applied"};
	static const Oid leg_types[] = {INT8OID, INT8OID, INT8OID, BOOLOID};
	AttrNumber	tatts[lengthof(transfer_columns)];
	AttrNumber	latts[lengthof(leg_columns)];
	EpDebit		b;
	EpAccountRow d;
	EpAccountRow c;
	TupleTableSlot *ds;
	TupleTableSlot *cs;
	bool		free;
	Datum		values[7];
	char		nulls[7];
	bool		isnull[7];
	int			i;

	if (!account_cols(accounts, &b.cols) ||
		!ep_direct_columns(transfers, lengthof(transfer_columns), transfer_columns,
						   transfer_types, tatts) ||
		!ep_direct_columns(unfolded, lengthof(leg_columns), leg_columns, leg_types, latts))
		return -1;

	/* d and c: the accounts; p: both fit, the credit far from its bound */
	if ((ds = ep_direct_fetch(accounts, p->debit)) == NULL || !account_row(ds, &b.cols, &d) ||
		(!funding && d.funding) || (refuses_platform(p, true) && (d.platform || d.system)) ||
		(cs = ep_direct_fetch(accounts, p->credit)) == NULL || !account_row(cs, &b.cols, &c) ||
		(!funding && c.funding) || (refuses_platform(p, false) && c.platform) ||
		!text_equal(c.currency, d.currency) || p->amount > EP_UNCHECKED_MAX ||
		c.posted > (c.system ? EP_MAX_SYSTEM_BALANCE : EP_MAX_BALANCE) / 2)
		return 0;
	/* a system account's debit giving up no hold, far from its bound: no row */
	free = d.system && p->debit_unhold == 0 && d.posted >= -EP_MAX_SYSTEM_BALANCE / 2;
	b.amount = p->amount;
	b.unhold = p->debit_unhold;
	if (!free &&
		!ep_direct_update(accounts, ds, 2, &b.cols.atts[EP_COL_POSTED], debit_qualifies, &b))
		return 0;

	transfer_params(p, values, nulls);
	for (i = 0; i < lengthof(transfer_columns); i++)
		isnull[i] = nulls[i] == 'n';
	ep_direct_insert(transfers, lengthof(transfer_columns), tatts, values, isnull);

	memset(isnull, false, sizeof(isnull));
	values[0] = Int64GetDatum(p->debit);
	values[1] = Int64GetDatum(p->id);
	values[2] = Int64GetDatum(-p->amount);
	values[3] = BoolGetDatum(!free);
	ep_direct_insert(unfolded, lengthof(leg_columns), latts, values, isnull);
	values[0] = Int64GetDatum(p->credit);
	values[2] = Int64GetDatum(p->amount);
	values[3] = BoolGetDatum(false);
	ep_direct_insert(unfolded, lengthof(leg_columns), latts, values, isnull);
	return 1;
}

/*
 * ep_post_transfer()'s post written directly into the tables (direct.c),
 * opened in the order the statement locks them: 1 when it posted p, 0
 * when post would have posted nothing (post_slow() decides), -1 when a
 * table is not the plain one this module creates (the caller runs post).
 */
static int
post_direct(const EpPosting *p, bool funding)
{
	EpDirect	unfolded;
	EpDirect	accounts;
	EpDirect	transfers;
	int			result = -1;

	ep_direct_begin();
	if (ep_direct_open(&unfolded, "unfolded", CMD_INSERT))
	{
		if (ep_direct_open(&accounts, "accounts", CMD_UPDATE))
		{
			if (ep_direct_open(&transfers, "transfers", CMD_INSERT))
			{
				result = post_rows(p, funding, &accounts, &transfers, &unfolded);
				ep_direct_close(&transfers);
			}
			ep_direct_close(&accounts);
		}
		ep_direct_close(&unfolded);
	}
	ep_direct_end();
	return result;
}

/*
 * Post a transfer in one statement, post (or its rows written straight
 * into the tables with the same qualification, post_direct(), where
 * direct.c can prove that equivalent): check both accounts (they exist, share
 * a currency, a funding account only for deposits and withdrawals, no
 * other account of the platform's own named by a public call, and no
 * system account debited by one: post_slow() lets escrow_admin), apply
 * the debit to its row when it needs a funds check (the check is in the
 * UPDATE's WHERE clause), and append the transfer and its two legs to the
 * journal.  The credit, and a system account's debit, touch no account
 * row: they wait in escrow.unfolded until folded, so credits to a busy
 * account never queue.  Anything the statement does not post (refused
 * funds, a bound within reach, an amount too large for an unchecked leg,
 * bad accounts) goes to post_slow(), which counts the committed credits, decides under the locks
 * and says precisely why.  Raises (changing nothing, as the transaction
 * aborts) on any refusal.  An owned posting also records its owner.
 */
void
ep_post_transfer(const EpPosting *p)
{
	static EpPlan post = EP_PLAN("WITH d AS (SELECT id, currency, kind, posted FROM escrow.accounts "
		"            WHERE id = $3 AND ($9 OR owner <> '" EP_FUNDING_OWNER "') "
		"              AND NOT ($10 AND (platform OR kind = 'system'))), "
		"c AS (SELECT currency, kind, posted FROM escrow.accounts "
		"       WHERE id = $4 AND ($9 OR owner <> '" EP_FUNDING_OWNER "') "
		"         AND NOT ($11 AND platform)), "
		/* d_free: a system account's debit that gives up no hold, far from its bound */
		"p AS (SELECT d.id, d.kind = 'system' AND $8 = 0 "
		"                   AND d.posted >= -" EP_MAX_SYSTEM_BALANCE_SQL " / 2 AS d_free "
		"        FROM d, c "
		"       WHERE c.currency = d.currency AND $5 <= " EP_UNCHECKED_MAX_SQL
		"         AND c.posted <= (CASE WHEN c.kind = 'system' THEN " EP_MAX_SYSTEM_BALANCE_SQL
		"                          ELSE " EP_MAX_BALANCE_SQL " END) / 2), "
		"du AS (UPDATE escrow.accounts a SET posted = a.posted - $5, held = a.held - $8 "
		"         FROM p "
		"        WHERE a.id = p.id AND NOT p.d_free "
		"          AND a.posted >= $5 - (CASE WHEN a.kind = 'system' THEN "
		EP_MAX_SYSTEM_BALANCE_SQL " ELSE " EP_MAX_BALANCE_SQL " END) "
		"          AND (a.kind = 'system' OR a.posted - $5 >= (a.held - $8) - a.credit_limit) "
		"       RETURNING a.id), "
		"ok AS (SELECT NOT p.d_free AS applied FROM p "
		"        WHERE p.d_free OR EXISTS (SELECT 1 FROM du)), "
		"t AS (INSERT INTO escrow.transfers "
		"        (id, kind, debit_account, credit_account, amount, hold_id, refund_of) "
		"      SELECT $1, $2, $3, $4, $5, $6, $7 FROM ok RETURNING id) "
		"INSERT INTO escrow.unfolded (account, transfer_id, amount, applied) "
		"SELECT $3, t.id, -$5, ok.applied FROM t, ok "
		"UNION ALL SELECT $4, t.id, $5, false FROM t",
		INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID,
		BOOLOID, BOOLOID);
	bool		funding = strcmp(p->kind, "deposit") == 0 ||
		strcmp(p->kind, "withdraw") == 0;
	Datum		values[11];
	char		nulls[11];

	if (p->debit == p->credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) p->debit)));

	transfer_params(p, values, nulls);
	memset(nulls + 7, ' ', 4);
	values[7] = Int64GetDatum(p->debit_unhold);
	values[8] = BoolGetDatum(funding);
	values[9] = BoolGetDatum(refuses_platform(p, true));
	values[10] = BoolGetDatum(refuses_platform(p, false));
	/*
	 * On a Citus cluster the one statement over two accounts cannot be
	 * routed: Citus would run its debit UPDATE on every shard of accounts,
	 * a multi-shard modification that serialises with every other one.
	 * post_slow() touches one account per statement.
	 */
	if (ep_distributed())
		post_slow(p, funding);
	else
	{
		int			posted = post_direct(p, funding);

		if (posted == 0 || (posted == -1 && ep_exec(&post, values, nulls, 0) != 2))
			post_slow(p, funding);
	}
	if (ep_owned(&p->owner))
		record_owner(p->id, &p->owner);
}

/*
 * Raise the precise error for a hold from debit to credit whose accounts
 * are unusable: the same account, missing, a funding account, the
 * platform's own account named by a public call, a system debit account
 * named by a caller who is not escrow_admin, or in different currencies.
 * Returns when they are fine.
 */
void
ep_check_hold_accounts(int64 debit, int64 credit, bool public_call)
{
	EpAccount	c;
	EpAccount	a;

	if (debit == credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) debit)));
	ep_fetch_account(credit, NULL, false, !public_call, false, &c);
	ep_fetch_account(debit, c.currency, false, !public_call, false, &a);
	if (public_call)
		check_system_debit(&a);
}

/*
 * held += amount on debit, refused unless available covers it.  The
 * guarded update covers the funds already folded; otherwise the decision
 * is taken under the row lock after counting the committed credits.  The caller has checked the
 * accounts (ep_check_hold_accounts).
 */
void
ep_add_held(int64 debit, int64 amount)
{
	static EpPlan guarded = EP_PLAN("UPDATE escrow.accounts a SET held = a.held + $2 "
		" WHERE a.id = $1 AND " EP_HELD_GUARD_SQL("$2"), INT8OID, INT8OID);
	static EpPlan unguarded = EP_PLAN("UPDATE escrow.accounts SET held = held + $2 WHERE id = $1",
		INT8OID, INT8OID);
	Datum		values[2];
	EpAccount	a;

	values[0] = Int64GetDatum(debit);
	values[1] = Int64GetDatum(amount);
	if (ep_exec(&guarded, values, NULL, 0) == 1)
		return;

	/* refused, or credits not counted yet: decide under the row lock */
	ep_fetch_account(debit, NULL, false, true, true, &a);
	ep_apply_credits(a.id, &a.posted);
	ep_check_held(debit, a.held, amount);
	check_funds(&a, a.posted, ep_add(a.held, amount, "held amount"), amount);
	ep_exec(&unguarded, values, NULL, 0);
}

/* Give up amount of what account holds */
void
ep_unhold(int64 account, int64 amount)
{
	static EpPlan update = EP_PLAN("UPDATE escrow.accounts SET held = held - $2 WHERE id = $1",
		INT8OID, INT8OID);
	Datum		values[2];

	values[0] = Int64GetDatum(account);
	values[1] = Int64GetDatum(amount);
	ep_exec(&update, values, NULL, 0);
}

/*
 * A plain posted transfer (no idempotency key) belonging to owner (NULL:
 * nobody); returns its id
 */
int64
ep_transfer(int64 debit, int64 credit, int64 amount, const EpOwner *owner)
{
	EpPosting	p = {0};

	if (owner)
		p.owner = *owner;

	p.kind = "transfer";
	p.id = ep_next_id("transfer_id_seq");
	p.debit = debit;
	p.credit = credit;
	p.amount = amount;
	ep_post_transfer(&p);
	return p.id;
}

/* qsort comparator of int64s, or of arrays of them by the first */
int
ep_cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

/*
 * Sum n (account, amount) pairs, given in any order, per account: sorted
 * by account (the order accounts are locked in), the accounts whose total
 * is positive go to accounts[] and their totals to totals[] (both of at least
 * n elements); returns how many.  what names a total if it overflows.
 */
static int
totals_per_account(int64 *pairs, int n, const char *what, int64 *accounts, int64 *totals)
{
	int			i;
	int			k = 0;

	qsort(pairs, n, sizeof(int64) * 2, ep_cmp_int64);
	for (i = 0; i < n;)
	{
		int64		account = pairs[2 * i];
		int64		total = 0;

		for (; i < n && pairs[2 * i] == account; i++)
			total = ep_add(total, pairs[2 * i + 1], what);
		if (total <= 0)
			continue;
		accounts[k] = account;
		totals[k++] = total;
	}
	return k;
}

/*
 * Apply n (account, amount) pairs, given in any order, once per account:
 * in ascending account order, each account's total, when it is positive,
 * goes to apply(account, total); what names the total if it overflows.
 */
void
ep_apply_per_account(int64 *pairs, int n, const char *what,
					 void (*apply) (int64 account, int64 total))
{
	int64	   *accounts = palloc(sizeof(int64) * n);
	int64	   *totals = palloc(sizeof(int64) * n);
	int			k = totals_per_account(pairs, n, what, accounts, totals);
	int			i;

	for (i = 0; i < k; i++)
		apply(accounts[i], totals[i]);
}

/*
 * held += the sum of the amounts of n (account, amount) pairs, given in
 * any order, on each account named, as ep_add_held() would add them one
 * account at a time in ascending account order, but in two statements
 * whatever the number of accounts: the rows are locked in ascending id
 * order first (so that concurrent batches never deadlock), then one
 * guarded UPDATE reserves on every row whose folded funds cover its total.
 * Each account it leaves (refused, or credits not counted yet) goes
 * through ep_add_held(), which decides under its row lock and says
 * precisely why.  A table CHECK costs PostgreSQL the same per statement
 * whatever the number of rows (bench/README.md), so a batch pays it twice
 * instead of once per account.  On a Citus cluster an account at a time:
 * the join would modify every shard of accounts.
 */
void
ep_add_held_per_account(int64 *pairs, int n)
{
	static EpPlan lock = EP_PLAN("SELECT id FROM escrow.accounts WHERE id = ANY ($1) "
		" ORDER BY id FOR NO KEY UPDATE", INT8ARRAYOID);
	static EpPlan reserve = EP_PLAN("UPDATE escrow.accounts a SET held = a.held + u.amount "
		"  FROM unnest($1::bigint[], $2::bigint[]) AS u(id, amount) "
		" WHERE a.id = u.id AND " EP_HELD_GUARD_SQL("u.amount")
		" RETURNING a.id", INT8ARRAYOID, INT8ARRAYOID);
	int64	   *accounts = palloc(sizeof(int64) * n);
	int64	   *totals = palloc(sizeof(int64) * n);
	int			k = totals_per_account(pairs, n, "held amount", accounts, totals);
	int64	   *reserved;
	uint64		done;
	uint64		j;
	Datum		values[2];
	int			i;

	if (k == 1 || ep_distributed())
	{
		for (i = 0; i < k; i++)
			ep_add_held(accounts[i], totals[i]);
		return;
	}
	values[0] = ep_int64_array(accounts, k);
	values[1] = ep_int64_array(totals, k);
	ep_exec(&lock, values, NULL, 0);
	done = ep_exec(&reserve, values, NULL, 0);
	if (done == (uint64) k)
		return;

	/* the accounts it did not reserve on, in ascending order */
	reserved = palloc(sizeof(int64) * (done + 1));
	for (j = 0; j < done; j++)
		reserved[j] = ep_int64(j, 1);
	qsort(reserved, done, sizeof(int64), ep_cmp_int64);
	for (i = 0, j = 0; i < k; i++)
	{
		while (j < done && reserved[j] < accounts[i])
			j++;
		if (j < done && reserved[j] == accounts[i])
			continue;
		ep_add_held(accounts[i], totals[i]);
	}
}
