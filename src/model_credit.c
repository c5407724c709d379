/*-------------------------------------------------------------------------
 *
 * model_credit.c
 *	  The credit finance settlement model: reserve() is the loan approval:
 *	  the buyer's credit line is held for the institution and the
 *	  institution pre-pays the merchant the amount less its receivables
 *	  discount; at receipt the hold is captured to the institution and the
 *	  loan becomes a receivable the buyer repays into the line
 *	  (escrow.repay(), finance.c).  The merchant pays no fee: its cost is
 *	  the discount.
 *
 *	  Cancelling before receipt, or a confirmed return after it, unwinds
 *	  the whole chain (claw-back of the pre-payment, release or refund of
 *	  the line, the loan cancelled).
 *
 *-------------------------------------------------------------------------
 */
#include "model.h"

#include "finance.h"
#include "hold.h"
#include "party.h"
#include "payload.h"
#include "refund.h"

/* What the institution pre-paid the merchant for `amount` of credit finance */
static int64
prepaid_for(const EpDeal *d, int64 amount)
{
	return amount - ep_fee_of(amount, d->discount_bps);
}

/* Hold the buyer's line for the institution and pre-pay the merchant */
static void
credit_reserve(EpDeal *d, StringInfo payload)
{
	int64		discount = ep_fee_of(d->amount, d->discount_bps);

	ep_institution_reserve(d, payload);
	ep_require_account_use(d->debit_account, d->buyer, false);
	d->hold_id = ep_place_hold(d->debit_account, d->institution_account, d->amount,
							   NULL, NULL, d->id);
	d->held = d->amount;
	d->prepay_transfer = ep_deal_transfer(d, d->institution_account, d->credit_account,
										  d->amount - discount);
	ep_json_int(payload, "hold", d->hold_id);
	ep_json_int(payload, "held", d->amount);
	ep_json_int(payload, "discount", discount);
	ep_json_int(payload, "merchant_in", d->amount - discount);
}

/*
 * Receipt of share: capture the share of the line's hold to the
 * institution (the rest is released) and lend it to the buyer; the
 * merchant gives back the pre-payment beyond the share less its discount.
 */
static void
credit_receive(EpDeal *d, int64 share, StringInfo payload)
{
	int64		back = d->prepay_transfer ?
		prepaid_for(d, d->amount) - prepaid_for(d, share) : 0;

	if (back > 0)
	{
		ep_refund_transfer(d->prepay_transfer, true, back);
		ep_json_int(payload, "refund", back);
	}
	d->capture_transfer = ep_capture_hold(d->hold_id, true, share, true, NULL, d->id);
	if (d->held > share)
		ep_json_int(payload, "released", d->held - share);
	d->captured = share;
	d->held = 0;
	ep_json_int(payload, "loan", ep_receivable_open(d, "loan", d->debit_account, share));
	ep_json_int(payload, "capture_transfer", d->capture_transfer);
}

/*
 * Undo everything: the pre-payment clawed back, then the loan reversed or
 * the hold released, the loan cancelled
 */
static void
credit_unwind(EpDeal *d, StringInfo payload)
{
	/* claw-back first: it may be what lets the institution reverse the loan */
	if (d->prepay_transfer)
	{
		ep_refund_transfer(d->prepay_transfer, false, 0);
		ep_json_int(payload, "refund", prepaid_for(d, d->amount));
	}
	if (d->captured > 0)
	{
		/* the loan reversed: the institution gives the line back */
		ep_refund_transfer(d->capture_transfer, false, 0);
		d->refunded = d->captured;
	}
	if (d->held > 0)
	{
		ep_json_int(payload, "released", ep_release_hold(d->hold_id, NULL, d->id));
		d->held = 0;
	}
	ep_receivable_cancel(d, payload);
}

/*
 * After receipt, a dispute gives the buyer buyer_share back: the merchant
 * gives back the pre-payment beyond share less its discount, then the
 * institution gives the buyer's share of the captured line back.
 */
static void
credit_give_back(EpDeal *d, int64 buyer_share, int64 share, StringInfo payload)
{
	int64		back = prepaid_for(d, d->amount) - prepaid_for(d, share);

	/* claw-back first: it may be what lets the institution give the line back */
	if (back > 0)
	{
		ep_refund_transfer(d->prepay_transfer, true, back);
		ep_json_int(payload, "refund", back);
	}
	ep_refund_transfer(d->capture_transfer, true, buyer_share);
	ep_json_int(payload, "loan_reduced", buyer_share);
}

static const EpFinancedOps credit_financed = {
	credit_receive, credit_give_back, credit_unwind
};

/* registered in model.c (EP_MODEL_LIST) */
const EpModel ep_model_credit_finance = {
	.name = "credit_finance",
	.concept = "credit finance",
	.institution = true,
	.receivable = "loan",
	.credit_line_only = true,
	.merchant_fee = false,
	.buyer_pays = false,
	.steps = NULL,
	.reserve = credit_reserve,
	.settle = ep_financed_settle,
	.cancel = credit_unwind,
	.unwind = credit_unwind,
	.refund = ep_financed_refund,
	.owed = NULL,
	.financed = &credit_financed,
};
