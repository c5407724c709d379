/*-------------------------------------------------------------------------
 *
 * retention.h
 *	  Retention of idempotency keys and deal events (escrow.apply_retention).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_RETENTION_H
#define EP_RETENTION_H

#include "escrowpay.h"

extern void ep_retention_define_gucs(void);

#endif							/* EP_RETENTION_H */
