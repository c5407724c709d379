/*-------------------------------------------------------------------------
 *
 * hints.h
 *	  Hints added to errors PostgreSQL raises on escrowpay's behalf.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_HINTS_H
#define EP_HINTS_H

#include "escrowpay.h"

extern void ep_hints_init(void);

#endif							/* EP_HINTS_H */
