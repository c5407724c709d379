/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Saved SPI plans for escrowpay's statements, and accessors for the
 *	  rows they return.
 *
 * Every money call runs a handful of fixed statements.  Preparing each once
 * per backend and keeping the plan saves parsing and planning on every call;
 * PostgreSQL's plan cache invalidates a kept plan when the tables change.
 *
 *-------------------------------------------------------------------------
 */
#include "plan.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "utils/array.h"
#include "utils/elog.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/*
 * Whether the ledger is spread over a Citus cluster (escrow.accounts is a
 * Citus table; escrow.distribute(), docs/scale-out.md): -1 unknown, 0 no,
 * 1 yes.  Per backend, forgotten on every relcache invalidation (Citus
 * invalidates a table's entry when it converts it), so a backend notices
 * distribute() having run in another.
 */
static int	ledger_distributed = -1;
static bool distributed_callback = false;

static void
forget_distributed(Datum arg, Oid relid)
{
	ledger_distributed = -1;
}

/*
 * Does Citus's catalog (pg_dist_partition, relation catalog) list relation
 * accounts?  Read with a catalog scan, as Citus reads it, not through SPI:
 * an invalidation (another session's DDL, an ANALYZE, autovacuum) makes
 * ep_distributed() ask again in the middle of a call, between a statement
 * and the reading of its rows, and a query there would replace
 * SPI_tuptable under the caller (test/citus/specs/cluster_cache_invalidation).
 */
static bool
citus_lists(Oid catalog, Oid accounts)
{
	Relation	rel = table_open(catalog, AccessShareLock);
	AttrNumber	logicalrelid = get_attnum(catalog, "logicalrelid");
	ScanKeyData key;
	SysScanDesc scan;
	bool		listed;

	if (logicalrelid == InvalidAttrNumber)
		elog(ERROR, "escrowpay: pg_dist_partition has no column logicalrelid");
	/* logicalrelid is a regclass, stored as an oid */
	ScanKeyInit(&key, logicalrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(accounts));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	listed = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return listed;
}

/*
 * Is escrow.accounts a Citus table?  Statements then take custom plans
 * (Citus routes a statement by the values of its parameters, and plans a
 * join of distributed tables only with them known), and the functions take
 * the paths that touch one account per statement.  Runs no SPI statement,
 * so it may be asked at any point of a call.
 */
bool
ep_distributed(void)
{
	if (!distributed_callback)
	{
		CacheRegisterRelcacheCallback(forget_distributed, (Datum) 0);
		distributed_callback = true;
	}
	if (ledger_distributed < 0)
	{
		Oid			catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
		Oid			accounts = get_relname_relid("accounts",
												 get_namespace_oid(EP_SCHEMA, false));
		bool		listed = OidIsValid(catalog) && OidIsValid(accounts) &&
			citus_lists(catalog, accounts);

		ledger_distributed = listed ? 1 : 0;
	}
	return ledger_distributed == 1;
}

/*
 * The library is newer than the SQL objects: a new escrowpay package was
 * installed, and ALTER EXTENSION escrowpay UPDATE has not run yet, so a
 * statement names a column, table or function the old schema does not
 * have.  Every statement escrowpay runs is fixed, so in a database whose
 * schema matches the library these errors cannot happen: turn them into a
 * clean refusal that says what to do (docs/operations.md, "Upgrading").
 * Called in a PG_CATCH block with the error's data; returns only when the
 * error is something else, to be re-thrown.
 */
static void
refuse_if_schema_older(MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ErrorData  *e = CopyErrorData();

	MemoryContextSwitchTo(old);
	if (e->sqlerrcode != ERRCODE_UNDEFINED_COLUMN &&
		e->sqlerrcode != ERRCODE_UNDEFINED_TABLE &&
		e->sqlerrcode != ERRCODE_UNDEFINED_FUNCTION &&
		e->sqlerrcode != ERRCODE_UNDEFINED_OBJECT)
	{
		FreeErrorData(e);
		return;
	}
	FlushErrorState();
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("escrowpay's SQL objects are older than its library (version %s)", EP_VERSION),
			 errdetail("%s", e->message),
			 errhint("Run ALTER EXTENSION escrowpay UPDATE to bring them to the library's version.")));
}

/*
 * A C function whose arguments changed since an older release calls this
 * first with the number of arguments it reads: through the older release's
 * declaration (a new package installed, ALTER EXTENSION escrowpay UPDATE
 * not run yet) fewer arrive, and reading past them would read garbage.
 * Refused cleanly instead, as refuse_if_schema_older does.
 */
void
ep_require_nargs(FunctionCallInfo fcinfo, int nargs)
{
	if (PG_NARGS() >= nargs)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("escrowpay's SQL objects are older than its library (version %s)", EP_VERSION),
			 errdetail("Function %s is declared with %d arguments; the library takes %d.",
					   get_func_name(fcinfo->flinfo->fn_oid), PG_NARGS(), nargs),
			 errhint("Run ALTER EXTENSION escrowpay UPDATE to bring them to the library's version.")));
}

/*
 * Run a saved statement, preparing it on first use.  Raises on any SPI
 * failure, returns the number of rows processed; the rows are in
 * SPI_tuptable.  A statement the schema cannot run because it is older
 * than the library is refused with 55000 (refuse_if_schema_older).
 */
uint64
ep_exec(EpPlan *plan, Datum *values, const char *nulls, long max_rows)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = 0;

	/*
	 * A generic plan on one server: the statements are simple keyed
	 * lookups, and custom plans would be re-planned on every call.  On a
	 * Citus cluster a custom plan, which Citus routes by the parameters'
	 * values; a plan kept from before distribute() is prepared anew.
	 */
	int			options = ep_distributed() ? CURSOR_OPT_CUSTOM_PLAN : CURSOR_OPT_GENERIC_PLAN;

	if (plan->plan != NULL && plan->cursor_options != options)
	{
		SPI_freeplan(plan->plan);
		plan->plan = NULL;
	}
	PG_TRY();
	{
		if (plan->plan == NULL)
		{
			SPIPlanPtr	p = SPI_prepare_cursor(plan->sql, plan->nargs, plan->argtypes,
											   options);

			if (p == NULL)
				elog(ERROR, "escrowpay: SPI_prepare failed (%s) for: %s",
					 SPI_result_code_string(SPI_result), plan->sql);
			if (SPI_keepplan(p) != 0)
				elog(ERROR, "escrowpay: SPI_keepplan failed");
			plan->plan = p;
			plan->cursor_options = options;
		}
		rc = SPI_execute_plan(plan->plan, values, nulls, false, max_rows);
	}
	PG_CATCH();
	{
		refuse_if_schema_older(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (rc < 0)
		elog(ERROR, "escrowpay: SPI_execute_plan failed (%s) for: %s",
			 SPI_result_code_string(rc), plan->sql);
	return SPI_processed;
}

/*
 * SPI_execute() of a statement built at run time, with the same refusal
 * when the schema is older than the library.
 */
int
ep_execute(const char *sql, bool read_only, long max_rows)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int rc = 0;

	PG_TRY();
	{
		rc = SPI_execute(sql, read_only, max_rows);
	}
	PG_CATCH();
	{
		refuse_if_schema_older(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rc;
}

/* Column col (1-based) of result row row, as a Datum */
Datum
ep_datum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
						 col, isnull);
}

/* A bigint column; false when it is NULL */
bool
ep_get_int64(int row, int col, int64 *value)
{
	bool		isnull;
	Datum		d = ep_datum(row, col, &isnull);

	if (isnull)
		return false;
	*value = DatumGetInt64(d);
	return true;
}

/* A bigint column that the statement guarantees is not NULL */
int64
ep_int64(int row, int col)
{
	int64		v;

	if (!ep_get_int64(row, col, &v))
		elog(ERROR, "escrowpay: unexpected NULL in column %d", col);
	return v;
}

/* n bigints as a bigint[] (in the current memory context) */
Datum
ep_int64_array(const int64 *values, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * n);
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
}

/* A text column as a C string in the SPI context, or NULL */
char *
ep_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * nextval() of one of escrowpay's sequences, without a round trip through
 * the executor.
 */
int64
ep_next_id(const char *sequence)
{
	Oid			nsp = get_namespace_oid(EP_SCHEMA, false);
	Oid			relid = get_relname_relid(sequence, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "escrowpay: sequence %s.%s is missing", EP_SCHEMA, sequence);
	return nextval_internal(relid, false);
}

/*
 * (Re)create a per-backend cache: a hash table in TopMemoryContext whose
 * entries of entrysize bytes start with a key of keysize bytes (compared
 * as bytes), replacing the one *table held (its entries are dropped)
 */
static HTAB *
hash_in(MemoryContext cxt, const char *name, long size, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, size, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

void
ep_cache_create(HTAB **table, const char *name, long size, Size keysize, Size entrysize)
{
	if (*table != NULL)
		hash_destroy(*table);
	*table = hash_in(TopMemoryContext, name, size, keysize, entrysize);
}

/*
 * A hash table in CurrentMemoryContext whose entries of entrysize bytes
 * start with an int64 id, sized for n entries: rows of a result set by id
 */
HTAB *
ep_id_map(const char *name, uint64 n, Size entrysize)
{
	return hash_in(CurrentMemoryContext, name, n + 1, sizeof(int64), entrysize);
}

/*
 * Run plan, whose one parameter ($1) is the id of a what (an account, a
 * hold, a deal, ...), for the one row it must find: P0002 "<what> <id>
 * does not exist" when there is none.  The row is in SPI_tuptable.
 */
void
ep_exec_id(EpPlan *plan, int64 id, const char *what)
{
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	ep_exec_one(plan, values, NULL,
				errcode(ERRCODE_NO_DATA_FOUND),
				errmsg("%s %lld does not exist", what, (long long) id));
}
