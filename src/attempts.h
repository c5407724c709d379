/*-------------------------------------------------------------------------
 *
 * attempts.h
 *	  Attempts at identity codes, counted in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_ATTEMPTS_H
#define EP_ATTEMPTS_H

#include "escrowpay.h"

#include "datatype/timestamp.h"

/* GUC, defined in escrowpay.c */
extern int	ep_code_attempt_slots;

extern void ep_attempts_init(void);
extern void ep_attempts_require(void);
extern TimestampTz ep_attempts_epoch(void);
extern bool ep_attempt_take(int64 deal, TimestampTz created, TimestampTz expires,
							int floor, int limit, int *count);
extern void ep_attempt_right(int64 deal, TimestampTz created, int count, int floor);
extern int	ep_attempt_count(int64 deal, TimestampTz created);

#endif							/* EP_ATTEMPTS_H */
