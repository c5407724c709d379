/*-------------------------------------------------------------------------
 *
 * deal.c
 *	  A deal as the lifecycle steps see it: its row locked FOR UPDATE
 *	  (EpDeal), the check of a step against the transition table of
 *	  lifecycle.c (EP007 for a wrong stage or settlement model, P0002 for
 *	  an actor that is no party, 42501 for a party that may not act), and the commit of a step: the row's
 *	  stage, deadline and money columns, an event, a notification.
 *
 * Each transition appends to escrow.deal_events in the same transaction
 * and sends NOTIFY escrow_events with the deal id, which listeners receive
 * only when the transaction commits.  PostgreSQL lets any role NOTIFY any
 * channel, so the notification is only a wake-up: consumers read
 * escrow.deal_events, which only these functions write.
 *
 *-------------------------------------------------------------------------
 */
#include "deal.h"

#include "commands/async.h"
#include "ledger.h"
#include "lifecycle.h"
#include "model.h"
#include "plan.h"
#include "row.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* The columns of a locked deal row, read by name (row.h) */
enum
{
	DC_TXN_NO, DC_BUYER, DC_MERCHANT, DC_AMOUNT, DC_DEBIT_ACCOUNT, DC_CREDIT_ACCOUNT,
	DC_FEE_ACCOUNT, DC_FEE_BPS, DC_INSPECTOR, DC_STAGE, DC_DEADLINE, DC_HOLD_ID,
	DC_CAPTURE_TRANSFER, DC_FEE_TRANSFER, DC_HELD, DC_CAPTURED, DC_REFUNDED, DC_FEE,
	DC_CURRENCY, DC_SETTLEMENT, DC_INSTITUTION, DC_INSTITUTION_ACCOUNT, DC_DISCOUNT_BPS,
	DC_PREPAY_TRANSFER, DC_PAYMENT_METHOD, DC_COUNT
};

/* Lock deal id FOR UPDATE (P0002 when it does not exist) */
void
ep_lock_deal(int64 id, EpDeal *d)
{
	static EpPlan lock = EP_PLAN("SELECT txn_no, buyer, merchant, amount, debit_account, credit_account, "
		"       fee_account, fee_bps, inspector, stage, deadline, hold_id, capture_transfer, "
		"       fee_transfer, held, captured, refunded, fee, currency, settlement, "
		"       institution, institution_account, discount_bps, prepay_transfer, payment_method "
		"  FROM escrow.deals WHERE id = $1 FOR UPDATE", INT8OID);
	static EpColumns cols = {DC_COUNT, {
			[DC_TXN_NO] = "txn_no", [DC_BUYER] = "buyer", [DC_MERCHANT] = "merchant",
			[DC_AMOUNT] = "amount", [DC_DEBIT_ACCOUNT] = "debit_account",
			[DC_CREDIT_ACCOUNT] = "credit_account", [DC_FEE_ACCOUNT] = "fee_account",
			[DC_FEE_BPS] = "fee_bps", [DC_INSPECTOR] = "inspector", [DC_STAGE] = "stage",
			[DC_DEADLINE] = "deadline", [DC_HOLD_ID] = "hold_id",
			[DC_CAPTURE_TRANSFER] = "capture_transfer", [DC_FEE_TRANSFER] = "fee_transfer",
			[DC_HELD] = "held", [DC_CAPTURED] = "captured", [DC_REFUNDED] = "refunded",
			[DC_FEE] = "fee", [DC_CURRENCY] = "currency", [DC_SETTLEMENT] = "settlement",
			[DC_INSTITUTION] = "institution", [DC_INSTITUTION_ACCOUNT] = "institution_account",
			[DC_DISCOUNT_BPS] = "discount_bps", [DC_PREPAY_TRANSFER] = "prepay_transfer",
	[DC_PAYMENT_METHOD] = "payment_method"}};
	Datum		v;
	bool		isnull;
	EpRows		r;

	ep_exec_id(&lock, id, "deal");
	r = ep_rows(&cols, 1);
	d->id = id;
	d->txn_no = ep_row_text(&r, 0, DC_TXN_NO);
	d->buyer = ep_row_text(&r, 0, DC_BUYER);
	d->merchant = ep_row_text(&r, 0, DC_MERCHANT);
	d->amount = ep_row_int64(&r, 0, DC_AMOUNT);
	d->debit_account = ep_row_int64(&r, 0, DC_DEBIT_ACCOUNT);
	d->credit_account = ep_row_int64(&r, 0, DC_CREDIT_ACCOUNT);
	d->fee_account = ep_row_int64(&r, 0, DC_FEE_ACCOUNT);
	d->fee_bps = ep_row_int32(&r, 0, DC_FEE_BPS);
	d->inspector = ep_row_text(&r, 0, DC_INSPECTOR);
	d->stage = ep_stage_from_name(ep_row_text(&r, 0, DC_STAGE));
	v = ep_row_datum(&r, 0, DC_DEADLINE, &isnull);
	d->has_deadline = !isnull;
	d->deadline = isnull ? 0 : DatumGetTimestampTz(v);
	d->hold_id = ep_row_int64(&r, 0, DC_HOLD_ID);
	d->capture_transfer = ep_row_int64(&r, 0, DC_CAPTURE_TRANSFER);
	d->fee_transfer = ep_row_int64(&r, 0, DC_FEE_TRANSFER);
	d->held = ep_row_int64(&r, 0, DC_HELD);
	d->captured = ep_row_int64(&r, 0, DC_CAPTURED);
	d->refunded = ep_row_int64(&r, 0, DC_REFUNDED);
	d->fee = ep_row_int64(&r, 0, DC_FEE);
	d->currency = ep_row_text(&r, 0, DC_CURRENCY);
	d->settlement = ep_row_text(&r, 0, DC_SETTLEMENT);
	d->institution = ep_row_text(&r, 0, DC_INSTITUTION);
	d->institution_account = ep_row_int64(&r, 0, DC_INSTITUTION_ACCOUNT);
	d->discount_bps = ep_row_int32(&r, 0, DC_DISCOUNT_BPS);
	d->prepay_transfer = ep_row_int64(&r, 0, DC_PREPAY_TRANSFER);
	d->payment_method = ep_row_text(&r, 0, DC_PAYMENT_METHOD);
	/*
	 * From the locked row itself: a subquery on deal_sources here would
	 * read the snapshot from before a lock wait, and miss a concurrent
	 * change of the sources.
	 */
	d->split = strcmp(d->payment_method, "split") == 0;
	d->model = ep_model_of(d);
}

/* The roles actor plays in deal (possibly several, possibly none) */
int
ep_actor_role(const EpDeal *d, const char *actor)
{
	int			roles = 0;

	if (strcmp(actor, d->buyer) == 0)
		roles |= ACTOR_BUYER;
	if (strcmp(actor, d->merchant) == 0)
		roles |= ACTOR_MERCHANT;
	if (d->inspector && strcmp(actor, d->inspector) == 0)
		roles |= ACTOR_INSPECTOR;
	return roles;
}

/*
 * The start of every lifecycle call: connect SPI, lock the deal and check
 * that actor may take action now.  The caller ends with SPI_finish().
 */
void
ep_deal_begin(int64 deal_id, const char *action, const char *actor, int extra,
			  EpDeal *d, EpStep *step)
{
	SPI_connect();
	ep_lock_deal(deal_id, d);
	ep_deal_check(d, action, actor, extra, step);
}

/*
 * Write the deal's stage (unchanged when stage is NULL), deadline (a term
 * of lifecycle.c's deadline table, "keep" or "none") and money columns.
 */
static void
save_deal(EpDeal *d, const char *stage, const char *deadline)
{
	/* the SQL is set below: the deadline comes from lifecycle.c's table */
	static EpPlan update = EP_PLAN(NULL, INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID,
								   INT8OID, INT8OID, INT8OID, INT8OID, INT8OID);
	/* the money columns, $4..$11 (an id of 0 is NULL) */
	int64		money[] = {d->hold_id, d->capture_transfer, d->fee_transfer, d->held,
	d->captured, d->refunded, d->fee, d->prepay_transfer};
	Datum		values[11];
	char		nulls[11];
	int			i;

	if (update.sql == NULL)
		update.sql = MemoryContextStrdup(TopMemoryContext,
										 psprintf("UPDATE escrow.deals SET stage = coalesce($2, stage), "
												  "       deadline = %s, "
												  "       hold_id = nullif($4, 0), capture_transfer = nullif($5, 0), "
												  "       fee_transfer = nullif($6, 0), held = $7, captured = $8, "
												  "       refunded = $9, fee = $10, prepay_transfer = nullif($11, 0), "
												  "       updated_at = now() "
												  " WHERE id = $1", ep_deadline_sql()));
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(d->id);
	values[1] = stage ? CStringGetTextDatum(stage) : (Datum) 0;
	nulls[1] = stage ? ' ' : 'n';
	values[2] = CStringGetTextDatum(deadline ? deadline : "keep");
	for (i = 0; i < lengthof(money); i++)
		values[3 + i] = Int64GetDatum(money[i]);	/* $4..$11 */
	ep_exec(&update, values, nulls, 0);
}

/* Write the deal's money columns after a step that keeps its stage */
void
ep_deal_save_money(EpDeal *d)
{
	save_deal(d, NULL, NULL);
}

/*
 * Write a checked step: the deal's stage, deadline and money columns, an
 * event, and a notification delivered at commit.
 */
void
ep_deal_commit_step(EpDeal *d, const char *actor, EpStep *step)
{
	save_deal(d, ep_stage_name(step->to), step->deadline);
	ep_deal_event(d->id, step->action, d->stage, step->to, actor, step->payload);
	d->stage = step->to;
}

/*
 * Append an event for deal and queue NOTIFY escrow_events with its id.
 * from may be STAGE_START (no previous stage).  The event carries the
 * deal's parties (which never change once the deal is open), so that a
 * party's row-level security on the outbox is one indexed condition.
 */
void
ep_deal_event(int64 deal, const char *action, EpStage from, EpStage to,
			  const char *actor, const char *payload)
{
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.deal_events (deal, action, from_stage, to_stage, actor, payload, parties) "
		"SELECT $1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'), "
		"       pg_catalog.array_remove(ARRAY[d.buyer, d.merchant, d.institution]::text[], NULL) "
		"  FROM escrow.deals d WHERE d.id = $1",
		INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID);
	Datum		values[6];
	char		nulls[6] = {' ', ' ', from == STAGE_START ? 'n' : ' ', ' ', ' ',
	payload ? ' ' : 'n'};

	values[0] = Int64GetDatum(deal);
	values[1] = CStringGetTextDatum(action);
	values[2] = CStringGetTextDatum(ep_stage_name(from));
	values[3] = CStringGetTextDatum(ep_stage_name(to));
	values[4] = CStringGetTextDatum(actor);
	values[5] = payload ? CStringGetTextDatum(payload) : (Datum) 0;
	if (ep_exec(&insert, values, nulls, 0) != 1)
		elog(ERROR, "escrowpay: no deal %lld to record an event for", (long long) deal);
	Async_Notify("escrow_events", psprintf("%lld", (long long) deal));
}

/*
 * A transfer a deal makes (fee, pre-payment, payout), owned by the deal
 * (escrow.transfer_owners) so that escrow.refund() will not reverse it
 * behind the deal's back.  Returns its id.
 */
int64
ep_deal_transfer(EpDeal *d, int64 debit, int64 credit, int64 amount)
{
	EpOwner		owner = {0};

	owner.deal = d->id;
	return ep_transfer(debit, credit, amount, &owner);
}

/* An event that changes no stage (payments on receivables, codes issued) */
void
ep_deal_event_at(int64 deal, const char *action, const char *stage,
				 const char *actor, const char *payload)
{
	EpStage		s = ep_stage_from_name(stage);

	ep_deal_event(deal, action, s, s, actor, payload);
}

/*
 * A deal served first and not paid yet: a deal its buyer pays (escrow) at
 * delivered (or unpaid) with nothing held or captured.  Its deadline is the payment
 * deadline, not an inspection window.
 */
bool
ep_served_unpaid(const EpModel *model, EpStage stage, int64 held, int64 captured)
{
	return model->buyer_pays && held == 0 && captured == 0 &&
		(stage == STAGE_DELIVERED || stage == STAGE_UNPAID);
}

bool
ep_deal_served_unpaid(const EpDeal *d)
{
	return ep_served_unpaid(d->model, d->stage, d->held, d->captured);
}

/* Refuse (EP007) when the deal's current deadline has passed */
void
ep_deal_require_before_deadline(const EpDeal *d, const char *action)
{
	const char *window = ep_deadline_name(d);

	if (d->has_deadline && d->deadline <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s: the %s closed at %s", d->txn_no, window,
						timestamptz_to_str(d->deadline)),
				 errdetail("%s is allowed only within the %s.", action, window)));
}

/* Refuse unless deal is at stage (EP007), for steps outside the table */
void
ep_deal_require_stage(const EpDeal *d, EpStage stage, const char *action)
{
	if (d->stage != stage)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is %s: %s is not allowed", d->txn_no,
						ep_stage_name(d->stage), action),
				 errdetail("%s is allowed only while the deal is %s.", action,
						   ep_stage_name(stage))));
}

