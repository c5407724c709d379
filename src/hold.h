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

extern int64 ep_place_hold(int64 debit, int64 credit, int64 amount,
						   Interval *expires_in, const char *key);
extern int64 ep_capture_hold(int64 hold_id, bool has_amount, int64 amount,
							 bool final, const char *key);
extern int64 ep_release_hold(int64 hold_id, const char *key);
extern TimestampTz ep_now_plus(Interval *interval, const char *what);
extern char *ep_interval_key(Interval *expires_in);

#endif							/* EP_HOLD_H */
