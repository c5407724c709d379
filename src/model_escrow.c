/*-------------------------------------------------------------------------
 *
 * model_escrow.c
 *	  The escrow settlement model (payment reservation): the buyer's own
 *	  money is held from reserve until receipt, then captured to the
 *	  merchant less the merchant's fee.  The money comes from the deal's
 *	  payment sources (sources.c: the buyer's balance, credit lines, or
 *	  several of them) or from cash at a terminal (terminal.c); pay later:
 *	  the merchant serves first and the buyer pays at a terminal by the
 *	  payment deadline.
 *
 *-------------------------------------------------------------------------
 */
#include "model.h"

#include "payload.h"
#include "refund.h"
#include "sources.h"

/* reserve: one hold per payment source */
static void
escrow_reserve(EpDeal *d, StringInfo p)
{
	ep_sources_reserve(d);
	if (d->hold_id)
		ep_json_int(p, "hold", d->hold_id);
	ep_json_int(p, "held", d->amount);
}

/* settle: capture the whole hold to the merchant, the fee to the fee account */
static void
escrow_settle(EpDeal *d, StringInfo p)
{
	if (d->held == 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s has not been paid", d->txn_no),
				 errdetail("It was served first; the buyer pays at a terminal (escrow.pay_cash)."),
				 errhint("Nothing can be captured before then.")));
	d->capture_transfer = ep_sources_capture(d, d->held);
	d->fee = ep_fee_of(d->captured, d->fee_bps);
	if (d->fee > 0)
		d->fee_transfer = ep_deal_transfer(d, d->credit_account, d->fee_account, d->fee);
	if (d->capture_transfer)
		ep_json_int(p, "capture_transfer", d->capture_transfer);
	ep_json_int(p, "merchant_in", d->captured);
	ep_json_int(p, "fee", d->fee);
}

/* cancel: release whatever the deal still holds */
static void
escrow_cancel(EpDeal *d, StringInfo p)
{
	ep_json_int(p, "released", ep_sources_release(d));
}

/*
 * Give the buyer back `buyer_share` and let the merchant keep the rest,
 * whether the hold is still open or was captured; the fee follows what
 * the merchant keeps.  Records the amounts in the step's payload.
 */
static void
escrow_split(EpDeal *d, int64 buyer_share, StringInfo p)
{
	int64		merchant_share = d->amount - buyer_share;
	int64		new_fee = ep_fee_of(merchant_share, d->fee_bps);
	int64		refund = 0;
	int64		fee_change = 0;
	int64		merchant_in = 0;

	if (d->captured == 0 && d->held == 0 && merchant_share > 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s has not been paid", d->txn_no),
				 errdetail("Nothing is held or captured, so the merchant's share must be 0.")));
	if (d->captured == 0)
	{
		/* the hold is still open: capture the merchant's share, release the rest */
		if (merchant_share > 0)
		{
			d->capture_transfer = ep_sources_capture(d, merchant_share);
			merchant_in = merchant_share;
			if (new_fee > 0)
				d->fee_transfer = ep_deal_transfer(d, d->credit_account, d->fee_account, new_fee);
			fee_change = new_fee;
			d->fee = new_fee;
		}
		else
			ep_json_int(p, "released", ep_sources_release(d));
	}
	else
	{
		/*
		 * captured: give the merchant back the fee on the buyer's share
		 * first (it may be what covers the refund), then refund the buyer
		 */
		if (d->fee > new_fee)
		{
			ep_refund_transfer(d->fee_transfer, true, d->fee - new_fee);
			fee_change = new_fee - d->fee;
			d->fee = new_fee;
		}
		if (buyer_share > 0)
		{
			ep_sources_refund(d, buyer_share);
			refund = buyer_share;
		}
	}
	ep_json_int(p, "merchant_in", merchant_in);
	ep_json_int(p, "refund", refund);
	ep_json_int(p, "fee", fee_change);
}

/* unwind: the whole amount back to the buyer */
static void
escrow_unwind(EpDeal *d, StringInfo p)
{
	escrow_split(d, d->amount, p);
}

static const char *const escrow_steps[] = {
	"pay_cash", "serve_first", "mark_unpaid", "write_off", NULL
};

/* registered in model.c (EP_MODEL_LIST) */
const EpModel ep_model_escrow = {
	.name = "escrow",
	.concept = "payment reservation",
	.institution = false,
	.receivable = NULL,
	.credit_line_only = false,
	.merchant_fee = true,
	.buyer_pays = true,
	.steps = escrow_steps,
	.reserve = escrow_reserve,
	.settle = escrow_settle,
	.cancel = escrow_cancel,
	.unwind = escrow_unwind,
	.refund = escrow_split,
	.owed = NULL,
};
