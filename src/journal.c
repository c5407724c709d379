/*-------------------------------------------------------------------------
 *
 * journal.c
 *	  The journal of every account: the legs of posted transfers folded,
 *	  in transfer order, into hash-chained entries.
 *
 * Folding (escrow.fold_journal(): the maintenance worker, one folder at a
 * time) moves an account's waiting legs in transfer order from
 * escrow.unfolded into escrow.entries, numbering them 1, 2, ... with the
 * running balance after each and chaining them with SHA-256 over the
 * previous hash and the entry's account, seq, transfer, kind,
 * counterparty, amount, balance, hold and refunded transfer
 * (ep_entry_hash), 32 zero bytes before the first; the last entry is the
 * head of the chain.  The hash is therefore off the posting path
 * (ledger.c), and a fold changes an account row only to add the credits
 * it has not seen: it never locks an account that is only debited.  A call
 * that needs every committed credit in a row for a decision (a debit the
 * folded money does not cover) counts them in it under the row lock
 * (ep_apply_credits), leaving them for the next fold to chain.
 *
 *-------------------------------------------------------------------------
 */
#include "journal.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "common/cryptohash.h"
#include "direct.h"
#include "executor/executor.h"
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "storage/lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(escrow_entry_hash);
PG_FUNCTION_INFO_V1(escrow_fold_journal);

/* Most accounts one fold_journal() call folds (a larger request folds these) */
#define EP_FOLD_MAX_ACCOUNTS 100000

/*
 * Applied legs (debits checked against funds) one fold_journal() call
 * takes per account it may fold: they are taken oldest first, whatever
 * their account (they have no index entry by account)
 */
#define EP_FOLD_APPLIED_PER_ACCOUNT 16

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
	HTAB	   *map;
	uint64		found,
				i;

	for (i = 0; i < n; i++)
		ids[i] = Int64GetDatum(legs[i].transfer);
	values[0] = datum_array(ids, n, INT8OID);
	found = ep_exec(&by_id, values, NULL, 0);
	map = ep_id_map("escrowpay leg transfers", found, sizeof(EpLegTransfer));
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

/* The columns of escrow.entries a fold fills, in the order of its arrays */
static const char *const entry_columns[] = {"account", "seq", "transfer_id", "amount", "balance", "hash"};

static const Oid entry_types[] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, BYTEAOID};

#define EP_ENTRY_COLUMNS lengthof(entry_columns)

/*
 * Insert the n entries whose columns are cols[0..5][0..n) (entry_columns)
 * straight into escrow.entries' heap, packed a page per WAL record
 * (table_multi_insert, as COPY does), then their index entries, unique
 * checks included, each row made and checked as INSERT would
 * (ep_direct_fill()).  The fold writes two entries per transfer: one WAL
 * record per entry costs about 45 bytes more than its share of a page's
 * record.  Returns false, inserting nothing, when the table may not be
 * written directly (ep_direct_writable(): partitioned, with INSERT
 * triggers of any kind, row-level security applying or forced, ...), has
 * CHECK constraints (the fold's batch goes through SQL as a whole then,
 * as sql/36_fold_fallback shows) or lacks one of the columns: the caller
 * inserts through SQL then, so that all of that applies.
 */
static bool
insert_entries_direct(uint64 n, Datum **cols)
{
	EpDirect	d;
	int			natts;
	AttrNumber	attnums[EP_ENTRY_COLUMNS];
	Datum	   *values;
	bool	   *isnull;
	bool	   *given;
	TupleTableSlot **slots;
	uint64		i;
	int			c;

	if (!ep_direct_open(&d, "entries", CMD_INSERT))
		return false;
	/* with a CHECK, a batch one row of which it refuses goes through SQL */
	if (!ep_direct_columns(&d, EP_ENTRY_COLUMNS, entry_columns, entry_types, attnums) ||
		(RelationGetDescr(d.rel)->constr && RelationGetDescr(d.rel)->constr->num_check > 0))
	{
		ep_direct_close(&d);
		return false;
	}

	natts = RelationGetDescr(d.rel)->natts;
	values = palloc0(sizeof(Datum) * natts);
	isnull = palloc0(sizeof(bool) * natts);
	given = palloc0(sizeof(bool) * natts);
	for (c = 0; c < EP_ENTRY_COLUMNS; c++)
		given[attnums[c] - 1] = true;
	slots = palloc(sizeof(TupleTableSlot *) * n);
	for (i = 0; i < n; i++)
	{
		slots[i] = ExecInitExtraTupleSlot(d.estate, RelationGetDescr(d.rel), &TTSOpsVirtual);
		for (c = 0; c < EP_ENTRY_COLUMNS; c++)
			values[attnums[c] - 1] = cols[c][i];
		ep_direct_fill(&d, slots[i], values, isnull, given);
	}
	table_multi_insert(d.rel, slots, (int) n, GetCurrentCommandId(true), 0, NULL);
	for (i = 0; d.rri->ri_NumIndices > 0 && i < n; i++)
		list_free(ExecInsertIndexTuples(d.rri, slots[i], d.estate, false, false, NULL, NIL));
	ep_direct_close(&d);
	CommandCounterIncrement();
	return true;
}

/*
 * Fold waiting legs: move them from escrow.unfolded, in transfer order per
 * account, into escrow.entries (seq, running balance, hash chain, each
 * continuing the account's last entry).  Only the caller folds (it holds
 * the fold lock, fold_journal()), so no other transaction extends these
 * chains meanwhile.  The legs already applied to their rows (debits
 * checked against funds) are taken whatever their account, the oldest
 * applied_limit of them (on a Citus cluster those of the n accounts ids):
 * their rows do not change, so a fold never locks, nor makes wait, an
 * account that is only debited.  The legs the rows have not seen (credits,
 * a system account's debits) are taken only from the locked[0..nlocked)
 * accounts (ascending; the caller holds them FOR UPDATE), whose posted they
 * are added to.  Legs of transactions still in flight stay for a later
 * fold.  Three statements whatever n is (take the legs, read the chains'
 * last entries, update the rows that took credits) and one multi-insert
 * of the entries into their heap (insert_entries_direct(); on a Citus
 * cluster a fourth statement), so that the worker's fold costs per batch,
 * not per account.  Returns the number of legs folded.
 */
static int64
fold_accounts(int n, const int64 *ids, int nlocked, const int64 *locked, int64 applied_limit)
{
	/*
	 * Each leg's transfer by its key: the lateral subquery (OFFSET 0 keeps
	 * it one) is an index probe per leg whatever the statistics were when
	 * the plan was made; a join planned while escrow.transfers was young
	 * hashes a sequential scan of it, for as long as the plan is kept.  On
	 * a Citus cluster (custom plans, and no lateral outer join over a
	 * distributed table) a plain join.
	 */
#define EP_LEG_OF(t) \
		t ".kind, CASE WHEN d.amount < 0 THEN " t ".credit_account " \
		"ELSE " t ".debit_account END, coalesce(" t ".hold_id, 0), coalesce(" t ".refund_of, 0) "
	/*
	 * The applied legs have no index entry (unfolded_account indexes the
	 * others): the oldest $1 of them are found in a scan of the queue, all
	 * those of transfers up to the newest of these taken, so that what an
	 * account leaves for a later fold comes after what it chains now
	 */
	static EpPlan take = EP_PLAN("WITH b AS (SELECT max(transfer_id) AS upto "
		"             FROM (SELECT transfer_id FROM escrow.unfolded WHERE applied "
		"                    ORDER BY transfer_id LIMIT $1) o), "
		"d AS (DELETE FROM escrow.unfolded u USING b "
		"       WHERE (u.applied AND u.transfer_id <= b.upto) "
		"          OR (NOT u.applied AND u.account = ANY ($2)) "
		"      RETURNING u.account, u.transfer_id, u.amount, u.applied) "
		"SELECT d.account, d.transfer_id, d.amount, d.applied, t.* "
		"  FROM d LEFT JOIN LATERAL (SELECT " EP_LEG_OF("x") " FROM escrow.transfers x "
		"                             WHERE x.id = d.transfer_id OFFSET 0) t ON true "
		" ORDER BY d.account, d.transfer_id", INT8OID, INT8ARRAYOID);
	/*
	 * On a Citus cluster no join at all: the legs and their transfers are
	 * not co-located (legs by account, transfers by id), and Citus would
	 * read every shard of transfers for it; the legs' transfers are read
	 * by id afterwards (legs_transfers()), from the shards holding them
	 */
	static EpPlan take_distributed = EP_PLAN("WITH d AS (DELETE FROM escrow.unfolded "
		"            WHERE account = ANY ($1) AND (applied OR account = ANY ($2)) "
		"           RETURNING account, transfer_id, amount, applied) "
		"SELECT account, transfer_id, amount, applied FROM d ORDER BY account, transfer_id",
		INT8ARRAYOID, INT8ARRAYOID);
	/* each chain's last entry: one backward probe of entries_pkey per account */
	static EpPlan last = EP_PLAN("SELECT e.account, e.seq, e.balance, e.hash "
		"  FROM unnest($1::bigint[]) AS a(id) "
		"  JOIN LATERAL (SELECT account, seq, balance, hash FROM escrow.entries "
		"                 WHERE account = a.id ORDER BY seq DESC LIMIT 1) e ON true "
		" ORDER BY e.account", INT8ARRAYOID);
	/* on a Citus cluster one account per statement: one shard, not all of them */
	static EpPlan last_one = EP_PLAN("SELECT account, seq, balance, hash FROM escrow.entries "
		" WHERE account = $1 ORDER BY seq DESC LIMIT 1", INT8OID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.entries (account, seq, transfer_id, amount, balance, hash) "
		"SELECT u.c, u.s, u.x, u.a, u.b, u.h "
		"  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
		"              $5::bigint[], $6::bytea[]) AS u(c, s, x, a, b, h)",
		INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, BYTEAARRAYOID);
	static EpPlan update = EP_PLAN("UPDATE escrow.accounts a SET posted = a.posted + u.unseen "
		"  FROM unnest($1::bigint[], $2::bigint[]) AS u(id, unseen) "
		" WHERE a.id = u.id", INT8ARRAYOID, INT8ARRAYOID);
	/* on a Citus cluster one row per statement: one shard, not all of them */
	static EpPlan update_one = EP_PLAN("UPDATE escrow.accounts SET posted = posted + $2 WHERE id = $1",
		INT8OID, INT8OID);
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
			   *columns[EP_ENTRY_COLUMNS];
	EpEntry    *legs;
	bool	   *applied;
	uint64		nlegs,
				nlast,
				i,
				j,
				k;
	bool		isnull;

	if (sharded)
	{
		accounts = palloc(sizeof(Datum) * Max(n, 1));
		for (i = 0; i < (uint64) n; i++)
			accounts[i] = Int64GetDatum(ids[i]);
		values[0] = datum_array(accounts, n, INT8OID);
	}
	else
		values[0] = Int64GetDatum(applied_limit);
	accounts = palloc(sizeof(Datum) * Max(nlocked, 1));
	for (i = 0; i < (uint64) nlocked; i++)
		accounts[i] = Int64GetDatum(locked[i]);
	values[1] = datum_array(accounts, nlocked, INT8OID);
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

	accounts = palloc(sizeof(Datum) * nlegs);
	seqs = palloc(sizeof(Datum) * nlegs);
	transfers = palloc(sizeof(Datum) * nlegs);
	amounts = palloc(sizeof(Datum) * nlegs);
	balances = palloc(sizeof(Datum) * nlegs);
	hashes = palloc(sizeof(Datum) * nlegs);
	touched = palloc(sizeof(Datum) * nlegs);
	unseens = palloc(sizeof(Datum) * nlegs);

	/* the last entry of each chain with legs taken, in account order */
	for (i = 0, k = 0; i < nlegs; i++)
		if (i == 0 || legs[i].account != legs[i - 1].account)
			touched[k++] = Int64GetDatum(legs[i].account);
	if (sharded)
	{
		/* one account (fold_journal() folds one at a time there) */
		Assert(k == 1);
		values[0] = touched[0];
		nlast = ep_exec(&last_one, values, NULL, 0);
	}
	else
	{
		values[0] = datum_array(touched, k, INT8OID);
		nlast = ep_exec(&last, values, NULL, 0);
	}

	i = 0;
	j = 0;
	k = 0;
	while (i < nlegs)
	{
		int64		account = legs[i].account;
		int64		count = 0;
		int64		balance = 0;
		int64		unseen = 0;
		uint8		hash[EP_HASH_LEN];

		memset(hash, 0, EP_HASH_LEN);
		while (j < nlast && ep_int64(j, 1) < account)
			j++;
		if (j < nlast && ep_int64(j, 1) == account)
		{
			bytea	   *stored = DatumGetByteaPP(ep_datum(j, 4, &isnull));

			count = ep_int64(j, 2);
			balance = ep_int64(j, 3);
			if (VARSIZE_ANY_EXHDR(stored) != EP_HASH_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("hash of entry %lld/%lld is not %d bytes",
								(long long) account, (long long) count, EP_HASH_LEN),
						 errhint("Run escrow.verify_ledger().")));
			memcpy(hash, VARDATA_ANY(stored), EP_HASH_LEN);
		}
		for (; i < nlegs && legs[i].account == account; i++)
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
			accounts[i] = Int64GetDatum(account);
			seqs[i] = Int64GetDatum(legs[i].seq);
			transfers[i] = Int64GetDatum(legs[i].transfer);
			amounts[i] = Int64GetDatum(legs[i].amount);
			balances[i] = Int64GetDatum(balance);
			hashes[i] = PointerGetDatum(h);
		}
		if (unseen != 0)
		{
			touched[k] = Int64GetDatum(account);
			unseens[k] = Int64GetDatum(unseen);
			k++;
		}
	}

	columns[0] = accounts;
	columns[1] = seqs;
	columns[2] = transfers;
	columns[3] = amounts;
	columns[4] = balances;
	columns[5] = hashes;
	/* on a Citus cluster entries is distributed: through SQL, to its shards */
	if (sharded || !insert_entries_direct(nlegs, columns))
	{
		for (i = 0; i < EP_ENTRY_COLUMNS; i++)
			values[i] = datum_array(columns[i], nlegs, i < 5 ? INT8OID : BYTEAOID);
		ep_exec(&insert, values, NULL, 0);
	}

	if (k == 0)
		return (int64) nlegs;
	if (sharded)
	{
		values[0] = touched[0];
		values[1] = unseens[0];
		ep_exec(&update_one, values, NULL, 0);
		return (int64) nlegs;
	}
	values[0] = datum_array(touched, k, INT8OID);
	values[1] = datum_array(unseens, k, INT8OID);
	ep_exec(&update, values, NULL, 0);
	return (int64) nlegs;
}

/*
 * Count in account's row the legs waiting for it that the row has not seen
 * (credits, a system account's debits), for a decision that needs every
 * committed credit: the caller holds the row FOR UPDATE, so that no fold
 * takes them meanwhile.  They stay waiting, marked applied, for the next
 * fold to chain; nothing else changes.  *posted, the row's figure as the
 * caller read it under the lock, becomes the new one.
 */
void
ep_apply_credits(int64 account, int64 *posted)
{
	static EpPlan mark = EP_PLAN("UPDATE escrow.unfolded SET applied = true "
		" WHERE account = $1 AND NOT applied RETURNING amount", INT8OID);
	static EpPlan add = EP_PLAN("UPDATE escrow.accounts SET posted = $2 WHERE id = $1",
		INT8OID, INT8OID);
	Datum		values[2];
	uint64		n,
				i;
	int64		total = *posted;

	values[0] = Int64GetDatum(account);
	n = ep_exec(&mark, values, NULL, 0);
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		total = ep_add(total, ep_int64(i, 1), "account balance");
	values[1] = Int64GetDatum(total);
	ep_exec(&add, values, NULL, 0);
	*posted = total;
}

/*
 * Where the last fold_journal() of this backend stopped: the next one
 * starts after it and wraps around, so that under a steady stream of
 * postings every account gets folded, not only the lowest ids.
 */
static int64 fold_cursor = 0;

/*
 * The fold lock: one folder at a time per database, so that each chain
 * is extended by one transaction at a time without locking its account.
 * An advisory lock of a key space of its own (field4 3: the SQL
 * functions use 1 and 2), held to the end of the transaction.  A call
 * waits for a fold in progress (the worker's are short), so that it
 * folds what was committed before it; the maintenance worker never waits
 * (false: another transaction folds, the worker's round folds nothing).
 * A fold never waits for anything else (rows with SKIP LOCKED; only a
 * fold writes entries or deletes legs), so the wait cannot deadlock.
 */
static bool
fold_lock(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0x65736372, 0x666f6c64, 3);
	return LockAcquire(&tag, ExclusiveLock, false, IsBackgroundWorker) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Fold the legs their rows have not seen of up to max_accounts accounts,
 * in id order from the cursor (wrapping around), and the oldest
 * EP_FOLD_APPLIED_PER_ACCOUNT * max_accounts applied legs (on a Citus
 * cluster: every leg of up to max_accounts accounts); returns the number
 * of legs folded (in the maintenance worker nothing while another
 * transaction folds, see fold_lock()).  The rows of the accounts with
 * legs their rows have not seen are locked with SKIP LOCKED (an account
 * another transaction holds gets those folded next time), so this never
 * waits.
 */
static int64
fold_journal(int32 max_accounts)
{
	/*
	 * the distinct accounts after $2 with legs their rows have not seen,
	 * one probe of the queue's (partial) index each
	 */
	static EpPlan waiting = EP_PLAN("WITH RECURSIVE a(account) AS ("
		"  (SELECT account FROM escrow.unfolded WHERE account > $2 AND NOT applied "
		"     ORDER BY account LIMIT 1) "
		"  UNION ALL "
		"  SELECT (SELECT u.account FROM escrow.unfolded u WHERE u.account > a.account "
		"             AND NOT u.applied ORDER BY u.account LIMIT 1) "
		"    FROM a WHERE a.account IS NOT NULL) "
		"SELECT account FROM a WHERE account IS NOT NULL LIMIT $1", INT4OID, INT8OID);

	/*
	 * On a Citus cluster, which plans a recursive CTE only with a filter on
	 * the distribution column: each shard's distinct accounts, merged
	 */
	static EpPlan waiting_sharded = EP_PLAN("SELECT DISTINCT account FROM escrow.unfolded WHERE account > $2 "
		" ORDER BY account LIMIT $1", INT4OID, INT8OID);
	/*
	 * Of these, the accounts with legs their rows have not seen: a probe of
	 * the queue's index per account (a subquery, not EXISTS: as a semi-join
	 * it read the whole index of the queue per batch)
	 */
	static EpPlan lock = EP_PLAN("SELECT id FROM escrow.accounts a WHERE id = ANY ($1) "
		"   AND (SELECT true FROM escrow.unfolded u WHERE u.account = a.id AND NOT u.applied "
		"         LIMIT 1) "
		" ORDER BY id FOR UPDATE SKIP LOCKED", INT8ARRAYOID);
	Datum		values[2];
	int64	   *ids;
	int64	   *locked;
	int			n = 0,
				pass,
				i;
	int64		start = fold_cursor;
	Datum	   *items;
	int			nlocked;

	if (!fold_lock())
		return 0;
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
	if (n == 0 && ep_distributed())
		return 0;

	/* lock what nobody holds, in id order, and fold those in one pass */
	qsort(ids, n, sizeof(int64), ep_cmp_int64);
	if (ep_distributed())
	{
		/* Citus locks rows of one shard per statement: one account at a time */
		static EpPlan lock_one = EP_PLAN("SELECT id FROM escrow.accounts a WHERE id = $1 "
			"   AND EXISTS (SELECT 1 FROM escrow.unfolded u WHERE u.account = a.id AND NOT u.applied) "
			"   FOR UPDATE SKIP LOCKED", INT8OID);
		int64		folded = 0;

		for (i = 0; i < n; i++)
		{
			values[0] = Int64GetDatum(ids[i]);
			folded += fold_accounts(1, &ids[i],
									ep_exec(&lock_one, values, NULL, 1) == 1 ? 1 : 0, &ids[i], 0);
		}
		return folded;
	}
	items = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
		items[i] = Int64GetDatum(ids[i]);
	values[0] = datum_array(items, n, INT8OID);
	nlocked = n > 0 ? (int) ep_exec(&lock, values, NULL, 0) : 0;
	locked = palloc(sizeof(int64) * Max(nlocked, 1));
	for (i = 0; i < nlocked; i++)
		locked[i] = ep_int64(i, 1);
	return fold_accounts(n, ids, nlocked, locked,
						 (int64) max_accounts * EP_FOLD_APPLIED_PER_ACCOUNT);
}

/*
 * escrow.fold_journal(max_accounts integer DEFAULT 1000) RETURNS bigint
 *
 * Folds the credits (the legs their rows have not seen) of up to
 * max_accounts accounts (in id order from where this backend's previous
 * call stopped, wrapping around; skipping accounts another transaction
 * holds) and the oldest 16 * max_accounts applied legs (debits checked
 * against funds) whatever their account; returns the number of legs
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
