/*-------------------------------------------------------------------------
 *
 * guard.h
 *	  Triggers that keep the journal append-only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_GUARD_H
#define EP_GUARD_H

#include "escrowpay.h"

extern void ep_guard_allow_refund_update(bool allow);

#endif							/* EP_GUARD_H */
