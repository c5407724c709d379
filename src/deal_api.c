/*-------------------------------------------------------------------------
 *
 * deal_api.c
 *	  The SQL-callable deal lifecycle: parties, open_deal, identity codes,
 *	  reserve, shipping, inspection, cancel/reject/return, disputes and
 *	  maintenance.  Each function locks the deal, asks deal.c whether the
 *	  action is allowed now and for this actor, moves money only through
 *	  the ledger (hold.c, refund.c, ledger.c), and commits the step.
 *
 * The application calls these on behalf of a party: `actor` is the
 * party number (member or merchant) or the deal's designated inspector,
 * and is recorded in escrow.deal_events.
 *
 *-------------------------------------------------------------------------
 */
#include "deal.h"

#include "attempts.h"
#include "codes.h"
#include "fmgr.h"
#include "funcapi.h"
#include "hold.h"
#include "idempotency.h"
#include "ledger.h"
#include "lib/stringinfo.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "utils/resowner.h"
#include "money.h"
#include "plan.h"
#include "refund.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_register_member);
PG_FUNCTION_INFO_V1(escrow_register_merchant);
PG_FUNCTION_INFO_V1(escrow_register_institution);
PG_FUNCTION_INFO_V1(escrow_open_deal);
PG_FUNCTION_INFO_V1(escrow_issue_identity_code);
PG_FUNCTION_INFO_V1(escrow_confirm_identity);
PG_FUNCTION_INFO_V1(escrow_reserve);
PG_FUNCTION_INFO_V1(escrow_mark_shipped);
PG_FUNCTION_INFO_V1(escrow_mark_delivered);
PG_FUNCTION_INFO_V1(escrow_confirm_inspection);
PG_FUNCTION_INFO_V1(escrow_cancel_deal);
PG_FUNCTION_INFO_V1(escrow_reject_delivery);
PG_FUNCTION_INFO_V1(escrow_request_return);
PG_FUNCTION_INFO_V1(escrow_confirm_return);
PG_FUNCTION_INFO_V1(escrow_open_dispute);
PG_FUNCTION_INFO_V1(escrow_resolve_dispute);
PG_FUNCTION_INFO_V1(escrow_write_off);
PG_FUNCTION_INFO_V1(escrow_run_maintenance);
PG_FUNCTION_INFO_V1(escrow_txn_no_valid);

/*
 * A required text argument (22023 when NULL or empty; EP_CHECK_ARGS has
 * refused it already when longer than its limit)
 */
static char *
arg_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NULL", what)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what),
				 errhint("See escrow.limits() for the longest value it takes.")));
	return s;
}

/* An optional text argument: NULL stays NULL */
static char *
arg_opt_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A positive interval argument, or its default when NULL is not allowed */
static Interval *
arg_interval(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Interval   *i;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NULL", what)));
	i = PG_GETARG_INTERVAL_P(argno);
	(void) ep_now_plus(i, what);	/* refuses a non-positive interval */
	return i;
}

/* Append "key": value pairs to a JSON object under construction */
void
json_int(StringInfo s, const char *key, int64 v)
{
	appendStringInfo(s, "%s\"%s\": %lld", s->len > 1 ? ", " : "", key, (long long) v);
}

void
json_str(StringInfo s, const char *key, const char *v)
{
	if (v == NULL)
		return;
	appendStringInfo(s, "%s\"%s\": ", s->len > 1 ? ", " : "", key);
	escape_json(s, v);
}

static void
json_begin(StringInfo s)
{
	initStringInfo(s);
	appendStringInfoChar(s, '{');
}

static char *
json_end(StringInfo s)
{
	appendStringInfoChar(s, '}');
	return s->data;
}

/* floor(amount * bps / 10000) without overflow */
int64
ep_fee_of(int64 amount, int32 bps)
{
	return (amount / 10000) * bps + (amount % 10000) * bps / 10000;
}

/* Luhn check digit of a string of digits */
static int
luhn_digit(const char *digits)
{
	int			sum = 0;
	int			len = strlen(digits);
	int			i;

	for (i = 0; i < len; i++)
	{
		int			d = digits[len - 1 - i] - '0';

		if (i % 2 == 0)
		{
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (10 - sum % 10) % 10;
}

/* Transaction number of deal id: EP, 10 digits, Luhn check digit */
static char *
txn_no_of(int64 id)
{
	char	   *digits = psprintf("%010lld", (long long) id);

	return psprintf("EP%s%d", digits, luhn_digit(digits));
}

/*
 * escrow.txn_no_valid(txn_no text) RETURNS boolean
 *
 * Whether a transaction number is well formed and its check digit right
 * (catches a mistyped digit or two swapped neighbours).
 */
Datum
escrow_txn_no_valid(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *digits;
	size_t		i;

	if (strlen(s) != 13 || strncmp(s, "EP", 2) != 0)
		PG_RETURN_BOOL(false);
	for (i = 2; i < 13; i++)
		if (s[i] < '0' || s[i] > '9')
			PG_RETURN_BOOL(false);
	digits = pnstrdup(s + 2, 10);
	PG_RETURN_BOOL(luhn_digit(digits) == s[12] - '0');
}

/* ---------------------------------------------------------------------
 * Parties
 * ---------------------------------------------------------------------
 */

/* kind and currency of a deposit or credit account usable by a party */
static void
party_account(int64 account, const char *what, char **kind, char **currency)
{
	static EpPlan fetch = {NULL,
		"SELECT kind, currency FROM escrow.accounts "
		" WHERE id = $1 AND kind IN ('deposit', 'credit')",
	1, {INT8OID}};
	Datum		values[1];

	values[0] = Int64GetDatum(account);
	if (ep_exec(&fetch, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s %lld is not a deposit or credit account", what,
						(long long) account)));
	*kind = ep_text(0, 1);
	*currency = ep_text(0, 2);
}

/* The terms a party is registered with; 0 or NULL where they do not apply */
typedef struct EpPartyTerms
{
	int64		account;		/* member: the account deals freeze */
	int64		settlement_account; /* merchant, institution */
	int64		fee_account;	/* merchant */
	int32		fee_bps;		/* merchant */
	Interval   *inspection_window;	/* merchant */
	Interval   *cooling_off;	/* merchant */
	Interval   *deliver_within; /* merchant */
	Interval   *refund_within;	/* merchant */
	Interval   *pay_within;		/* merchant */
	int32		discount_bps;	/* institution */
	Interval   *repay_within;	/* institution */
} EpPartyTerms;

static void
insert_party(const char *party_no, const char *kind, const char *name,
			 const char *contact, const char *login_role, const EpPartyTerms *t)
{
	static EpPlan exists = {NULL,
		"SELECT kind FROM escrow.parties WHERE party_no = $1",
	1, {TEXTOID}};
	static EpPlan role_taken = {NULL,
		"SELECT party_no FROM escrow.parties WHERE login_role = $1",
	1, {NAMEOID}};
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.parties (party_no, kind, name, contact, login_role, "
		"  account, settlement_account, fee_account, fee_bps, inspection_window, cooling_off, "
		"  discount_bps, repay_within, deliver_within, refund_within, pay_within) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
	16, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, INT8OID, INT8OID, INT8OID,
		INT4OID, INTERVALOID, INTERVALOID, INT4OID, INTERVALOID, INTERVALOID, INTERVALOID,
	INTERVALOID}};
	Datum		values[16];
	char		nulls[16];

	if (strspn(party_no, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(party_no) ||
		strlen(party_no) > 64 || party_no[0] == '.' || party_no[0] == '-' || party_no[0] == '_')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("party number \"%s\" is not valid", party_no),
				 errhint("Use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.")));
	if (strcmp(party_no, "system") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("party number \"system\" is reserved")));
	if (login_role)
	{
		ep_check_login_role(login_role);
		values[0] = DirectFunctionCall1(namein, CStringGetDatum(login_role));
		if (ep_exec(&role_taken, values, NULL, 1) == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("role \"%s\" is already the login role of party \"%s\"",
							login_role, ep_text(0, 1)),
					 errdetail("Each party has a login role of its own.")));
	}
	values[0] = CStringGetTextDatum(party_no);
	if (ep_exec(&exists, values, NULL, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("party \"%s\" is already registered", party_no),
				 errdetail("It is registered as %s.", ep_text(0, 1))));

	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(name);
	values[3] = CStringGetTextDatum(contact);
	values[4] = login_role ? DirectFunctionCall1(namein, CStringGetDatum(login_role)) : (Datum) 0;
	memset(nulls, ' ', sizeof(nulls));
	nulls[4] = login_role ? ' ' : 'n';
	values[5] = Int64GetDatum(t->account);
	nulls[5] = t->account ? ' ' : 'n';
	values[6] = Int64GetDatum(t->settlement_account);
	nulls[6] = t->settlement_account ? ' ' : 'n';
	values[7] = Int64GetDatum(t->fee_account);
	nulls[7] = t->fee_account ? ' ' : 'n';
	values[8] = Int32GetDatum(t->fee_bps);
	values[9] = PointerGetDatum(t->inspection_window);
	nulls[9] = t->inspection_window ? ' ' : 'n';
	values[10] = PointerGetDatum(t->cooling_off);
	nulls[10] = t->cooling_off ? ' ' : 'n';
	values[11] = Int32GetDatum(t->discount_bps);
	values[12] = PointerGetDatum(t->repay_within);
	nulls[12] = t->repay_within ? ' ' : 'n';
	values[13] = PointerGetDatum(t->deliver_within);
	nulls[13] = t->deliver_within ? ' ' : 'n';
	values[14] = PointerGetDatum(t->refund_within);
	nulls[14] = t->refund_within ? ' ' : 'n';
	values[15] = PointerGetDatum(t->pay_within);
	nulls[15] = t->pay_within ? ' ' : 'n';
	ep_exec(&insert, values, nulls, 0);
	/* the account it registers with becomes its own */
	ep_assign_account_owner(t->account ? t->account : t->settlement_account, party_no);
}

/*
 * escrow.register_member(member_no text, name text, contact text,
 *						  account bigint, login_role name DEFAULT NULL)
 *	 RETURNS text
 *
 * A buyer; account is the deposit account (payment method "balance") or
 * credit line ("credit") deals freeze.
 */
Datum
escrow_register_member(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	char	   *member_no = arg_text(fcinfo, 0, "member_no");
	char	   *name = arg_text(fcinfo, 1, "name");
	char	   *contact = arg_text(fcinfo, 2, "contact");
	int64		account = ep_arg_id(fcinfo, 3, "account");
	char	   *login_role = PG_ARGISNULL(4) ? NULL : NameStr(*PG_GETARG_NAME(4));
	char	   *kind;
	char	   *currency;
	EpPartyTerms terms = {0};

	SPI_connect();
	party_account(account, "account", &kind, &currency);
	terms.account = account;
	insert_party(member_no, "member", name, contact, login_role, &terms);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(member_no));
}

/*
 * escrow.register_merchant(merchant_no text, name text, contact text,
 *							settlement_account bigint,
 *							inspection_window interval DEFAULT '3 days',
 *							cooling_off interval DEFAULT '8 days',
 *							fee_bps integer DEFAULT 0,
 *							fee_account bigint DEFAULT NULL,
 *							login_role name DEFAULT NULL,
 *							deliver_within interval DEFAULT '14 days',
 *							refund_within interval DEFAULT '14 days',
 *							pay_within interval DEFAULT '7 days') RETURNS text
 *
 * A seller under a franchise contract: where settlements go, how long
 * buyers may inspect and return, the fee in basis points, and how long a
 * shipment may take to arrive (then run_maintenance escalates the deal to
 * a dispute), how long the merchant has to confirm a return (then it is
 * confirmed for it) and how long a buyer it served first has to pay (then
 * the deal is marked unpaid).
 */
Datum
escrow_register_merchant(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	char	   *merchant_no = arg_text(fcinfo, 0, "merchant_no");
	char	   *name = arg_text(fcinfo, 1, "name");
	char	   *contact = arg_text(fcinfo, 2, "contact");
	int64		settlement = ep_arg_id(fcinfo, 3, "settlement_account");
	Interval   *window = arg_interval(fcinfo, 4, "inspection_window");
	Interval   *cooling = arg_interval(fcinfo, 5, "cooling_off");
	int32		fee_bps;
	char	   *login_role = PG_ARGISNULL(8) ? NULL : NameStr(*PG_GETARG_NAME(8));
	char	   *kind;
	char	   *currency;
	EpPartyTerms terms = {0};

	if (PG_ARGISNULL(6) || PG_GETARG_INT32(6) < 0 || PG_GETARG_INT32(6) > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("fee_bps must be between 0 and 10000 basis points")));
	fee_bps = PG_GETARG_INT32(6);
	if (fee_bps > 0 && PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a merchant with a fee needs a fee_account")));

	SPI_connect();
	party_account(settlement, "settlement_account", &kind, &currency);
	if (strcmp(kind, "deposit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("settlement_account must be a deposit account"),
				 errdetail("Account %lld is a %s account.", (long long) settlement, kind)));
	if (!PG_ARGISNULL(7))
	{
		char	   *fee_kind;
		char	   *fee_currency;

		party_account(PG_GETARG_INT64(7), "fee_account", &fee_kind, &fee_currency);
		if (strcmp(fee_currency, currency) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
					 errmsg("currency mismatch between accounts"),
					 errdetail("The settlement account is in %s, the fee account in %s.",
							   currency, fee_currency)));
		if (PG_GETARG_INT64(7) == settlement)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fee_account must differ from settlement_account")));
	}
	terms.settlement_account = settlement;
	terms.fee_account = PG_ARGISNULL(7) ? 0 : PG_GETARG_INT64(7);
	terms.fee_bps = fee_bps;
	terms.inspection_window = window;
	terms.cooling_off = cooling;
	/*
	 * Called through the 0.1.0 declaration (nine arguments) before ALTER
	 * EXTENSION escrowpay UPDATE: there are no such arguments, and no such
	 * columns either, so the insert below is refused with 55000.
	 */
	if (PG_NARGS() > 11)
	{
		terms.deliver_within = arg_interval(fcinfo, 9, "deliver_within");
		terms.refund_within = arg_interval(fcinfo, 10, "refund_within");
		terms.pay_within = arg_interval(fcinfo, 11, "pay_within");
	}
	insert_party(merchant_no, "merchant", name, contact, login_role, &terms);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(merchant_no));
}

/*
 * escrow.register_institution(institution_no text, name text, contact text,
 *							   account bigint, discount_bps integer DEFAULT 0,
 *							   repay_within interval DEFAULT '30 days',
 *							   login_role name DEFAULT NULL) RETURNS text
 *
 * A credit institution (credit finance: lends to buyers, pre-pays merchants less
 * a receivables discount) or payment agency (pays merchants at
 * receipt and bills buyers).  account is the deposit account its money
 * moves through; buyers repay or pay invoices within repay_within.
 */
Datum
escrow_register_institution(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	char	   *institution_no = arg_text(fcinfo, 0, "institution_no");
	char	   *name = arg_text(fcinfo, 1, "name");
	char	   *contact = arg_text(fcinfo, 2, "contact");
	int64		account = ep_arg_id(fcinfo, 3, "account");
	Interval   *repay_within = arg_interval(fcinfo, 5, "repay_within");
	char	   *login_role = PG_ARGISNULL(6) ? NULL : NameStr(*PG_GETARG_NAME(6));
	char	   *kind;
	char	   *currency;
	EpPartyTerms terms = {0};

	if (PG_ARGISNULL(4) || PG_GETARG_INT32(4) < 0 || PG_GETARG_INT32(4) > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount_bps must be between 0 and 10000 basis points")));

	SPI_connect();
	party_account(account, "account", &kind, &currency);
	if (strcmp(kind, "deposit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an institution's account must be a deposit account"),
				 errdetail("Account %lld is a %s account.", (long long) account, kind)));
	terms.settlement_account = account;
	terms.discount_bps = PG_GETARG_INT32(4);
	terms.repay_within = repay_within;
	insert_party(institution_no, "institution", name, contact, login_role, &terms);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(institution_no));
}

/*
 * A free-text argument as idempotency requests compare it: length-prefixed,
 * so that no two different argument lists read alike ("NULL" for none).
 */
static char *
request_text(const char *s)
{
	return s ? psprintf("%zu:%s", strlen(s), s) : "NULL";
}

/* ---------------------------------------------------------------------
 * Opening a deal and confirming the buyer
 * ---------------------------------------------------------------------
 */

/*
 * open_deal's look-up of its parties and their accounts on a Citus
 * cluster, where one statement cannot join the buyer's and the merchant's
 * accounts (on different workers): the accounts read one statement each,
 * then the same row as on one server (none when an account is missing).
 */
static uint64
deal_parties_each(Datum *values)
{
	static EpPlan ids = {NULL,
		"SELECT coalesce(b.account, b.settlement_account), "
		"       coalesce(m.settlement_account, m.account) "
		"  FROM escrow.parties b, escrow.parties m WHERE b.party_no = $1 AND m.party_no = $2",
	2, {TEXTOID, TEXTOID}};
	static EpPlan account = {NULL,
		"SELECT kind, currency FROM escrow.accounts WHERE id = $1",
	1, {INT8OID}};
	static EpPlan row = {NULL,
		"SELECT b.kind, b.account, m.kind, m.settlement_account, m.fee_account, m.fee_bps, "
		"       m.inspection_window, m.cooling_off, $3, $4, $5 "
		"  FROM escrow.parties b, escrow.parties m "
		" WHERE b.party_no = $1 AND m.party_no = $2 AND $3 IS NOT NULL AND $5 IS NOT NULL",
	5, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}};
	Datum		args[5] = {values[0], values[1], 0, 0, 0};
	char		nulls[5] = {' ', ' ', 'n', 'n', 'n'};
	int64		acct[2] = {0, 0};
	int			i;

	if (ep_exec(&ids, args, NULL, 1) == 1)
	{
		(void) ep_get_int64(0, 1, &acct[0]);
		(void) ep_get_int64(0, 2, &acct[1]);
	}
	for (i = 0; i < 2; i++)
	{
		Datum		id = Int64GetDatum(acct[i]);

		if (acct[i] == 0 || ep_exec(&account, &id, NULL, 1) != 1)
			continue;
		if (i == 0)
		{
			args[2] = CStringGetTextDatum(ep_text(0, 1));
			args[3] = CStringGetTextDatum(ep_text(0, 2));
			nulls[2] = nulls[3] = ' ';
		}
		else
		{
			args[4] = CStringGetTextDatum(ep_text(0, 2));
			nulls[4] = ' ';
		}
	}
	return ep_exec(&row, args, nulls, 1);
}

/*
 * escrow.open_deal(buyer text, merchant text, amount bigint,
 *					inspection_place text DEFAULT NULL, carrier text DEFAULT NULL,
 *					provider text DEFAULT NULL, inspector text DEFAULT NULL,
 *					ship_within interval DEFAULT '7 days',
 *					idempotency_key text DEFAULT NULL,
 *					settlement text DEFAULT 'escrow',
 *					institution text DEFAULT NULL) RETURNS bigint
 *
 * A provisional agreement: the deal starts at order_received; the buyer's
 * default account decides the payment method.  settlement 'agency' or
 * 'credit_finance' names the institution that pays the merchant.  Returns
 * the deal id.
 */
Datum
escrow_open_deal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan parties = {NULL,
		"SELECT b.kind, b.account, m.kind, m.settlement_account, m.fee_account, m.fee_bps, "
		"       m.inspection_window, m.cooling_off, ba.kind, ba.currency, ma.currency "
		"  FROM escrow.parties b, escrow.parties m, escrow.accounts ba, escrow.accounts ma "
		" WHERE b.party_no = $1 AND m.party_no = $2 "
		"   AND ba.id = coalesce(b.account, b.settlement_account) "
		"   AND ma.id = coalesce(m.settlement_account, m.account)",
	2, {TEXTOID, TEXTOID}};
	static EpPlan party_kind = {NULL,
		"SELECT kind FROM escrow.parties WHERE party_no = $1",
	1, {TEXTOID}};
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.deals (id, txn_no, buyer, merchant, amount, currency, "
		"  payment_method, debit_account, credit_account, fee_account, fee_bps, "
		"  inspection_place, carrier, provider, inspector, stage, ship_within, "
		"  inspection_window, cooling_off, settlement, institution, institution_account, "
		"  discount_bps, repay_within, deliver_within, refund_within, pay_within) "
		"SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
		"       'order_received', $16, $17, $18, $19, i.party_no, i.settlement_account, "
		"       coalesce(i.discount_bps, 0), i.repay_within, "
		"       m.deliver_within, m.refund_within, m.pay_within "
		"  FROM escrow.parties m LEFT JOIN escrow.parties i ON i.party_no = $20 "
		" WHERE m.party_no = $4",
	20, {INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, INT8OID,
		INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INTERVALOID,
		INTERVALOID, INTERVALOID, TEXTOID, TEXTOID}};
	static EpPlan institution_plan = {NULL,
		"SELECT i.kind, a.currency FROM escrow.parties i "
		"  LEFT JOIN escrow.accounts a ON a.id = i.settlement_account WHERE i.party_no = $1",
	1, {TEXTOID}};
	char	   *buyer = arg_text(fcinfo, 0, "buyer");
	char	   *merchant = arg_text(fcinfo, 1, "merchant");
	int64		amount = ep_arg_amount(fcinfo, 2, "amount");
	char	   *place = arg_opt_text(fcinfo, 3);
	char	   *carrier = arg_opt_text(fcinfo, 4);
	char	   *provider = arg_opt_text(fcinfo, 5);
	char	   *inspector = arg_opt_text(fcinfo, 6);
	Interval   *ship_within = arg_interval(fcinfo, 7, "ship_within");
	char	   *key = ep_arg_key(fcinfo, 8);
	char	   *settlement = PG_ARGISNULL(9) ? "escrow" : text_to_cstring(PG_GETARG_TEXT_PP(9));
	char	   *institution = arg_opt_text(fcinfo, 10);
	Datum		values[20];
	char		nulls[20];
	bool		isnull;
	int64		id;
	int64		prior;
	const char *who[2] = {buyer, merchant};
	const char *kinds[2] = {"member", "merchant"};
	int			i;

	if (strcmp(buyer, merchant) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buyer and merchant must differ")));
	if (strcmp(settlement, "escrow") != 0 && strcmp(settlement, "agency") != 0 &&
		strcmp(settlement, "credit_finance") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown settlement \"%s\"", settlement),
				 errhint("Use escrow, agency or credit_finance.")));
	if ((strcmp(settlement, "escrow") == 0) != (institution == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("settlement %s %s", settlement,
						institution ? "takes no institution" : "needs an institution")));
	if (inspector && pg_strcasecmp(inspector, "system") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("inspector \"%s\" is reserved", inspector),
				 errdetail("\"system\" is the actor of run_maintenance().")));
	if (inspector && (strcmp(inspector, buyer) == 0 || strcmp(inspector, merchant) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the inspector must be neither the buyer nor the merchant"),
				 errhint("Leave inspector NULL when the buyer inspects.")));

	SPI_connect();
	for (i = 0; i < 2; i++)
	{
		values[0] = CStringGetTextDatum(who[i]);
		if (ep_exec(&party_kind, values, NULL, 1) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("party \"%s\" is not registered", who[i])));
		if (strcmp(ep_text(0, 1), kinds[i]) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("party \"%s\" is a %s, not a %s", who[i], ep_text(0, 1), kinds[i])));
	}

	id = ep_next_id("deal_id_seq");
	if (key && ep_idem_claim(key,
							 psprintf("open_deal(%s,%s,%lld,%s,%s,%s,%s,%s,%s,%s)",
									  request_text(buyer), request_text(merchant),
									  (long long) amount, request_text(place),
									  request_text(carrier), request_text(provider),
									  request_text(inspector), ep_interval_key(ship_within),
									  settlement, request_text(institution)),
							 true, id, &prior))
	{
		SPI_finish();
		PG_RETURN_INT64(prior);
	}

	values[0] = CStringGetTextDatum(buyer);
	values[1] = CStringGetTextDatum(merchant);
	if ((ep_distributed() ? deal_parties_each(values) : ep_exec(&parties, values, NULL, 1)) != 1)
		elog(ERROR, "escrowpay: accounts of parties %s and %s are missing", buyer, merchant);
	if (strcmp(ep_text(0, 10), ep_text(0, 11)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("The buyer pays in %s, the merchant settles in %s.",
						   ep_text(0, 10), ep_text(0, 11))));

	if (strcmp(settlement, "credit_finance") == 0 && strcmp(ep_text(0, 9), "credit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("credit finance needs a buyer paying by credit line"),
				 errdetail("Member %s pays from a %s account.", buyer, ep_text(0, 9))));
	if (institution)
	{
		char	   *deal_currency = pstrdup(ep_text(0, 10));

		values[0] = CStringGetTextDatum(institution);
		if (ep_exec(&institution_plan, values, NULL, 1) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("party \"%s\" is not registered", institution)));
		if (strcmp(ep_text(0, 1), "institution") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("party \"%s\" is a %s, not an institution", institution,
							ep_text(0, 1))));
		if (strcmp(ep_text(0, 2), deal_currency) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
					 errmsg("currency mismatch between accounts"),
					 errdetail("The deal is in %s, institution %s works in %s.",
							   deal_currency, institution, ep_text(0, 2))));
		/* the parties row again, for the insert below */
		values[0] = CStringGetTextDatum(buyer);
		values[1] = CStringGetTextDatum(merchant);
		ep_exec(&parties, values, NULL, 1);
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(txn_no_of(id));
	values[2] = CStringGetTextDatum(buyer);
	values[3] = CStringGetTextDatum(merchant);
	values[4] = Int64GetDatum(amount);
	values[5] = CStringGetTextDatum(ep_text(0, 10));
	values[6] = CStringGetTextDatum(strcmp(ep_text(0, 9), "credit") == 0 ? "credit" : "balance");
	values[7] = Int64GetDatum(ep_int64(0, 2));
	values[8] = Int64GetDatum(ep_int64(0, 4));
	values[9] = ep_datum(0, 5, &isnull);
	nulls[9] = isnull ? 'n' : ' ';
	values[10] = ep_datum(0, 6, &isnull);
	values[11] = place ? CStringGetTextDatum(place) : (Datum) 0;
	nulls[11] = place ? ' ' : 'n';
	values[12] = carrier ? CStringGetTextDatum(carrier) : (Datum) 0;
	nulls[12] = carrier ? ' ' : 'n';
	values[13] = provider ? CStringGetTextDatum(provider) : (Datum) 0;
	nulls[13] = provider ? ' ' : 'n';
	values[14] = inspector ? CStringGetTextDatum(inspector) : (Datum) 0;
	nulls[14] = inspector ? ' ' : 'n';
	values[15] = IntervalPGetDatum(ship_within);
	values[16] = ep_datum(0, 7, &isnull);
	values[17] = ep_datum(0, 8, &isnull);
	values[18] = CStringGetTextDatum(settlement);
	values[19] = institution ? CStringGetTextDatum(institution) : (Datum) 0;
	nulls[19] = institution ? ' ' : 'n';
	/* a credit institution's cost to the merchant is its discount, not a fee */
	if (strcmp(settlement, "credit_finance") == 0)
		values[10] = Int32GetDatum(0);
	ep_exec(&insert, values, nulls, 0);

	{
		StringInfoData p;

		json_begin(&p);
		json_str(&p, "txn_no", txn_no_of(id));
		json_int(&p, "amount", amount);
		ep_deal_event(id, "open_deal", STAGE_START, STAGE_ORDER_RECEIVED, buyer, json_end(&p));
	}
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * A deal served first and not paid yet: an escrow deal at delivered (or
 * unpaid) with nothing held or captured.  Its deadline is the payment
 * deadline, not an inspection window.
 */
bool
ep_deal_served_unpaid(const EpDeal *d)
{
	return !ep_deal_financed(d) && d->held == 0 && d->captured == 0 &&
		(d->stage == STAGE_DELIVERED || d->stage == STAGE_UNPAID);
}

/* What the deadline of the deal's current stage is called */
static const char *
deadline_name(const EpDeal *d)
{
	switch (d->stage)
	{
		case STAGE_FUNDS_RESERVED:
			return "ship-by deadline";
		case STAGE_SHIPPED:
			return "delivery deadline";
		case STAGE_DELIVERED:
			return ep_deal_served_unpaid(d) ? "payment deadline" : "inspection window";
		case STAGE_SETTLED:
			return "cooling-off period";
		case STAGE_RETURNED:
			return "refund deadline";
		default:
			return "deadline";
	}
}

/* Refuse (EP007) when the deal's current deadline has passed */
static void
require_before_deadline(const EpDeal *d, const char *action)
{
	const char *window = deadline_name(d);

	if (d->has_deadline && d->deadline <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s: the %s closed at %s", d->txn_no, window,
						timestamptz_to_str(d->deadline)),
				 errdetail("%s is allowed only within the %s.", action, window)));
}

/* Refuse unless deal is at stage (EP007), for steps outside the table */
static void
require_stage(const EpDeal *d, EpStage stage, const char *action)
{
	if (d->stage != stage)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is %s: %s is not allowed", d->txn_no,
						ep_stage_name(d->stage), action),
				 errdetail("%s is allowed only while the deal is %s.", action,
						   ep_stage_name(stage))));
}

/*
 * escrow.issue_identity_code(deal bigint) RETURNS text
 *
 * A one-time 8-digit code for the application to send to the buyer's
 * contact; only its HMAC under the first key of escrowpay.hmac_key_file is
 * kept, with the key's id.  Issuing again replaces the previous code; the
 * count of wrong attempts is per deal and does not reset (the attempts
 * counted in shared memory are carried into code_attempts here), so
 * re-issuing cannot buy more guesses (a locked deal is cancelled and
 * opened again).  55000 without escrowpay in shared_preload_libraries or
 * without a usable key file.
 */
Datum
escrow_issue_identity_code(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan created = {NULL,
		"SELECT created_at FROM escrow.deals WHERE id = $1",
	1, {INT8OID}};
	static EpPlan store = {NULL,
		"UPDATE escrow.deals SET code_hmac = $2, code_key_id = $4, "
		"       code_issued_at = clock_timestamp(), "
		"       code_expires_at = clock_timestamp() + make_interval(secs => $3), "
		"       code_attempts = greatest(code_attempts, $5), "
		"       updated_at = now() "
		" WHERE id = $1",
	5, {INT8OID, BYTEAOID, INT4OID, TEXTOID, INT4OID}};
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	EpHmacKeys *keys;
	EpDeal		d;
	char	   *code;
	bytea	   *mac;
	Datum		values[5];
	bool		isnull;
	text	   *result;

	ep_attempts_require();
	keys = ep_hmac_keys_load();
	SPI_connect();
	ep_lock_deal(deal_id, &d);
	require_stage(&d, STAGE_ORDER_RECEIVED, "issue_identity_code");
	code = ep_random_digits(8);
	mac = palloc(VARHDRSZ + EP_HMAC_LEN);
	SET_VARSIZE(mac, VARHDRSZ + EP_HMAC_LEN);
	ep_code_hmac(&keys->keys[0], deal_id, code, (uint8 *) VARDATA(mac));
	values[0] = Int64GetDatum(deal_id);
	ep_exec(&created, values, NULL, 1);
	values[4] = Int32GetDatum(ep_attempt_count(deal_id,
											   DatumGetTimestampTz(ep_datum(0, 1, &isnull))));
	values[1] = PointerGetDatum(mac);
	values[2] = Int32GetDatum(ep_code_ttl);
	values[3] = CStringGetTextDatum(keys->keys[0].id);
	ep_exec(&store, values, NULL, 0);
	ep_hmac_keys_free(keys);
	ep_deal_event(deal_id, "issue_identity_code", d.stage, d.stage, d.buyer,
				  psprintf("{\"valid_seconds\": %d}", ep_code_ttl));
	/* into the caller's memory: SPI_finish() frees SPI's */
	result = (text *) DatumGetPointer(SPI_datumTransfer(CStringGetTextDatum(code), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * escrow.confirm_identity(deal bigint, code text) RETURNS boolean
 *
 * true: the code is right and the deal moves to identity_confirmed.
 * false: a wrong code, counted (the count must survive, so this is a
 * result and not an error).  EP008 when no code is pending, it expired,
 * it was issued before the server last started, its key is no longer in
 * escrowpay.hmac_key_file, or the attempts are used up.
 *
 * The attempt is counted in shared memory before the code is compared
 * (attempts.c), where no rollback of the caller can undo it; the deal's
 * count is the larger of that and code_attempts.  A right code gives its
 * attempt back.
 */
Datum
escrow_confirm_identity(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan fetch = {NULL,
		"SELECT code_hmac, code_expires_at <= clock_timestamp(), code_attempts, "
		"       coalesce(code_key_id, ''), coalesce(code_issued_at < $2, true), created_at, "
		"       code_expires_at "
		"  FROM escrow.deals WHERE id = $1",
	2, {INT8OID, TIMESTAMPTZOID}};
	static EpPlan wrong = {NULL,
		"UPDATE escrow.deals SET code_attempts = $2, updated_at = now() "
		" WHERE id = $1",
	2, {INT8OID, INT4OID}};
	static EpPlan clear = {NULL,
		"UPDATE escrow.deals SET code_hmac = NULL, code_key_id = NULL, "
		"       code_issued_at = NULL, code_expires_at = NULL WHERE id = $1",
	1, {INT8OID}};
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *code = arg_text(fcinfo, 1, "code");
	EpHmacKeys *keys;
	const EpHmacKey *key;
	EpDeal		d;
	EpStep		step;
	Datum		values[2];
	bool		isnull;
	Datum		stored;
	char	   *key_id;
	TimestampTz created;
	int			attempts;
	int			counted;
	uint8		mac[EP_HMAC_LEN];
	bool		ok;

	ep_attempts_require();
	keys = ep_hmac_keys_load();
	/* the buyer acts here, proven by the code: the check needs the deal first */
	SPI_connect();
	ep_lock_deal(deal_id, &d);
	ep_deal_check(&d, "confirm_identity", d.buyer, 0, &step);
	values[0] = Int64GetDatum(deal_id);
	values[1] = TimestampTzGetDatum(ep_attempts_epoch());
	ep_exec(&fetch, values, NULL, 1);
	stored = ep_datum(0, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("no identity code is pending for deal %s", d.txn_no),
				 errhint("Issue one with escrow.issue_identity_code().")));
	attempts = DatumGetInt32(ep_datum(0, 3, &isnull));
	if (attempts >= ep_max_code_attempts)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("too many wrong identity codes for deal %s", d.txn_no),
				 errdetail("%d wrong attempts; the limit is %d.", attempts, ep_max_code_attempts),
				 errhint("The deal stays locked: cancel it and open a new one.")));
	if (DatumGetBool(ep_datum(0, 5, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s is void", d.txn_no),
				 errdetail("It was issued before the server last started (or restarted after "
						   "a crash), which forgot the attempts counted in shared memory."),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	if (DatumGetBool(ep_datum(0, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s has expired", d.txn_no),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	key_id = TextDatumGetCString(ep_datum(0, 4, &isnull));
	key = ep_hmac_key_find(keys, key_id);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s is void", d.txn_no),
				 errdetail("It was issued under key \"%s\", which is no longer in "
						   "escrowpay.hmac_key_file.", key_id),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	created = DatumGetTimestampTz(ep_datum(0, 6, &isnull));
	if (!ep_attempt_take(deal_id, created, DatumGetTimestampTz(ep_datum(0, 7, &isnull)),
						 attempts, ep_max_code_attempts, &counted))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("too many wrong identity codes for deal %s", d.txn_no),
				 errdetail("%d attempts counted, also those rolled back; the limit is %d.",
						   counted, ep_max_code_attempts),
				 errhint("The deal stays locked: cancel it and open a new one.")));

	ep_code_hmac(key, deal_id, code, mac);
	ep_hmac_keys_free(keys);
	ok = VARSIZE_ANY_EXHDR(DatumGetByteaPP(stored)) == EP_HMAC_LEN &&
		ep_hmac_equal(mac, (const uint8 *) VARDATA_ANY(DatumGetByteaPP(stored)));
	if (!ok)
	{
		values[1] = Int32GetDatum(counted + 1);
		ep_exec(&wrong, values, NULL, 0);
		ep_deal_event(deal_id, "wrong_identity_code", d.stage, d.stage, d.buyer,
					  psprintf("{\"attempt\": %d}", counted + 1));
		ereport(NOTICE,
				(errmsg("wrong identity code for deal %s", d.txn_no),
				 errdetail("%d of %d attempts left.", ep_max_code_attempts - counted - 1,
						   ep_max_code_attempts)));
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	ep_attempt_right(deal_id, created, counted, attempts);
	ep_exec(&clear, values, NULL, 0);
	ep_deal_commit_step(&d, d.buyer, &step);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

/* ---------------------------------------------------------------------
 * Money steps
 * ---------------------------------------------------------------------
 */

/*
 * escrow.reserve(deal bigint, actor text) RETURNS text
 *
 * Freeze the amount on the buyer's balance or credit line (EP001 when it
 * does not cover it; the deal stays where it was) and return the
 * transaction authentication number shown to both sides.
 */
Datum
escrow_reserve(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan set_auth = {NULL,
		"UPDATE escrow.deals SET auth_no = $2 WHERE id = $1",
	2, {INT8OID, TEXTOID}};
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor = arg_text(fcinfo, 1, "actor");
	EpDeal		d;
	EpStep		step;
	char	   *auth_no;
	Datum		values[2];
	StringInfoData p;
	text	   *result;

	ep_deal_begin(deal_id, "reserve", actor, 0, &d, &step);
	ep_require_account_use(d.credit_account, d.merchant, true);
	auth_no = ep_random_digits(10);
	values[0] = Int64GetDatum(deal_id);
	values[1] = CStringGetTextDatum(auth_no);
	ep_exec(&set_auth, values, NULL, 0);

	json_begin(&p);
	json_str(&p, "auth_no", auth_no);
	if (ep_deal_financed(&d))
		ep_finance_reserve(&d, &p);
	else
	{
		ep_sources_reserve(&d);
		if (d.hold_id)
			json_int(&p, "hold", d.hold_id);
		json_int(&p, "held", d.amount);
	}
	step.payload = json_end(&p);
	step.deadline = "ship";
	ep_deal_commit_step(&d, actor, &step);
	/* into the caller's memory: SPI_finish() frees SPI's */
	result = (text *) DatumGetPointer(SPI_datumTransfer(CStringGetTextDatum(auth_no), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * escrow.mark_shipped(deal bigint, carrier text, tracking text, actor text)
 *	 RETURNS void
 */
Datum
escrow_mark_shipped(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan set_tracking = {NULL,
		"UPDATE escrow.deals SET carrier = coalesce($2, carrier), tracking = $3 WHERE id = $1",
	3, {INT8OID, TEXTOID, TEXTOID}};
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *carrier = arg_opt_text(fcinfo, 1);
	char	   *tracking = arg_opt_text(fcinfo, 2);
	char	   *actor = arg_text(fcinfo, 3, "actor");
	EpDeal		d;
	EpStep		step;
	Datum		values[3];
	char		nulls[3] = {' ', carrier ? ' ' : 'n', tracking ? ' ' : 'n'};
	StringInfoData p;

	ep_deal_begin(deal_id, "mark_shipped", actor, 0, &d, &step);
	require_before_deadline(&d, "mark_shipped");
	values[0] = Int64GetDatum(deal_id);
	values[1] = carrier ? CStringGetTextDatum(carrier) : (Datum) 0;
	values[2] = tracking ? CStringGetTextDatum(tracking) : (Datum) 0;
	ep_exec(&set_tracking, values, nulls, 0);
	json_begin(&p);
	json_str(&p, "carrier", carrier);
	json_str(&p, "tracking", tracking);
	step.payload = json_end(&p);
	step.deadline = "deliver";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.mark_delivered(deal bigint, actor text) RETURNS void
 *
 * Reported by the merchant or by the inspector (e.g. the carrier) before
 * the delivery deadline; starts the inspection window.  After the
 * deadline the deal is (or is about to be) escalated to a dispute, so a
 * late report is refused: whether the goods arrived is then for the
 * adjudicator to decide, and the outcome does not depend on when
 * run_maintenance() happened to run.
 */
Datum
escrow_mark_delivered(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor = arg_text(fcinfo, 1, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, "mark_delivered", actor, 0, &d, &step);
	require_before_deadline(&d, "mark_delivered");
	step.deadline = "inspect";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Settle: capture the whole hold to the merchant and move the fee to the
 * fee account.  Shared by confirm_inspection and auto_accept.
 */
void
ep_deal_settle(EpDeal *d, const char *actor, EpStep *step)
{
	StringInfoData p;

	json_begin(&p);
	if (ep_deal_financed(d))
		ep_finance_settle(d, &p);
	else
	{
		if (d->held == 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
					 errmsg("deal %s has not been paid", d->txn_no),
					 errdetail("It was served first; the buyer pays at a terminal (escrow.pay_cash)."),
					 errhint("Nothing can be captured before then.")));
		d->capture_transfer = ep_sources_capture(d, d->held);
		d->fee = ep_fee_of(d->captured, d->fee_bps);
		if (d->fee > 0)
			d->fee_transfer = ep_deal_transfer(d, d->credit_account, d->fee_account, d->fee);
		if (d->capture_transfer)
			json_int(&p, "capture_transfer", d->capture_transfer);
		json_int(&p, "merchant_in", d->captured);
		json_int(&p, "fee", d->fee);
	}
	step->payload = json_end(&p);
	step->deadline = "return";
	ep_deal_commit_step(d, actor, step);
}

/*
 * escrow.confirm_inspection(deal bigint, actor text) RETURNS bigint
 *
 * The buyer or the designated inspector confirms receipt: the hold is
 * captured to the merchant (less the fee).  Returns the capture transfer.
 */
Datum
escrow_confirm_inspection(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor = arg_text(fcinfo, 1, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, "confirm_inspection", actor, 0, &d, &step);
	ep_deal_settle(&d, actor, &step);
	SPI_finish();
	/* a deal paid from several sources has one capture per source */
	if (d.capture_transfer == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(d.capture_transfer);
}

/* Release whatever the deal still holds */
static int64
release_hold(EpDeal *d)
{
	return ep_sources_release(d);
}

/* A step whose only money effect is releasing the hold (cancel, expire) */
static void
release_step(EpDeal *d, const char *actor, const char *reason, EpStep *step)
{
	StringInfoData p;

	json_begin(&p);
	json_str(&p, "reason", reason);
	if (ep_deal_financed(d))
		ep_finance_unwind(d, &p);
	else
		json_int(&p, "released", release_hold(d));
	step->payload = json_end(&p);
	step->deadline = "none";
	ep_deal_commit_step(d, actor, step);
}

/*
 * escrow.cancel_deal(deal bigint, reason text, actor text) RETURNS void
 *
 * Before shipping: the hold (if any) is released; no money moves.
 */
Datum
escrow_cancel_deal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *reason = arg_text(fcinfo, 1, "reason");
	char	   *actor = arg_text(fcinfo, 2, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, "cancel_deal", actor, 0, &d, &step);
	release_step(&d, actor, reason, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/* Commit a checked step that records a reason and moves no money */
static void
note_step(EpDeal *d, const char *actor, const char *reason, const char *deadline,
		  EpStep *step)
{
	StringInfoData p;

	json_begin(&p);
	json_str(&p, "reason", reason);
	step->payload = json_end(&p);
	step->deadline = deadline;
	ep_deal_commit_step(d, actor, step);
}

/*
 * The body of the steps that record a reason and move no money (return
 * requests, disputes): refused after the current stage's deadline when
 * in_time is set; deadline is the one the next stage starts.
 */
static void
reason_step(FunctionCallInfo fcinfo, const char *action, bool in_time, const char *deadline)
{
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *reason = arg_text(fcinfo, 1, "reason");
	char	   *actor = arg_text(fcinfo, 2, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, action, actor, 0, &d, &step);
	if (in_time)
		require_before_deadline(&d, action);
	note_step(&d, actor, reason, deadline, &step);
	SPI_finish();
}

/*
 * escrow.reject_delivery(deal bigint, reason text, actor text) RETURNS void
 *
 * Within the inspection window (wrong or damaged item): the goods go back;
 * the hold stays until the merchant confirms the return, which it must do
 * by the refund deadline (refund_within).
 */
Datum
escrow_reject_delivery(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "reject_delivery", true, "refund");
	PG_RETURN_VOID();
}

/*
 * escrow.request_return(deal bigint, reason text, actor text) RETURNS void
 *
 * Within the cooling-off period after settlement; the merchant must
 * confirm the return by the refund deadline (refund_within).
 */
Datum
escrow_request_return(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "request_return", true, "refund");
	PG_RETURN_VOID();
}

/*
 * escrow.open_dispute(deal bigint, reason text, actor text) RETURNS void
 *
 * From shipped, delivered, settled or returned, for every settlement
 * model.  A return can be disputed only before its refund deadline: after
 * it the merchant's silence has accepted the return (auto_confirm_return).
 */
Datum
escrow_open_dispute(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *reason = arg_text(fcinfo, 1, "reason");
	char	   *actor = arg_text(fcinfo, 2, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, "open_dispute", actor, 0, &d, &step);
	if (d.stage == STAGE_RETURNED)
		require_before_deadline(&d, "open_dispute");
	note_step(&d, actor, reason, "none", &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.write_off(deal bigint, reason text, actor text) RETURNS void
 *
 * The merchant gives up a bill the buyer it served first never paid (the
 * deal is unpaid): the deal ends, written_off.  Nothing was held, so no
 * money moves; collecting the debt is the merchant's business outside
 * escrowpay.
 */
Datum
escrow_write_off(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "write_off", false, "none");
	PG_RETURN_VOID();
}

/*
 * Give the buyer back `buyer_share` and let the merchant keep the rest,
 * whether the hold is still open or was captured; the fee follows what
 * the merchant keeps.  Records the amounts in the step's payload.
 */
static void
split(EpDeal *d, int64 buyer_share, StringInfo p)
{
	int64		merchant_share = d->amount - buyer_share;
	int64		new_fee = ep_fee_of(merchant_share, d->fee_bps);
	int64		refund = 0;
	int64		fee_change = 0;
	int64		merchant_in = 0;

	if (d->captured == 0 && d->held == 0 && merchant_share > 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s has not been paid", d->txn_no),
				 errdetail("Nothing is held or captured, so the merchant's share must be 0.")));
	if (d->captured == 0)
	{
		/* the hold is still open: capture the merchant's share, release the rest */
		if (merchant_share > 0)
		{
			d->capture_transfer = ep_sources_capture(d, merchant_share);
			merchant_in = merchant_share;
			if (new_fee > 0)
				d->fee_transfer = ep_deal_transfer(d, d->credit_account, d->fee_account, new_fee);
			fee_change = new_fee;
			d->fee = new_fee;
		}
		else
			json_int(p, "released", release_hold(d));
	}
	else
	{
		/*
		 * captured: give the merchant back the fee on the buyer's share
		 * first (it may be what covers the refund), then refund the buyer
		 */
		if (d->fee > new_fee)
		{
			ep_refund_transfer(d->fee_transfer, true, d->fee - new_fee, NULL);
			fee_change = new_fee - d->fee;
			d->fee = new_fee;
		}
		if (buyer_share > 0)
		{
			ep_sources_refund(d, buyer_share);
			refund = buyer_share;
		}
	}
	json_int(p, "merchant_in", merchant_in);
	json_int(p, "refund", refund);
	json_int(p, "fee", fee_change);
}

/*
 * The goods are back: release the hold, or refund the capture and the fee
 * (financed deals: unwind them).  Shared by confirm_return and
 * auto_confirm_return.
 */
static void
return_step(EpDeal *d, const char *actor, EpStep *step)
{
	StringInfoData p;

	json_begin(&p);
	if (ep_deal_financed(d))
		ep_finance_unwind(d, &p);
	else
		split(d, d->amount, &p);
	step->payload = json_end(&p);
	step->deadline = "none";
	ep_deal_commit_step(d, actor, step);
}

/*
 * escrow.confirm_return(deal bigint, actor text) RETURNS void
 *
 * The merchant has the goods back: release the hold, or refund the capture
 * and the fee.
 */
Datum
escrow_confirm_return(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor = arg_text(fcinfo, 1, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, "confirm_return", actor, 0, &d, &step);
	return_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.resolve_dispute(deal bigint, buyer_share bigint,
 *						  merchant_share bigint) RETURNS void
 *
 * escrow_admin splits the amount exactly: buyer_share + merchant_share
 * must equal it.
 */
Datum
escrow_resolve_dispute(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	int64		buyer_share;
	int64		merchant_share;
	EpDeal		d;
	EpStep		step;
	StringInfoData p;
	char	   *actor = GetUserNameFromId(GetOuterUserId(), false);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_GETARG_INT64(1) < 0 || PG_GETARG_INT64(2) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buyer_share and merchant_share must be zero or positive")));
	buyer_share = PG_GETARG_INT64(1);
	merchant_share = PG_GETARG_INT64(2);
	ep_check_amount(buyer_share, "buyer_share");
	ep_check_amount(merchant_share, "merchant_share");

	ep_deal_begin(deal_id, "resolve_dispute", actor, ep_caller_is_admin() ? ACTOR_ADMIN : 0, &d, &step);
	if (ep_add(buyer_share, merchant_share, "shares") != d.amount)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the shares must add up to the deal amount exactly"),
				 errdetail("buyer_share %lld + merchant_share %lld, amount %lld.",
						   (long long) buyer_share, (long long) merchant_share,
						   (long long) d.amount)));
	json_begin(&p);
	json_int(&p, "buyer_share", buyer_share);
	json_int(&p, "merchant_share", merchant_share);
	if (ep_deal_financed(&d))
		ep_finance_split(&d, buyer_share, &p);
	else
		split(&d, buyer_share, &p);
	step.payload = json_end(&p);
	step.deadline = "none";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------------
 * Maintenance
 * ---------------------------------------------------------------------
 */

/*
 * What maintenance does to a deal whose deadline passed (the order of
 * run_maintenance()'s rows)
 */
typedef enum EpWork
{
	WORK_EXPIRE,				/* funds_reserved: not shipped */
	WORK_AUTO_ACCEPT,			/* delivered: inspection window passed */
	WORK_COMPLETE,				/* settled: cooling-off passed */
	WORK_INVOICE_DUE,			/* settled agency deal, invoice unpaid */
	WORK_ESCALATE,				/* shipped: not delivered */
	WORK_MARK_UNPAID,			/* delivered, served first: not paid */
	WORK_AUTO_CONFIRM_RETURN,	/* returned: not confirmed by the merchant */
	WORK_COUNT,
	WORK_NONE = WORK_COUNT		/* not due after all */
} EpWork;

static const char *const work_actions[WORK_COUNT] = {
	[WORK_EXPIRE] = "expire",
	[WORK_AUTO_ACCEPT] = "auto_accept",
	[WORK_COMPLETE] = "complete",
	[WORK_INVOICE_DUE] = "invoice_due",
	[WORK_ESCALATE] = "escalate",
	[WORK_MARK_UNPAID] = "mark_unpaid",
	[WORK_AUTO_CONFIRM_RETURN] = "auto_confirm_return",
};

/* The step a due deal takes, from its stage (and money) */
static EpWork
work_of(const EpDeal *d)
{
	switch (d->stage)
	{
		case STAGE_FUNDS_RESERVED:
			return WORK_EXPIRE;
		case STAGE_SHIPPED:
			return WORK_ESCALATE;
		case STAGE_DELIVERED:
			return ep_deal_served_unpaid(d) ? WORK_MARK_UNPAID : WORK_AUTO_ACCEPT;
		case STAGE_SETTLED:
			/* a payment-agency deal whose invoice is unpaid waits as invoiced */
			return ep_finance_unpaid(d, NULL) > 0 ? WORK_INVOICE_DUE : WORK_COMPLETE;
		case STAGE_RETURNED:
			return WORK_AUTO_CONFIRM_RETURN;
		default:
			return WORK_NONE;
	}
}

/* Take a due deal's next step; returns which */
static EpWork
maintain_deal(int64 id)
{
	EpDeal		d;
	EpStep		step;
	EpWork		w;

	ep_lock_deal(id, &d);
	w = work_of(&d);
	if (w == WORK_NONE)
		return w;
	ep_deal_check(&d, work_actions[w], "system", ACTOR_SYSTEM, &step);
	switch (w)
	{
		case WORK_EXPIRE:
			release_step(&d, "system", "not shipped by the deadline", &step);
			break;
		case WORK_ESCALATE:
			note_step(&d, "system", "not delivered by the deadline", "none", &step);
			break;
		case WORK_AUTO_ACCEPT:
			ep_deal_settle(&d, "system", &step);
			break;
		case WORK_MARK_UNPAID:
			note_step(&d, "system", "not paid by the deadline", "none", &step);
			break;
		case WORK_INVOICE_DUE:
			step.payload = ep_finance_invoice_payload(&d);
			step.deadline = "none";
			ep_deal_commit_step(&d, "system", &step);
			break;
		case WORK_AUTO_CONFIRM_RETURN:
			return_step(&d, "system", &step);
			break;
		default:
			step.deadline = "none";
			ep_deal_commit_step(&d, "system", &step);
			break;
	}
	return w;
}

/*
 * escrow.run_maintenance(max_deals integer DEFAULT 100)
 *	 RETURNS TABLE(action text, deals integer)
 *
 * Takes up to max_deals deals whose deadline has passed (skipping deals
 * other transactions hold): reserved deals never shipped expire (hold
 * released), delivered deals past the inspection window are accepted and
 * settled, settled deals past cooling-off complete (a payment-agency deal
 * whose invoice is unpaid becomes invoiced instead), shipped deals never
 * delivered are escalated to a dispute (money stays frozen for the
 * adjudicator), deals served first and never paid are marked unpaid, and
 * returns the merchant did not confirm in time are confirmed for it
 * (refunded).  A deal that fails is reported (WARNING) and counted as
 * failed; the others go on.
 */
Datum
escrow_run_maintenance(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan due = {NULL,
		"SELECT id FROM escrow.deals "
		" WHERE stage IN ('funds_reserved', 'shipped', 'delivered', 'settled', 'returned') "
		"   AND deadline <= clock_timestamp() "
		" ORDER BY deadline LIMIT $1 FOR UPDATE SKIP LOCKED",
	1, {INT4OID}};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			counts[WORK_COUNT] = {0};
	volatile int failed = 0;
	Datum		values[1];
	int64	   *ids;
	uint64		n;
	uint64		i;
	int			w;

	if (PG_ARGISNULL(0) || PG_GETARG_INT32(0) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_deals must be a positive integer")));
	InitMaterializedSRF(fcinfo, 0);

	SPI_connect();
	values[0] = Int32GetDatum(PG_GETARG_INT32(0));
	n = ep_exec(&due, values, NULL, 0);
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
		ids[i] = ep_int64(i, 1);

	for (i = 0; i < n; i++)
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		/*
		 * Each deal in its own subtransaction: one deal that cannot move
		 * (say its merchant cannot pay back a fee) is reported and skipped
		 * instead of holding up every other due deal.
		 */
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			w = maintain_deal(ids[i]);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			if (w < WORK_COUNT)
				counts[w]++;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			ereport(WARNING,
					(errmsg("escrowpay maintenance skipped deal %lld: %s",
							(long long) ids[i], edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
			FreeErrorData(edata);
			failed++;
		}
		PG_END_TRY();
	}
	SPI_finish();

	for (w = 0; w <= WORK_COUNT; w++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		row[0] = CStringGetTextDatum(w < WORK_COUNT ? work_actions[w] : "failed");
		row[1] = Int32GetDatum(w < WORK_COUNT ? counts[w] : failed);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

/*
 * escrow.current_party() RETURNS text
 *
 * The party whose login role is calling (through SET ROLE too), or NULL:
 * what the row-level security policies on deals compare against.  A role
 * that has become unfit to be a login role since it was registered
 * (ep_login_role_unfit: made superuser, granted escrow_app, granted to
 * another role, ...) resolves to NULL; the verdict is cached per backend
 * until the roles or relations change (ep_login_role_fit).
 */
PG_FUNCTION_INFO_V1(escrow_current_party);

Datum
escrow_current_party(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan lookup = {NULL,
		"SELECT party_no FROM escrow.parties WHERE login_role = $1",
	1, {NAMEOID}};
	Datum		values[1];
	text	   *result = NULL;

	SPI_connect();
	values[0] = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false)));
	/* a role altered since it was registered no longer speaks for the party */
	if (ep_exec(&lookup, values, NULL, 1) == 1 && ep_login_role_fit(GetOuterUserId()))
		result = (text *) DatumGetPointer(SPI_datumTransfer(CStringGetTextDatum(ep_text(0, 1)),
															false, -1));
	SPI_finish();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(result);
}
