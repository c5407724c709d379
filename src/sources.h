/*-------------------------------------------------------------------------
 *
 * sources.h
 *	  Where an escrow deal's money comes from: one or more payment sources.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_SOURCES_H
#define EP_SOURCES_H

#include "deal.h"

extern void ep_sources_reserve(EpDeal *deal);
extern int64 ep_sources_capture(EpDeal *deal, int64 share);
extern int64 ep_sources_release(EpDeal *deal);
extern void ep_sources_refund(EpDeal *deal, int64 share);

/* SQL-callable */
extern Datum escrow_set_payment_sources(PG_FUNCTION_ARGS);

#endif							/* EP_SOURCES_H */
