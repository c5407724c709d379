/*-------------------------------------------------------------------------
 *
 * account.c
 *	  The account API: opening accounts, deposit, withdraw and transfer
 *	  with their idempotency keys, credit lines.  The postings themselves
 *	  are ledger.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "account.h"

#include "funding.h"
#include "idempotency.h"
#include "journal.h"
#include "miscadmin.h"
#include "money.h"
#include "plan.h"
#include "utils/acl.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_open_account);
PG_FUNCTION_INFO_V1(escrow_deposit);
PG_FUNCTION_INFO_V1(escrow_withdraw);
PG_FUNCTION_INFO_V1(escrow_transfer);
PG_FUNCTION_INFO_V1(escrow_set_credit_limit);
PG_FUNCTION_INFO_V1(escrow_set_account_shards);

/* Most balance shards 0.1.0 allowed (set_account_shards checks it still) */
#define EP_MAX_SHARDS 64

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
 * Shared body of deposit(account, amount, key), withdraw(account, amount,
 * key) and transfer(debit_account, credit_account, amount, key): a deposit
 * is debited to, and a withdrawal credited to, the funding account of the
 * account's currency.  Claims the idempotency key with the call's own
 * arguments, posts, returns the transfer id.
 */
static Datum
post_call(FunctionCallInfo fcinfo, const char *kind)
{
	bool		transfer = strcmp(kind, "transfer") == 0;
	int			accounts = transfer ? 2 : 1;
	int64		first = ep_arg_id(fcinfo, 0, transfer ? "debit_account" : "account");
	int64		second = transfer ? ep_arg_id(fcinfo, 1, "credit_account") : 0;
	int64		amount = ep_arg_amount(fcinfo, accounts, "amount");
	char	   *key = ep_arg_key(fcinfo, accounts + 1);
	EpPosting	p = {0};
	int64		prior;

	SPI_connect();
	if (strcmp(kind, "deposit") == 0)
	{
		p.debit = ep_funding_account_of(first);
		p.credit = first;
	}
	else
	{
		p.debit = first;
		p.credit = transfer ? second : ep_funding_account_of(first);
	}
	p.kind = kind;
	p.id = ep_next_id("transfer_id_seq");
	p.amount = amount;
	p.public_call = true;
	if (ep_idem_claim_call(fcinfo, key, kind, transfer ? "iii-" : "ii-", p.id, &prior))
		p.id = prior;
	else
		ep_post_transfer(&p);
	SPI_finish();
	PG_RETURN_INT64(p.id);
}

/*
 * escrow.open_account(owner text, currency text, kind text DEFAULT 'deposit',
 *					   credit_limit bigint DEFAULT 0) RETURNS bigint
 */
Datum
escrow_open_account(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	/* KEY SHARE: a DELETE of the currency waits, then sees the account */
	static EpPlan currency_plan = EP_PLAN("SELECT code FROM escrow.currencies WHERE code = upper($1) "
		"FOR KEY SHARE", TEXTOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.accounts (owner, kind, currency, credit_limit) "
		"VALUES ($1, $2, $3, $4) RETURNING id", TEXTOID, TEXTOID, TEXTOID, INT8OID);
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
	ep_exec_one(&currency_plan, values, NULL,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("unknown currency \"%s\"", text_to_cstring(PG_GETARG_TEXT_PP(1))),
			errhint("Use an ISO 4217 code listed in escrow.currencies."));
	currency = CStringGetTextDatum(ep_text(0, 1));

	ep_ensure_funding(currency);

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
	return post_call(fcinfo, "deposit");
}

/*
 * escrow.withdraw(account bigint, amount bigint, idempotency_key text
 *				   DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_withdraw(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	return post_call(fcinfo, "withdraw");
}

/*
 * escrow.transfer(debit_account bigint, credit_account bigint, amount bigint,
 *				   idempotency_key text DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_transfer(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	return post_call(fcinfo, "transfer");
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
	static EpPlan update = EP_PLAN("UPDATE escrow.accounts SET credit_limit = $2 "
		" WHERE id = $1 AND kind = 'credit' AND posted >= held - $2", INT8OID, INT8OID);
	static EpPlan set_limit = EP_PLAN("UPDATE escrow.accounts SET credit_limit = $2 WHERE id = $1",
		INT8OID, INT8OID);
	int64		account = ep_arg_id(fcinfo, 0, "account");
	int64		limit;
	Datum		values[2];

	ep_arg_required(fcinfo, 1, "credit_limit");
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

		/* refused, or credits not counted yet: decide under the account's lock */
		ep_fetch_account(account, NULL, true, true, true, &a);
		ep_apply_credits(a.id, &a.posted);
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
	ep_fetch_account(account, NULL, true, true, false, &a);
	SPI_finish();
	PG_RETURN_INT32(0);
}
