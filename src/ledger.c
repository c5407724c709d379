/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  The double-entry core: accounts, posted transfers and the journal.
 *
 * A transfer posts exactly two entries (debit -amount, credit +amount).
 * Each account's entries are numbered 1, 2, ... and chained with SHA-256:
 * hash(n) = SHA-256(hash(n-1) || account || n || transfer || amount ||
 * balance), with 32 zero bytes before the first entry.  The account row
 * keeps the head of its chain, so appending needs only the row that is
 * updated anyway, and no lock wider than the two accounts involved.
 *
 * Accounts are updated with guarded single statements (the WHERE clause
 * carries the funds check) in ascending id order, so concurrent transfers
 * never deadlock; when the guard refuses, ep_account_refusal() reads the
 * row once more to say precisely why.
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
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_entry_hash);
PG_FUNCTION_INFO_V1(escrow_open_account);
PG_FUNCTION_INFO_V1(escrow_deposit);
PG_FUNCTION_INFO_V1(escrow_withdraw);
PG_FUNCTION_INFO_V1(escrow_transfer);
PG_FUNCTION_INFO_V1(escrow_set_credit_limit);

static void
hash_int64(pg_cryptohash_ctx *ctx, int64 v)
{
	uint64		be = pg_hton64((uint64) v);

	if (pg_cryptohash_update(ctx, (const uint8 *) &be, sizeof(be)) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
}

/* SHA-256 of one journal entry chained to the previous entry's hash */
void
ep_entry_hash(const uint8 *prev, int64 account, int64 seq, int64 transfer,
			  int64 amount, int64 balance, uint8 *out)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, prev, EP_HASH_LEN) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	hash_int64(ctx, account);
	hash_int64(ctx, seq);
	hash_int64(ctx, transfer);
	hash_int64(ctx, amount);
	hash_int64(ctx, balance);
	if (pg_cryptohash_final(ctx, out, EP_HASH_LEN) < 0)
		elog(ERROR, "escrowpay: SHA-256 failed: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
}

/*
 * escrow.entry_hash(prev bytea, account bigint, seq bigint, transfer bigint,
 *					 amount bigint, balance bigint) RETURNS bytea
 *
 * The chain step, used by the posting statement and by verify_ledger().
 */
Datum
escrow_entry_hash(PG_FUNCTION_ARGS)
{
	bytea	   *prev = PG_GETARG_BYTEA_PP(0);
	bytea	   *result;

	if (VARSIZE_ANY_EXHDR(prev) != EP_HASH_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("previous hash must be %d bytes", EP_HASH_LEN)));
	result = (bytea *) palloc(VARHDRSZ + EP_HASH_LEN);
	SET_VARSIZE(result, VARHDRSZ + EP_HASH_LEN);
	ep_entry_hash((const uint8 *) VARDATA_ANY(prev),
				  PG_GETARG_INT64(1), PG_GETARG_INT64(2), PG_GETARG_INT64(3),
				  PG_GETARG_INT64(4), PG_GETARG_INT64(5),
				  (uint8 *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

/*
 * Explain why a guarded account update touched no row, and raise.
 * posted_delta/held_delta are the changes that were refused; currency, when
 * not NULL, is the currency the account had to be in.
 */
void
ep_account_refusal(int64 account, const char *currency, int64 posted_delta,
				   int64 held_delta)
{
	static EpPlan fetch = {NULL,
		"SELECT kind, currency, posted, held, credit_limit "
		"FROM escrow.accounts WHERE id = $1",
	1, {INT8OID}};
	Datum		values[1];
	char	   *kind;
	char	   *acurrency;
	int64		posted;
	int64		held;
	int64		limit;
	int64		available;
	int64		requested;

	values[0] = Int64GetDatum(account);
	if (ep_exec(&fetch, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("account %lld does not exist", (long long) account)));
	kind = ep_text(0, 1);
	acurrency = ep_text(0, 2);
	posted = ep_int64(0, 3);
	held = ep_int64(0, 4);
	limit = ep_int64(0, 5);

	if (currency != NULL && strcmp(currency, acurrency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("Account %lld is in %s, the other account is in %s.",
						   (long long) account, acurrency, currency)));

	/* Raise 22003 if either new value would overflow */
	(void) ep_add(posted, posted_delta, "account balance");
	(void) ep_add(held, held_delta, "held amount");

	available = ep_sub(ep_add(posted, limit, "available amount"), held,
					   "available amount");
	requested = held_delta > 0 ? held_delta : -posted_delta;
	ereport(ERROR,
			(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
			 errmsg("insufficient %s on account %lld",
					strcmp(kind, "credit") == 0 ? "credit" : "funds",
					(long long) account),
			 errdetail("Available %lld, requested %lld (minor units of %s).",
					   (long long) available, (long long) requested, acurrency),
			 strcmp(kind, "credit") == 0 ?
			 errhint("Raise the credit line with escrow.set_credit_limit() or ask for less.") :
			 errhint("Deposit funds or release holds first.")));
	pg_unreachable();
}

/*
 * Post one leg: change an account's posted balance by delta and its held
 * amount by -unhold, append to its hash chain, and return the new balance,
 * sequence number and hash.  Refuses (without touching the row) when the
 * account is missing, in another currency than *currency (if set), would
 * overflow, or would go below zero.  Sets *currency to the account's.
 */
static void
post_leg(int64 account, int64 transfer, int64 delta, int64 unhold,
		 char **currency, int64 *balance, int64 *seq, Datum *hash)
{
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts "
		"   SET posted = posted + $2, held = held - $3, "
		"       entry_count = entry_count + 1, "
		"       chain_head = escrow.entry_hash(chain_head, id, entry_count + 1, "
		"                                      $4, $2, posted + $2) "
		" WHERE id = $1 "
		"   AND ($5::text IS NULL OR currency = $5) "
		"   AND ($2 <= 0 OR posted <= 9223372036854775807 - $2) "
		"   AND (kind = 'system' OR $2 >= 0 "
		"        OR posted + $2 + credit_limit - (held - $3) >= 0) "
		"RETURNING currency, posted, entry_count, chain_head",
	5, {INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID}};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', *currency ? ' ' : 'n'};
	bool		isnull;

	values[0] = Int64GetDatum(account);
	values[1] = Int64GetDatum(delta);
	values[2] = Int64GetDatum(unhold);
	values[3] = Int64GetDatum(transfer);
	values[4] = *currency ? CStringGetTextDatum(*currency) : (Datum) 0;
	if (ep_exec(&update, values, nulls, 0) != 1)
		ep_account_refusal(account, *currency, delta, -unhold);

	*currency = ep_text(0, 1);
	*balance = ep_int64(0, 2);
	*seq = ep_int64(0, 3);
	*hash = ep_datum(0, 4, &isnull);
}

/*
 * Post a transfer: update both accounts in ascending id order, then insert
 * the transfer and its two entries in one statement.  Raises (changing
 * nothing, as the transaction aborts) on any refusal.
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
		"VALUES ($3, $8, $1, -$5, $9, $10), ($4, $11, $1, $5, $12, $13)",
	13, {INT8OID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, BYTEAOID, INT8OID, INT8OID, BYTEAOID}};
	char	   *currency = NULL;
	int64		dbal,
				dseq,
				cbal,
				cseq;
	Datum		dhash,
				chash;
	Datum		values[13];
	char		nulls[13];

	if (p->debit == p->credit)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("debit and credit account must differ"),
				 errdetail("Both are account %lld.", (long long) p->debit)));

	if (p->debit < p->credit)
	{
		post_leg(p->debit, p->id, -p->amount, p->debit_unhold, &currency, &dbal, &dseq, &dhash);
		post_leg(p->credit, p->id, p->amount, 0, &currency, &cbal, &cseq, &chash);
	}
	else
	{
		post_leg(p->credit, p->id, p->amount, 0, &currency, &cbal, &cseq, &chash);
		post_leg(p->debit, p->id, -p->amount, p->debit_unhold, &currency, &dbal, &dseq, &dhash);
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
	values[7] = Int64GetDatum(dseq);
	values[8] = Int64GetDatum(dbal);
	values[9] = dhash;
	values[10] = Int64GetDatum(cseq);
	values[11] = Int64GetDatum(cbal);
	values[12] = chash;
	ep_exec(&insert, values, nulls, 0);
}

/* The funding system account of account's currency (P0002 if no account) */
static int64
funding_account_of(int64 account)
{
	static EpPlan lookup = {NULL,
		"SELECT f.id FROM escrow.accounts a "
		"  JOIN escrow.accounts f ON f.currency = a.currency "
		"   AND f.kind = 'system' AND f.owner = '" EP_FUNDING_OWNER "' "
		" WHERE a.id = $1",
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

	if (owner[0] == '\0' || strlen(owner) > 200)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("owner must be 1 to 200 bytes long"),
				 errdetail("Got %zu bytes.", strlen(owner))));
	if (strncmp(owner, "escrow:", 7) == 0)
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
	if (limit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must not be negative"),
				 errdetail("Got %lld.", (long long) limit)));
	if (limit != 0 && strcmp(kind, "credit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("only credit accounts have a credit limit"),
				 errdetail("Kind %s, credit_limit %lld.", kind, (long long) limit)));

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
	static EpPlan update = {NULL,
		"UPDATE escrow.accounts SET credit_limit = $2 "
		" WHERE id = $1 AND kind = 'credit' AND posted + $2 - held >= 0",
	2, {INT8OID, INT8OID}};
	static EpPlan fetch = {NULL,
		"SELECT kind, posted, held FROM escrow.accounts WHERE id = $1",
	1, {INT8OID}};
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int64		limit;
	Datum		values[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must not be NULL")));
	limit = PG_GETARG_INT64(1);
	if (limit < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit_limit must not be negative"),
				 errdetail("Got %lld.", (long long) limit)));

	SPI_connect();
	values[0] = Int64GetDatum(account);
	values[1] = Int64GetDatum(limit);
	if (ep_exec(&update, values, NULL, 0) != 1)
	{
		char	   *kind;
		int64		used;

		if (ep_exec(&fetch, values, NULL, 1) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("account %lld does not exist", (long long) account)));
		kind = ep_text(0, 1);
		if (strcmp(kind, "credit") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("account %lld is not a credit account", (long long) account),
					 errdetail("Its kind is %s.", kind)));
		used = ep_sub(ep_int64(0, 3), ep_int64(0, 2), "used and held credit");
		ereport(ERROR,
				(errcode(ERRCODE_EP_INSUFFICIENT_FUNDS),
				 errmsg("credit limit would not cover what account %lld uses and holds",
						(long long) account),
				 errdetail("Used plus held %lld, requested limit %lld.",
						   (long long) used, (long long) limit)));
	}
	SPI_finish();
	PG_RETURN_VOID();
}
