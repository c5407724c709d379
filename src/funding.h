/*-------------------------------------------------------------------------
 *
 * funding.h
 *	  The funding account of each currency, and money entering or leaving
 *	  the ledger through it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_FUNDING_H
#define EP_FUNDING_H

#include "ledger.h"

extern void ep_ensure_funding(Datum currency);
extern int64 ep_funding_account_of(int64 account);
extern int64 ep_post_funding(const char *kind, int64 account, int64 amount,
							 const EpOwner *owner);

#endif							/* EP_FUNDING_H */
