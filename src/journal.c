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
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

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

/* A transfer's fields a leg needs, by transfer id (legs_transfers()) */
typedef struct EpLegTransfer
{
	int64		id;				/* hash key */
	char	   *kind;
	int64		debit;
	int64		credit;
	int64		hold_id;
	int64		refund_of;
} EpLegTransfer;

/*
 * On a Citus cluster: fill in what the transfers of legs[0..n) say (kind,
 * counterparty, hold, refunded transfer), read by id in one statement that
 * Citus sends only to the shards holding them.  A leg whose transfer is
 * missing is a damaged ledger.
 */
static void
legs_transfers(EpEntry *legs, uint64 n)
{
	static EpPlan by_id = EP_PLAN("SELECT id, kind, debit_account, credit_account, "
		"       coalesce(hold_id, 0), coalesce(refund_of, 0) "
		"  FROM escrow.transfers WHERE id = ANY ($1)", INT8ARRAYOID);
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum		values[1];
	HASHCTL		ctl;
	HTAB	   *map;
	uint64		found,
				i;

	for (i = 0; i < n; i++)
		ids[i] = Int64GetDatum(legs[i].transfer);
	values[0] = datum_array(ids, n, INT8OID);
	found = ep_exec(&by_id, values, NULL, 0);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(EpLegTransfer);
	ctl.hcxt = CurrentMemoryContext;
	map = hash_create("escrowpay leg transfers", found + 1, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < found; i++)
	{
		int64		id = ep_int64(i, 1);
		EpLegTransfer *t = hash_search(map, &id, HASH_ENTER, NULL);

		t->kind = ep_text(i, 2);
		t->debit = ep_int64(i, 3);
		t->credit = ep_int64(i, 4);
		t->hold_id = ep_int64(i, 5);
		t->refund_of = ep_int64(i, 6);
	}
	for (i = 0; i < n; i++)
	{
		EpLegTransfer *t = hash_search(map, &legs[i].transfer, HASH_FIND, NULL);

		if (t == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unfolded leg of account %lld names missing transfer %lld",
							(long long) legs[i].account, (long long) legs[i].transfer),
					 errhint("Run escrow.verify_ledger().")));
		legs[i].kind = t->kind;
		legs[i].counterparty = legs[i].amount < 0 ? t->credit : t->debit;
		legs[i].hold_id = t->hold_id;
		legs[i].refund_of = t->refund_of;
	}
}

/*
 * Fold the n accounts ids (ascending, each locked FOR UPDATE by the
 * caller): move their legs waiting in escrow.unfolded, in transfer order,
 * into escrow.entries (seq, running balance, hash chain) and add the ones
 * the rows have not seen to posted.  The caller holds the rows' locks, so
 * no transaction in flight has applied a leg to them: every applied leg is
 * committed (or the caller's own) and visible here, and posted less those
 * legs is the balance after the last folded entry.  Legs of transactions
 * still in flight stay for a later fold.  Four statements whatever n is
 * (take the legs, read the chain heads, insert the entries, update the
 * rows), so that the worker's fold costs per batch, not per account.  If
 * posted is not NULL, posted[i] (ids[i]'s figure as the caller read it
 * under the lock) becomes the folded balance.  Returns the number of legs
 * folded.
 */
static int64
fold_locked(int n, const int64 *ids, int64 *posted)
{
	/*
	 * Each leg's transfer by its key: the lateral subquery (OFFSET 0 keeps
	 * it one) is an index probe per leg whatever the statistics were when
	 * the plan was made; a join planned while escrow.transfers was young
	 * hashes a sequential scan of it, for as long as the plan is kept.  On
	 * a Citus cluster (custom plans, and no lateral outer join over a
	 * distributed table) a plain join.
	 */
#define EP_TAKE_LEGS(columns, transfer) \
		"WITH d AS (DELETE FROM escrow.unfolded WHERE account = ANY ($1) " \
		"           RETURNING account, transfer_id, amount, applied) " \
		"SELECT d.account, d.transfer_id, d.amount, d.applied, " columns \
		"  FROM d LEFT JOIN " transfer " ORDER BY d.account, d.transfer_id"
#define EP_LEG_OF(t) \
		t ".kind, CASE WHEN d.amount < 0 THEN " t ".credit_account " \
		"ELSE " t ".debit_account END, coalesce(" t ".hold_id, 0), coalesce(" t ".refund_of, 0) "
	static EpPlan take = EP_PLAN(EP_TAKE_LEGS("t.*", "LATERAL (SELECT " EP_LEG_OF("x") " FROM escrow.transfers x "
		"WHERE x.id = d.transfer_id OFFSET 0) t ON true"), INT8ARRAYOID);
	/*
	 * On a Citus cluster no join at all: the legs and their transfers are
	 * not co-located (legs by account, transfers by id), and Citus would
	 * read every shard of transfers for it; the legs' transfers are read
	 * by id afterwards (legs_transfers()), from the shards holding them
	 */
	static EpPlan take_distributed = EP_PLAN("WITH d AS (DELETE FROM escrow.unfolded WHERE account = ANY ($1) "
		"           RETURNING account, transfer_id, amount, applied) "
		"SELECT account, transfer_id, amount, applied FROM d ORDER BY account, transfer_id",
		INT8ARRAYOID);
	static EpPlan head = EP_PLAN("SELECT id, posted, entry_count, chain_head FROM escrow.accounts "
		" WHERE id = ANY ($1) ORDER BY id", INT8ARRAYOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.entries (account, seq, transfer_id, amount, balance, hash) "
		"SELECT u.c, u.s, u.x, u.a, u.b, u.h "
		"  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
		"              $5::bigint[], $6::bytea[]) AS u(c, s, x, a, b, h)",
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID);
	static EpPlan update = EP_PLAN("UPDATE escrow.accounts a SET posted = a.posted + u.unseen, entry_count = u.c, "
		"       chain_head = u.h "
		"  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bytea[]) "
		"       AS u(id, unseen, c, h) "
		" WHERE a.id = u.id", INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID);
	/* on a Citus cluster one row per statement: one shard, not all of them */
	static EpPlan update_one = EP_PLAN("UPDATE escrow.accounts SET posted = posted + $2, entry_count = $3, chain_head = $4 "
		" WHERE id = $1", INT8OID, INT8OID, INT8OID, BYTEAOID);
	bool		sharded = ep_distributed();
	Datum		values[6];
	Datum	   *accounts,
			   *seqs,
			   *transfers,
			   *amounts,
			   *balances,
			   *hashes,
			   *touched,
			   *unseens,
			   *counts,
			   *heads;
	EpEntry    *legs;
	bool	   *applied;
	uint64		nlegs,
				nheads,
				i,
				j,
				k;
	bool		isnull;

	if (n == 0)
		return 0;
	accounts = palloc(sizeof(Datum) * n);
	for (i = 0; i < (uint64) n; i++)
		accounts[i] = Int64GetDatum(ids[i]);
	values[0] = datum_array(accounts, n, INT8OID);
	nlegs = ep_exec(sharded ? &take_distributed : &take, values, NULL, 0);
	if (nlegs == 0)
		return 0;

	/* copy the legs out before the next statement replaces the result */
	legs = palloc(sizeof(EpEntry) * nlegs);
	applied = palloc(sizeof(bool) * nlegs);
	for (i = 0; i < nlegs; i++)
	{
		legs[i].account = ep_int64(i, 1);
		legs[i].transfer = ep_int64(i, 2);
		legs[i].amount = ep_int64(i, 3);
		applied[i] = DatumGetBool(ep_datum(i, 4, &isnull));
		if (sharded)
			continue;			/* legs_transfers() below */
		legs[i].kind = ep_text(i, 5);
		if (legs[i].kind == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unfolded leg of account %lld names missing transfer %lld",
							(long long) legs[i].account, (long long) legs[i].transfer),
					 errhint("Run escrow.verify_ledger().")));
		legs[i].counterparty = ep_int64(i, 6);
		legs[i].hold_id = ep_int64(i, 7);
		legs[i].refund_of = ep_int64(i, 8);
	}
	if (sharded)
		legs_transfers(legs, nlegs);

	/* the chain heads, in the same (ascending account) order as the legs */
	nheads = ep_exec(&head, values, NULL, 0);
	accounts = palloc(sizeof(Datum) * nlegs);
	seqs = palloc(sizeof(Datum) * nlegs);
	transfers = palloc(sizeof(Datum) * nlegs);
	amounts = palloc(sizeof(Datum) * nlegs);
	balances = palloc(sizeof(Datum) * nlegs);
	hashes = palloc(sizeof(Datum) * nlegs);
	touched = palloc(sizeof(Datum) * nheads);
	unseens = palloc(sizeof(Datum) * nheads);
	counts = palloc(sizeof(Datum) * nheads);
	heads = palloc(sizeof(Datum) * nheads);
	i = 0;
	k = 0;
	for (j = 0; j < nheads && i < nlegs; j++)
	{
		int64		account = ep_int64(j, 1);
		int64		balance = ep_int64(j, 2);
		int64		count = ep_int64(j, 3);
		bytea	   *stored = DatumGetByteaPP(ep_datum(j, 4, &isnull));
		int64		unseen = 0;
		uint8		hash[EP_HASH_LEN];
		uint64		first = i,
					l;

		if (legs[i].account != account)
			continue;			/* nothing waited for this one */
		if (VARSIZE_ANY_EXHDR(stored) != EP_HASH_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("chain head of account %lld is not %d bytes",
							(long long) account, EP_HASH_LEN)));
		memcpy(hash, VARDATA_ANY(stored), EP_HASH_LEN);
		while (i < nlegs && legs[i].account == account)
		{
			if (applied[i])
				balance = ep_sub(balance, legs[i].amount, "account balance");
			i++;
		}
		for (l = first; l < i; l++)
		{
			bytea	   *h = palloc(VARHDRSZ + EP_HASH_LEN);

			balance = ep_add(balance, legs[l].amount, "account balance");
			if (!applied[l])
				unseen = ep_add(unseen, legs[l].amount, "account balance");
			legs[l].seq = ++count;
			legs[l].balance = balance;
			ep_entry_hash(hash, &legs[l], hash);
			SET_VARSIZE(h, VARHDRSZ + EP_HASH_LEN);
			memcpy(VARDATA(h), hash, EP_HASH_LEN);
			accounts[l] = Int64GetDatum(account);
			seqs[l] = Int64GetDatum(legs[l].seq);
			transfers[l] = Int64GetDatum(legs[l].transfer);
			amounts[l] = Int64GetDatum(legs[l].amount);
			balances[l] = Int64GetDatum(balance);
			hashes[l] = PointerGetDatum(h);
		}
		touched[k] = Int64GetDatum(account);
		unseens[k] = Int64GetDatum(unseen);
		counts[k] = Int64GetDatum(count);
		heads[k] = hashes[i - 1];
		k++;
		if (posted != NULL)
		{
			int			p;

			for (p = 0; p < n; p++)
				if (ids[p] == account)
					posted[p] = ep_add(posted[p], unseen, "account balance");
		}
	}
	if (i != nlegs)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("unfolded leg of transfer %lld names missing account %lld",
						(long long) legs[i].transfer, (long long) legs[i].account),
				 errhint("Run escrow.verify_ledger().")));

	values[0] = datum_array(accounts, nlegs, INT8OID);
	values[1] = datum_array(seqs, nlegs, INT8OID);
	values[2] = datum_array(transfers, nlegs, INT8OID);
	values[3] = datum_array(amounts, nlegs, INT8OID);
	values[4] = datum_array(balances, nlegs, INT8OID);
	values[5] = datum_array(hashes, nlegs, BYTEAOID);
	ep_exec(&insert, values, NULL, 0);

	if (sharded)
	{
		for (j = 0; j < k; j++)
		{
			values[0] = touched[j];
			values[1] = unseens[j];
			values[2] = counts[j];
			values[3] = heads[j];
			ep_exec(&update_one, values, NULL, 0);
		}
		return (int64) nlegs;
	}
	values[0] = datum_array(touched, k, INT8OID);
	values[1] = datum_array(unseens, k, INT8OID);
	values[2] = datum_array(counts, k, INT8OID);
	values[3] = datum_array(heads, k, BYTEAOID);
	ep_exec(&update, values, NULL, 0);
	return (int64) nlegs;
}

/*
 * Fold one account the caller holds FOR UPDATE (fold_locked); *posted, its
 * figure as the caller read it under the lock, becomes the folded balance.
 * Returns the number of legs folded.
 */
int64
ep_fold_account(int64 account, int64 *posted)
{
	return fold_locked(1, &account, posted);
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
	static EpPlan waiting = EP_PLAN("WITH RECURSIVE a(account) AS ("
		"  (SELECT account FROM escrow.unfolded WHERE account > $2 ORDER BY account LIMIT 1) "
		"  UNION ALL "
		"  SELECT (SELECT u.account FROM escrow.unfolded u WHERE u.account > a.account "
		"           ORDER BY u.account LIMIT 1) "
		"    FROM a WHERE a.account IS NOT NULL) "
		"SELECT account FROM a WHERE account IS NOT NULL LIMIT $1", INT4OID, INT8OID);

	/*
	 * On a Citus cluster, which plans a recursive CTE only with a filter on
	 * the distribution column: each shard's distinct accounts, merged
	 */
	static EpPlan waiting_sharded = EP_PLAN("SELECT DISTINCT account FROM escrow.unfolded WHERE account > $2 "
		" ORDER BY account LIMIT $1", INT4OID, INT8OID);
	static EpPlan lock = EP_PLAN("SELECT id FROM escrow.accounts WHERE id = ANY ($1) ORDER BY id "
		"   FOR UPDATE SKIP LOCKED", INT8ARRAYOID);
	Datum		values[2];
	int64	   *ids;
	int			n = 0,
				pass,
				i;
	int64		start = fold_cursor;
	Datum	   *items;
	int			locked;

	max_accounts = Min(max_accounts, EP_FOLD_MAX_ACCOUNTS);
	ids = palloc(sizeof(int64) * max_accounts);
	for (pass = 0; pass < 2 && n < max_accounts; pass++)
	{
		uint64		got;

		if (pass == 1 && start == 0)
			break;				/* the first pass started at the beginning */
		values[0] = Int32GetDatum(max_accounts - n);
		values[1] = Int64GetDatum(pass == 0 ? start : 0);
		got = ep_exec(ep_distributed() ? &waiting_sharded : &waiting, values, NULL, 0);
		for (i = 0; i < (int) got; i++)
		{
			int64		id = ep_int64(i, 1);

			if (pass == 1 && id > start)
				break;			/* taken in the first pass */
			ids[n++] = id;
		}
	}
	fold_cursor = n > 0 ? ids[n - 1] : 0;
	if (n == 0)
		return 0;

	/* lock what nobody holds, in id order, and fold those in one pass */
	qsort(ids, n, sizeof(int64), ep_cmp_int64);
	if (ep_distributed())
	{
		/* Citus locks rows of one shard per statement: one account at a time */
		static EpPlan lock_one = EP_PLAN("SELECT id FROM escrow.accounts WHERE id = $1 FOR UPDATE SKIP LOCKED",
			INT8OID);
		int64		folded = 0;

		for (i = 0; i < n; i++)
		{
			values[0] = Int64GetDatum(ids[i]);
			if (ep_exec(&lock_one, values, NULL, 1) == 1)
				folded += fold_locked(1, &ids[i], NULL);
		}
		return folded;
	}
	items = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		items[i] = Int64GetDatum(ids[i]);
	values[0] = datum_array(items, n, INT8OID);
	locked = (int) ep_exec(&lock, values, NULL, 0);
	for (i = 0; i < locked; i++)
		ids[i] = ep_int64(i, 1);
	return fold_locked(locked, ids, NULL);
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
