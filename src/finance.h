/*-------------------------------------------------------------------------
 *
 * finance.h
 *	  Deals paid by a payment agency or a credit institution.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_FINANCE_H
#define EP_FINANCE_H

#include "deal.h"
#include "lib/stringinfo.h"

extern bool ep_deal_financed(const EpDeal *deal);
extern void ep_finance_reserve(EpDeal *deal, StringInfo payload);
extern void ep_finance_settle(EpDeal *deal, StringInfo payload);
extern void ep_finance_unwind(EpDeal *deal, StringInfo payload);
extern int64 ep_finance_unpaid(const EpDeal *deal, int64 *invoice);
extern char *ep_finance_invoice_payload(const EpDeal *deal);
extern void ep_finance_split(EpDeal *deal, int64 buyer_share, StringInfo payload);

/* SQL-callable */
extern Datum escrow_repay(PG_FUNCTION_ARGS);
extern Datum escrow_pay_invoice(PG_FUNCTION_ARGS);

#endif							/* EP_FINANCE_H */
