/*-------------------------------------------------------------------------
 *
 * registration.c
 *	  Registering the parties of deals: members (buyers), merchants under
 *	  a franchise contract, and institutions (payment agencies and credit
 *	  institutions), each with the account its money moves through and
 *	  the terms deals copy from it.
 *
 *-------------------------------------------------------------------------
 */
#include "registration.h"

#include "deal.h"
#include "hold.h"
#include "money.h"
#include "party.h"
#include "payload.h"
#include "limits.h"
#include "plan.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_register_member);
PG_FUNCTION_INFO_V1(escrow_register_merchant);
PG_FUNCTION_INFO_V1(escrow_register_institution);

/* kind and currency of a deposit or credit account usable by a party */
static void
party_account(int64 account, const char *what, char **kind, char **currency)
{
	static EpPlan fetch = EP_PLAN("SELECT kind, currency FROM escrow.accounts "
		" WHERE id = $1 AND kind IN ('deposit', 'credit')", INT8OID);
	Datum		values[1];

	values[0] = Int64GetDatum(account);
	ep_exec_one(&fetch, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("%s %lld is not a deposit or credit account", what,
					(long long) account));
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
	static EpPlan exists = EP_PLAN("SELECT kind FROM escrow.parties WHERE party_no = $1", TEXTOID);
	static EpPlan role_taken = EP_PLAN("SELECT party_no FROM escrow.parties WHERE login_role = $1",
		NAMEOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.parties (party_no, kind, name, contact, login_role, "
		"  account, settlement_account, fee_account, fee_bps, inspection_window, cooling_off, "
		"  discount_bps, repay_within, deliver_within, refund_within, pay_within) "
		"VALUES ($1, $2, $3, $4, $5, nullif($6, 0), nullif($7, 0), nullif($8, 0), $9, "
		"        $11, $12, $10, $13, $14, $15, $16)",
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, NAMEOID, INT8OID, INT8OID, INT8OID, INT4OID, INT4OID,
		INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID);
	int64		accounts[] = {t->account, t->settlement_account, t->fee_account};
	Interval   *terms[] = {t->inspection_window, t->cooling_off, t->repay_within,
	t->deliver_within, t->refund_within, t->pay_within};
	Datum		values[16];
	char		nulls[16];
	int			i;

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
	for (i = 0; i < lengthof(accounts); i++)
		values[5 + i] = Int64GetDatum(accounts[i]); /* $6..$8, 0: NULL */
	values[8] = Int32GetDatum(t->fee_bps);
	values[9] = Int32GetDatum(t->discount_bps);
	for (i = 0; i < lengthof(terms); i++)
	{
		values[10 + i] = PointerGetDatum(terms[i]); /* $11..$16 */
		nulls[10 + i] = terms[i] ? ' ' : 'n';
	}
	ep_exec(&insert, values, nulls, 0);
	/* the account it registers with becomes its own */
	ep_assign_account_owner(t->account ? t->account : t->settlement_account, party_no);
}

/*
 * What one kind of party adds to registration: the names of its first and
 * fourth argument, where its login role is, whether its account must be a
 * deposit account (and the message if not), and its own terms, read from
 * its arguments before (args) and after (accounts) the account is checked.
 */
typedef struct EpPartyKind
{
	const char *kind;			/* escrow.parties.kind */
	const char *no_arg;			/* argument 0: the party number */
	const char *account_arg;	/* argument 3: the account */
	int			login_role_arg;
	const char *deposit_only;	/* errmsg when the account is not a deposit
								 * account; NULL: a credit line will do */
	void		(*args) (FunctionCallInfo fcinfo, EpPartyTerms *t);
	void		(*accounts) (FunctionCallInfo fcinfo, const char *currency, EpPartyTerms *t);
} EpPartyKind;

/*
 * The shared body of the register_* functions: party number, name,
 * contact, account and login role, the kind's own terms, then the row.
 */
static Datum
register_party(FunctionCallInfo fcinfo, const EpPartyKind *k)
{
	char	   *party_no = ep_arg_text(fcinfo, 0, k->no_arg);
	char	   *name = ep_arg_text(fcinfo, 1, "name");
	char	   *contact = ep_arg_text(fcinfo, 2, "contact");
	int64		account = ep_arg_id(fcinfo, 3, k->account_arg);
	char	   *login_role;
	char	   *kind;
	char	   *currency;
	EpPartyTerms terms = {0};

	if (k->args)
		k->args(fcinfo, &terms);
	login_role = PG_ARGISNULL(k->login_role_arg) ? NULL :
		NameStr(*PG_GETARG_NAME(k->login_role_arg));

	SPI_connect();
	party_account(account, k->account_arg, &kind, &currency);
	if (k->deposit_only && strcmp(kind, "deposit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", k->deposit_only),
				 errdetail("Account %lld is a %s account.", (long long) account, kind)));
	if (k->deposit_only)
		terms.settlement_account = account;
	else
		terms.account = account;
	if (k->accounts)
		k->accounts(fcinfo, currency, &terms);
	insert_party(party_no, k->kind, name, contact, login_role, &terms);
	SPI_finish();
	PG_RETURN_TEXT_P(cstring_to_text(party_no));
}

/* A rate argument in basis points: 0 to 10000 (22023) */
static int32
arg_bps(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno) || PG_GETARG_INT32(argno) < 0 || PG_GETARG_INT32(argno) > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be between 0 and 10000 basis points", what)));
	return PG_GETARG_INT32(argno);
}

/* A buyer: its account is the deposit account or credit line deals freeze */
static const EpPartyKind member = {"member", "member_no", "account", 4, NULL, NULL, NULL};

/* register_merchant()'s fee, and the terms deals copy */
static void
merchant_args(FunctionCallInfo fcinfo, EpPartyTerms *t)
{
	t->inspection_window = ep_arg_interval(fcinfo, 4, "inspection_window");
	t->cooling_off = ep_arg_interval(fcinfo, 5, "cooling_off");
	t->fee_bps = arg_bps(fcinfo, 6, "fee_bps");
	if (t->fee_bps > 0 && PG_ARGISNULL(7))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a merchant with a fee needs a fee_account")));
}

/* register_merchant()'s fee account, in the settlement account's currency */
static void
merchant_accounts(FunctionCallInfo fcinfo, const char *currency, EpPartyTerms *t)
{
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
		if (PG_GETARG_INT64(7) == t->settlement_account)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("fee_account must differ from settlement_account")));
		/* fees are e-money; a terminal's cash account moves only with its cash */
		ep_refuse_terminal_account(PG_GETARG_INT64(7));
		t->fee_account = PG_GETARG_INT64(7);
	}

	/*
	 * Called through the 0.1.0 declaration (nine arguments) before ALTER
	 * EXTENSION escrowpay UPDATE: there are no such arguments, and no such
	 * columns either, so the insert is refused with 55000.
	 */
	if (PG_NARGS() > 11)
	{
		t->deliver_within = ep_arg_interval(fcinfo, 9, "deliver_within");
		t->refund_within = ep_arg_interval(fcinfo, 10, "refund_within");
		t->pay_within = ep_arg_interval(fcinfo, 11, "pay_within");
	}
}

static const EpPartyKind merchant = {"merchant", "merchant_no", "settlement_account", 8,
	"settlement_account must be a deposit account", merchant_args, merchant_accounts};

/* register_institution()'s receivables discount and repayment term */
static void
institution_args(FunctionCallInfo fcinfo, EpPartyTerms *t)
{
	t->repay_within = ep_arg_interval(fcinfo, 5, "repay_within");
	t->discount_bps = arg_bps(fcinfo, 4, "discount_bps");
}

static const EpPartyKind institution = {"institution", "institution_no", "account", 6,
	"an institution's account must be a deposit account", institution_args, NULL};

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
	return register_party(fcinfo, &member);
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
	return register_party(fcinfo, &merchant);
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
	return register_party(fcinfo, &institution);
}
