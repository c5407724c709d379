/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  Batch entry points for high-volume callers: escrow.hold_batch() and
 *	  escrow.capture_batch() take arrays and are all-or-nothing per call,
 *	  with the same rules and errors as hold() and capture().
 *
 * A batch locks rows in a fixed order so that concurrent batches never
 * deadlock: hold_batch adds to each debit account's held amount once, in
 * ascending account id order; capture_batch locks its holds in ascending
 * id order, then every account it will debit in ascending id order (a
 * credit locks no account row: ledger.c), and only then posts the
 * captures.
 *
 *-------------------------------------------------------------------------
 */
#include "batch.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "fmgr.h"
#include "hold.h"
#include "idempotency.h"
#include "ledger.h"
#include "lib/stringinfo.h"
#include "money.h"
#include "plan.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(escrow_hold_batch);
PG_FUNCTION_INFO_V1(escrow_capture_batch);

/* Most items one batch call takes */

/*
 * A bigint[] argument as a C array.  NULL elements are refused unless
 * nulls is given, where they are reported.
 */
static int64 *
arg_int64_array(FunctionCallInfo fcinfo, int argno, const char *what,
				int *n, bool **nulls)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *isnull;
	int64	   *out;
	int			i;

	ep_arg_required(fcinfo, argno, what);
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &elems, &isnull, n);
	if (*n < 1 || *n > EP_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have 1 to %d elements", what, EP_MAX_BATCH),
				 errdetail("Got %d.", *n)));
	out = palloc(sizeof(int64) * *n);
	for (i = 0; i < *n; i++)
	{
		if (isnull[i] && nulls == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain NULL", what),
					 errdetail("Element %d is NULL.", i + 1)));
		out[i] = isnull[i] ? 0 : DatumGetInt64(elems[i]);
	}
	if (nulls)
		*nulls = isnull;
	return out;
}

static void
require_same_length(int n, int m, const char *what)
{
	if (n != m)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must have as many elements as the first array", what),
				 errdetail("%d against %d.", m, n)));
}

static void
require_positive(const int64 *amounts, const bool *nulls, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if ((nulls == NULL || !nulls[i]) && amounts[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("amounts must be positive"),
					 errdetail("Element %d is %lld.", i + 1, (long long) amounts[i])));
		else if (nulls == NULL || !nulls[i])
			ep_check_amount(amounts[i], "an element of amounts");
}

/*
 * The request text an idempotency key stores for a batch: the operation
 * and a SHA-256 of its canonical arguments (a batch's full text could be
 * large).
 */
static char *
batch_request(const char *op, StringInfo canonical)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[32];
	char		hex[65];

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) canonical->data, canonical->len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	hex_encode((const char *) digest, sizeof(digest), hex);
	hex[64] = '\0';
	return psprintf("%s(sha256:%s)", op, hex);
}

/*
 * The end of a batch call: its result, the ids as bigint[], recorded for
 * its idempotency key (if any), copied out of SPI's memory; SPI finished
 */
static Datum
batch_result(const int64 *ids, int n, const char *key)
{
	Datum		result = ep_int64_array(ids, n);

	if (key)
		ep_idem_record_batch(key, result);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * escrow.hold_batch(debit_accounts bigint[], credit_accounts bigint[],
 *					 amounts bigint[], expires_in interval DEFAULT NULL,
 *					 idempotency_key text DEFAULT NULL) RETURNS bigint[]
 *
 * One hold per element; returns the hold ids in input order.
 */
Datum
escrow_hold_batch(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan first_bad = EP_PLAN("SELECT u.d, u.c FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS u(d, c, i) "
		"  LEFT JOIN escrow.accounts da ON da.id = u.d "
		"  LEFT JOIN escrow.accounts ca ON ca.id = u.c "
		" WHERE da.id IS NULL OR ca.id IS NULL OR da.currency <> ca.currency OR u.d = u.c "
		"    OR da.owner = '" EP_FUNDING_OWNER "' OR ca.owner = '" EP_FUNDING_OWNER "' "
		"    OR da.platform OR ca.platform OR (da.kind = 'system' AND NOT $3) "
		" ORDER BY u.i LIMIT 1", INT8ARRAYOID, INT8ARRAYOID, BOOLOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.holds (id, debit_account, credit_account, amount, expires_at) "
		"SELECT u.i, u.d, u.c, u.a, $5 "
		"  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS u(i, d, c, a)",
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID);
	int			n,
				m,
				k;
	int64	   *debit = arg_int64_array(fcinfo, 0, "debit_accounts", &n, NULL);
	int64	   *credit = arg_int64_array(fcinfo, 1, "credit_accounts", &m, NULL);
	int64	   *amount;
	Interval   *expires_in = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	char	   *key = ep_arg_key(fcinfo, 4);
	TimestampTz expires_at = 0;
	int64	   *ids;
	int64	   *pairs;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', 'n'};
	Datum		result;
	int			i;

	require_same_length(n, m, "credit_accounts");
	amount = arg_int64_array(fcinfo, 2, "amounts", &k, NULL);
	require_same_length(n, k, "amounts");
	require_positive(amount, NULL, n);
	if (expires_in != NULL)
	{
		expires_at = ep_now_plus(expires_in, "expires_in");
		nulls[4] = ' ';
	}

	SPI_connect();
	if (key)
	{
		StringInfoData canonical;

		initStringInfo(&canonical);
		for (i = 0; i < n; i++)
			appendStringInfo(&canonical, "%lld,%lld,%lld;", (long long) debit[i],
							 (long long) credit[i], (long long) amount[i]);
		appendStringInfoString(&canonical, ep_interval_key(expires_in));
		if (ep_idem_claim_batch(key, batch_request("hold_batch", &canonical), &result))
		{
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	/*
	 * every pair usable?  the first one that is not gets its precise error
	 * (on a Citus cluster pair by pair: one statement cannot join accounts
	 * living on different workers)
	 */
	values[0] = ep_int64_array(debit, n);
	values[1] = ep_int64_array(credit, n);
	values[2] = BoolGetDatum(false);
	if (ep_distributed())
		for (i = 0; i < n; i++)
			ep_check_hold_accounts(debit[i], credit[i], true);
	else
		while (ep_exec(&first_bad, values, NULL, 1) == 1)
		{
			ep_check_hold_accounts(ep_int64(0, 1), ep_int64(0, 2), true);
			/* fine: a system account debited by escrow_admin; ask again */
			if (DatumGetBool(values[2]))
				elog(ERROR, "escrowpay: hold_batch refused a pair for no known reason");
			values[2] = BoolGetDatum(true);
		}

	/* reserve once per debit account, rows locked in ascending account order */
	pairs = palloc(sizeof(int64) * 2 * n);
	for (i = 0; i < n; i++)
	{
		pairs[2 * i] = debit[i];
		pairs[2 * i + 1] = amount[i];
	}
	ep_add_held_per_account(pairs, n);

	ids = palloc(sizeof(int64) * n);
	for (i = 0; i < n; i++)
		ids[i] = ep_next_id("hold_id_seq");
	values[0] = ep_int64_array(ids, n);
	values[1] = ep_int64_array(debit, n);
	values[2] = ep_int64_array(credit, n);
	values[3] = ep_int64_array(amount, n);
	values[4] = TimestampTzGetDatum(expires_at);
	ep_exec(&insert, values, nulls, 0);

	return batch_result(ids, n, key);
}

/*
 * capture_batch's locks on a Citus cluster, which refuses one statement
 * locking rows of several shards: the holds of sorted (ascending, distinct),
 * then the accounts they touch, one statement each, in the same ascending
 * order as on one server.
 */
static void
lock_each(const int64 *sorted, int n)
{
	static EpPlan lock_hold = EP_PLAN("SELECT debit_account, credit_account FROM escrow.holds WHERE id = $1 FOR UPDATE",
		INT8OID);
	static EpPlan lock_account = EP_PLAN("SELECT id FROM escrow.accounts WHERE id = $1 FOR UPDATE",
		INT8OID);
	int64	   *touched = palloc(sizeof(int64) * 2 * Max(n, 1));
	int			locked = 0;
	int			i;
	Datum		values[1];

	for (i = 0; i < n; i++)
	{
		values[0] = Int64GetDatum(sorted[i]);
		if (ep_exec(&lock_hold, values, NULL, 1) != 1)
			continue;			/* reported by ep_capture_hold() in input order */
		touched[2 * locked] = ep_int64(0, 1);
		touched[2 * locked + 1] = ep_int64(0, 2);
		locked++;
	}
	qsort(touched, 2 * locked, sizeof(int64), ep_cmp_int64);
	for (i = 0; i < 2 * locked; i++)
	{
		if (i > 0 && touched[i] == touched[i - 1])
			continue;
		values[0] = Int64GetDatum(touched[i]);
		ep_exec(&lock_account, values, NULL, 0);
	}
}

/*
 * escrow.capture_batch(hold_ids bigint[], amounts bigint[] DEFAULT NULL,
 *						idempotency_key text DEFAULT NULL,
 *						final boolean DEFAULT false) RETURNS bigint[]
 *
 * Captures each hold (amounts NULL, or a NULL element: all that remains);
 * returns the transfer ids in input order.
 */
Datum
escrow_capture_batch(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan lock_holds = EP_PLAN("SELECT id, debit_account, credit_account FROM escrow.holds "
		" WHERE id = ANY($1) ORDER BY id FOR UPDATE", INT8ARRAYOID);
	static EpPlan lock_accounts = EP_PLAN("SELECT id FROM escrow.accounts "
		" WHERE id = ANY($1) ORDER BY id FOR UPDATE", INT8ARRAYOID);
	int			n,
				k;
	int64	   *hold = arg_int64_array(fcinfo, 0, "hold_ids", &n, NULL);
	int64	   *amount = NULL;
	bool	   *amount_null = NULL;
	char	   *key = ep_arg_key(fcinfo, 2);
	bool		final;
	int64	   *sorted;
	int64	   *ids;
	int64	   *debits;
	Datum		values[2];
	Datum		result;
	uint64		locked;
	int			i;

	if (!PG_ARGISNULL(1))
	{
		amount = arg_int64_array(fcinfo, 1, "amounts", &k, &amount_null);
		require_same_length(n, k, "amounts");
		require_positive(amount, amount_null, n);
	}
	ep_arg_required(fcinfo, 3, "final");
	final = PG_GETARG_BOOL(3);

	sorted = palloc(sizeof(int64) * n);
	memcpy(sorted, hold, sizeof(int64) * n);
	qsort(sorted, n, sizeof(int64), ep_cmp_int64);
	for (i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("hold %lld appears twice in one capture_batch",
							(long long) sorted[i]),
					 errhint("Capture a hold once per batch; pass its total amount.")));

	SPI_connect();
	if (key)
	{
		StringInfoData canonical;

		initStringInfo(&canonical);
		for (i = 0; i < n; i++)
		{
			if (amount == NULL || amount_null[i])
				appendStringInfo(&canonical, "%lld,NULL;", (long long) hold[i]);
			else
				appendStringInfo(&canonical, "%lld,%lld;", (long long) hold[i],
								 (long long) amount[i]);
		}
		appendStringInfoString(&canonical, final ? "final" : "partial");
		if (ep_idem_claim_batch(key, batch_request("capture_batch", &canonical), &result))
		{
			SPI_finish();
			PG_RETURN_DATUM(result);
		}
	}

	/* lock the holds, then the accounts, each in ascending id order */
	values[0] = ep_int64_array(sorted, n);
	locked = ep_distributed() ? 0 : ep_exec(&lock_holds, values, NULL, 0);
	if (ep_distributed())
		lock_each(sorted, n);
	debits = palloc(sizeof(int64) * Max(locked, 1));
	for (i = 0; i < (int) locked; i++)
		debits[i] = ep_int64(i, 2);
	if (locked > 0)
	{
		values[0] = ep_int64_array(debits, locked);
		ep_exec(&lock_accounts, values, NULL, 0);
	}

	/* a missing hold is reported by ep_capture_hold() in input order */
	ids = palloc(sizeof(int64) * n);
	for (i = 0; i < n; i++)
	{
		bool		has_amount = amount != NULL && !amount_null[i];

		ids[i] = ep_capture_hold(hold[i], has_amount, has_amount ? amount[i] : 0,
								 final, NULL, 0);
	}

	return batch_result(ids, n, key);
}
