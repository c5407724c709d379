/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  Batch entry points: many holds or captures in one call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_BATCH_H
#define EP_BATCH_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_hold_batch(PG_FUNCTION_ARGS);
extern Datum escrow_capture_batch(PG_FUNCTION_ARGS);

#endif							/* EP_BATCH_H */
