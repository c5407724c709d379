/*-------------------------------------------------------------------------
 *
 * verify.h
 *	  escrow.verify_ledger(): recompute every invariant.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_VERIFY_H
#define EP_VERIFY_H

#include "escrowpay.h"
#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/* One (problem, detail) row of verify_ledger()'s result */
extern void ep_verify_emit(Tuplestorestate *ts, TupleDesc desc, const char *problem,
						   const char *detail);
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_verify_ledger(PG_FUNCTION_ARGS);

#endif							/* EP_VERIFY_H */
