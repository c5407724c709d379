/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The double-entry core: accounts, posted transfers and the journal.
 *
 * A transfer posts exactly two legs (debit -amount, credit +amount).  A leg
 * that needs a funds check (the debit of a deposit or credit account) is
 * applied to the account row when it is posted, with the check in the
 * UPDATE's WHERE clause; every other leg (every credit, a system account's
 * debit) touches no account row: it waits in escrow.unfolded, so that
 * credits to a busy account (a merchant, a fee or funding account) never
 * queue on its row.  Posting is one statement (ep_post_transfer).
 *
 * Folding (fold_account: the maintenance worker through
 * escrow.fold_journal(), and any call that needs an account's exact folded
 * figure, under the row lock) moves an account's waiting legs in transfer
 * order into escrow.entries, numbering them 1, 2, ... with the running
 * balance after each and chaining them with SHA-256 over the previous hash
 * and the entry's account, seq, transfer, kind, counterparty, amount,
 * balance, hold and refunded transfer (ep_entry_hash), 32 zero bytes before
 * the first; the account row keeps the head of its chain.  The hash and the
 * chain head are therefore off the posting path.
 *
 * accounts.posted counts folded money and applied legs only, so a funds
 * check is never fooled by a credit that could still roll back; when the
 * check refuses, post_slow() locks the accounts, folds them and decides
 * again before refusing.  escrow.balances and every view add the waiting
 * legs, so what they show is exact at any moment.  Accounts are locked in
 * ascending id order, so concurrent postings never deadlock.
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
#include "storage/proc.h"
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
PG_FUNCTION_INFO_V1(escrow_fold_journal);

/* Most accounts one fold_journal() call folds (a larger request folds these) */
#define EP_FOLD_MAX_ACCOUNTS 100000

/* Most balance shards 0.1.0 allowed (set_account_shards checks it still) */
#define EP_MAX_SHARDS 64

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
	int64		posted;			/* folded balance (accounts.posted) */
	int64		held;
	int64		limit;
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
		"SELECT kind, currency, posted, held, credit_limit, "
		"       owner = '" EP_FUNDING_OWNER "' "
		"  FROM escrow.accounts WHERE id = $1",
	1, {INT8OID}};
	static EpPlan fetch_locked = {NULL,
		"SELECT kind, currency, posted, held, credit_limit, "
		"       owner = '" EP_FUNDING_OWNER "' "
		"  FROM escrow.accounts WHERE id = $1 FOR UPDATE",
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
	a->funding = DatumGetBool(ep_datum(0, 6, &isnull));

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

/*
 * Refuse unless account a (locked and folded) can give up `requested` more
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
 * Fold account a: move its legs waiting in escrow.unfolded, in transfer
 * order, into escrow.entries (seq, running balance, hash chain) and add the
 * ones the row has not seen to posted.  The caller holds the row's lock
 * (FOR UPDATE), so no transaction in flight has applied a leg to it: every
 * applied leg is committed (or the caller's own) and visible here, and
 * posted less those legs is the balance after the last folded entry.  Legs
 * of transactions still in flight stay for a later fold.  Sets a->posted to
 * the folded balance; returns the number of legs folded.
 */
static int64
fold_account(EpAccount *a)
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

	values[0] = Int64GetDatum(a->id);
	n = ep_exec(&take, values, NULL, 0);
	if (n == 0)
		return 0;

	/* copy the legs out before the next statement replaces the result */
	legs = palloc(sizeof(EpEntry) * n);
	applied = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		legs[i].account = a->id;
		legs[i].transfer = ep_int64(i, 1);
		legs[i].amount = ep_int64(i, 2);
		applied[i] = DatumGetBool(ep_datum(i, 3, &isnull));
		legs[i].kind = ep_text(i, 4);
		if (legs[i].kind == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("unfolded leg of account %lld names missing transfer %lld",
							(long long) a->id, (long long) legs[i].transfer),
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
						(long long) a->id, EP_HASH_LEN)));
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
	a->posted = ep_add(a->posted, unseen, "account balance");
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
		EpAccount	a = {0};

		values[0] = Int64GetDatum(ids[i]);
		if (ep_exec(&lock, values, NULL, 1) != 1)
			continue;
		a.id = ids[i];
		a.posted = ep_int64(0, 1);
		folded += fold_account(&a);
	}
	fold_cursor = n > 0 ? ids[n - 1] : 0;
	return folded;
}

/*
 * The slow path of a posting, taken when the one-statement posting did
 * not post: lock both accounts in ascending id order, and for each say
 * precisely why it cannot take its leg (missing, currency, funding account,
 * funds, bound) or fold it, so that the decision counts every credit that
 * has arrived, and check again.  Both legs are then applied to their rows
 * under the locks.
 */
static void
post_slow(const EpPosting *p, bool funding)
{
	static EpPlan apply = {NULL,
		"UPDATE escrow.accounts SET posted = posted + $2, held = held - $3 WHERE id = $1",
	3, {INT8OID, INT8OID, INT8OID}};
	static EpPlan insert = {NULL,
		"WITH t AS ("
		"  INSERT INTO escrow.transfers "
		"    (id, kind, debit_account, credit_account, amount, hold_id, refund_of) "
		"  VALUES ($1, $2, $3, $4, $5, $6, $7)) "
		"INSERT INTO escrow.unfolded (account, transfer_id, amount, applied) "
		"VALUES ($3, $1, -$5, true), ($4, $1, $5, true)",
	7, {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID}};
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

		fetch_account(order[i], currency, funding, true, &a);
		currency = a.currency;
		fold_account(&a);
		if (debit)
			check_funds(&a, ep_sub(a.posted, p->amount, "account balance"),
						ep_sub(a.held, unhold, "held amount"), p->amount);
		ep_check_balance(a.id, strcmp(a.kind, "system") == 0, a.posted, delta);
		values[0] = Int64GetDatum(a.id);
		values[1] = Int64GetDatum(delta);
		values[2] = Int64GetDatum(unhold);
		ep_exec(&apply, values, NULL, 0);
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
 * Post a transfer in one statement: check both accounts (they exist, share
 * a currency, a funding account only for deposits and withdrawals), apply
 * the debit to its row when it needs a funds check (the check is in the
 * UPDATE's WHERE clause), and append the transfer and its two legs to the
 * journal.  The credit, and a system account's debit, touch no account
 * row: they wait in escrow.unfolded until folded, so credits to a busy
 * account never queue.  Anything the statement does not post (refused
 * funds, a bound within reach, an amount too large for an unchecked leg,
 * bad accounts) goes to post_slow(), which folds, decides under the locks
 * and says precisely why.  Raises (changing nothing, as the transaction
 * aborts) on any refusal.  An owned posting also records its owner.
 */
void
ep_post_transfer(const EpPosting *p)
{
	static EpPlan post = {NULL,
		"WITH d AS (SELECT id, currency, kind, posted FROM escrow.accounts "
		"            WHERE id = $3 AND ($9 OR owner <> '" EP_FUNDING_OWNER "')), "
		"c AS (SELECT currency, kind, posted FROM escrow.accounts "
		"       WHERE id = $4 AND ($9 OR owner <> '" EP_FUNDING_OWNER "')), "
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
	9, {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID}};
	bool		funding = strcmp(p->kind, "deposit") == 0 ||
		strcmp(p->kind, "withdraw") == 0;
	Datum		values[9];
	char		nulls[9];

	if (p->debit == p->credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) p->debit)));

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
	values[7] = Int64GetDatum(p->debit_unhold);
	values[8] = BoolGetDatum(funding);
	if (ep_exec(&post, values, nulls, 0) != 2)
		post_slow(p, funding);
	if (ep_owned(&p->owner))
		record_owner(p->id, &p->owner);
}

/*
 * Raise the precise error for a hold from debit to credit whose accounts
 * are unusable: the same account, missing, a funding account, or
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
 * guarded update covers the funds already folded; otherwise the decision
 * is taken under the row lock after folding.  The caller has checked the
 * accounts (ep_check_hold_accounts).
 */
void
ep_add_held(int64 debit, int64 amount)
{
	static EpPlan guarded = {NULL,
		"UPDATE escrow.accounts SET held = held + $2 "
		" WHERE id = $1 AND owner <> '" EP_FUNDING_OWNER "' "
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

	/* refused, or credits not folded yet: decide under the row lock */
	fetch_account(debit, NULL, false, true, &a);
	fold_account(&a);
	ep_check_held(debit, a.held, amount);
	check_funds(&a, a.posted, ep_add(a.held, amount, "held amount"), amount);
	ep_exec(&unguarded, values, NULL, 0);
}

/*
 * Reserve amount on debit for a hold to credit, in one statement when the
 * accounts are fine and the folded funds are there.
 */
void
ep_reserve_funds(int64 debit, int64 credit, int64 amount)
{
	static EpPlan reserve = {NULL,
		"UPDATE escrow.accounts a SET held = a.held + $3 "
		"  FROM escrow.accounts c "
		" WHERE a.id = $1 AND c.id = $2 AND a.id <> c.id AND c.currency = a.currency "
		"   AND c.owner <> '" EP_FUNDING_OWNER "' AND a.owner <> '" EP_FUNDING_OWNER "' "
		"   AND a.held <= " EP_MAX_BALANCE_SQL " - $3 "
		"   AND (a.kind = 'system' OR a.posted >= (a.held + $3) - a.credit_limit)",
	3, {INT8OID, INT8OID, INT8OID}};
	Datum		values[3];

	values[0] = Int64GetDatum(debit);
	values[1] = Int64GetDatum(credit);
	values[2] = Int64GetDatum(amount);
	/* one statement over two accounts: not on a Citus cluster */
	if (!ep_distributed() && ep_exec(&reserve, values, NULL, 0) == 1)
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

/*
 * The funding account of each currency, on a Citus cluster, where finding
 * it is a query over every shard: per backend, like sharded_accounts, and
 * safe for the same reasons (a funding account is never replaced; the
 * cache is emptied when escrow.accounts is a different table).
 */
typedef struct EpFunding
{
	char		currency[4];	/* hash key */
	int64		account;
} EpFunding;

static HTAB *funding_accounts = NULL;
static Oid	funding_accounts_table = InvalidOid;

/*
 * A funding account this transaction created is not remembered until the
 * transaction is over: it may still roll back
 */
static LocalTransactionId funding_created_lxid = InvalidLocalTransactionId;
static char funding_created_currency[4];

/*
 * The funding account of currency on a Citus cluster, 0 when it has none
 * yet
 */
static int64
funding_of_currency(const char *currency)
{
	static EpPlan lookup = {NULL,
		"SELECT id FROM escrow.accounts "
		" WHERE currency = $1 AND kind = 'system' AND owner = '" EP_FUNDING_OWNER "'",
	1, {TEXTOID}};
	Oid			table = get_relname_relid("accounts", get_namespace_oid(EP_SCHEMA, false));
	char		key[4] = {0};
	EpFunding  *e;
	bool		found;
	Datum		values[1];

	if (funding_accounts == NULL || table != funding_accounts_table)
	{
		HASHCTL		ctl;

		if (funding_accounts != NULL)
			hash_destroy(funding_accounts);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(key);
		ctl.entrysize = sizeof(EpFunding);
		ctl.hcxt = TopMemoryContext;
		funding_accounts = hash_create("escrowpay funding accounts", 16, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		funding_accounts_table = table;
	}
	strlcpy(key, currency, sizeof(key));
	e = hash_search(funding_accounts, key, HASH_FIND, &found);
	if (found)
		return e->account;
	values[0] = CStringGetTextDatum(currency);
	if (ep_exec(&lookup, values, NULL, 1) != 1)
		return 0;
	if (funding_created_lxid == MyProc->lxid && strcmp(funding_created_currency, key) == 0)
		return ep_int64(0, 1);
	e = hash_search(funding_accounts, key, HASH_ENTER, &found);
	e->account = ep_int64(0, 1);
	return e->account;
}

/*
 * Make sure currency has its funding account on a Citus cluster, where no
 * unique index can say so (escrow.distribute() drops
 * accounts_funding_per_currency): the first use of a currency creates it
 * under a transaction-level advisory lock of the coordinator, through
 * which every call goes.
 */
static void
ensure_funding_distributed(Datum currency)
{
	static EpPlan lock = {NULL,
		"SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('escrowpay funding ' || $1))",
	1, {TEXTOID}};
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.accounts (owner, kind, currency) "
		"VALUES ('" EP_FUNDING_OWNER "', 'system', $1)",
	1, {TEXTOID}};
	char	   *code = TextDatumGetCString(currency);
	Datum		values[1];

	if (funding_of_currency(code) != 0)
		return;
	values[0] = currency;
	ep_exec(&lock, values, NULL, 0);
	if (funding_of_currency(code) == 0)
	{
		ep_exec(&insert, values, NULL, 0);
		funding_created_lxid = MyProc->lxid;
		strlcpy(funding_created_currency, code, sizeof(funding_created_currency));
	}
}

/* The funding system account of account's currency (P0002 if no account) */
static int64
funding_account_of(int64 account)
{
	static EpPlan currency_of = {NULL,
		"SELECT currency FROM escrow.accounts WHERE id = $1 AND kind <> 'shard'",
	1, {INT8OID}};
	static EpPlan lookup = {NULL,
		"SELECT f.id FROM escrow.accounts a "
		"  JOIN escrow.accounts f ON f.currency = a.currency "
		"   AND f.kind = 'system' AND f.owner = '" EP_FUNDING_OWNER "' "
		" WHERE a.id = $1",
	1, {INT8OID}};
	Datum		values[1];

	values[0] = Int64GetDatum(account);
	/* on a Citus cluster the two accounts may live on different workers */
	if (ep_exec(ep_distributed() ? &currency_of : &lookup, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %lld does not exist", (long long) account)));
	if (ep_distributed())
		return funding_of_currency(ep_text(0, 1));
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
	if (ep_distributed())
		ensure_funding_distributed(currency);
	else
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
		" WHERE id = $1 AND kind = 'credit' AND posted >= held - $2",
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

		/* refused, or credits not folded yet: decide under the account's lock */
		fetch_account(account, NULL, true, true, &a);
		fold_account(&a);
		if (strcmp(a.kind, "credit") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("account %lld is not a credit account", (long long) account),
					 errdetail("Its kind is %s.", a.kind)));
		used = ep_sub(a.held, a.posted, "used and held credit");
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
 * Kept so that 0.1.0 callers keep working; changes nothing.  0.1.0 spread
 * a hot account's credits over balance shards; since 0.2.0 no credit
 * touches its account's row (they are folded later), so every account is
 * as fast as a sharded one was, without configuration, and there are no
 * shards.  Checks its arguments as before (P0002 for a missing account,
 * 22023 outside 0..64) and returns 0, the number of shards the account has.
 */
Datum
escrow_set_account_shards(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		account = ep_arg_id(fcinfo, 0, "account");
	EpAccount	a;

	if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 0 || PG_GETARG_INT32(1) > EP_MAX_SHARDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("shards must be between 0 and %d", EP_MAX_SHARDS)));
	SPI_connect();
	fetch_account(account, NULL, true, false, &a);
	SPI_finish();
	PG_RETURN_INT32(0);
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
