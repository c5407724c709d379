/*-------------------------------------------------------------------------
 *
 * refund.h
 *	  Refunds of captured (or directly posted) transfers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_REFUND_H
#define EP_REFUND_H

#include "escrowpay.h"

extern int64 ep_refund_transfer(int64 transfer_id, bool has_amount, int64 amount);

#endif							/* EP_REFUND_H */
