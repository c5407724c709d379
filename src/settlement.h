/*-------------------------------------------------------------------------
 *
 * settlement.h
 *	  Two-stage settlement: external accounts and settlement batches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_SETTLEMENT_H
#define EP_SETTLEMENT_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_link_external_account(PG_FUNCTION_ARGS);
extern Datum escrow_close_settlement_batch(PG_FUNCTION_ARGS);

#endif							/* EP_SETTLEMENT_H */
