/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The double-entry core: accounts, posted transfers and the journal.
 *
 * A transfer posts exactly two entries (debit -amount, credit +amount).
 * Each account's entries are numbered 1, 2, ... and chained with SHA-256
 * over the previous hash and the entry's account, seq, transfer, kind,
 * counterparty, amount, balance, hold and refunded transfer (see
 * ep_entry_hash), with 32 zero bytes before the first entry.  The account
 * row keeps the head of its chain, so appending needs only the row that is
 * updated anyway, and no lock wider than the two accounts involved.
 *
 * A hot account can have balance shards (set_account_shards): rows of
 * kind 'shard', each with its own chain, that take its credits so that
 * concurrent credits do not queue on one row.
 *
 * Accounts are updated with guarded single statements (the WHERE clause
 * carries the funds check) in ascending id order, so concurrent transfers
 * never deadlock; when the guard refuses, post_leg_slow() reads the row once
 * more to say precisely why, or takes the sharded path.
 *
 *-------------------------------------------------------------------------
 */
#include "ledger.h"

#include "common/cryptohash.h"
#include "fmgr.h"
#include "idempotency.h"
#include "money.h"
#include "plan.h"
#include "port/pg_bswap.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "catalog/namespace.h"

static int64 funding_account_of(int64 account);

PG_FUNCTION_INFO_V1(escrow_entry_hash);
PG_FUNCTION_INFO_V1(escrow_open_account);
PG_FUNCTION_INFO_V1(escrow_deposit);
PG_FUNCTION_INFO_V1(escrow_withdraw);
PG_FUNCTION_INFO_V1(escrow_transfer);
PG_FUNCTION_INFO_V1(escrow_set_credit_limit);
PG_FUNCTION_INFO_V1(escrow_set_account_shards);

/* Most balance shards one account may have */
#define EP_MAX_SHARDS 64

/*
 * The SET list of a posting: parameters $2 delta, $3 held given up,
 * $4 transfer, $5 kind, $6 counterparty, $7 hold id, $8 refund of.
 */
#define LEG_SET \
	"SET posted = posted + $2, held = held - $3, " \
	"    entry_count = entry_count + 1, " \
	"    chain_head = escrow.entry_hash(chain_head, id, entry_count + 1, $4, $5, " \
	"                                   $6, $2, posted + $2, $7, $8) "
/*
 * posted + $2 stays within +/-bound, the bound of the balance row
 * (limits.h); written so that it cannot overflow
 */
#define LEG_WITHIN(bound) \
	" ($2 <= 0 OR posted <= " bound " - $2) " \
	" AND ($2 >= 0 OR posted >= -" bound " - $2) "
/* the bound of an account row by its kind */
#define ROW_BOUND \
	"(CASE WHEN kind = 'system' THEN " EP_MAX_SYSTEM_BALANCE_SQL \
	" ELSE " EP_MAX_BALANCE_SQL " END)"
#define LEG_RETURNING " RETURNING id, posted, entry_count, chain_head"
#define LEG_NARGS 8
#define LEG_TYPES INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID

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

/* An account row as the slow paths see it */
typedef struct EpAccount
{
	int64		id;
	char	   *kind;
	char	   *currency;
	int64		posted;			/* of the row itself */
	int64		held;
	int64		limit;
	int32		shards;
	bool		funding;
} EpAccount;

/*
 * Read an account (P0002 when missing), checking the currency it must be
 * in (EP004) and that it is not a funding account unless allowed (22023).
 * With lock, the row is locked FOR UPDATE.
 */
static void
fetch_account(int64 id, const char *currency, bool allow_funding, bool lock,
			  EpAccount *a)
{
	static EpPlan fetch = {NULL,
		"SELECT kind, currency, posted, held, credit_limit, shards, "
		"       owner = '" EP_FUNDING_OWNER "' "
		"  FROM escrow.accounts WHERE id = $1 AND kind <> 'shard'",
	1, {INT8OID}};
	static EpPlan fetch_locked = {NULL,
		"SELECT kind, currency, posted, held, credit_limit, shards, "
		"       owner = '" EP_FUNDING_OWNER "' "
		"  FROM escrow.accounts WHERE id = $1 AND kind <> 'shard' FOR UPDATE",
	1, {INT8OID}};
	Datum		values[1];
	bool		isnull;

	values[0] = Int64GetDatum(id);
	if (ep_exec(lock ? &fetch_locked : &fetch, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %lld does not exist", (long long) id)));
	a->id = id;
	a->kind = ep_text(0, 1);
	a->currency = ep_text(0, 2);
	a->posted = ep_int64(0, 3);
	a->held = ep_int64(0, 4);
	a->limit = ep_int64(0, 5);
	a->shards = DatumGetInt16(ep_datum(0, 6, &isnull));
	a->funding = DatumGetBool(ep_datum(0, 7, &isnull));

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
}

/* posted + balance shards of an account whose row the caller has locked */
static int64
total_posted(const EpAccount *a)
{
	static EpPlan shard_sum = {NULL,
		"SELECT coalesce(sum(posted), 0)::bigint FROM escrow.accounts WHERE parent = $1",
	1, {INT8OID}};
	Datum		values[1];

	if (a->shards == 0)
		return a->posted;
	values[0] = Int64GetDatum(a->id);
	ep_exec(&shard_sum, values, NULL, 1);
	return ep_add(a->posted, ep_int64(0, 1), "account balance");
}

/*
 * Refuse unless account a (locked, or not sharded) can give up `requested`
 * more than it gives now: available = posted (+ shards) + limit - held.
 * held_after is its held amount after the change.
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

/* Fill a posting statement's parameters $1..$8 */
static void
leg_values(Datum *values, char *nulls, int64 row, int64 delta, int64 unhold,
		   const EpPosting *p, int64 counterparty)
{
	values[0] = Int64GetDatum(row);
	values[1] = Int64GetDatum(delta);
	values[2] = Int64GetDatum(unhold);
	values[3] = Int64GetDatum(p->id);
	values[4] = CStringGetTextDatum(p->kind);
	values[5] = Int64GetDatum(counterparty);
	values[6] = Int64GetDatum(p->hold_id);
	values[7] = Int64GetDatum(p->refund_of);
	memset(nulls, ' ', LEG_NARGS);
}

/* One posted leg's result: the row written, its balance, seq and hash */
typedef struct EpLeg
{
	int64		row;
	int64		balance;
	int64		seq;
	Datum		hash;
} EpLeg;

static void
leg_result(EpLeg *leg)
{
	bool		isnull;

	leg->row = ep_int64(0, 1);
	leg->balance = ep_int64(0, 2);
	leg->seq = ep_int64(0, 3);
	leg->hash = ep_datum(0, 4, &isnull);
}

/*
 * Accounts known to have balance shards, so that their credits go straight
 * to a shard instead of first failing the plain guarded update.  Per
 * backend by nature (a cache of catalog-like facts); safe because shards
 * are never removed and an account's kind, owner and currency never
 * change.  It is emptied when escrow.accounts is a different table (the
 * extension was dropped and created again in this session), and an entry
 * whose shards cannot be found is dropped and the normal path taken.
 */
typedef struct EpShardedAccount
{
	int64		account;		/* hash key */
	int32		shards;
	bool		system;
	bool		funding;
	char		currency[4];
} EpShardedAccount;

static HTAB *sharded_accounts = NULL;
static Oid	sharded_accounts_table = InvalidOid;

static EpShardedAccount *
sharded_lookup(int64 account, bool create)
{
	Oid			table = get_relname_relid("accounts", get_namespace_oid(EP_SCHEMA, false));
	bool		found;

	if (sharded_accounts == NULL || table != sharded_accounts_table)
	{
		HASHCTL		ctl;

		if (sharded_accounts != NULL)
			hash_destroy(sharded_accounts);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(EpShardedAccount);
		ctl.hcxt = TopMemoryContext;
		sharded_accounts = hash_create("escrowpay sharded accounts", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		sharded_accounts_table = table;
	}
	return hash_search(sharded_accounts, &account, create ? HASH_ENTER : HASH_FIND, &found);
}

static void
sharded_remember(const EpAccount *a)
{
	EpShardedAccount *e = sharded_lookup(a->id, true);

	e->shards = a->shards;
	e->system = strcmp(a->kind, "system") == 0;
	e->funding = a->funding;
	strlcpy(e->currency, a->currency, sizeof(e->currency));
}

/*
 * Post a leg to a free balance shard of account (or, when all are busy,
 * queue on one); false when the account has no shard rows.
 */
static bool
post_to_shard(int64 account, int32 shards, bool system, int64 delta, int64 unhold,
			  const EpPosting *p, int64 counterparty, EpLeg *leg)
{
	/* the first shard no one holds among those that can take delta */
	static EpPlan shard_free = {NULL,
		"UPDATE escrow.accounts " LEG_SET
		" WHERE id = (SELECT id FROM escrow.accounts WHERE parent = $1 "
		"               AND " LEG_WITHIN("$9")
		"              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
		"   AND " LEG_WITHIN("$9") LEG_RETURNING,
	LEG_NARGS + 1, {LEG_TYPES, INT8OID}};
	static EpPlan shard_any = {NULL,
		"UPDATE escrow.accounts " LEG_SET
		" WHERE id = (SELECT id FROM escrow.accounts WHERE parent = $1 "
		"               AND " LEG_WITHIN("$9")
		"              ORDER BY id OFFSET $10 LIMIT 1) "
		"   AND " LEG_WITHIN("$9") LEG_RETURNING,
	LEG_NARGS + 2, {LEG_TYPES, INT8OID, INT8OID}};
	Datum		values[LEG_NARGS + 2];
	char		nulls[LEG_NARGS + 2];

	leg_values(values, nulls, account, delta, unhold, p, counterparty);
	values[LEG_NARGS] = Int64GetDatum(system ? EP_MAX_SYSTEM_BALANCE : EP_MAX_BALANCE);
	nulls[LEG_NARGS] = ' ';
	if (ep_exec(&shard_free, values, nulls, 0) != 1)
	{
		/*
		 * every shard that can take it is busy: queue on one of them (the
		 * first, if fewer than this offset can take it)
		 */
		values[LEG_NARGS + 1] = Int64GetDatum(MyProcPid % Max(shards, 1));
		nulls[LEG_NARGS + 1] = ' ';
		if (ep_exec(&shard_any, values, nulls, 0) != 1)
		{
			values[LEG_NARGS + 1] = Int64GetDatum(0);
			if (ep_exec(&shard_any, values, nulls, 0) != 1)
				return false;	/* no shard can take it */
		}
	}
	leg_result(leg);
	return true;
}

/*
 * The slow path of a leg: the guarded update touched no row.  Either say
 * why (missing account, currency, funding account, overflow, funds), or
 * post anyway: credits to a sharded account (and any leg of a sharded
 * system account) go to a balance shard that no other transaction holds;
 * other legs lock the account row and check funds (over all its shards)
 * under that lock, since funds may have arrived after the guard looked.
 */
static void
post_leg_slow(int64 account, int64 delta, int64 unhold, const EpPosting *p,
			  int64 counterparty, char **currency, bool allow_funding, EpLeg *leg)
{
	static EpPlan unguarded = {NULL,
		"UPDATE escrow.accounts " LEG_SET " WHERE id = $1 " LEG_RETURNING,
	LEG_NARGS, {LEG_TYPES}};
	EpAccount	a;
	Datum		values[LEG_NARGS + 1];
	char		nulls[LEG_NARGS + 1];
	bool		debit = delta < 0;

	fetch_account(account, *currency, allow_funding, false, &a);
	*currency = a.currency;

	if (a.shards > 0)
		sharded_remember(&a);
	if (a.shards > 0 && (!debit || strcmp(a.kind, "system") == 0))
	{
		if (!post_to_shard(account, a.shards, strcmp(a.kind, "system") == 0, delta, unhold,
						   p, counterparty, leg))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the balance shard of account %lld would leave its bound",
							(long long) account),
					 errdetail("Posting %lld; the bound of a %s balance row is +/-%lld.",
							   (long long) delta,
							   strcmp(a.kind, "system") == 0 ? "system account's" :
							   "deposit or credit account's",
							   (long long) (strcmp(a.kind, "system") == 0 ?
											EP_MAX_SYSTEM_BALANCE : EP_MAX_BALANCE)),
					 errhint("Move money out of the account first.")));
		return;
	}

	/*
	 * A debit the guard refused (or a sharded account's debit): decide
	 * under the row lock.  Funds may have arrived since the guarded update
	 * looked, so this is not necessarily a refusal.
	 */
	fetch_account(account, *currency, allow_funding, true, &a);
	check_funds(&a, ep_add(total_posted(&a), delta, "account balance"),
				ep_sub(a.held, unhold, "held amount"), -delta);
	ep_check_balance(account, strcmp(a.kind, "system") == 0, a.posted, delta);
	leg_values(values, nulls, account, delta, unhold, p, counterparty);
	ep_exec(&unguarded, values, nulls, 0);
	leg_result(leg);
}

/*
 * Post one leg: change an account's posted balance by delta and its held
 * amount by -unhold, append to its hash chain.  The guarded update covers
 * plain accounts; anything it refuses goes to post_leg_slow().  Sets
 * *currency to the account's when NULL, or requires it.
 */
static void
post_leg(int64 account, int64 delta, int64 unhold, const EpPosting *p,
		 int64 counterparty, char **currency, bool allow_funding, EpLeg *leg)
{
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts " LEG_SET
		" WHERE id = $1 AND kind <> 'shard' "
		"   AND ($9::text IS NULL OR currency = $9) "
		"   AND ($10 OR owner <> '" EP_FUNDING_OWNER "') "
		"   AND (shards = 0 OR ($2 < 0 AND kind <> 'system')) "
		"   AND " LEG_WITHIN(ROW_BOUND)
		"   AND (kind = 'system' OR $2 >= 0 OR posted + $2 >= (held - $3) - credit_limit) "
		"RETURNING id, posted, entry_count, chain_head, currency",
	LEG_NARGS + 2, {LEG_TYPES, TEXTOID, BOOLOID}};
	Datum		values[LEG_NARGS + 2];
	char		nulls[LEG_NARGS + 2];
	EpShardedAccount *sharded = sharded_lookup(account, false);

	/* a known hot account taking a credit: straight to a shard */
	if (sharded && (delta > 0 || sharded->system) &&
		(*currency == NULL || strcmp(*currency, sharded->currency) == 0) &&
		(allow_funding || !sharded->funding))
	{
		if (post_to_shard(account, sharded->shards, sharded->system, delta, unhold, p,
						  counterparty, leg))
		{
			if (*currency == NULL)
				*currency = pstrdup(sharded->currency);
			return;
		}
		/* stale or overflowing: forget it and take the normal path */
		hash_search(sharded_accounts, &account, HASH_REMOVE, NULL);
	}

	leg_values(values, nulls, account, delta, unhold, p, counterparty);
	values[LEG_NARGS] = *currency ? CStringGetTextDatum(*currency) : (Datum) 0;
	nulls[LEG_NARGS] = *currency ? ' ' : 'n';
	values[LEG_NARGS + 1] = BoolGetDatum(allow_funding);
	nulls[LEG_NARGS + 1] = ' ';
	if (ep_exec(&update, values, nulls, 0) != 1)
	{
		post_leg_slow(account, delta, unhold, p, counterparty, currency,
					  allow_funding, leg);
		return;
	}
	leg_result(leg);
	if (*currency == NULL)
		*currency = ep_text(0, 5);
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
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.transfer_owners (transfer_id, deal, receivable, terminal, batch) "
		"VALUES ($1, nullif($2, 0), nullif($3, 0), $4, nullif($5, 0))",
	5, {INT8OID, INT8OID, INT8OID, TEXTOID, INT8OID}};
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
 * Post a transfer: update both accounts in ascending id order, then insert
 * the transfer and its two entries in one statement.  Raises (changing
 * nothing, as the transaction aborts) on any refusal.  Only deposits and
 * withdrawals may touch a funding account.  An owned posting also records
 * its owner (public postings pay nothing for this).
 */
void
ep_post_transfer(const EpPosting *p)
{
	static EpPlan insert = {NULL,
		"WITH t AS ("
		"  INSERT INTO escrow.transfers "
		"    (id, kind, debit_account, credit_account, amount, hold_id, refund_of) "
		"  VALUES ($1, $2, $3, $4, $5, $6, $7)) "
		"INSERT INTO escrow.entries (account, seq, transfer_id, amount, balance, hash) "
		"VALUES ($8, $9, $1, -$5, $10, $11), ($12, $13, $1, $5, $14, $15)",
	15, {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, INT8OID, BYTEAOID, INT8OID, INT8OID, INT8OID, BYTEAOID}};
	char	   *currency = NULL;
	bool		funding = strcmp(p->kind, "deposit") == 0 ||
		strcmp(p->kind, "withdraw") == 0;
	EpLeg		d,
				c;
	Datum		values[15];
	char		nulls[15];

	if (p->debit == p->credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) p->debit)));

	if (p->debit < p->credit)
	{
		post_leg(p->debit, -p->amount, p->debit_unhold, p, p->credit, &currency, funding, &d);
		post_leg(p->credit, p->amount, 0, p, p->debit, &currency, funding, &c);
	}
	else
	{
		post_leg(p->credit, p->amount, 0, p, p->debit, &currency, funding, &c);
		post_leg(p->debit, -p->amount, p->debit_unhold, p, p->credit, &currency, funding, &d);
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(p->id);
	values[1] = CStringGetTextDatum(p->kind);
	values[2] = Int64GetDatum(p->debit);
	values[3] = Int64GetDatum(p->credit);
	values[4] = Int64GetDatum(p->amount);
	values[5] = Int64GetDatum(p->hold_id);
	nulls[5] = p->hold_id ? ' ' : 'n';
	values[6] = Int64GetDatum(p->refund_of);
	nulls[6] = p->refund_of ? ' ' : 'n';
	values[7] = Int64GetDatum(d.row);
	values[8] = Int64GetDatum(d.seq);
	values[9] = Int64GetDatum(d.balance);
	values[10] = d.hash;
	values[11] = Int64GetDatum(c.row);
	values[12] = Int64GetDatum(c.seq);
	values[13] = Int64GetDatum(c.balance);
	values[14] = c.hash;
	ep_exec(&insert, values, nulls, 0);
	if (ep_owned(&p->owner))
		record_owner(p->id, &p->owner);
}

/*
 * Raise the precise error for a hold from debit to credit whose accounts
 * are unusable: the same account, missing, a shard, a funding account, or
 * in different currencies.  Returns when they are fine.
 */
void
ep_check_hold_accounts(int64 debit, int64 credit)
{
	EpAccount	c;
	EpAccount	a;

	if (debit == credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) debit)));
	fetch_account(credit, NULL, false, false, &c);
	fetch_account(debit, c.currency, false, false, &a);
}

/*
 * held += amount on debit, refused unless available covers it.  The
 * guarded update covers plain accounts; otherwise the decision is taken
 * under the row lock, over all shards.  The caller has checked the
 * accounts (ep_check_hold_accounts).
 */
void
ep_add_held(int64 debit, int64 amount)
{
	static EpPlan guarded = {NULL,
		"UPDATE escrow.accounts SET held = held + $2 "
		" WHERE id = $1 AND kind <> 'shard' AND shards = 0 "
		"   AND owner <> '" EP_FUNDING_OWNER "' "
		"   AND held <= " EP_MAX_BALANCE_SQL " - $2 "
		"   AND (kind = 'system' OR posted >= (held + $2) - credit_limit)",
	2, {INT8OID, INT8OID}};
	static EpPlan unguarded = {NULL,
		"UPDATE escrow.accounts SET held = held + $2 WHERE id = $1",
	2, {INT8OID, INT8OID}};
	Datum		values[2];
	EpAccount	a;

	values[0] = Int64GetDatum(debit);
	values[1] = Int64GetDatum(amount);
	if (ep_exec(&guarded, values, NULL, 0) == 1)
		return;

	/* refused, or sharded, or funds arrived since: decide under the row lock */
	fetch_account(debit, NULL, false, true, &a);
	ep_check_held(debit, a.held, amount);
	check_funds(&a, total_posted(&a), ep_add(a.held, amount, "held amount"), amount);
	ep_exec(&unguarded, values, NULL, 0);
}

/*
 * Reserve amount on debit for a hold to credit, in one statement when the
 * accounts are plain and the funds are there.
 */
void
ep_reserve_funds(int64 debit, int64 credit, int64 amount)
{
	static EpPlan reserve = {NULL,
		"UPDATE escrow.accounts a SET held = a.held + $3 "
		"  FROM escrow.accounts c "
		" WHERE a.id = $1 AND c.id = $2 AND a.id <> c.id AND c.currency = a.currency "
		"   AND c.kind <> 'shard' AND c.owner <> '" EP_FUNDING_OWNER "' "
		"   AND a.owner <> '" EP_FUNDING_OWNER "' AND a.shards = 0 AND a.kind <> 'shard' "
		"   AND a.held <= " EP_MAX_BALANCE_SQL " - $3 "
		"   AND (a.kind = 'system' OR a.posted >= (a.held + $3) - a.credit_limit)",
	3, {INT8OID, INT8OID, INT8OID}};
	Datum		values[3];

	values[0] = Int64GetDatum(debit);
	values[1] = Int64GetDatum(credit);
	values[2] = Int64GetDatum(amount);
	if (ep_exec(&reserve, values, NULL, 0) == 1)
		return;
	ep_check_hold_accounts(debit, credit);
	ep_add_held(debit, amount);
}

/* Give up amount of what account holds */
void
ep_unhold(int64 account, int64 amount)
{
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts SET held = held - $2 WHERE id = $1",
	2, {INT8OID, INT8OID}};
	Datum		values[2];

	values[0] = Int64GetDatum(account);
	values[1] = Int64GetDatum(amount);
	ep_exec(&update, values, NULL, 0);
}

/*
 * Is the role calling escrowpay (not the SECURITY DEFINER owner it runs
 * as) a member of escrow_admin, or a superuser?
 */
bool
ep_caller_is_admin(void)
{
	Oid			admin = get_role_oid("escrow_admin", true);

	return superuser_arg(GetOuterUserId()) ||
		(OidIsValid(admin) && has_privs_of_role(GetOuterUserId(), admin));
}

/* The funding system account of account's currency (P0002 if no account) */
static int64
funding_account_of(int64 account)
{
	static EpPlan lookup = {NULL,
		"SELECT f.id FROM escrow.accounts a "
		"  JOIN escrow.accounts f ON f.currency = a.currency "
		"   AND f.kind = 'system' AND f.owner = '" EP_FUNDING_OWNER "' "
		" WHERE a.id = $1 AND a.kind <> 'shard'",
	1, {INT8OID}};
	Datum		values[1];

	values[0] = Int64GetDatum(account);
	if (ep_exec(&lookup, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %lld does not exist", (long long) account)));
	return ep_int64(0, 1);
}

/*
 * Money entering (deposit) or leaving (withdraw) the ledger through the
 * account's currency funding account, without an idempotency key; returns
 * the transfer id.
 */
int64
ep_post_funding(const char *kind, int64 account, int64 amount, const EpOwner *owner)
{
	EpPosting	p = {0};
	int64		funding = funding_account_of(account);
	bool		in = strcmp(kind, "deposit") == 0;

	if (owner)
		p.owner = *owner;
	p.kind = kind;
	p.id = ep_next_id("transfer_id_seq");
	p.debit = in ? funding : account;
	p.credit = in ? account : funding;
	p.amount = amount;
	ep_post_transfer(&p);
	return p.id;
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

/*
 * Shared body of deposit, withdraw and transfer: claim the idempotency
 * key, post, return the transfer id.
 */
static int64
post_with_key(const char *kind, int64 debit, int64 credit, int64 amount,
			  const char *key, const char *request)
{
	EpPosting	p = {0};
	int64		prior;

	p.kind = kind;
	p.id = ep_next_id("transfer_id_seq");
	p.debit = debit;
	p.credit = credit;
	p.amount = amount;
	if (key && ep_idem_claim(key, request, true, p.id, &prior))
		return prior;
	ep_post_transfer(&p);
	return p.id;
}

/*
 * escrow.open_account(owner text, currency text, kind text DEFAULT 'deposit',
 *					   credit_limit bigint DEFAULT 0) RETURNS bigint
 */
Datum
escrow_open_account(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan currency_plan = {NULL,
		"SELECT code FROM escrow.currencies WHERE code = upper($1)",
	1, {TEXTOID}};
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.accounts (owner, kind, currency, credit_limit) "
		"VALUES ($1, $2, $3, $4) RETURNING id",
	4, {TEXTOID, TEXTOID, TEXTOID, INT8OID}};
	static EpPlan funding = {NULL,
		"INSERT INTO escrow.accounts (owner, kind, currency) "
		"SELECT '" EP_FUNDING_OWNER "', 'system', $1 "
		" WHERE NOT EXISTS (SELECT 1 FROM escrow.accounts WHERE currency = $1 "
		"                      AND kind = 'system' AND owner = '" EP_FUNDING_OWNER "') "
		"ON CONFLICT (currency) WHERE kind = 'system' AND owner = '" EP_FUNDING_OWNER "' "
		"DO NOTHING",
	1, {TEXTOID}};
	char	   *owner;
	char	   *kind;
	int64		limit;
	Datum		values[4];
	Datum		currency;
	int64		id;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("owner, currency, kind and credit_limit must not be NULL")));
	owner = text_to_cstring(PG_GETARG_TEXT_PP(0));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(2));
	limit = PG_GETARG_INT64(3);

	if (strspn(owner, " \t\r\n") == strlen(owner) || strlen(owner) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("owner must be 1 to 200 bytes long and not blank"),
				 errdetail("Got %zu bytes.", strlen(owner))));
	if (pg_strncasecmp(owner, "escrow:", 7) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("owner names starting with \"escrow:\" are reserved"),
				 errdetail("Got \"%s\".", owner)));
	if (strcmp(kind, "deposit") != 0 && strcmp(kind, "credit") != 0 &&
		strcmp(kind, "system") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown account kind \"%s\"", kind),
				 errhint("Use deposit, credit or system.")));
	if (limit < 0 || limit > EP_MAX_BALANCE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must be between 0 and %lld", (long long) EP_MAX_BALANCE),
				 errdetail("Got %lld.", (long long) limit)));
	if (limit != 0 && strcmp(kind, "credit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("only credit accounts have a credit limit"),
				 errdetail("Kind %s, credit_limit %lld.", kind, (long long) limit)));
	if ((strcmp(kind, "deposit") != 0 || limit != 0) && !ep_caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only escrow_admin may open %s accounts%s", kind,
						limit != 0 ? " with a credit limit" : ""),
				 errdetail("System accounts may go negative and credit lines lend money."),
				 errhint("The application opens deposit accounts; an administrator grants credit.")));

	SPI_connect();
	values[0] = PointerGetDatum(PG_GETARG_TEXT_PP(1));
	if (ep_exec(&currency_plan, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown currency \"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(1))),
				 errhint("Use an ISO 4217 code listed in escrow.currencies.")));
	currency = CStringGetTextDatum(ep_text(0, 1));

	values[0] = currency;
	ep_exec(&funding, values, NULL, 0);

	values[0] = CStringGetTextDatum(owner);
	values[1] = CStringGetTextDatum(kind);
	values[2] = currency;
	values[3] = Int64GetDatum(limit);
	ep_exec(&insert, values, NULL, 1);
	id = ep_int64(0, 1);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.deposit(account bigint, amount bigint, idempotency_key text
 *				  DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_deposit(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int64		amount = ep_arg_amount(fcinfo, 1, "amount");
	char	   *key = ep_arg_key(fcinfo, 2);
	int64		id;

	SPI_connect();
	id = post_with_key("deposit", funding_account_of(account), account, amount, key,
					   psprintf("deposit(%lld,%lld)", (long long) account, (long long) amount));
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.withdraw(account bigint, amount bigint, idempotency_key text
 *				   DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_withdraw(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int64		amount = ep_arg_amount(fcinfo, 1, "amount");
	char	   *key = ep_arg_key(fcinfo, 2);
	int64		id;

	SPI_connect();
	id = post_with_key("withdraw", account, funding_account_of(account), amount, key,
					   psprintf("withdraw(%lld,%lld)", (long long) account, (long long) amount));
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.transfer(debit_account bigint, credit_account bigint, amount bigint,
 *				   idempotency_key text DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_transfer(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		debit = ep_arg_id(fcinfo, 0, "debit_account");
	int64		credit = ep_arg_id(fcinfo, 1, "credit_account");
	int64		amount = ep_arg_amount(fcinfo, 2, "amount");
	char	   *key = ep_arg_key(fcinfo, 3);
	int64		id;

	SPI_connect();
	id = post_with_key("transfer", debit, credit, amount, key,
					   psprintf("transfer(%lld,%lld,%lld)", (long long) debit,
								(long long) credit, (long long) amount));
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.set_credit_limit(account bigint, credit_limit bigint) RETURNS void
 *
 * Refuses (EP001) to set the line below what is used and held on it.
 */
Datum
escrow_set_credit_limit(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts SET credit_limit = $2 "
		" WHERE id = $1 AND kind = 'credit' AND shards = 0 AND posted >= held - $2",
	2, {INT8OID, INT8OID}};
	static EpPlan set_limit = {NULL,
		"UPDATE escrow.accounts SET credit_limit = $2 WHERE id = $1",
	2, {INT8OID, INT8OID}};
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int64		limit;
	Datum		values[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must not be NULL")));
	limit = PG_GETARG_INT64(1);
	if (limit < 0 || limit > EP_MAX_BALANCE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must be between 0 and %lld", (long long) EP_MAX_BALANCE),
				 errdetail("Got %lld.", (long long) limit)));

	SPI_connect();
	values[0] = Int64GetDatum(account);
	values[1] = Int64GetDatum(limit);
	if (ep_exec(&update, values, NULL, 0) != 1)
	{
		EpAccount	a;
		int64		used;

		/* refused, or sharded: decide under the account's lock */
		fetch_account(account, NULL, true, true, &a);
		if (strcmp(a.kind, "credit") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("account %lld is not a credit account", (long long) account),
					 errdetail("Its kind is %s.", a.kind)));
		used = ep_sub(a.held, total_posted(&a), "used and held credit");
		if (used > limit)
			ereport(ERROR,
					(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
					 errmsg("credit limit would not cover what account %lld uses and holds",
							(long long) account),
					 errdetail("Used plus held %lld, requested limit %lld.",
							   (long long) used, (long long) limit)));
		ep_exec(&set_limit, values, NULL, 0);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.set_account_shards(account bigint, shards integer) RETURNS integer
 *
 * Marks an account hot: credits to it (and, for a system account, debits
 * too) then go to one of `shards` balance shards that no other transaction
 * holds, instead of queueing on the account row.  Reads stay exact (the
 * views and verify_ledger() add the shards up); debits lock the account
 * row and check funds over all shards.  Shards can be added, not removed.
 * Returns the number of shards.
 */
Datum
escrow_set_account_shards(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan add = {NULL,
		"INSERT INTO escrow.accounts (owner, kind, currency, parent) "
		"SELECT 'escrow:shard', 'shard', $3, $1 FROM generate_series($4 + 1, $2)",
	4, {INT8OID, INT4OID, TEXTOID, INT4OID}};
	static EpPlan mark = {NULL,
		"UPDATE escrow.accounts SET shards = $2 WHERE id = $1",
	2, {INT8OID, INT4OID}};
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int32		shards;
	EpAccount	a;
	Datum		values[4];

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0 || PG_GETARG_INT32(1) > EP_MAX_SHARDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shards must be between 0 and %d", EP_MAX_SHARDS)));
	shards = PG_GETARG_INT32(1);

	SPI_connect();
	fetch_account(account, NULL, true, true, &a);
	if (shards < a.shards)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account %lld has %d balance shards; they cannot be removed",
						(long long) account, a.shards),
				 errdetail("Requested %d.", shards)));
	if (shards > a.shards)
	{
		values[0] = Int64GetDatum(account);
		values[1] = Int32GetDatum(shards);
		values[2] = CStringGetTextDatum(a.currency);
		values[3] = Int32GetDatum(a.shards);
		ep_exec(&add, values, NULL, 0);
		ep_exec(&mark, values, NULL, 0);
	}
	SPI_finish();
	PG_RETURN_INT32(shards);
}
