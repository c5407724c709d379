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

/*
 * A statement prepared once per backend and kept (SPI_keepplan).  Call sites
 * declare one of these as a static variable: the plan cache is per-backend
 * state by design, and PostgreSQL's plan cache revalidates it after DDL.
 */
typedef struct EpPlan
{
	SPIPlanPtr	plan;
	const char *sql;
	int			nargs;
	Oid			argtypes[20];
	int			cursor_options; /* how plan was prepared (set by ep_exec) */
} EpPlan;

extern uint64 ep_exec(EpPlan *plan, Datum *values, const char *nulls, long max_rows);
extern int	ep_execute(const char *sql, bool read_only, long max_rows);
extern void ep_require_nargs(FunctionCallInfo fcinfo, int nargs);
extern bool ep_get_int64(int row, int col, int64 *value);
extern int64 ep_int64(int row, int col);
extern char *ep_text(int row, int col);
extern Datum ep_datum(int row, int col, bool *isnull);
extern int64 ep_next_id(const char *sequence);
extern bool ep_distributed(void);

#endif							/* EP_PLAN_H */
