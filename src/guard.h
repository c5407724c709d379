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

#endif							/* EP_GUARD_H */
