/*-------------------------------------------------------------------------
 *
 * funding.c
 *	  The funding account of each currency: the system account through
 *	  which money enters (deposit) and leaves (withdraw) the ledger.  One
 *	  per currency, created on the currency's first account; on a Citus
 *	  cluster, where no unique index can guarantee that, under an advisory
 *	  lock, and found through a per-backend cache.
 *
 *-------------------------------------------------------------------------
 */
#include "funding.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "plan.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/*
 * The funding account of each currency, on a Citus cluster, where finding
 * it is a query over every shard: per backend, and safe (a funding account
 * is never replaced; the cache is emptied when escrow.accounts is a
 * different table).
 */
typedef struct EpFunding
{
	char		currency[4];	/* hash key */
	int64		account;
} EpFunding;

static HTAB *funding_accounts = NULL;
static Oid	funding_accounts_table = InvalidOid;

/*
 * The funding accounts this transaction created, with the subtransaction
 * that created each: they are not put in the cache (the transaction may
 * still roll back), and they are found here rather than by a query, which
 * on a cluster need not see this transaction's own insert on every
 * connection.  A subtransaction's abort forgets what it created; its
 * commit hands that to its parent.  The list lives in
 * TopTransactionContext and is ignored once funding_created_lxid is not the
 * current transaction's.
 */
typedef struct EpFundingCreated
{
	char		currency[4];
	int64		account;
	SubTransactionId subid;
} EpFundingCreated;

static List *funding_created = NIL;
static LocalTransactionId funding_created_lxid = InvalidLocalTransactionId;

/* funding_created, emptied when it belongs to an earlier transaction */
static List *
created_this_xact(void)
{
	if (funding_created_lxid != MyProc->lxid)
	{
		funding_created = NIL;
		funding_created_lxid = MyProc->lxid;
	}
	return funding_created;
}

static void
funding_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	foreach(lc, created_this_xact())
	{
		EpFundingCreated *c = lfirst(lc);

		if (c->subid != mySubid)
			continue;
		if (event == SUBXACT_EVENT_COMMIT_SUB)
			c->subid = parentSubid;
		else
			funding_created = foreach_delete_current(funding_created, lc);
	}
}

/* Remember that this transaction created account, currency's funding account */
static void
remember_created(const char *currency, int64 account)
{
	static bool registered = false;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	EpFundingCreated *c = palloc0(sizeof(EpFundingCreated));

	if (!registered)
	{
		RegisterSubXactCallback(funding_subxact_callback, NULL);
		registered = true;
	}
	strlcpy(c->currency, currency, sizeof(c->currency));
	c->account = account;
	c->subid = GetCurrentSubTransactionId();
	funding_created = lappend(created_this_xact(), c);
	MemoryContextSwitchTo(old);
}

/*
 * The funding account of currency on a Citus cluster, 0 when it has none
 * yet
 */
static int64
funding_of_currency(const char *currency)
{
	static EpPlan lookup = EP_PLAN("SELECT id FROM escrow.accounts "
		" WHERE currency = $1 AND kind = 'system' AND owner = '" EP_FUNDING_OWNER "'", TEXTOID);
	Oid			table = get_relname_relid("accounts", get_namespace_oid(EP_SCHEMA, false));
	char		key[4] = {0};
	EpFunding  *e;
	bool		found;
	Datum		values[1];
	ListCell   *lc;

	if (funding_accounts == NULL || table != funding_accounts_table)
	{
		ep_cache_create(&funding_accounts, "escrowpay funding accounts", 16,
						sizeof(key), sizeof(EpFunding));
		funding_accounts_table = table;
	}
	strlcpy(key, currency, sizeof(key));
	e = hash_search(funding_accounts, key, HASH_FIND, &found);
	if (found)
		return e->account;
	foreach(lc, created_this_xact())
	{
		EpFundingCreated *c = lfirst(lc);

		if (strcmp(c->currency, key) == 0)
			return c->account;
	}
	/* found now: committed by another transaction, so it stays */
	values[0] = CStringGetTextDatum(currency);
	if (ep_exec(&lookup, values, NULL, 1) != 1)
		return 0;
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
	static EpPlan lock = EP_PLAN("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('escrowpay funding ' || $1))",
		TEXTOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.accounts (owner, kind, currency, platform) "
		"VALUES ('" EP_FUNDING_OWNER "', 'system', $1, true) RETURNING id", TEXTOID);
	char	   *code = TextDatumGetCString(currency);
	Datum		values[1];

	if (funding_of_currency(code) != 0)
		return;
	values[0] = currency;
	ep_exec(&lock, values, NULL, 0);
	if (funding_of_currency(code) == 0)
	{
		ep_exec(&insert, values, NULL, 1);
		remember_created(code, ep_int64(0, 1));
	}
}

/*
 * Make sure currency (a code of escrow.currencies) has its funding system
 * account, creating it on first use
 */
void
ep_ensure_funding(Datum currency)
{
	static EpPlan funding = EP_PLAN("INSERT INTO escrow.accounts (owner, kind, currency, platform) "
		"SELECT '" EP_FUNDING_OWNER "', 'system', $1, true "
		" WHERE NOT EXISTS (SELECT 1 FROM escrow.accounts WHERE currency = $1 "
		"                      AND kind = 'system' AND owner = '" EP_FUNDING_OWNER "') "
		"ON CONFLICT (currency) WHERE kind = 'system' AND owner = '" EP_FUNDING_OWNER "' "
		"DO NOTHING", TEXTOID);
	Datum		values[1];

	values[0] = currency;
	if (ep_distributed())
		ensure_funding_distributed(currency);
	else
		ep_exec(&funding, values, NULL, 0);
}

/* The funding system account of account's currency (P0002 if no account) */
int64
ep_funding_account_of(int64 account)
{
	static EpPlan currency_of = EP_PLAN("SELECT currency FROM escrow.accounts WHERE id = $1 AND kind <> 'shard'",
		INT8OID);
	static EpPlan lookup = EP_PLAN("SELECT f.id FROM escrow.accounts a "
		"  JOIN escrow.accounts f ON f.currency = a.currency "
		"   AND f.kind = 'system' AND f.owner = '" EP_FUNDING_OWNER "' "
		" WHERE a.id = $1", INT8OID);
	bool		sharded = ep_distributed();

	/* on a Citus cluster the two accounts may live on different workers */
	ep_exec_id(sharded ? &currency_of : &lookup, account, "account");
	if (sharded)
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
	int64		funding = ep_funding_account_of(account);
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
