/*-------------------------------------------------------------------------
 *
 * finance.c
 *	  The layer under the settlement models in which an institution pays
 *	  the merchant (model_agency.c: payment agency; model_credit.c: credit
 *	  finance): the buyer's receivable (escrow.receivables: a loan or an
 *	  invoice) opened at receipt, cancelled when the deal is unwound,
 *	  written down when a dispute gives the buyer a share back, and paid
 *	  with escrow.repay() / escrow.pay_invoice(); and what such models do
 *	  alike (the institution's account at reserve, the shape of a
 *	  dispute's resolution).
 *
 *	  An agency deal is complete only once the buyer has paid the invoice
 *	  (its model's `owed`): cooling-off over with the invoice unpaid,
 *	  run_maintenance() moves it to invoiced (invoice_due), and the payment
 *	  that clears the invoice completes it (pay_invoice; or complete, when
 *	  cooling-off is over but run_maintenance() has not come by yet).
 *
 *-------------------------------------------------------------------------
 */
#include "finance.h"

#include "lifecycle.h"
#include "model.h"

#include "party.h"
#include "payload.h"

#include "fmgr.h"
#include "hold.h"
#include "idempotency.h"
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "refund.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(escrow_repay);
PG_FUNCTION_INFO_V1(escrow_pay_invoice);

/*
 * Open the buyer's receivable for deal d: what it owes (amount: the whole
 * deal at receipt, the merchant's share after a dispute; the rest is
 * recorded as written down), to whom, by when
 */
int64
ep_receivable_open(EpDeal *d, const char *kind, int64 pay_to, int64 amount)
{
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.receivables (deal, kind, debtor, creditor, pay_to, amount, "
		"                                written_down, due_at) "
		"SELECT id, $2, buyer, institution, $3, $4, amount - $4, clock_timestamp() + repay_within "
		"  FROM escrow.deals WHERE id = $1 RETURNING id", INT8OID, TEXTOID, INT8OID, INT8OID);
	Datum		values[4];

	values[0] = Int64GetDatum(d->id);
	values[1] = CStringGetTextDatum(kind);
	values[2] = Int64GetDatum(pay_to);
	values[3] = Int64GetDatum(amount);
	ep_exec(&insert, values, NULL, 1);
	return ep_int64(0, 1);
}

/*
 * Cancel the deal's receivable, giving the buyer back what it paid on an
 * invoice (a loan's repayments are already on the buyer's line); the
 * money sent back belongs to the invoice, as its payments do.
 */
void
ep_receivable_cancel(EpDeal *d, StringInfo payload)
{
	static EpPlan cancel = EP_PLAN("UPDATE escrow.receivables SET status = 'cancelled' "
		" WHERE deal = $1 AND status <> 'cancelled' RETURNING id, kind, paid", INT8OID);
	Datum		values[1];
	int64		paid;

	values[0] = Int64GetDatum(d->id);
	if (ep_exec(&cancel, values, NULL, 1) != 1)
		return;
	paid = ep_int64(0, 3);
	ep_json_int(payload, "receivable_cancelled", ep_int64(0, 1));
	if (paid > 0 && strcmp(ep_text(0, 2), "invoice") == 0)
	{
		EpOwner		owner = {0};

		owner.receivable = ep_int64(0, 1);
		ep_transfer(d->institution_account, d->debit_account, paid, &owner);
		ep_json_int(payload, "invoice_payments_returned", paid);
	}
}

/*
 * What the buyer still owes on the deal's open receivable of a kind (0 when
 * it has none open); *receivable gets its id (0: none).
 */
int64
ep_receivable_unpaid(const EpDeal *d, const char *kind, int64 *receivable)
{
	static EpPlan fetch = EP_PLAN("SELECT id, amount - paid FROM escrow.receivables "
		" WHERE deal = $1 AND kind = $2 AND status = 'open'", INT8OID, TEXTOID);
	Datum		values[2];

	*receivable = 0;
	values[0] = Int64GetDatum(d->id);
	values[1] = CStringGetTextDatum(kind);
	if (ep_exec(&fetch, values, NULL, 1) != 1)
		return 0;
	*receivable = ep_int64(0, 1);
	return ep_int64(0, 2);
}

/*
 * Write the deal's receivable down to what the buyer owes now (the
 * merchant's share).  What the buyer paid beyond it: an invoice's payments
 * go back from the agency to the buyer's account; a loan's repayments are
 * already on the buyer's credit line and stay there.  The receivable is
 * paid when what was paid covers the new amount.
 */
static void
receivable_write_down(EpDeal *d, int64 owed, StringInfo payload)
{
	static EpPlan lock = EP_PLAN("SELECT id, kind, amount, paid FROM escrow.receivables "
		" WHERE deal = $1 AND status <> 'cancelled' FOR UPDATE", INT8OID);
	static EpPlan update = EP_PLAN("UPDATE escrow.receivables SET amount = $2, written_down = written_down + amount - $2, "
		"       paid = least(paid, $2), "
		"       status = CASE WHEN least(paid, $2) = $2 THEN 'paid' ELSE 'open' END "
		" WHERE id = $1", INT8OID, INT8OID);
	Datum		values[2];
	int64		id;
	int64		amount;
	int64		paid;
	bool		invoice;

	values[0] = Int64GetDatum(d->id);
	if (ep_exec(&lock, values, NULL, 1) != 1)
		elog(ERROR, "escrowpay: deal %lld has no receivable to write down", (long long) d->id);
	id = ep_int64(0, 1);
	invoice = strcmp(ep_text(0, 2), "invoice") == 0;
	amount = ep_int64(0, 3);
	paid = ep_int64(0, 4);
	if (owed == amount)
		return;
	if (paid > owed && invoice)
	{
		/* sent back by the invoice, as its payments were made to it */
		EpOwner		owner = {0};

		owner.receivable = id;
		ep_transfer(d->institution_account, d->debit_account, paid - owed, &owner);
		ep_json_int(payload, "invoice_payments_returned", paid - owed);
	}
	else if (paid > owed)
		ep_json_int(payload, "repaid_beyond_share", paid - owed);
	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(owed);
	ep_exec(&update, values, NULL, 0);
	ep_json_int(payload, "receivable", id);
	ep_json_int(payload, "written_down", amount - owed);
}

/*
 * At reserve, for every model an institution pays: the institution's
 * money moves only through its own account.
 */
void
ep_institution_reserve(EpDeal *d, StringInfo payload)
{
	ep_json_str(payload, "institution", d->institution);
	ep_require_account_use(d->institution_account, d->institution, false);
}

/* Settle a financed deal: receipt of the whole amount (the model's receive) */
void
ep_financed_settle(EpDeal *d, StringInfo payload)
{
	d->model->financed->receive(d, d->amount, payload);
}

/*
 * resolve_dispute() for a model an institution pays: the buyer gets
 * back buyer_share, the merchant keeps the rest (its "share"), and the
 * buyer owes the institution the share.  From whatever the deal has moved
 * by the stage the dispute was opened at:
 *
 *	  share 0: everything is unwound, as by a confirmed return.
 *	  before receipt (shipped, delivered, or rejected and returned): the
 *		share is received as confirm_inspection would receive the whole
 *		amount (the model's receive).
 *	  after receipt (settled, or returned after settlement): the model
 *		gives the buyer's share back (give_back); the receivable is
 *		written down to the share.
 *
 * So the institution ends up having advanced the share and being owed it
 * (agency), or having paid share less discount and lent share (credit
 * finance); the merchant has the share less the fee or the discount on it.
 */
void
ep_financed_refund(EpDeal *d, int64 buyer_share, StringInfo payload)
{
	const EpFinancedOps *ops = d->model->financed;
	int64		share = d->amount - buyer_share;

	if (share == 0)
	{
		ops->unwind(d, payload);
		return;
	}
	if (d->captured == 0)
	{
		ops->receive(d, share, payload);
		return;
	}
	if (buyer_share == 0)
		return;
	ops->give_back(d, buyer_share, share, payload);
	d->refunded = buyer_share;
	receivable_write_down(d, share, payload);
}

/*
 * Shared body of repay() and pay_invoice(): pay amount (NULL: all that is
 * outstanding) of a receivable of the given kind from from_account.  The
 * deal is locked first (as every deal step does, so that a payment and a
 * confirmed return queue in one order), then the receivable.  The payment
 * that clears an agency deal's invoice after cooling-off completes the
 * deal.
 */
static int64
pay_receivable(FunctionCallInfo fcinfo, const char *kind, const char *fn)
{
	static EpPlan deal_of = EP_PLAN("SELECT deal FROM escrow.receivables WHERE id = $1", INT8OID);
	static EpPlan lock = EP_PLAN("SELECT kind, status, pay_to, amount, paid, debtor "
		"  FROM escrow.receivables WHERE id = $1 FOR UPDATE", INT8OID);
	static EpPlan update = EP_PLAN("UPDATE escrow.receivables SET paid = $2, "
		"       status = CASE WHEN $2 = amount THEN 'paid' ELSE 'open' END "
		" WHERE id = $1", INT8OID, INT8OID);
	int64		id = ep_arg_id(fcinfo, 0, "receivable");
	int64		from = ep_arg_id(fcinfo, 1, "from_account");
	bool		has_amount;
	int64		amount = ep_arg_opt_amount(fcinfo, 2, "amount", &has_amount);
	char	   *key = ep_arg_key(fcinfo, 3);
	EpPosting	p = {0};
	EpDeal		d;
	Datum		values[2];
	int64		prior;
	int64		outstanding;
	int64		paid;
	char	   *status;
	char	   *debtor;
	StringInfoData payload;

	SPI_connect();
	p.id = ep_next_id("transfer_id_seq");
	if (ep_idem_claim_call(fcinfo, key, fn, "iii-", p.id, &prior))
	{
		SPI_finish();
		return prior;
	}

	values[0] = Int64GetDatum(id);
	ep_exec_id(&deal_of, id, "receivable");
	ep_lock_deal(ep_int64(0, 1), &d);
	ep_exec(&lock, values, NULL, 1);
	if (strcmp(ep_text(0, 1), kind) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("receivable %lld is %s", (long long) id,
						strcmp(ep_text(0, 1), "loan") == 0 ? "a loan" : "an invoice"),
				 errdetail("%s takes %ss.", fn, kind),
				 errhint("Loans are repaid with escrow.repay(), invoices paid with escrow.pay_invoice().")));
	status = ep_text(0, 2);
	paid = ep_int64(0, 5);
	outstanding = ep_int64(0, 4) - paid;
	debtor = ep_text(0, 6);
	if (strcmp(status, "open") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("receivable %lld is %s", (long long) id, status),
				 errdetail("Only an open receivable takes payments.")));
	if (!has_amount)
		amount = outstanding;
	if (amount > outstanding)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("payment exceeds what is outstanding on receivable %lld", (long long) id),
				 errdetail("Outstanding %lld, offered %lld.", (long long) outstanding,
						   (long long) amount)));

	p.kind = "transfer";
	p.debit = from;
	p.credit = ep_int64(0, 3);
	p.amount = amount;
	p.owner.receivable = id;	/* moves only through the deal */
	/* the buyer pays from its own account, or one it may pay from */
	ep_require_account_use(from, debtor, false);
	values[1] = Int64GetDatum(paid + amount);
	ep_exec(&update, values, NULL, 0);
	ep_post_transfer(&p);

	initStringInfo(&payload);
	appendStringInfoChar(&payload, '{');
	ep_json_int(&payload, "receivable", id);
	ep_json_int(&payload, "paid", amount);
	ep_json_int(&payload, "outstanding", outstanding - amount);
	appendStringInfoChar(&payload, '}');
	if (amount == outstanding && d.stage == STAGE_INVOICED)
	{
		/* the invoice cleared: the buyer's payment completes the deal */
		EpStep		step;

		ep_deal_check(&d, fn, debtor, 0, &step);
		step.payload = payload.data;
		step.deadline = "none";
		ep_deal_commit_step(&d, debtor, &step);
	}
	else
	{
		ep_deal_event_at(d.id, fn, ep_stage_name(d.stage), debtor, payload.data);
		if (amount == outstanding && d.stage == STAGE_SETTLED &&
			d.model->owed != NULL &&
			d.has_deadline && d.deadline <= GetCurrentTimestamp())
		{
			/* cooling-off over and now paid: what run_maintenance() would do */
			EpStep		step;

			ep_deal_check(&d, "complete", "system", ACTOR_SYSTEM, &step);
			step.deadline = "none";
			ep_deal_commit_step(&d, "system", &step);
		}
	}
	SPI_finish();
	return p.id;
}

/*
 * escrow.repay(loan bigint, from_account bigint, amount bigint DEFAULT NULL,
 *				idempotency_key text DEFAULT NULL) RETURNS bigint
 *
 * Repay (part of) a credit-finance loan into the buyer's credit line;
 * returns the transfer id.
 */
Datum
escrow_repay(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	PG_RETURN_INT64(pay_receivable(fcinfo, "loan", "repay"));
}

/*
 * escrow.pay_invoice(invoice bigint, from_account bigint,
 *					  amount bigint DEFAULT NULL,
 *					  idempotency_key text DEFAULT NULL) RETURNS bigint
 *
 * Pay (part of) a payment agency's invoice to the agency; returns the
 * transfer id.
 */
Datum
escrow_pay_invoice(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	PG_RETURN_INT64(pay_receivable(fcinfo, "invoice", "pay_invoice"));
}
