/*-------------------------------------------------------------------------
 *
 * terminal.c
 *	  Cash terminals with automatic change.  A terminal holds a
 *	  per-denomination cash inventory in one currency; its cash account in
 *	  the ledger moves with the inventory: loading and unloading cash are a
 *	  deposit and a withdrawal, a cash payment deposits what stays in the
 *	  machine.
 *
 *	  escrow.pay_cash() takes the notes and coins tendered for a deal,
 *	  computes change from what the machine holds after taking them
 *	  (change.c: exact, fewest pieces, correct where greedy fails), and
 *	  either reserves the deal (pay now: a hold on the terminal's cash
 *	  account for the merchant) or settles a deal that was served first
 *	  (pay later).  No exact change, too little cash, an unknown
 *	  denomination: refused, and nothing changes.
 *
 *-------------------------------------------------------------------------
 */
#include "terminal.h"

#include "change.h"

#include "deal.h"
#include "deal_steps.h"
#include "lifecycle.h"
#include "model.h"
#include "party.h"
#include "fmgr.h"
#include "funcapi.h"
#include "hold.h"
#include "funding.h"
#include "ledger.h"
#include "lib/stringinfo.h"
#include "money.h"
#include "plan.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_register_terminal);
PG_FUNCTION_INFO_V1(escrow_load_terminal_cash);
PG_FUNCTION_INFO_V1(escrow_unload_terminal_cash);
PG_FUNCTION_INFO_V1(escrow_pay_cash);
PG_FUNCTION_INFO_V1(escrow_serve_first);

/* A terminal's inventory, locked FOR UPDATE, in ascending denomination */
typedef struct EpTill
{
	char	   *terminal;
	char	   *currency;
	int64		cash_account;
	int			n;
	int64	   *denom;
	int32	   *pieces;
} EpTill;

static void
lock_till(const char *terminal, EpTill *t)
{
	static EpPlan head = EP_PLAN("SELECT currency, cash_account FROM escrow.terminals WHERE terminal_no = $1 FOR UPDATE",
		TEXTOID);
	static EpPlan cash = EP_PLAN("SELECT denomination, pieces FROM escrow.terminal_cash "
		" WHERE terminal_no = $1 ORDER BY denomination", TEXTOID);
	Datum		values[1];
	int			i;

	values[0] = CStringGetTextDatum(terminal);
	ep_exec_one(&head, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("terminal \"%s\" does not exist", terminal));
	t->terminal = pstrdup(terminal);
	t->currency = ep_text(0, 1);
	t->cash_account = ep_int64(0, 2);
	t->n = (int) ep_exec(&cash, values, NULL, 0);
	t->denom = palloc(sizeof(int64) * Max(t->n, 1));
	t->pieces = palloc(sizeof(int32) * Max(t->n, 1));
	for (i = 0; i < t->n; i++)
	{
		bool		isnull;

		t->denom[i] = ep_int64(i, 1);
		t->pieces[i] = DatumGetInt32(ep_datum(i, 2, &isnull));
	}
}

/* Index of a denomination in the till (22023 when it takes no such piece) */
static int
till_index(const EpTill *t, int64 denomination)
{
	int			i;

	for (i = 0; i < t->n; i++)
		if (t->denom[i] == denomination)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("terminal \"%s\" does not take pieces of %lld", t->terminal,
					(long long) denomination),
			 errdetail("It takes %d denominations of %s.", t->n, t->currency)));
	pg_unreachable();
}

static void
save_till(const EpTill *t)
{
	static EpPlan update = EP_PLAN("UPDATE escrow.terminal_cash SET pieces = $3 "
		" WHERE terminal_no = $1 AND denomination = $2 AND pieces <> $3",
		TEXTOID, INT8OID, INT4OID);
	Datum		values[3];
	int			i;

	values[0] = CStringGetTextDatum(t->terminal);
	for (i = 0; i < t->n; i++)
	{
		values[1] = Int64GetDatum(t->denom[i]);
		values[2] = Int32GetDatum(t->pieces[i]);
		ep_exec(&update, values, NULL, 0);
	}
}

/* A bigint[] argument as a C array; NULL elements refused */
static int64 *
int64_elems(FunctionCallInfo fcinfo, int argno, const char *what, int *n)
{
	Datum	   *d;
	bool	   *nulls;
	int64	   *out;
	int			i;

	ep_arg_required(fcinfo, argno, what);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), INT8OID, 8, FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &d, &nulls, n);
	if (*n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if (strcmp(what, "denominations") == 0 && *n > EP_MAX_DENOMINATIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a terminal takes at most %d denominations", EP_MAX_DENOMINATIONS),
				 errdetail("Got %d.", *n)));
	out = palloc(sizeof(int64) * *n);
	for (i = 0; i < *n; i++)
	{
		if (nulls[i] || DatumGetInt64(d[i]) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must hold positive values", what),
					 errdetail("Element %d.", i + 1)));
		out[i] = DatumGetInt64(d[i]);
		ep_check_amount(out[i], psprintf("element %d of %s", i + 1, what));
	}
	return out;
}

/*
 * Refuse (22003) a till whose pieces are worth more than EP_MAX_BALANCE,
 * so that escrow.terminal_inventory's sums stay within bigint.
 */
static void
check_till_value(const EpTill *t)
{
	int64		value = 0;
	int			i;

	for (i = 0; i < t->n; i++)
	{
		if (t->pieces[i] > 0 && t->denom[i] > (EP_MAX_BALANCE - value) / t->pieces[i])
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("terminal \"%s\" would hold more cash than escrowpay counts",
							t->terminal),
					 errdetail("%d pieces of %lld on top of %lld; the bound of a terminal's cash is %lld.",
							   t->pieces[i], (long long) t->denom[i], (long long) value,
							   (long long) EP_MAX_BALANCE)));
		value += t->denom[i] * t->pieces[i];
	}
}

/*
 * Denominations and counts arguments applied to a till: the value moved;
 * pieces are added (sign 1) or taken out (sign -1, refused beyond what the
 * terminal holds).
 */
static int64
move_pieces(FunctionCallInfo fcinfo, EpTill *t, int sign)
{
	int			n,
				m,
				i;
	int64	   *denoms = int64_elems(fcinfo, 1, "denominations", &n);
	int64	   *counts = int64_elems(fcinfo, 2, "counts", &m);
	int64		value = 0;

	if (n != m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("denominations and counts must have the same length")));
	for (i = 0; i < n; i++)
	{
		int			k = till_index(t, denoms[i]);
		int64		pieces = t->pieces[k] + sign * counts[i];

		if (pieces < 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
					 errmsg("terminal \"%s\" holds %d pieces of %lld", t->terminal,
							t->pieces[k], (long long) denoms[i]),
					 errdetail("Requested %lld.", (long long) counts[i])));
		if (pieces > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("terminal \"%s\" cannot hold that many pieces", t->terminal)));
		t->pieces[k] = (int32) pieces;
		value = ep_add(value, ep_mul(denoms[i], counts[i], "cash value"), "cash value");
	}
	ep_check_amount(value, "the cash value moved");
	if (sign > 0)
		check_till_value(t);
	return value;
}

/*
 * escrow.register_terminal(terminal_no text, name text, cash_account bigint,
 *							denominations bigint[]) RETURNS text
 *
 * A terminal taking these denominations (minor units) of its cash
 * account's currency, empty at first.
 */
Datum
escrow_register_terminal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan account = EP_PLAN("SELECT currency FROM escrow.accounts a WHERE id = $1 AND kind = 'deposit' "
		"   AND held = 0 "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.entries e WHERE e.account = $1) "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.unfolded u WHERE u.account = $1) "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.terminals WHERE cash_account = $1) "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.parties p "
		"                    WHERE $1 IN (p.account, p.settlement_account, p.fee_account)) "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.account_owners o WHERE o.account = $1) "
		"   AND NOT EXISTS (SELECT 1 FROM escrow.settlement_links l WHERE l.account = $1)", INT8OID);
	static EpPlan insert = EP_PLAN("WITH t AS (INSERT INTO escrow.terminals (terminal_no, name, currency, cash_account) "
		"           VALUES ($1, $2, $3, $4)) "
		"INSERT INTO escrow.terminal_cash (terminal_no, denomination, pieces) "
		"SELECT DISTINCT $1, d, 0 FROM unnest($5::bigint[]) d",
		TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8ARRAYOID);
	static EpPlan exists = EP_PLAN("SELECT 1 FROM escrow.terminals WHERE terminal_no = $1",
		TEXTOID);
	/* the account becomes the platform's: the public calls refuse it */
	static EpPlan platform = EP_PLAN("UPDATE escrow.accounts SET platform = true WHERE id = $1",
		INT8OID);
	Datum		values[5];
	int			n;
	char	   *terminal;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("terminal_no and name must not be NULL")));
	terminal = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (terminal[0] == '\0' || strlen(terminal) > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("terminal_no must be 1 to 64 bytes long")));
	(void) int64_elems(fcinfo, 3, "denominations", &n);

	SPI_connect();
	values[0] = PG_GETARG_DATUM(0);
	if (ep_exec(&exists, values, NULL, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("terminal \"%s\" is already registered", terminal)));
	values[0] = Int64GetDatum(ep_arg_id(fcinfo, 2, "cash_account"));
	ep_exec_one(&account, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("cash_account %lld is not a new deposit account of its own",
					(long long) PG_GETARG_INT64(2)),
			errdetail("It must be a deposit account with no entries, owned or used by no party or other terminal, not linked for settlement."),
			errhint("Open a new deposit account for each terminal."));
	values[2] = CStringGetTextDatum(ep_text(0, 1));
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);
	values[3] = Int64GetDatum(PG_GETARG_INT64(2));
	values[4] = PG_GETARG_DATUM(3);
	ep_exec(&insert, values, NULL, 0);
	ep_exec(&platform, &values[3], NULL, 0);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(terminal));
}

/* What the terminal's cash account can give up: posted less held */
static int64
cash_available(int64 cash_account)
{
	static EpPlan fetch = EP_PLAN("SELECT available FROM escrow.balances WHERE account = $1",
		INT8OID);
	Datum		values[1];

	values[0] = Int64GetDatum(cash_account);
	ep_exec(&fetch, values, NULL, 1);
	return Max(ep_int64(0, 1), 0);
}

/* Shared body of load and unload: move pieces, then the money */
static Datum
refill(FunctionCallInfo fcinfo, int sign)
{
	static EpPlan beyond_float = EP_PLAN("UPDATE escrow.terminals SET unloaded_beyond_float = unloaded_beyond_float + $2 "
		" WHERE terminal_no = $1", TEXTOID, INT8OID);
	EpTill		t;
	int64		value;
	EpOwner		owner = {0};	/* the terminal's cash moves only through it */

	ep_arg_required(fcinfo, 0, "terminal_no");
	SPI_connect();
	lock_till(text_to_cstring(PG_GETARG_TEXT_PP(0)), &t);
	value = move_pieces(fcinfo, &t, sign);
	save_till(&t);
	owner.terminal = t.terminal;
	if (sign > 0)
		ep_post_funding("deposit", t.cash_account, value, &owner);
	else
	{
		/*
		 * Cash paid out to merchants stays in the machine and backs their
		 * balances; unloading it moves no e-money.  Only the float still
		 * on the cash account (not held for deals) leaves the ledger.
		 */
		int64		float_part = Min(value, cash_available(t.cash_account));

		if (float_part > 0)
			ep_post_funding("withdraw", t.cash_account, float_part, &owner);
		/* what moved no e-money, so that verify_ledger() can count the cash */
		if (value > float_part)
		{
			Datum		values[2];

			values[0] = CStringGetTextDatum(t.terminal);
			values[1] = Int64GetDatum(value - float_part);
			ep_exec(&beyond_float, values, NULL, 0);
		}
	}
	SPI_finish();
	PG_RETURN_INT64(value);
}

/*
 * escrow.load_terminal_cash(terminal_no text, denominations bigint[],
 *							 counts bigint[]) RETURNS bigint
 *
 * The operator fills the terminal: pieces added, their value deposited to
 * its cash account.  Returns the value.
 */
Datum
escrow_load_terminal_cash(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	return refill(fcinfo, 1);
}

/*
 * escrow.unload_terminal_cash(terminal_no text, denominations bigint[],
 *							   counts bigint[]) RETURNS bigint
 *
 * The operator empties the terminal: refused beyond the pieces it holds.
 * The float still on its cash account (not held for deals) is withdrawn;
 * cash already paid out to merchants backs their balances and moves no
 * e-money.  Returns the value of the pieces taken out.
 */
Datum
escrow_unload_terminal_cash(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	return refill(fcinfo, -1);
}

/*
 * escrow.pay_cash(terminal_no text, deal bigint, tendered bigint[])
 *	 RETURNS TABLE(denomination bigint, pieces integer)
 *
 * The buyer pays a deal in cash at a terminal: tendered lists each piece
 * put in.  Returns the change handed out (fewest pieces).  Pay now (the
 * deal is identity_confirmed): the amount is held in the terminal's cash
 * account for the merchant.  Pay later (the deal was served first): the
 * deal is settled at once.
 */
Datum
escrow_pay_cash(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan set_payer = EP_PLAN("UPDATE escrow.deals SET debit_account = $2, payment_method = 'cash' WHERE id = $1",
		INT8OID, INT8OID);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *terminal;
	int64		deal_id = ep_arg_id(fcinfo, 1, "deal");
	int			n,
				i;
	int64	   *tendered;
	int64		total = 0;
	int64		change;
	int32	   *use;
	EpTill		t;
	EpDeal		d;
	EpStep		step;
	Datum		values[2];
	StringInfoData p;
	char	   *actor;
	bool		later;

	ep_arg_required(fcinfo, 0, "terminal_no");
	terminal = text_to_cstring(PG_GETARG_TEXT_PP(0));
	tendered = int64_elems(fcinfo, 2, "tendered", &n);
	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	ep_lock_deal(deal_id, &d);
	/*
	 * pay now reserves; pay later (served first, paid on time or late)
	 * settles: the transition table says which, and refuses a deal at
	 * delivered that is paid already
	 */
	later = ep_deal_check(&d, "pay_cash", d.buyer, 0, &step) == STAGE_SETTLED;
	ep_require_account_use(d.credit_account, d.merchant, true);
	if (d.split)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is to be paid from its payment sources", d.txn_no),
				 errhint("Reserve it, or set a single source first.")));
	lock_till(terminal, &t);
	if (strcmp(t.currency, d.currency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("Terminal \"%s\" takes %s, deal %s is in %s.", terminal,
						   t.currency, d.txn_no, d.currency)));

	/* take the cash in */
	for (i = 0; i < n; i++)
	{
		int			k = till_index(&t, tendered[i]);

		total = ep_add(total, tendered[i], "cash tendered");
		if (t.pieces[k] == PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("terminal \"%s\" cannot hold that many pieces", terminal)));
		t.pieces[k]++;
	}
	check_till_value(&t);
	if (total < d.amount)
		ereport(ERROR,
				(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
				 errmsg("not enough cash for deal %s", d.txn_no),
				 errdetail("Tendered %lld, due %lld (minor units of %s).", (long long) total,
						   (long long) d.amount, d.currency)));

	/* and the change out, from what the machine now holds */
	change = total - d.amount;
	use = palloc(sizeof(int32) * Max(t.n, 1));
	if (!ep_make_change(change, t.n, t.denom, t.pieces, use))
		ereport(ERROR,
				(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
				 errmsg("terminal \"%s\" cannot make change of %lld", terminal,
						(long long) change),
				 errdetail("Tendered %lld for %lld; the terminal's pieces cannot add up to the change.",
						   (long long) total, (long long) d.amount),
				 errhint("Tender the exact amount or other pieces.")));
	for (i = 0; i < t.n; i++)
		t.pieces[i] -= use[i];
	save_till(&t);

	/* the ledger moves with the inventory: what stayed in the machine */
	{
		EpOwner		owner = {0};

		owner.terminal = t.terminal;
		ep_post_funding("deposit", t.cash_account, d.amount, &owner);
	}
	values[0] = Int64GetDatum(d.id);
	values[1] = Int64GetDatum(t.cash_account);
	ep_exec(&set_payer, values, NULL, 0);
	d.debit_account = t.cash_account;
	d.hold_id = ep_place_hold(t.cash_account, d.credit_account, d.amount, NULL, NULL, d.id);
	d.held = d.amount;

	actor = psprintf("terminal:%s", terminal);
	if (later)
		ep_deal_settle(&d, actor, &step);
	else
	{
		initStringInfo(&p);
		appendStringInfoChar(&p, '{');
		appendStringInfo(&p, "\"terminal\": ");
		escape_json(&p, terminal);
		appendStringInfo(&p, ", \"tendered\": %lld, \"change\": %lld, \"hold\": %lld, \"held\": %lld}",
						 (long long) total, (long long) change, (long long) d.hold_id,
						 (long long) d.amount);
		step.payload = p.data;
		step.deadline = "ship";
		ep_deal_commit_step(&d, actor, &step);
	}

	/* the change, into the tuplestore (which copies) before SPI's memory goes */
	for (i = 0; i < t.n; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		if (use[i] == 0)
			continue;
		row[0] = Int64GetDatum(t.denom[i]);
		row[1] = Int32GetDatum(use[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * escrow.serve_first(deal bigint, actor text) RETURNS void
 *
 * Pay later: the merchant provides the service or goods before payment;
 * the buyer pays at a terminal afterwards (pay_cash settles the deal).
 * Escrow: by the payment deadline (the merchant's pay_within), after which
 * run_maintenance() marks the deal unpaid (the buyer may still pay; the
 * merchant may write it off).  Agency: the agency pays the merchant and
 * invoices the buyer at receipt, so the deal gets the inspection window
 * and is accepted automatically when it passes, like any delivered deal.
 */
Datum
escrow_serve_first(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor;
	EpDeal		d;
	EpStep		step;

	ep_arg_required(fcinfo, 1, "actor");
	actor = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ep_deal_begin(deal_id, "serve_first", actor, 0, &d, &step);
	/* the buyer pays by the payment deadline, or the institution at receipt */
	step.deadline = d.model->buyer_pays ? "pay" : "inspect";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}
