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

#endif							/* EP_VERIFY_H */
