/*-------------------------------------------------------------------------
 *
 * journal.c
 *	  The journal of every account: the legs of posted transfers folded,
 *	  in transfer order, into hash-chained entries.
 *
 * Folding (ep_fold_account: the maintenance worker through
 * escrow.fold_journal(), and any call that needs an account's exact folded
 * figure, under the row lock) moves an account's waiting legs in transfer
 * order from escrow.unfolded into escrow.entries, numbering them 1, 2, ...
 * with the running balance after each and chaining them with SHA-256 over
 * the previous hash and the entry's account, seq, transfer, kind,
 * counterparty, amount, balance, hold and refunded transfer
 * (ep_entry_hash), 32 zero bytes before the first; the account row keeps
 * the head of its chain.  The hash and the chain head are therefore off
 * the posting path (ledger.c).
 *
 *-------------------------------------------------------------------------
 */
#include "journal.h"

#include "common/cryptohash.h"
#include "money.h"
#include "plan.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_entry_hash);
PG_FUNCTION_INFO_V1(escrow_fold_journal);

/* Most accounts one fold_journal() call folds (a larger request folds these) */
#define EP_FOLD_MAX_ACCOUNTS 100000

static void
hash_int64(pg_cryptohash_ctx *ctx, int64 v)
{
	uint64		be = pg_hton64((uint64) v);

	if (pg_cryptohash_update(ctx, (const uint8 *) &be, sizeof(be)) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
}

/*
 * SHA-256 of one journal entry chained to the previous entry's hash:
 * prev || account || seq || transfer || kind (NUL-terminated) ||
 * counterparty || amount || balance || hold || refund_of, integers as
 * 8-byte big-endian.
 */
void
ep_entry_hash(const uint8 *prev, const EpEntry *e, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, prev, EP_HASH_LEN) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	hash_int64(ctx, e->account);
	hash_int64(ctx, e->seq);
	hash_int64(ctx, e->transfer);
	if (pg_cryptohash_update(ctx, (const uint8 *) e->kind, strlen(e->kind) + 1) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	hash_int64(ctx, e->counterparty);
	hash_int64(ctx, e->amount);
	hash_int64(ctx, e->balance);
	hash_int64(ctx, e->hold_id);
	hash_int64(ctx, e->refund_of);
	if (pg_cryptohash_final(ctx, out, EP_HASH_LEN) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * escrow.entry_hash(prev bytea, account bigint, seq bigint, transfer bigint,
 *					 kind text, counterparty bigint, amount bigint,
 *					 balance bigint, hold_id bigint, refund_of bigint)
 *	 RETURNS bytea
 *
 * The chain step, used by the posting statement and by verify_ledger().
 */
Datum
escrow_entry_hash(PG_FUNCTION_ARGS)
{
	bytea	   *prev = PG_GETARG_BYTEA_PP(0);
	EpEntry		e;
	bytea	   *result;

	if (VARSIZE_ANY_EXHDR(prev) != EP_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("previous hash must be %d bytes", EP_HASH_LEN)));
	e.account = PG_GETARG_INT64(1);
	e.seq = PG_GETARG_INT64(2);
	e.transfer = PG_GETARG_INT64(3);
	e.kind = text_to_cstring(PG_GETARG_TEXT_PP(4));
	e.counterparty = PG_GETARG_INT64(5);
	e.amount = PG_GETARG_INT64(6);
	e.balance = PG_GETARG_INT64(7);
	e.hold_id = PG_GETARG_INT64(8);
	e.refund_of = PG_GETARG_INT64(9);
	result = (bytea *) palloc(VARHDRSZ + EP_HASH_LEN);
	SET_VARSIZE(result, VARHDRSZ + EP_HASH_LEN);
	ep_entry_hash((const uint8 *) VARDATA_ANY(prev), &e, (uint8 *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

/* An int8[] or bytea[] of n datums */
static Datum
datum_array(Datum *items, int n, Oid type)
{
	if (type == INT8OID)
		return PointerGetDatum(construct_array(items, n, INT8OID, sizeof(int64),
											   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	return PointerGetDatum(construct_array(items, n, type, -1, false, TYPALIGN_INT));
}

/*
 * Fold an account: move its legs waiting in escrow.unfolded, in transfer
 * order, into escrow.entries (seq, running balance, hash chain) and add the
 * ones the row has not seen to posted.  The caller holds the row's lock
 * (FOR UPDATE), so no transaction in flight has applied a leg to it: every
 * applied leg is committed (or the caller's own) and visible here, and
 * posted less those legs is the balance after the last folded entry.  Legs
 * of transactions still in flight stay for a later fold.  *posted is the
 * account's posted figure as the caller read it under the lock; it becomes
 * the folded balance.  Returns the number of legs folded.
 */
int64
ep_fold_account(int64 account, int64 *posted)
{
	static EpPlan take = {NULL,
		"WITH d AS (DELETE FROM escrow.unfolded WHERE account = $1 "
		"           RETURNING transfer_id, amount, applied) "
		"SELECT d.transfer_id, d.amount, d.applied, t.kind, "
		"       CASE WHEN d.amount < 0 THEN t.credit_account ELSE t.debit_account END, "
		"       coalesce(t.hold_id, 0), coalesce(t.refund_of, 0) "
		"  FROM d LEFT JOIN escrow.transfers t ON t.id = d.transfer_id "
		" ORDER BY d.transfer_id",
	1, {INT8OID}};
	static EpPlan head = {NULL,
		"SELECT posted, entry_count, chain_head FROM escrow.accounts WHERE id = $1",
	1, {INT8OID}};
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.entries (account, seq, transfer_id, amount, balance, hash) "
		"SELECT $1, u.s, u.x, u.a, u.b, u.h "
		"  FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[]) "
		"       AS u(s, x, a, b, h)",
	6, {INT8OID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID}};
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts SET posted = posted + $2, entry_count = $3, chain_head = $4 "
		" WHERE id = $1",
	4, {INT8OID, INT8OID, INT8OID, BYTEAOID}};
	Datum		values[6];
	Datum	   *seqs,
			   *transfers,
			   *amounts,
			   *balances,
			   *hashes;
	EpEntry	   *legs;
	bool	   *applied;
	uint64		n,
				i;
	int64		balance,
				unseen = 0,
				count;
	uint8		hash[EP_HASH_LEN];
	bytea	   *stored;
	bool		isnull;

	values[0] = Int64GetDatum(account);
	n = ep_exec(&take, values, NULL, 0);
	if (n == 0)
		return 0;

	/* copy the legs out before the next statement replaces the result */
	legs = palloc(sizeof(EpEntry) * n);
	applied = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		legs[i].account = account;
		legs[i].transfer = ep_int64(i, 1);
		legs[i].amount = ep_int64(i, 2);
		applied[i] = DatumGetBool(ep_datum(i, 3, &isnull));
		legs[i].kind = ep_text(i, 4);
		if (legs[i].kind == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unfolded leg of account %lld names missing transfer %lld",
							(long long) account, (long long) legs[i].transfer),
					 errhint("Run escrow.verify_ledger().")));
		legs[i].counterparty = ep_int64(i, 5);
		legs[i].hold_id = ep_int64(i, 6);
		legs[i].refund_of = ep_int64(i, 7);
	}

	ep_exec(&head, values, NULL, 1);
	balance = ep_int64(0, 1);
	count = ep_int64(0, 2);
	stored = DatumGetByteaPP(ep_datum(0, 3, &isnull));
	if (VARSIZE_ANY_EXHDR(stored) != EP_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("chain head of account %lld is not %d bytes",
						(long long) account, EP_HASH_LEN)));
	memcpy(hash, VARDATA_ANY(stored), EP_HASH_LEN);
	for (i = 0; i < n; i++)
		if (applied[i])
			balance = ep_sub(balance, legs[i].amount, "account balance");

	seqs = palloc(sizeof(Datum) * n);
	transfers = palloc(sizeof(Datum) * n);
	amounts = palloc(sizeof(Datum) * n);
	balances = palloc(sizeof(Datum) * n);
	hashes = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		bytea	   *h = palloc(VARHDRSZ + EP_HASH_LEN);

		balance = ep_add(balance, legs[i].amount, "account balance");
		if (!applied[i])
			unseen = ep_add(unseen, legs[i].amount, "account balance");
		legs[i].seq = ++count;
		legs[i].balance = balance;
		ep_entry_hash(hash, &legs[i], hash);
		SET_VARSIZE(h, VARHDRSZ + EP_HASH_LEN);
		memcpy(VARDATA(h), hash, EP_HASH_LEN);
		seqs[i] = Int64GetDatum(legs[i].seq);
		transfers[i] = Int64GetDatum(legs[i].transfer);
		amounts[i] = Int64GetDatum(legs[i].amount);
		balances[i] = Int64GetDatum(balance);
		hashes[i] = PointerGetDatum(h);
	}
	values[1] = datum_array(seqs, n, INT8OID);
	values[2] = datum_array(transfers, n, INT8OID);
	values[3] = datum_array(amounts, n, INT8OID);
	values[4] = datum_array(balances, n, INT8OID);
	values[5] = datum_array(hashes, n, BYTEAOID);
	ep_exec(&insert, values, NULL, 0);

	values[1] = Int64GetDatum(unseen);
	values[2] = Int64GetDatum(count);
	values[3] = hashes[n - 1];
	ep_exec(&update, values, NULL, 0);
	*posted = ep_add(*posted, unseen, "account balance");
	return (int64) n;
}

/*
 * Where the last fold_journal() of this backend stopped: the next one
 * starts after it and wraps around, so that under a steady stream of
 * postings every account gets folded, not only the lowest ids.
 */
static int64 fold_cursor = 0;

/*
 * Fold up to max_accounts accounts with legs waiting, in id order from the
 * cursor (wrapping around), each account's row taken with SKIP LOCKED (an
 * account another transaction holds is folded next time, so this never
 * waits); returns the number of legs folded.
 */
static int64
fold_journal(int32 max_accounts)
{
	/* the distinct accounts after $2, one index probe each */
	static EpPlan waiting = {NULL,
		"WITH RECURSIVE a(account) AS ("
		"  (SELECT account FROM escrow.unfolded WHERE account > $2 ORDER BY account LIMIT 1) "
		"  UNION ALL "
		"  SELECT (SELECT u.account FROM escrow.unfolded u WHERE u.account > a.account "
		"           ORDER BY u.account LIMIT 1) "
		"    FROM a WHERE a.account IS NOT NULL) "
		"SELECT account FROM a WHERE account IS NOT NULL LIMIT $1",
	2, {INT4OID, INT8OID}};
	static EpPlan lock = {NULL,
		"SELECT posted FROM escrow.accounts WHERE id = $1 FOR UPDATE SKIP LOCKED",
	1, {INT8OID}};
	Datum		values[2];
	int64	   *ids;
	int			n = 0,
				pass,
				i;
	int64		start = fold_cursor;
	int64		folded = 0;

	max_accounts = Min(max_accounts, EP_FOLD_MAX_ACCOUNTS);
	ids = palloc(sizeof(int64) * max_accounts);
	for (pass = 0; pass < 2 && n < max_accounts; pass++)
	{
		uint64		got;

		if (pass == 1 && start == 0)
			break;				/* the first pass started at the beginning */
		values[0] = Int32GetDatum(max_accounts - n);
		values[1] = Int64GetDatum(pass == 0 ? start : 0);
		got = ep_exec(&waiting, values, NULL, 0);
		for (i = 0; i < (int) got; i++)
		{
			int64		id = ep_int64(i, 1);

			if (pass == 1 && id > start)
				break;			/* taken in the first pass */
			ids[n++] = id;
		}
	}
	for (i = 0; i < n; i++)
	{
		int64		posted;

		values[0] = Int64GetDatum(ids[i]);
		if (ep_exec(&lock, values, NULL, 1) != 1)
			continue;
		posted = ep_int64(0, 1);
		folded += ep_fold_account(ids[i], &posted);
	}
	fold_cursor = n > 0 ? ids[n - 1] : 0;
	return folded;
}

/*
 * escrow.fold_journal(max_accounts integer DEFAULT 1000) RETURNS bigint
 *
 * Folds the waiting legs of up to max_accounts accounts (in id order from
 * where this backend's previous call stopped, wrapping around;
 * skipping accounts another transaction holds); returns the number of legs
 * folded.  Balances never depend on it: it only moves legs from
 * escrow.unfolded into the hash-chained entries.
 */
Datum
escrow_fold_journal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		folded;

	if (PG_ARGISNULL(0) || PG_GETARG_INT32(0) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_accounts must be at least 1"),
				 errdetail("Got %s.", PG_ARGISNULL(0) ? "NULL" : psprintf("%d", PG_GETARG_INT32(0)))));
	SPI_connect();
	folded = fold_journal(PG_GETARG_INT32(0));
	SPI_finish();
	PG_RETURN_INT64(folded);
}
