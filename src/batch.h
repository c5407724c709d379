/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  Batch entry points: many holds or captures in one call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_BATCH_H
#define EP_BATCH_H

#include "escrowpay.h"

#endif							/* EP_BATCH_H */
