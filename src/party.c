/*-------------------------------------------------------------------------
 *
 * party.c
 *	  What belongs to a party: its login role and its accounts, and which
 *	  party is calling (escrow.current_party()).
 *
 *	  Login roles.  A party's login role sees that party's deals through
 *	  row-level security (escrow.current_party()), so it must be a role of
 *	  the party's own that sees nothing else: a LOGIN role that is not a
 *	  superuser, has neither BYPASSRLS nor CREATEROLE, is none of
 *	  escrowpay's roles, is no member (directly or through other roles) of
 *	  escrow_app, escrow_admin, escrow_auditor, pg_read_all_data,
 *	  pg_write_all_data or the owner of escrowpay's tables, and is granted
 *	  to no other role (whoever could SET ROLE to it would act as the
 *	  party).  Registration refuses an unfit role (22023); current_party()
 *	  checks again at every use, from the catalog caches, so a role altered
 *	  afterwards resolves to no party.
 *
 *	  Accounts.  escrow.account_owners gives an account at most one owning
 *	  party: the party registered with it, or the one escrow.assign_account()
 *	  names.  A deal takes money only from its buyer's own accounts and pays
 *	  only into its merchant's (and an institution's money moves only
 *	  through its own), unless the owner authorised the party to (a shared
 *	  or company account): escrow.account_authorisations, granted and
 *	  revoked by the owner, with who and when.  ep_require_account_use()
 *	  is the check (42501); the authorisation row it relies on is locked
 *	  FOR SHARE, so a revoke committing meanwhile is either seen or waits.
 *	  The ledger API (hold, capture, transfer, ...) is the application's
 *	  own bookkeeping between accounts and is not checked here.
 *
 *-------------------------------------------------------------------------
 */
#include "party.h"

#include "catalog/namespace.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "money.h"
#include "plan.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(escrow_assign_account);
PG_FUNCTION_INFO_V1(escrow_authorise_account_use);
PG_FUNCTION_INFO_V1(escrow_revoke_account_use);
PG_FUNCTION_INFO_V1(escrow_current_party);

/* escrowpay's own roles: never a party's login role */
static const char *const own_roles[] = {
	"escrow_party", "escrow_app", "escrow_admin", "escrow_auditor"
};

/* roles that read or act beyond one party's rows: a login role is no member */
static const char *const broad_roles[] = {
	"escrow_app", "escrow_admin", "escrow_auditor", "pg_read_all_data", "pg_write_all_data"
};

/* The owner of escrowpay's tables (escrow.deals), or InvalidOid */
static Oid
tables_owner(void)
{
	Oid			ns = get_namespace_oid("escrow", true);
	Oid			rel = OidIsValid(ns) ? get_relname_relid("deals", ns) : InvalidOid;
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(rel))
		return InvalidOid;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Why role roleid cannot be a party's login role (an errdetail), or NULL
 * when it can.  Reads only the catalog caches: current_party() calls it on
 * every use.
 */
char *
ep_login_role_unfit(Oid roleid)
{
	HeapTuple	tup;
	Form_pg_authid role;
	char	   *name;
	char	   *why = NULL;
	CatCList   *members;
	Oid			owner;
	int			i;

	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	if (!HeapTupleIsValid(tup))
		return psprintf("Role %u does not exist.", roleid);
	role = (Form_pg_authid) GETSTRUCT(tup);
	name = pstrdup(NameStr(role->rolname));
	for (i = 0; i < lengthof(own_roles) && why == NULL; i++)
		if (strcmp(name, own_roles[i]) == 0)
			why = psprintf("Role \"%s\" is escrowpay's role %s.", name, own_roles[i]);
	if (why == NULL && !role->rolcanlogin)
		why = psprintf("Role \"%s\" cannot log in.", name);
	if (why == NULL && role->rolsuper)
		why = psprintf("Role \"%s\" is a superuser.", name);
	if (why == NULL && role->rolbypassrls)
		why = psprintf("Role \"%s\" has BYPASSRLS: row-level security would not limit it.", name);
	if (why == NULL && role->rolcreaterole)
		why = psprintf("Role \"%s\" has CREATEROLE: it could grant itself escrowpay's roles.", name);
	ReleaseSysCache(tup);
	if (why)
		return why;

	for (i = 0; i < lengthof(broad_roles); i++)
	{
		Oid			broad = get_role_oid(broad_roles[i], true);

		if (OidIsValid(broad) && is_member_of_role_nosuper(roleid, broad))
			return psprintf("Role \"%s\" is a member of %s.", name, broad_roles[i]);
	}
	owner = tables_owner();
	if (OidIsValid(owner) && roleid == owner)
		return psprintf("Role \"%s\" owns escrowpay's tables.", name);
	if (OidIsValid(owner) && is_member_of_role_nosuper(roleid, owner))
		return psprintf("Role \"%s\" is a member of %s, the owner of escrowpay's tables.",
						name, GetUserNameFromId(owner, false));

	members = SearchSysCacheList1(AUTHMEMROLEMEM, ObjectIdGetDatum(roleid));
	if (members->n_members > 0)
	{
		Form_pg_auth_members m = (Form_pg_auth_members) GETSTRUCT(&members->members[0]->tuple);

		why = psprintf("Role \"%s\" is granted to role \"%s\", which could act as the party.",
					   name, GetUserNameFromId(m->member, false));
	}
	ReleaseSysCacheList(members);
	return why;
}

/*
 * Whether roleid may be a party's login role, as ep_login_role_unfit()
 * says, remembered for the last role asked (current_party() runs once per
 * row under row-level security).  Any change to roles, role memberships or
 * relations (ownership of escrowpay's tables) forgets it: the syscache
 * invalidation callbacks run for this backend's own changes at the next
 * command and for other backends' at the next transaction.
 */
static Oid	fit_role = InvalidOid;
static bool fit_verdict;

static void
forget_fit_role(Datum arg, int cacheid, uint32 hashvalue)
{
	fit_role = InvalidOid;
}

bool
ep_login_role_fit(Oid roleid)
{
	static bool callbacks = false;

	if (!callbacks)
	{
		CacheRegisterSyscacheCallback(AUTHOID, forget_fit_role, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, forget_fit_role, (Datum) 0);
		CacheRegisterSyscacheCallback(RELOID, forget_fit_role, (Datum) 0);
		callbacks = true;
	}
	if (roleid != fit_role || !OidIsValid(fit_role))
	{
		fit_verdict = ep_login_role_unfit(roleid) == NULL;
		fit_role = roleid;
	}
	return fit_verdict;
}

/* Refuse (22023) a role that cannot be a party's login role */
void
ep_check_login_role(const char *login_role)
{
	Oid			roleid = get_role_oid(login_role, true);
	char	   *why;

	why = OidIsValid(roleid) ? ep_login_role_unfit(roleid) :
		psprintf("Role \"%s\" does not exist.", login_role);
	if (why)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("role \"%s\" cannot be a party's login role", login_role),
				 errdetail_internal("%s", why),
				 errhint("Use a LOGIN role of the party's own, granted escrow_party and nothing that reaches beyond the party's rows.")));
}

/* The name of the role calling (outside SECURITY DEFINER), to record */
static Datum
caller_name(void)
{
	return DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetOuterUserId(), false)));
}

/*
 * Refuse (22023) an account that serves the platform, given to a party:
 * a terminal's cash account, and unless only_terminals a merchant's fee
 * account (the platform's).
 */
static void
refuse_platform_use(int64 account, bool only_terminals)
{
	static EpPlan terminal = EP_PLAN("SELECT terminal_no FROM escrow.terminals WHERE cash_account = $1",
		INT8OID);
	static EpPlan platform = EP_PLAN("SELECT party_no FROM escrow.parties WHERE fee_account = $1 LIMIT 1",
		INT8OID);
	/* accounts that serve the platform: the query naming the user, the messages */
	static const struct
	{
		EpPlan	   *plan;
		const char *msg;
		const char *detail;
	}			platform_uses[] = {
		{&terminal, "account %lld is a terminal's cash account",
		"It is the cash account of terminal \"%s\"."},
		{&platform, "account %lld collects for the platform",
		"It is the fee account of merchant \"%s\"."},
	};
	Datum		values[1];
	int			i;

	values[0] = Int64GetDatum(account);
	for (i = 0; i < (only_terminals ? 1 : lengthof(platform_uses)); i++)
		if (ep_exec(platform_uses[i].plan, values, NULL, 1) == 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg(platform_uses[i].msg, (long long) account),
					 errdetail(platform_uses[i].detail, ep_text(0, 1)),
					 errhint("A party's account is a deposit account or credit line of its own.")));
}

/* Refuse (22023) a terminal's cash account given to a party (a fee account) */
void
ep_refuse_terminal_account(int64 account)
{
	refuse_platform_use(account, true);
}

/*
 * Make party the owner of account (registration, assign_account): refused
 * (22023) when another party owns it, or it is a terminal's cash account
 * or a merchant's fee account (the platform's); already the party's is
 * fine.
 */
void
ep_assign_account_owner(int64 account, const char *party)
{
	static EpPlan claim = EP_PLAN("INSERT INTO escrow.account_owners (account, party, assigned_by) VALUES ($1, $2, $3) "
		"ON CONFLICT (account) DO NOTHING", INT8OID, TEXTOID, NAMEOID);
	static EpPlan owner = EP_PLAN("SELECT party FROM escrow.account_owners WHERE account = $1",
		INT8OID);
	Datum		values[3];

	refuse_platform_use(account, false);
	values[0] = Int64GetDatum(account);
	values[1] = CStringGetTextDatum(party);
	values[2] = caller_name();
	if (ep_exec(&claim, values, NULL, 0) == 1)
		return;
	if (ep_exec(&owner, values, NULL, 1) != 1)
		elog(ERROR, "escrowpay: owner of account %lld vanished", (long long) account);
	if (strcmp(ep_text(0, 1), party) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account %lld belongs to another party", (long long) account),
				 errdetail("Account %lld belongs to party \"%s\".", (long long) account,
						   ep_text(0, 1)),
				 errhint("The owner can authorise party \"%s\" to use it with escrow.authorise_account_use().",
						 party)));
}

/*
 * Refuse (42501) unless party owns account or its owner authorised party
 * to pay from it (pay_into false) or be paid into it (pay_into true); an
 * account that does not exist is P0002.  Checked before the ledger looks
 * at the account, so a refusal tells nothing of another party's balance.  The
 * authorisation row is locked FOR SHARE until the end of the transaction.
 */
void
ep_require_account_use(int64 account, const char *party, bool pay_into)
{
	static EpPlan owner = EP_PLAN("SELECT party FROM escrow.account_owners WHERE account = $1",
		INT8OID);
	static EpPlan authorised = EP_PLAN("SELECT id FROM escrow.account_authorisations "
		" WHERE account = $1 AND party = $2 AND purpose = $3 AND revoked_at IS NULL "
		"   FOR SHARE", INT8OID, TEXTOID, TEXTOID);
	static EpPlan exists = EP_PLAN("SELECT 1 FROM escrow.accounts WHERE id = $1", INT8OID);
	const char *verb = pay_into ? "be paid into" : "pay from";
	Datum		values[3];
	char	   *owned_by;

	values[0] = Int64GetDatum(account);
	if (ep_exec(&owner, values, NULL, 1) != 1)
	{
		ep_exec_id(&exists, account, "account");
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("party \"%s\" may not %s account %lld", party, verb, (long long) account),
				 errdetail("Account %lld belongs to no party.", (long long) account),
				 errhint("Give it to its owner with escrow.assign_account().")));
	}
	owned_by = ep_text(0, 1);
	if (strcmp(owned_by, party) == 0)
		return;
	values[1] = CStringGetTextDatum(party);
	values[2] = CStringGetTextDatum(pay_into ? "pay_into" : "pay_from");
	if (ep_exec(&authorised, values, NULL, 1) == 1)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("party \"%s\" may not %s account %lld", party, verb, (long long) account),
			 errdetail("Account %lld belongs to party \"%s\", which has not authorised \"%s\" to %s it.",
					   (long long) account, owned_by, party, verb),
			 errhint("The owner can authorise it with escrow.authorise_account_use().")));
}

/*
 * Refuse unless party is registered (P0002) as a party of kind (22023).
 * lookup takes the party number as $1 and returns the party's kind first;
 * its row (with whatever else the caller asked for) is in SPI_tuptable
 * after.
 */
void
ep_require_party_kind(EpPlan *lookup, const char *party, const char *kind)
{
	Datum		values[1];

	values[0] = CStringGetTextDatum(party);
	ep_exec_one(lookup, values, NULL,
				errcode(ERRCODE_NO_DATA_FOUND),
				errmsg("party \"%s\" is not registered", party));
	if (strcmp(ep_text(0, 1), kind) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("party \"%s\" is a %s, not %s %s", party, ep_text(0, 1),
						strchr("aeiou", kind[0]) ? "an" : "a", kind)));
}

/* A required text argument of at most 64 bytes (22023) */
static char *
short_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;

	ep_arg_required(fcinfo, argno, what);
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (s[0] == '\0' || strlen(s) > 64)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to 64 bytes long", what)));
	return s;
}

/* Whether a party is registered */
static bool
party_registered(const char *party)
{
	static EpPlan exists = EP_PLAN("SELECT 1 FROM escrow.parties WHERE party_no = $1", TEXTOID);
	Datum		values[1];

	values[0] = CStringGetTextDatum(party);
	return ep_exec(&exists, values, NULL, 1) == 1;
}

/* Refuse (P0002) a party that is not registered */
static void
require_party(const char *party)
{
	if (!party_registered(party))
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("party \"%s\" is not registered", party)));
}

/*
 * Refuse (P0002) an actor that is not registered (nor "system", the actor
 * of run_maintenance()).  Called before refusing an actor that has no part
 * in what it acts on with 42501, so that an unknown name reads as unknown
 * rather than as a party without the right.
 */
void
ep_require_known_actor(const char *actor)
{
	if (pg_strcasecmp(actor, "system") == 0 || party_registered(actor))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("party \"%s\" is not registered", actor),
			 errdetail("An actor is a registered party, or the inspector a deal names.")));
}

/*
 * escrow.assign_account(account bigint, party text) RETURNS void
 *
 * Make a registered party the owner of a deposit account or credit line
 * (a member's further wallets and lines, for instance).  Assigning it to
 * its owner again does nothing; another party's account or a terminal's
 * cash account is refused (22023).
 */
Datum
escrow_assign_account(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan kind = EP_PLAN("SELECT 1 FROM escrow.accounts WHERE id = $1 AND kind IN ('deposit', 'credit')",
		INT8OID);
	int64		account = ep_arg_id(fcinfo, 0, "account");
	char	   *party = short_text_arg(fcinfo, 1, "party");
	Datum		values[1];

	SPI_connect();
	require_party(party);
	values[0] = Int64GetDatum(account);
	ep_exec_one(&kind, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("account %lld is not a deposit or credit account", (long long) account));
	ep_assign_account_owner(account, party);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Shared checks of authorise_account_use() and revoke_account_use():
 * arguments, the purpose, and the actor owning the account (42501).
 */
static void
owner_acts(FunctionCallInfo fcinfo, const char *verb, int64 *account, char **party,
		   char **purpose, char **actor)
{
	static EpPlan owner = EP_PLAN("SELECT o.party FROM escrow.accounts a "
		"  LEFT JOIN escrow.account_owners o ON o.account = a.id WHERE a.id = $1", INT8OID);
	bool		isnull;

	*account = ep_arg_id(fcinfo, 0, "account");
	*party = short_text_arg(fcinfo, 1, "party");
	*purpose = short_text_arg(fcinfo, 2, "purpose");
	*actor = short_text_arg(fcinfo, 3, "actor");
	if (strcmp(*purpose, "pay_from") != 0 && strcmp(*purpose, "pay_into") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown purpose \"%s\"", *purpose),
				 errhint("Use pay_from (deals take money from the account) or pay_into (deals pay into it).")));
	ep_exec_id(&owner, *account, "account");
	(void) ep_datum(0, 1, &isnull);
	if (isnull || strcmp(ep_text(0, 1), *actor) != 0)
	{
		char	   *owner = isnull ? NULL : ep_text(0, 1);

		ep_require_known_actor(*actor);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"%s\" may not %s the use of account %lld", *actor, verb,
						(long long) *account),
				 isnull ? errdetail("Account %lld belongs to no party.", (long long) *account) :
				 errdetail("Only its owner, party \"%s\", may.", owner)));
	}
}

/*
 * escrow.authorise_account_use(account bigint, party text, purpose text,
 *								actor text) RETURNS bigint
 *
 * The account's owner (actor) lets another registered party's deals pay
 * from it (purpose pay_from) or be paid into it (pay_into).  Returns the
 * authorisation's id; the same authorisation in force is returned again.
 */
Datum
escrow_authorise_account_use(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan grant = EP_PLAN("INSERT INTO escrow.account_authorisations (account, owner, party, purpose, granted_by) "
		"VALUES ($1, $4, $2, $3, $5) "
		"ON CONFLICT (account, party, purpose) WHERE revoked_at IS NULL DO NOTHING RETURNING id",
		INT8OID, TEXTOID, TEXTOID, TEXTOID, NAMEOID);
	static EpPlan in_force = EP_PLAN("SELECT id FROM escrow.account_authorisations "
		" WHERE account = $1 AND party = $2 AND purpose = $3 AND revoked_at IS NULL",
		INT8OID, TEXTOID, TEXTOID);
	int64		account;
	char	   *party;
	char	   *purpose;
	char	   *actor;
	Datum		values[5];
	int64		id;

	SPI_connect();
	owner_acts(fcinfo, "authorise", &account, &party, &purpose, &actor);
	require_party(party);
	if (strcmp(party, actor) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("party \"%s\" owns account %lld: it needs no authorisation", party,
						(long long) account)));
	values[0] = Int64GetDatum(account);
	values[1] = CStringGetTextDatum(party);
	values[2] = CStringGetTextDatum(purpose);
	values[3] = CStringGetTextDatum(actor);
	values[4] = caller_name();
	if (ep_exec(&grant, values, NULL, 1) != 1 && ep_exec(&in_force, values, NULL, 1) != 1)
		elog(ERROR, "escrowpay: authorisation of account %lld vanished", (long long) account);
	id = ep_int64(0, 1);
	SPI_finish();
	PG_RETURN_INT64(id);
}

/*
 * escrow.revoke_account_use(account bigint, party text, purpose text,
 *							 actor text) RETURNS bigint
 *
 * The owner (actor) withdraws an authorisation in force (P0002 when there
 * is none); returns its id.  Deals already holding money on the account
 * keep their holds: only new ones are refused.
 */
Datum
escrow_revoke_account_use(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan revoke = EP_PLAN("UPDATE escrow.account_authorisations SET revoked_at = clock_timestamp(), revoked_by = $4 "
		" WHERE account = $1 AND party = $2 AND purpose = $3 AND revoked_at IS NULL RETURNING id",
		INT8OID, TEXTOID, TEXTOID, NAMEOID);
	int64		account;
	char	   *party;
	char	   *purpose;
	char	   *actor;
	Datum		values[4];
	int64		id;

	SPI_connect();
	owner_acts(fcinfo, "revoke", &account, &party, &purpose, &actor);
	values[0] = Int64GetDatum(account);
	values[1] = CStringGetTextDatum(party);
	values[2] = CStringGetTextDatum(purpose);
	values[3] = caller_name();
	ep_exec_one(&revoke, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("party \"%s\" has no authorisation in force to %s account %lld", party,
					strcmp(purpose, "pay_into") == 0 ? "be paid into" : "pay from",
					(long long) account));
	id = ep_int64(0, 1);
	SPI_finish();
	PG_RETURN_INT64(id);
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
Datum
escrow_current_party(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan lookup = EP_PLAN("SELECT party_no FROM escrow.parties WHERE login_role = $1",
		NAMEOID);
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
