/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  Saved SPI plans and small helpers for reading SPI results.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_PLAN_H
#define EP_PLAN_H

#include "escrowpay.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/hsearch.h"

/*
 * A statement prepared once per backend and kept (SPI_keepplan).  Call sites
 * declare one of these as a static variable with EP_PLAN: the plan cache is
 * per-backend state by design, and PostgreSQL's plan cache revalidates it
 * after DDL.
 */
typedef struct EpPlan
{
	SPIPlanPtr	plan;
	const char *sql;
	int			nargs;
	Oid			argtypes[20];
	int			cursor_options; /* how plan was prepared (set by ep_exec) */
} EpPlan;

/*
 * The initialiser of a static EpPlan: its SQL and the type of each of its
 * parameters, $1, $2, ... in order, counted by the macro, so that the
 * number of parameters can never disagree with the list:
 *
 *	  static EpPlan lookup = EP_PLAN("SELECT ... WHERE id = $1", INT8OID);
 *
 * EP_PLAN_NOARGS for a statement without parameters.
 */
#define EP_PLAN(sql, ...) \
	{NULL, (sql), lengthof(((Oid[]) {__VA_ARGS__})), {__VA_ARGS__}, 0}
#define EP_PLAN_NOARGS(sql) {NULL, (sql), 0, {InvalidOid}, 0}

extern uint64 ep_exec(EpPlan *plan, Datum *values, const char *nulls, long max_rows);

/*
 * Run plan for the one row it must find (a row to lock, a name to look up);
 * when there is none, raise the error the remaining arguments describe, as
 * ereport's: errcode(...), errmsg(...) and any errdetail(...), errhint(...).
 * The row is in SPI_tuptable.
 */
#define ep_exec_one(plan, values, nulls, ...) \
	do { \
		if (ep_exec((plan), (values), (nulls), 1) != 1) \
			ereport(ERROR, (__VA_ARGS__)); \
	} while (0)

extern void ep_exec_id(EpPlan *plan, int64 id, const char *what);
extern int	ep_execute(const char *sql, bool read_only, long max_rows);
extern void ep_require_nargs(FunctionCallInfo fcinfo, int nargs);
extern bool ep_get_int64(int row, int col, int64 *value);
extern int64 ep_int64(int row, int col);
extern Datum ep_int64_array(const int64 *values, int n);
extern char *ep_text(int row, int col);
extern Datum ep_datum(int row, int col, bool *isnull);
extern int64 ep_next_id(const char *sequence);
extern void ep_cache_create(HTAB **table, const char *name, long size, Size keysize,
							Size entrysize);
extern HTAB *ep_id_map(const char *name, uint64 n, Size entrysize);
extern bool ep_distributed(void);

#endif							/* EP_PLAN_H */
