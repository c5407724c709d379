/*-------------------------------------------------------------------------
 *
 * model_agency.c
 *	  The payment agency settlement model: reserve() issues the transaction
 *	  authentication number and freezes nothing; at receipt
 *	  (confirm_inspection / auto_accept) the agency pays the merchant (less
 *	  the merchant's fee) and invoices the buyer, who pays with
 *	  escrow.pay_invoice().  The deal completes only once the invoice is
 *	  paid (invoice_due, pay_invoice: finance.c).
 *
 *	  Cancelling before receipt, or a confirmed return after it, unwinds
 *	  the whole chain (the payout and the fee back, the invoice cancelled
 *	  and what the buyer paid on it returned); the merchant learns of it
 *	  through the event outbox.
 *
 *-------------------------------------------------------------------------
 */
#include "model.h"

#include "finance.h"
#include "payload.h"
#include "refund.h"

/* Receipt of share: pay the merchant, take the fee on it, invoice the buyer */
static void
agency_receive(EpDeal *d, int64 share, StringInfo payload)
{
	d->capture_transfer = ep_deal_transfer(d, d->institution_account, d->credit_account, share);
	d->captured = share;
	d->fee = ep_fee_of(share, d->fee_bps);
	if (d->fee > 0)
		d->fee_transfer = ep_deal_transfer(d, d->credit_account, d->fee_account, d->fee);
	ep_json_int(payload, "invoice",
				ep_receivable_open(d, "invoice", d->institution_account, share));
	ep_json_int(payload, "merchant_in", share);
	ep_json_int(payload, "fee", d->fee);
}

/* Undo everything: the fee and the payout back, the invoice cancelled */
static void
agency_unwind(EpDeal *d, StringInfo payload)
{
	if (d->fee_transfer)
	{
		ep_refund_transfer(d->fee_transfer, false, 0);
		ep_json_int(payload, "fee", -d->fee);
		d->fee = 0;
	}
	if (d->captured > 0)
	{
		/* the agency takes its payout back */
		ep_refund_transfer(d->capture_transfer, false, 0);
		ep_json_int(payload, "refund", d->captured);
		d->refunded = d->captured;
	}
	ep_receivable_cancel(d, payload);
}

/*
 * After receipt, a dispute gives the buyer buyer_share back: the merchant
 * gives back the fee on the buyer's share, then the buyer's share of the
 * payout.
 */
static void
agency_give_back(EpDeal *d, int64 buyer_share, int64 share, StringInfo payload)
{
	int64		new_fee = ep_fee_of(share, d->fee_bps);

	/* the fee on the buyer's share first: it may be what covers the refund */
	if (d->fee > new_fee)
	{
		ep_refund_transfer(d->fee_transfer, true, d->fee - new_fee);
		ep_json_int(payload, "fee", new_fee - d->fee);
		d->fee = new_fee;
	}
	ep_refund_transfer(d->capture_transfer, true, buyer_share);
	ep_json_int(payload, "refund", buyer_share);
}

static const EpFinancedOps agency_financed = {
	agency_receive, agency_give_back, agency_unwind
};

/* The invoice still unpaid */
static int64
agency_owed(const EpDeal *d, int64 *receivable)
{
	return ep_receivable_unpaid(d, "invoice", receivable);
}

static const char *const agency_steps[] = {
	"serve_first", "invoice_due", "pay_invoice", NULL
};

/* registered in model.c (EP_MODEL_LIST) */
const EpModel ep_model_agency = {
	.name = "agency",
	.concept = "payment agency",
	.institution = true,
	.receivable = "invoice",
	.credit_line_only = false,
	.merchant_fee = true,
	.buyer_pays = false,
	.steps = agency_steps,
	.reserve = ep_institution_reserve,
	.settle = ep_financed_settle,
	.cancel = agency_unwind,
	.unwind = agency_unwind,
	.refund = ep_financed_refund,
	.owed = agency_owed,
	.financed = &agency_financed,
};
