/*-------------------------------------------------------------------------
 *
 * deal_open.h
 *	  Opening a deal and confirming the buyer's identity.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_DEAL_OPEN_H
#define EP_DEAL_OPEN_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_open_deal(PG_FUNCTION_ARGS);
extern Datum escrow_issue_identity_code(PG_FUNCTION_ARGS);
extern Datum escrow_confirm_identity(PG_FUNCTION_ARGS);

#endif							/* EP_DEAL_OPEN_H */
