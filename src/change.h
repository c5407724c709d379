/*-------------------------------------------------------------------------
 *
 * change.h
 *	  Change-making from a bounded cash inventory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_CHANGE_H
#define EP_CHANGE_H

#include "escrowpay.h"
#include "limits.h"

/* Largest change (minor units) computed: bounds the work and memory */
#define EP_MAX_CHANGE 1000000


extern bool ep_make_change(int64 change, int n, const int64 *denominations,
						   const int32 *available, int32 *use);

#endif							/* EP_CHANGE_H */
