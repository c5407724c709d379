/*-------------------------------------------------------------------------
 *
 * limits.c
 *	  Bounds on what escrowpay accepts: the length of every text argument,
 *	  the element count of every array argument, and the balance bounds
 *	  that keep every sum within bigint (limits.h).
 *
 * Text and array limits are kept here in one table, by argument name (and
 * by function where one argument name has its own limit there).  Every
 * SQL-callable function starts with EP_CHECK_ARGS, which looks its
 * arguments up once per backend (from pg_proc, cached by function oid) and
 * refuses an over-long text or an over-long array with 22023 before the
 * function does anything else: before a text is detoasted, an array read,
 * or any statement run.  A text or array argument without an entry in the
 * table is an internal error, so a new function cannot forget its limits
 * (the regress test calls every function with every such argument over
 * its limit).  escrow.limits() lists the table and the money bounds.
 *
 *-------------------------------------------------------------------------
 */
#include "limits.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(escrow_limits);

/* Text lengths (bytes) */
#define EP_LEN_ID		64		/* party numbers, terminal numbers, codes */
#define EP_LEN_SHORT	200		/* names, keys, actors, shipping details */
#define EP_LEN_LONG		1000	/* contacts, reasons */

typedef struct EpArgLimit
{
	const char *function;		/* NULL: every function with this argument */
	const char *argument;
	int32		max;
	bool		elements;		/* an array's element count, else bytes */
} EpArgLimit;

/* A function-specific entry must come before the general one */
static const EpArgLimit arg_limits[] = {
	{NULL, "buyer", EP_LEN_ID, false},
	{NULL, "code", EP_LEN_ID, false},
	{NULL, "currency", EP_LEN_ID, false},
	{NULL, "institution", EP_LEN_ID, false},
	{NULL, "institution_no", EP_LEN_ID, false},
	{NULL, "kind", EP_LEN_ID, false},
	{NULL, "member_no", EP_LEN_ID, false},
	{NULL, "merchant", EP_LEN_ID, false},
	{NULL, "merchant_no", EP_LEN_ID, false},
	{NULL, "party", EP_LEN_ID, false},
	{NULL, "purpose", EP_LEN_ID, false},
	{NULL, "settlement", EP_LEN_ID, false},
	{NULL, "stage", EP_LEN_ID, false},
	{NULL, "terminal_no", EP_LEN_ID, false},
	{NULL, "txn_no", EP_LEN_ID, false},
	{NULL, "actor", EP_LEN_SHORT, false},
	{NULL, "carrier", EP_LEN_SHORT, false},
	{NULL, "external_ref", EP_LEN_SHORT, false},
	{NULL, "idempotency_key", EP_LEN_SHORT, false},
	{NULL, "inspection_place", EP_LEN_SHORT, false},
	{NULL, "inspector", EP_LEN_SHORT, false},
	{NULL, "name", EP_LEN_SHORT, false},
	{NULL, "owner", EP_LEN_SHORT, false},
	{NULL, "provider", EP_LEN_SHORT, false},
	{NULL, "tracking", EP_LEN_SHORT, false},
	{NULL, "contact", EP_LEN_LONG, false},
	{NULL, "reason", EP_LEN_LONG, false},
	{"set_payment_sources", "accounts", EP_MAX_SOURCES, true},
	{"set_payment_sources", "amounts", EP_MAX_SOURCES, true},
	{NULL, "amounts", EP_MAX_BATCH, true},
	{NULL, "credit_accounts", EP_MAX_BATCH, true},
	{NULL, "debit_accounts", EP_MAX_BATCH, true},
	{NULL, "hold_ids", EP_MAX_BATCH, true},
	{NULL, "counts", EP_MAX_DENOMINATIONS, true},
	{NULL, "denominations", EP_MAX_DENOMINATIONS, true},
	{NULL, "tendered", EP_MAX_TENDERED, true},
};

/* What EP_CHECK_ARGS checks of one function's arguments */
typedef struct EpFnArgs
{
	Oid			fn;				/* hash key */
	int			nargs;
	int16		limit[FUNC_MAX_ARGS];	/* index in arg_limits, -1: none */
} EpFnArgs;

static HTAB *fn_args = NULL;
static bool fn_args_valid = false;
static bool callback_registered = false;

/* pg_proc changed (CREATE OR REPLACE, DROP EXTENSION): look again */
static void
fn_args_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	fn_args_valid = false;
}

/* The limit of a function's text or array argument; elog when it has none */
static int16
find_limit(const char *function, const char *argument, bool elements)
{
	int			i;

	if (argument != NULL)
		for (i = 0; i < (int) lengthof(arg_limits); i++)
			if (strcmp(arg_limits[i].argument, argument) == 0 &&
				(arg_limits[i].function == NULL ||
				 strcmp(arg_limits[i].function, function) == 0) &&
				arg_limits[i].elements == elements)
				return (int16) i;
	elog(ERROR, "escrowpay: %s argument \"%s\" of %s() has no limit in limits.c",
		 elements ? "array" : "text", argument ? argument : "(unnamed)", function);
	pg_unreachable();
}

/* Read a function's argument names and types from pg_proc */
static void
fn_args_load(Oid fn, EpFnArgs *e)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	Form_pg_proc proc;
	Datum		names;
	bool		isnull;
	Datum	   *name_elems = NULL;
	int			nnames = 0;
	int			i;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "escrowpay: cache lookup failed for function %u", fn);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	names = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proargnames, &isnull);
	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT,
						  &name_elems, NULL, &nnames);
	e->nargs = proc->pronargs;
	for (i = 0; i < proc->pronargs; i++)
	{
		Oid			type = proc->proargtypes.values[i];
		char	   *name = i < nnames ? TextDatumGetCString(name_elems[i]) : NULL;

		e->limit[i] = -1;
		if (type == TEXTOID || type == VARCHAROID || type == BPCHAROID || type == BYTEAOID)
			e->limit[i] = find_limit(NameStr(proc->proname), name, false);
		else if (OidIsValid(get_element_type(type)))
			e->limit[i] = find_limit(NameStr(proc->proname), name, true);
	}
	ReleaseSysCache(tup);
}

static const EpFnArgs *
fn_args_of(Oid fn)
{
	EpFnArgs   *e;
	bool		found;

	if (!callback_registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, fn_args_invalidate, (Datum) 0);
		callback_registered = true;
	}
	if (fn_args == NULL || !fn_args_valid)
	{
		ep_cache_create(&fn_args, "escrowpay argument limits", 128, sizeof(Oid),
						sizeof(EpFnArgs));
		fn_args_valid = true;
	}
	e = hash_search(fn_args, &fn, HASH_FIND, &found);
	if (found)
		return e;
	{
		EpFnArgs	loaded;

		loaded.fn = fn;
		fn_args_load(fn, &loaded);	/* may elog: enter only once loaded */
		e = hash_search(fn_args, &fn, HASH_ENTER, &found);
		memcpy(e, &loaded, sizeof(loaded));
	}
	return e;
}

/* Number of elements of an array datum, reading only its header */
static int
array_elements(Datum d)
{
	ArrayType  *a = (ArrayType *) PG_DETOAST_DATUM_SLICE(d, 0, ARR_OVERHEAD_NONULLS(MAXDIM));

	return ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
}

/*
 * Refuse over-long text and array arguments of the calling function
 * (22023); see limits.h.
 */
int
ep_check_args(FunctionCallInfo fcinfo)
{
	const EpFnArgs *e;
	int			i;

	if (fcinfo->flinfo == NULL || !OidIsValid(fcinfo->flinfo->fn_oid))
		return 0;
	e = fn_args_of(fcinfo->flinfo->fn_oid);
	for (i = 0; i < e->nargs && i < PG_NARGS(); i++)
	{
		const EpArgLimit *l;

		if (e->limit[i] < 0 || PG_ARGISNULL(i))
			continue;
		l = &arg_limits[e->limit[i]];
		if (l->elements)
		{
			int			n = array_elements(PG_GETARG_DATUM(i));

			if (n > l->max)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s has too many elements", l->argument),
						 errdetail("The limit is %d elements; got %d.", l->max, n)));
		}
		else
		{
			Size		len = toast_raw_datum_size(PG_GETARG_DATUM(i)) - VARHDRSZ;

			if (len > (Size) l->max)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s is too long", l->argument),
						 errdetail("The limit is %d bytes; got %zu bytes.", l->max, len)));
		}
	}
	return 0;
}

/* 22003 unless posted + delta stays within the bound of a balance row */
void
ep_check_balance(int64 account, bool system, int64 posted, int64 delta)
{
	int64		bound = system ? EP_MAX_SYSTEM_BALANCE : EP_MAX_BALANCE;

	/* |delta| <= 2^62 and |posted| < 2^63: the comparisons cannot overflow */
	if (delta > bound || delta < -bound ||
		(delta > 0 && posted > bound - delta) || (delta < 0 && posted < -bound - delta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the balance of account %lld would leave its bound", (long long) account),
				 errdetail("Posted %lld, change %lld; the bound of a %s balance row is +/-%lld.",
						   (long long) posted, (long long) delta,
						   system ? "system account's" : "deposit or credit account's",
						   (long long) bound),
				 errhint("Move money out of the account first.")));
}

/* 22003 unless held + amount stays within EP_MAX_BALANCE */
void
ep_check_held(int64 account, int64 held, int64 amount)
{
	if (amount > EP_MAX_BALANCE || held > EP_MAX_BALANCE - amount)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the amount held on account %lld would leave its bound", (long long) account),
				 errdetail("Held %lld, adding %lld; the bound is %lld.",
						   (long long) held, (long long) amount, (long long) EP_MAX_BALANCE),
				 errhint("Capture or release holds first.")));
}

/*
 * escrow.limits() RETURNS TABLE (kind text, function text, argument text,
 *								  maximum bigint, unit text)
 *
 * The money bounds and the table of text and array limits.
 */
Datum
escrow_limits(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const struct
	{
		const char *kind;
		int64		maximum;
	}			money[] = {
		{"amount", EP_MAX_AMOUNT},
		{"balance", EP_MAX_BALANCE},
		{"system balance", EP_MAX_SYSTEM_BALANCE},
		{"held", EP_MAX_BALANCE},
		{"credit_limit", EP_MAX_BALANCE},
	};
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < (int) lengthof(money); i++)
	{
		Datum		row[5] = {CStringGetTextDatum(money[i].kind), 0, 0,
		Int64GetDatum(money[i].maximum), CStringGetTextDatum("minor units")};
		bool		nulls[5] = {false, true, true, false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	for (i = 0; i < (int) lengthof(arg_limits); i++)
	{
		const EpArgLimit *l = &arg_limits[i];
		Datum		row[5] = {CStringGetTextDatum(l->elements ? "array" : "text"),
			l->function ? CStringGetTextDatum(l->function) : 0,
			CStringGetTextDatum(l->argument), Int64GetDatum(l->max),
		CStringGetTextDatum(l->elements ? "elements" : "bytes")};
		bool		nulls[5] = {false, l->function == NULL, false, false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
