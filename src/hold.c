/*-------------------------------------------------------------------------
 *
 * hold.c
 *	  Holds: a hold reserves an amount on its debit account for its credit
 *	  account (a reservation freeze on a balance, or a hold on a credit
 *	  line).  It is captured in one or more partial captures (each a posted
 *	  transfer), released, or expires; it ends exactly once, and captured +
 *	  released never exceeds its amount.  A hold past its expiry cannot be
 *	  captured even before expire_holds() has swept it.
 *
 * Lock order: the hold row first, then accounts in ascending id order.
 *
 *-------------------------------------------------------------------------
 */
#include "hold.h"

#include "access/xact.h"

#include "fmgr.h"
#include "idempotency.h"
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(escrow_hold);
PG_FUNCTION_INFO_V1(escrow_capture);
PG_FUNCTION_INFO_V1(escrow_release);
PG_FUNCTION_INFO_V1(escrow_expire_holds);

/* A hold row locked FOR UPDATE */
typedef struct EpHold
{
	int64		id;
	int64		debit;
	int64		credit;
	int64		amount;
	int64		captured;
	int64		released;
	int64		deal;			/* 0: none */
	char	   *status;
	bool		has_expiry;
	TimestampTz expires_at;
} EpHold;

static int64
remaining(const EpHold *h)
{
	return h->amount - h->captured - h->released;
}

/*
 * The columns of escrow.holds a capture or release reads and writes
 * directly: those lock_open_hold()'s statement reads, in its order, then
 * those update_hold()'s writes
 */
static const char *const hold_columns[] = {"debit_account", "credit_account", "amount",
"captured", "released", "status", "expires_at", "deal", "ended_at"};
static const Oid hold_types[] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID,
TIMESTAMPTZOID, INT8OID, TIMESTAMPTZOID};

/*
 * *h, hold id, from v[0..7] (isnull[]: NULL), the columns lock_open_hold()
 * reads in its order: all NOT NULL but expires_at and deal (a NULL deal is
 * none)
 */
static void
hold_from(int64 id, const Datum *v, const bool *isnull, EpHold *h)
{
	int			i;

	for (i = 0; i < 6; i++)
		if (isnull[i])
			elog(ERROR, "escrowpay: unexpected NULL in column %d", i + 1);
	h->id = id;
	h->debit = DatumGetInt64(v[0]);
	h->credit = DatumGetInt64(v[1]);
	h->amount = DatumGetInt64(v[2]);
	h->captured = DatumGetInt64(v[3]);
	h->released = DatumGetInt64(v[4]);
	h->status = TextDatumGetCString(v[5]);
	h->has_expiry = !isnull[6];
	h->expires_at = isnull[6] ? 0 : DatumGetTimestampTz(v[6]);
	h->deal = isnull[7] ? 0 : DatumGetInt64(v[7]);
}

/*
 * lock_open_hold()'s statement done directly (direct.c): hold id locked
 * as its SELECT ... FOR UPDATE locks it (ep_direct_lock()) and read into
 * *h.  False, with *h unset, when it may not be done directly or finds no
 * row (the statement then runs, and says so).
 */
static bool
lock_hold_direct(int64 id, EpHold *h)
{
	EpDirect	holds;
	AttrNumber	atts[lengthof(hold_columns)];
	TupleTableSlot *row;
	Datum		v[8];
	bool		isnull[8];
	bool		done = false;
	int			i;

	if (ep_distributed())
		return false;
	ep_direct_begin();
	if (ep_direct_open(&holds, "holds", CMD_UPDATE))
	{
		if (ep_direct_columns(&holds, lengthof(hold_columns), hold_columns, hold_types, atts) &&
			(row = ep_direct_lock(&holds, id)) != NULL)
		{
			for (i = 0; i < 8; i++)
				v[i] = slot_getattr(row, atts[i], &isnull[i]);
			hold_from(id, v, isnull, h);
			done = true;
		}
		ep_direct_close(&holds);
	}
	ep_direct_end();
	return done;
}

/*
 * Lock hold id and check it is open and not past its expiry (EP002), or
 * raise P0002 when it does not exist.
 */
static void
lock_open_hold(int64 id, bool allow_expired, int64 deal, EpHold *h)
{
	static EpPlan lock = EP_PLAN("SELECT debit_account, credit_account, amount, captured, released, "
		"       status, expires_at, coalesce(deal, 0) "
		"  FROM escrow.holds WHERE id = $1 FOR UPDATE", INT8OID);
	Datum		v[8];
	bool		isnull[8];
	int			i;

	if (!lock_hold_direct(id, h))
	{
		ep_exec_id(&lock, id, "hold");
		for (i = 0; i < 8; i++)
			v[i] = ep_datum(0, i + 1, &isnull[i]);
		hold_from(id, v, isnull, h);
	}

	/* a deal's hold moves only through the deal's lifecycle */
	if (h->deal != deal)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("hold %lld belongs to deal %lld", (long long) id, (long long) h->deal),
				 errhint("Use the deal's lifecycle functions (confirm_inspection, cancel_deal, ...).")));

	if (strcmp(h->status, "open") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_HOLD_NOT_OPEN),
				 errmsg("hold %lld is not open", (long long) id),
				 errdetail("Its status is %s: amount %lld, captured %lld, released %lld.",
						   h->status, (long long) h->amount,
						   (long long) h->captured, (long long) h->released)));
	if (!allow_expired && h->has_expiry && h->expires_at <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_EP_HOLD_NOT_OPEN),
				 errmsg("hold %lld has expired", (long long) id),
				 errdetail("It expired at %s; %lld of %lld remain held until released.",
						   timestamptz_to_str(h->expires_at),
						   (long long) remaining(h), (long long) h->amount),
				 errhint("Release it, or run escrow.expire_holds().")));
}

/* A hold's new captured/released/status (set_hold()) */
typedef struct EpHoldEnd
{
	const EpHold *h;
	const char *status;
} EpHoldEnd;

/*
 * update_hold()'s SET list on the locked row (an EpDirectSet): captured,
 * released, status, and ended_at the transaction's start unless the hold
 * stays open (NULL then)
 */
static bool
set_hold(TupleTableSlot *row, void *arg, Datum *values, bool *isnull)
{
	EpHoldEnd  *e = arg;

	values[0] = Int64GetDatum(e->h->captured);
	values[1] = Int64GetDatum(e->h->released);
	values[2] = CStringGetTextDatum(e->status);
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	isnull[3] = strcmp(e->status, "open") == 0;
	return true;
}

/*
 * update_hold()'s statement done directly (direct.c) on the row the
 * transaction has locked; false when it may not be done directly (the
 * statement then runs)
 */
static bool
update_hold_direct(const EpHold *h, const char *status)
{
	EpDirect	holds;
	AttrNumber	atts[lengthof(hold_columns)];
	TupleTableSlot *row;
	EpHoldEnd	e = {h, status};
	bool		done = false;

	if (ep_distributed())
		return false;
	ep_direct_begin();
	if (ep_direct_open(&holds, "holds", CMD_UPDATE))
	{
		if (ep_direct_columns(&holds, lengthof(hold_columns), hold_columns, hold_types, atts))
		{
			/* captured, released, status, ended_at */
			AttrNumber	set[4] = {atts[3], atts[4], atts[5], atts[8]};

			if ((row = ep_direct_fetch(&holds, h->id)) != NULL)
				ep_direct_update(&holds, row, 4, set, set_hold, &e);
			done = true;
		}
		ep_direct_close(&holds);
	}
	ep_direct_end();
	return done;
}

/* Write back a locked hold's captured/released/status */
static void
update_hold(const EpHold *h, const char *status)
{
	static EpPlan update = EP_PLAN("UPDATE escrow.holds SET captured = $2, released = $3, status = $4, "
		"       ended_at = CASE WHEN $4 = 'open' THEN NULL ELSE $5 END "
		" WHERE id = $1", INT8OID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID);
	Datum		values[5];

	values[0] = Int64GetDatum(h->id);
	values[1] = Int64GetDatum(h->captured);
	values[2] = Int64GetDatum(h->released);
	values[3] = CStringGetTextDatum(status);
	/* now(), passed in: Citus refuses a volatile call inside CASE */
	values[4] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	if (!update_hold_direct(h, status))
		ep_exec(&update, values, NULL, 0);
}

/*
 * The wall clock plus an interval argument, which must be positive
 * (22023 naming the argument otherwise).
 */
TimestampTz
ep_now_plus(Interval *expires_in, const char *what)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at;

	/*
	 * At most a century, each field on its own: anything longer is no
	 * deadline, and could take the timestamp out of its range (22008).
	 */
	if (Abs(expires_in->month) > 100 * MONTHS_PER_YEAR ||
		Abs(expires_in->day) > 100 * 366 ||
		expires_in->time > INT64CONST(100) * 366 * USECS_PER_DAY ||
		expires_in->time < -INT64CONST(100) * 366 * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most 100 years", what),
				 errdetail("Got %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   PointerGetDatum(expires_in))))));

	expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														 TimestampTzGetDatum(now),
														 PointerGetDatum(expires_in)));
	if (expires_at <= now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive interval", what),
				 errdetail("Got %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   PointerGetDatum(expires_in))))));
	return expires_at;
}

/*
 * An interval as idempotency keys compare it, independent of IntervalStyle
 * ("NULL" for none).
 */
char *
ep_interval_key(Interval *expires_in)
{
	if (expires_in == NULL)
		return "NULL";
	return psprintf("%d months %d days %lld us", expires_in->month,
					expires_in->day, (long long) expires_in->time);
}

/*
 * What the statement reserve of ep_place_hold() does, written straight
 * into the tables (direct.c): reserve on the debit account (the same
 * qualification, ep_reserve_direct()) and, when it did, insert the hold.
 * values/nulls are the statement's parameters.  Returns 1 when it placed
 * the hold, 0 when it reserved nothing (the caller's slow path decides
 * and says why), -1 when a table is not the plain one this module creates
 * (the caller runs the statement).  Tables are opened in the order the
 * statement locks them (holds, then accounts).
 */
static int
place_hold_direct(const Datum *values, const char *nulls, bool public_call)
{
	/* the statement's columns, in the order of its parameters */
	static const char *const columns[] = {"id", "debit_account", "credit_account", "amount",
	"expires_at", "deal"};
	static const Oid types[] = {INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID};
	AttrNumber	atts[lengthof(columns)];
	bool		isnull[lengthof(columns)];
	EpDirect	holds;
	EpDirect	accounts;
	int			result = -1;
	int			i;

	for (i = 0; i < lengthof(columns); i++)
		isnull[i] = nulls[i] == 'n';
	isnull[5] = DatumGetInt64(values[5]) == 0;	/* deal: nullif($6, 0) */
	ep_direct_begin();
	if (ep_direct_open(&holds, "holds", CMD_INSERT))
	{
		if (ep_direct_columns(&holds, lengthof(columns), columns, types, atts) &&
			ep_direct_open(&accounts, "accounts", CMD_UPDATE))
		{
			result = ep_reserve_direct(&accounts, DatumGetInt64(values[1]),
									   DatumGetInt64(values[2]), DatumGetInt64(values[3]),
									   public_call);
			if (result == 1)
				ep_direct_insert(&holds, lengthof(columns), atts, values, isnull);
			ep_direct_close(&accounts);
		}
		ep_direct_close(&holds);
	}
	ep_direct_end();
	return result;
}

/*
 * Place a hold; returns its id.  The funds are reserved (EP_RESERVE_SQL)
 * and the hold inserted directly in the tables (place_hold_direct()), or,
 * when they are not the plain ones this module creates (or on a Citus
 * cluster), by one statement doing the same; when it reserves nothing,
 * ep_check_hold_accounts() and ep_add_held() say why or, after counting
 * the committed credits, reserve, and the hold is inserted alone.
 */
int64
ep_place_hold(int64 debit, int64 credit, int64 amount, Interval *expires_in,
			  const char *key, int64 deal)
{
	static EpPlan reserve = EP_PLAN("WITH r AS (" EP_RESERVE_SQL("$2", "$3", "$4", "$6 = 0") " RETURNING a.id) "
		"INSERT INTO escrow.holds (id, debit_account, credit_account, amount, expires_at, deal) "
		"SELECT $1, $2, $3, $4, $5, nullif($6, 0) FROM r",
		INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.holds (id, debit_account, credit_account, amount, expires_at, deal) "
		"VALUES ($1, $2, $3, $4, $5, nullif($6, 0))",
		INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID, INT8OID);
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', 'n', ' '};
	TimestampTz expires_at = 0;
	int64		id;
	int64		prior;

	if (expires_in != NULL)
	{
		expires_at = ep_now_plus(expires_in, "expires_in");
		nulls[4] = ' ';
	}

	id = ep_next_id("hold_id_seq");
	if (key)
	{
		char	   *request;

		request = psprintf("hold(%lld,%lld,%lld,%s)", (long long) debit,
						   (long long) credit, (long long) amount,
						   ep_interval_key(expires_in));
		if (ep_idem_claim(key, request, true, id, &prior))
			return prior;
	}

	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(debit);
	values[2] = Int64GetDatum(credit);
	values[3] = Int64GetDatum(amount);
	values[4] = TimestampTzGetDatum(expires_at);
	values[5] = Int64GetDatum(deal);
	if (!ep_distributed())
	{
		int			placed = place_hold_direct(values, nulls, deal == 0);

		if (placed == 1 || (placed == -1 && ep_exec(&reserve, values, nulls, 0) == 1))
			return id;
	}
	ep_check_hold_accounts(debit, credit, deal == 0);
	ep_add_held(debit, amount);
	ep_exec(&insert, values, nulls, 0);
	return id;
}

/*
 * Capture amount (all that remains when !has_amount) of a hold; final
 * releases what is left after it.  Returns the transfer id.
 */
int64
ep_capture_hold(int64 hold_id, bool has_amount, int64 amount, bool final,
				const char *key, int64 deal)
{
	EpHold		h;
	EpPosting	p = {0};
	int64		rest;
	int64		prior;

	p.id = ep_next_id("transfer_id_seq");
	if (key)
	{
		char	   *request;

		request = has_amount ?
			psprintf("capture(%lld,%lld,%s)", (long long) hold_id, (long long) amount,
					 final ? "final" : "partial") :
			psprintf("capture(%lld,NULL,%s)", (long long) hold_id,
					 final ? "final" : "partial");
		if (ep_idem_claim(key, request, true, p.id, &prior))
			return prior;
	}

	lock_open_hold(hold_id, false, deal, &h);
	rest = remaining(&h);
	if (!has_amount)
		amount = rest;
	if (amount > rest)
		ereport(ERROR,
				(errcode(ERRCODE_EP_EXCEEDS_HOLD),
				 errmsg("capture exceeds what remains of hold %lld", (long long) hold_id),
				 errdetail("Remaining %lld, requested %lld (amount %lld, captured %lld, released %lld).",
						   (long long) rest, (long long) amount, (long long) h.amount,
						   (long long) h.captured, (long long) h.released)));

	h.captured += amount;
	p.debit_unhold = amount;
	if (final)
	{
		h.released += rest - amount;
		p.debit_unhold = rest;
	}
	update_hold(&h, remaining(&h) == 0 ? "captured" : "open");

	p.kind = "capture";
	p.debit = h.debit;
	p.credit = h.credit;
	p.amount = amount;
	p.hold_id = hold_id;
	p.owner.deal = deal;		/* a deal's capture is the deal's */
	p.public_call = deal == 0;	/* escrow.capture(), capture_batch() */
	ep_post_transfer(&p);
	return p.id;
}

/*
 * Release what remains of a hold; returns the amount released.
 */
int64
ep_release_hold(int64 hold_id, const char *key, int64 deal)
{
	EpHold		h;
	int64		rest;
	int64		prior;

	if (key && ep_idem_claim(key, psprintf("release(%lld)", (long long) hold_id),
							 false, 0, &prior))
		return prior;

	lock_open_hold(hold_id, true, deal, &h);
	rest = remaining(&h);
	h.released += rest;
	update_hold(&h, "released");
	ep_unhold(h.debit, rest);
	if (key)
		ep_idem_record(key, rest);
	return rest;
}

/*
 * escrow.hold(debit_account bigint, credit_account bigint, amount bigint,
 *			   expires_in interval DEFAULT NULL,
 *			   idempotency_key text DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_hold(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		debit = ep_arg_id(fcinfo, 0, "debit_account");
	int64		credit = ep_arg_id(fcinfo, 1, "credit_account");
	int64		amount = ep_arg_amount(fcinfo, 2, "amount");
	Interval   *expires_in = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	char	   *key = ep_arg_key(fcinfo, 4);
	int64		id;

	SPI_connect();
	id = ep_place_hold(debit, credit, amount, expires_in, key, 0);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.capture(hold_id bigint, amount bigint DEFAULT NULL,
 *				  idempotency_key text DEFAULT NULL,
 *				  final boolean DEFAULT false) RETURNS bigint
 */
Datum
escrow_capture(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		hold_id = ep_arg_id(fcinfo, 0, "hold_id");
	bool		has_amount;
	int64		amount = ep_arg_opt_amount(fcinfo, 1, "amount", &has_amount);
	char	   *key = ep_arg_key(fcinfo, 2);
	bool		final;
	int64		id;

	ep_arg_required(fcinfo, 3, "final");
	final = PG_GETARG_BOOL(3);

	SPI_connect();
	id = ep_capture_hold(hold_id, has_amount, amount, final, key, 0);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.release(hold_id bigint, idempotency_key text DEFAULT NULL)
 *	 RETURNS bigint
 */
Datum
escrow_release(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		hold_id = ep_arg_id(fcinfo, 0, "hold_id");
	char	   *key = ep_arg_key(fcinfo, 1);
	int64		released;

	SPI_connect();
	released = ep_release_hold(hold_id, key, 0);
	SPI_finish();
	PG_RETURN_INT64(released);
}

/*
 * expire_holds' claim on a Citus cluster, which refuses one statement
 * locking rows of several shards: the due holds found first, then each
 * locked (skipped if another transaction holds it, or no longer due) and
 * ended by its own statements.  values: $1 max_holds, $2 now.  Returns
 * how many it ended, with (debit account, amount given back) pairs.
 */
static uint64
claim_each(Datum *values, int64 **pairs)
{
	static EpPlan due = EP_PLAN("SELECT id FROM escrow.holds WHERE status = 'open' AND expires_at <= $2 "
		" ORDER BY expires_at LIMIT $1", INT4OID, TIMESTAMPTZOID);
	static EpPlan lock = EP_PLAN("SELECT debit_account, amount - captured - released FROM escrow.holds "
		" WHERE id = $1 AND status = 'open' AND expires_at <= $2 FOR UPDATE SKIP LOCKED",
		INT8OID, TIMESTAMPTZOID);
	static EpPlan end = EP_PLAN("UPDATE escrow.holds SET released = amount - captured, status = 'expired', "
		"       ended_at = now() WHERE id = $1", INT8OID);
	uint64		found = ep_exec(&due, values, NULL, 0);
	int64	   *ids = palloc(sizeof(int64) * Max(found, 1));
	uint64		n = 0;
	uint64		i;
	Datum		args[2];

	for (i = 0; i < found; i++)
		ids[i] = ep_int64(i, 1);
	*pairs = palloc(sizeof(int64) * 2 * Max(found, 1));
	args[1] = values[1];
	for (i = 0; i < found; i++)
	{
		args[0] = Int64GetDatum(ids[i]);
		if (ep_exec(&lock, args, NULL, 1) != 1)
			continue;
		(*pairs)[2 * n] = ep_int64(0, 1);
		(*pairs)[2 * n + 1] = ep_int64(0, 2);
		ep_exec(&end, args, NULL, 0);
		n++;
	}
	return n;
}

/*
 * escrow.expire_holds(max_holds integer DEFAULT 1000) RETURNS integer
 *
 * Ends up to max_holds open holds whose expiry has passed, skipping holds
 * another transaction has locked, and gives their remainder back to the
 * debit accounts (one update per account, in ascending id order).
 */
Datum
escrow_expire_holds(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan claim = EP_PLAN("WITH due AS ("
		"  SELECT id, amount - captured - released AS rest FROM escrow.holds "
		"   WHERE status = 'open' AND expires_at <= $2 "
		"   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED) "
		"UPDATE escrow.holds h "
		"   SET released = h.amount - h.captured, status = 'expired', ended_at = now() "
		"  FROM due WHERE h.id = due.id "
		"RETURNING h.debit_account, due.rest", INT4OID, TIMESTAMPTZOID);
	int32		max_holds;
	Datum		values[2];
	uint64		n;
	int64	   *pairs;
	uint64		i;

	max_holds = ep_arg_positive(fcinfo, 0, "max_holds");

	SPI_connect();
	values[0] = Int32GetDatum(max_holds);
	values[1] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (ep_distributed())
		n = claim_each(values, &pairs);
	else
	{
		n = ep_exec(&claim, values, NULL, 0);
		pairs = palloc(sizeof(int64) * 2 * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			pairs[2 * i] = ep_int64(i, 1);
			pairs[2 * i + 1] = ep_int64(i, 2);
		}
	}
	ep_apply_per_account(pairs, n, "expired amount", ep_unhold);
	SPI_finish();
	PG_RETURN_INT32((int32) n);
}
