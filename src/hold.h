/*-------------------------------------------------------------------------
 *
 * hold.h
 *	  Holds (reservation freezes, credit-line holds): place, capture,
 *	  release, expire.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_HOLD_H
#define EP_HOLD_H

#include "escrowpay.h"
#include "datatype/timestamp.h"
#include "utils/timestamp.h"

/* deal: the deal a hold belongs to, or 0 for a hold of the public API */
extern int64 ep_place_hold(int64 debit, int64 credit, int64 amount,
						   Interval *expires_in, const char *key, int64 deal);
extern int64 ep_capture_hold(int64 hold_id, bool has_amount, int64 amount,
							 bool final, const char *key, int64 deal);
extern int64 ep_release_hold(int64 hold_id, const char *key, int64 deal);
extern TimestampTz ep_now_plus(Interval *interval, const char *what);
extern char *ep_interval_key(Interval *expires_in);

#endif							/* EP_HOLD_H */
