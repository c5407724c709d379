/*-------------------------------------------------------------------------
 *
 * deal_steps.c
 *	  The SQL-callable lifecycle steps after the buyer is confirmed:
 *	  reserve, shipping, delivery, inspection, cancel/reject/return,
 *	  disputes and write-off.  Each locks the deal, asks deal.c whether the
 *	  step is allowed now and for this actor, lets the deal's settlement
 *	  model move the money, and commits the step.  The step bodies
 *	  (settle, release, return, note) are shared with run_maintenance()
 *	  (deal_maintenance.c) and pay_cash (terminal.c).
 *
 * The application calls these on behalf of a party: `actor` is the
 * party number (member or merchant) or the deal's designated inspector,
 * and is recorded in escrow.deal_events.
 *
 *-------------------------------------------------------------------------
 */
#include "deal_steps.h"

#include "codes.h"
#include "model.h"
#include "account.h"
#include "ledger.h"
#include "money.h"
#include "party.h"
#include "payload.h"
#include "limits.h"
#include "plan.h"
#include "miscadmin.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_reserve);
PG_FUNCTION_INFO_V1(escrow_mark_shipped);
PG_FUNCTION_INFO_V1(escrow_mark_delivered);
PG_FUNCTION_INFO_V1(escrow_confirm_inspection);
PG_FUNCTION_INFO_V1(escrow_cancel_deal);
PG_FUNCTION_INFO_V1(escrow_reject_delivery);
PG_FUNCTION_INFO_V1(escrow_request_return);
PG_FUNCTION_INFO_V1(escrow_confirm_return);
PG_FUNCTION_INFO_V1(escrow_open_dispute);
PG_FUNCTION_INFO_V1(escrow_resolve_dispute);
PG_FUNCTION_INFO_V1(escrow_write_off);

/*
 * Commit a checked step whose money the deal's model moves with op (NULL:
 * no money moves); the payload records the reason, if any, and what op
 * moved.  deadline is the one the next stage starts (EpStep.deadline).
 */
static void
model_step(EpDeal *d, const char *actor, EpStep *step,
		   void (*op) (EpDeal *deal, StringInfo payload),
		   const char *reason, const char *deadline)
{
	StringInfoData p;

	ep_json_begin(&p);
	ep_json_str(&p, "reason", reason);
	if (op)
		op(d, &p);
	step->payload = ep_json_end(&p);
	step->deadline = deadline;
	ep_deal_commit_step(d, actor, step);
}

/*
 * The start of a step called as f(deal bigint, actor text, ...): read both
 * arguments, lock the deal and check the step.  Returns the actor.
 */
static char *
begin_step(FunctionCallInfo fcinfo, const char *action, EpDeal *d, EpStep *step)
{
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor = ep_arg_text(fcinfo, 1, "actor");

	ep_deal_begin(deal_id, action, actor, 0, d, step);
	return actor;
}

/*
 * The whole of a step called as f(deal bigint, actor text): begin it, let
 * run move the money and commit it, finish.  *d is the deal after it.
 */
static void
actor_step(FunctionCallInfo fcinfo, const char *action,
		   void (*run) (EpDeal *d, const char *actor, EpStep *step), EpDeal *d)
{
	EpStep		step;
	char	   *actor = begin_step(fcinfo, action, d, &step);

	run(d, actor, &step);
	SPI_finish();
}

/*
 * escrow.reserve(deal bigint, actor text) RETURNS text
 *
 * Freeze the amount on the buyer's balance or credit line (EP001 when it
 * does not cover it; the deal stays where it was) and return the
 * transaction authentication number shown to both sides.
 */
Datum
escrow_reserve(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan set_auth = EP_PLAN("UPDATE escrow.deals SET auth_no = $2 WHERE id = $1",
		INT8OID, TEXTOID);
	char	   *actor;
	EpDeal		d;
	EpStep		step;
	char	   *auth_no;
	Datum		values[2];
	StringInfoData p;
	text	   *result;

	actor = begin_step(fcinfo, "reserve", &d, &step);
	ep_require_account_use(d.credit_account, d.merchant, true);
	auth_no = ep_random_digits(10);
	values[0] = Int64GetDatum(d.id);
	values[1] = CStringGetTextDatum(auth_no);
	ep_exec(&set_auth, values, NULL, 0);

	ep_json_begin(&p);
	ep_json_str(&p, "auth_no", auth_no);
	d.model->reserve(&d, &p);
	step.payload = ep_json_end(&p);
	step.deadline = "ship";
	ep_deal_commit_step(&d, actor, &step);
	/* into the caller's memory: SPI_finish() frees SPI's */
	result = (text *) DatumGetPointer(SPI_datumTransfer(CStringGetTextDatum(auth_no), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * escrow.mark_shipped(deal bigint, carrier text, tracking text, actor text)
 *	 RETURNS void
 */
Datum
escrow_mark_shipped(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan set_tracking = EP_PLAN("UPDATE escrow.deals SET carrier = coalesce($2, carrier), tracking = $3 WHERE id = $1",
		INT8OID, TEXTOID, TEXTOID);
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *carrier = ep_arg_opt_text(fcinfo, 1);
	char	   *tracking = ep_arg_opt_text(fcinfo, 2);
	char	   *actor = ep_arg_text(fcinfo, 3, "actor");
	EpDeal		d;
	EpStep		step;
	Datum		values[3];
	char		nulls[3] = {' ', carrier ? ' ' : 'n', tracking ? ' ' : 'n'};
	StringInfoData p;

	ep_deal_begin(deal_id, "mark_shipped", actor, 0, &d, &step);
	values[0] = Int64GetDatum(deal_id);
	values[1] = carrier ? CStringGetTextDatum(carrier) : (Datum) 0;
	values[2] = tracking ? CStringGetTextDatum(tracking) : (Datum) 0;
	ep_exec(&set_tracking, values, nulls, 0);
	ep_json_begin(&p);
	ep_json_str(&p, "carrier", carrier);
	ep_json_str(&p, "tracking", tracking);
	step.payload = ep_json_end(&p);
	step.deadline = "deliver";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.mark_delivered(deal bigint, actor text) RETURNS void
 *
 * Reported by the merchant or by the inspector (e.g. the carrier) before
 * the delivery deadline (the transition table's in_time); starts the
 * inspection window.  After the deadline the deal is (or is about to be)
 * escalated to a dispute, so a late report is refused: whether the goods
 * arrived is then for the adjudicator to decide, and the outcome does not
 * depend on when run_maintenance() happened to run.
 */
static void
deliver(EpDeal *d, const char *actor, EpStep *step)
{
	step->deadline = "inspect";
	ep_deal_commit_step(d, actor, step);
}

Datum
escrow_mark_delivered(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpDeal		d;

	actor_step(fcinfo, "mark_delivered", deliver, &d);
	PG_RETURN_VOID();
}

/*
 * Settle: receipt confirmed; the deal's model pays the merchant (escrow:
 * capture the hold, the fee to the fee account).  Shared by
 * confirm_inspection, auto_accept and pay later (pay_cash).
 */
void
ep_deal_settle(EpDeal *d, const char *actor, EpStep *step)
{
	model_step(d, actor, step, d->model->settle, NULL, "return");
}

/*
 * escrow.confirm_inspection(deal bigint, actor text) RETURNS bigint
 *
 * The buyer or the designated inspector confirms receipt: the hold is
 * captured to the merchant (less the fee).  Returns the capture transfer.
 */
Datum
escrow_confirm_inspection(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpDeal		d;

	actor_step(fcinfo, "confirm_inspection", ep_deal_settle, &d);
	/* a deal paid from several sources has one capture per source */
	if (d.capture_transfer == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(d.capture_transfer);
}

/*
 * Before receipt (cancel, expire): the deal's model gives back what backs
 * the deal (escrow: the hold released)
 */
void
ep_deal_release_step(EpDeal *d, const char *actor, const char *reason, EpStep *step)
{
	model_step(d, actor, step, d->model->cancel, reason, "none");
}

/* Commit a checked step that records a reason and moves no money */
void
ep_deal_note_step(EpDeal *d, const char *actor, const char *reason, const char *deadline,
				  EpStep *step)
{
	model_step(d, actor, step, NULL, reason, deadline);
}

/*
 * The body of the steps called as f(deal bigint, reason text, actor text)
 * (cancellations, return requests, disputes, write-offs): they record the
 * reason and either give back what backs the deal (release) or move no
 * money (refused after the stage's deadline where the transition table
 * says in_time); deadline is the one the next stage starts.
 */
static void
reason_step(FunctionCallInfo fcinfo, const char *action, bool release, const char *deadline)
{
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *reason = ep_arg_text(fcinfo, 1, "reason");
	char	   *actor = ep_arg_text(fcinfo, 2, "actor");
	EpDeal		d;
	EpStep		step;

	ep_deal_begin(deal_id, action, actor, 0, &d, &step);
	if (release)
		ep_deal_release_step(&d, actor, reason, &step);
	else
		ep_deal_note_step(&d, actor, reason, deadline, &step);
	SPI_finish();
}

/*
 * escrow.cancel_deal(deal bigint, reason text, actor text) RETURNS void
 *
 * Before shipping: the hold (if any) is released; no money moves.
 */
Datum
escrow_cancel_deal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "cancel_deal", true, "none");
	PG_RETURN_VOID();
}

/*
 * escrow.reject_delivery(deal bigint, reason text, actor text) RETURNS void
 *
 * Within the inspection window (wrong or damaged item): the goods go back;
 * the hold stays until the merchant confirms the return, which it must do
 * by the refund deadline (refund_within).
 */
Datum
escrow_reject_delivery(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "reject_delivery", false, "refund");
	PG_RETURN_VOID();
}

/*
 * escrow.request_return(deal bigint, reason text, actor text) RETURNS void
 *
 * Within the cooling-off period after settlement; the merchant must
 * confirm the return by the refund deadline (refund_within).
 */
Datum
escrow_request_return(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "request_return", false, "refund");
	PG_RETURN_VOID();
}

/*
 * escrow.open_dispute(deal bigint, reason text, actor text) RETURNS void
 *
 * From shipped, delivered, settled or returned, for every settlement
 * model.  A return can be disputed only before its refund deadline: after
 * it the merchant's silence has accepted the return (auto_confirm_return).
 */
Datum
escrow_open_dispute(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "open_dispute", false, "none");
	PG_RETURN_VOID();
}

/*
 * escrow.write_off(deal bigint, reason text, actor text) RETURNS void
 *
 * The merchant gives up a bill the buyer it served first never paid (the
 * deal is unpaid): the deal ends, written_off.  Nothing was held, so no
 * money moves; collecting the debt is the merchant's business outside
 * escrowpay.
 */
Datum
escrow_write_off(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	reason_step(fcinfo, "write_off", false, "none");
	PG_RETURN_VOID();
}

/*
 * The goods are back: the deal's model undoes everything (escrow: release
 * the hold, or refund the capture and the fee).  Shared by confirm_return
 * and auto_confirm_return.
 */
void
ep_deal_return_step(EpDeal *d, const char *actor, EpStep *step)
{
	model_step(d, actor, step, d->model->unwind, NULL, "none");
}

/*
 * escrow.confirm_return(deal bigint, actor text) RETURNS void
 *
 * The merchant has the goods back: release the hold, or refund the capture
 * and the fee.
 */
Datum
escrow_confirm_return(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpDeal		d;

	actor_step(fcinfo, "confirm_return", ep_deal_return_step, &d);
	PG_RETURN_VOID();
}

/*
 * escrow.resolve_dispute(deal bigint, buyer_share bigint,
 *						  merchant_share bigint) RETURNS void
 *
 * escrow_admin splits the amount exactly: buyer_share + merchant_share
 * must equal it.
 */
Datum
escrow_resolve_dispute(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	int64		buyer_share;
	int64		merchant_share;
	EpDeal		d;
	EpStep		step;
	StringInfoData p;
	char	   *actor = GetUserNameFromId(GetOuterUserId(), false);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_GETARG_INT64(1) < 0 || PG_GETARG_INT64(2) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buyer_share and merchant_share must be zero or positive")));
	buyer_share = PG_GETARG_INT64(1);
	merchant_share = PG_GETARG_INT64(2);
	ep_check_amount(buyer_share, "buyer_share");
	ep_check_amount(merchant_share, "merchant_share");

	ep_deal_begin(deal_id, "resolve_dispute", actor, ep_caller_is_admin() ? ACTOR_ADMIN : 0, &d, &step);
	if (ep_add(buyer_share, merchant_share, "shares") != d.amount)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the shares must add up to the deal amount exactly"),
				 errdetail("buyer_share %lld + merchant_share %lld, amount %lld.",
						   (long long) buyer_share, (long long) merchant_share,
						   (long long) d.amount)));
	ep_json_begin(&p);
	ep_json_int(&p, "buyer_share", buyer_share);
	ep_json_int(&p, "merchant_share", merchant_share);
	d.model->refund(&d, buyer_share, &p);
	step.payload = ep_json_end(&p);
	step.deadline = "none";
	ep_deal_commit_step(&d, actor, &step);
	SPI_finish();
	PG_RETURN_VOID();
}
