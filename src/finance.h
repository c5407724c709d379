/*-------------------------------------------------------------------------
 *
 * finance.h
 *	  Under the models an institution pays: receivables and what such
 *	  models do alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_FINANCE_H
#define EP_FINANCE_H

#include "deal.h"
#include "fmgr.h"
#include "lib/stringinfo.h"

/* The model-specific halves of a dispute's resolution (ep_financed_refund) */
typedef struct EpFinancedOps
{
	/* receipt of share (the whole amount at settle) */
	void		(*receive) (EpDeal *deal, int64 share, StringInfo payload);
	/* after receipt: give the buyer's share back, the merchant keeps share */
	void		(*give_back) (EpDeal *deal, int64 buyer_share, int64 share,
							  StringInfo payload);
	/* undo everything */
	void		(*unwind) (EpDeal *deal, StringInfo payload);
} EpFinancedOps;

extern void ep_institution_reserve(EpDeal *deal, StringInfo payload);
extern int64 ep_receivable_open(EpDeal *deal, const char *kind, int64 pay_to, int64 amount);
extern void ep_receivable_cancel(EpDeal *deal, StringInfo payload);
extern int64 ep_receivable_unpaid(const EpDeal *deal, const char *kind, int64 *receivable);
extern void ep_financed_settle(EpDeal *deal, StringInfo payload);
extern void ep_financed_refund(EpDeal *deal, int64 buyer_share, StringInfo payload);

/* SQL-callable */
extern Datum escrow_repay(PG_FUNCTION_ARGS);
extern Datum escrow_pay_invoice(PG_FUNCTION_ARGS);

#endif							/* EP_FINANCE_H */
