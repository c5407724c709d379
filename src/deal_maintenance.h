/*-------------------------------------------------------------------------
 *
 * deal_maintenance.h
 *	  escrow.run_maintenance(): deals whose deadline passed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_DEAL_MAINTENANCE_H
#define EP_DEAL_MAINTENANCE_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_run_maintenance(PG_FUNCTION_ARGS);

#endif							/* EP_DEAL_MAINTENANCE_H */
