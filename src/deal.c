/*-------------------------------------------------------------------------
 *
 * deal.c
 *	  The deal state machine.  `transitions` below is the only description
 *	  of the lifecycle: every lifecycle function checks its action against
 *	  it (EP007 for a wrong stage, P0002 for an actor that is no party,
 *	  42501 for a party that may not act), the
 *	  views read it through escrow.deal_transitions(), and
 *	  escrow.state_machine_dot() draws it.
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

#include "limits.h"
#include "model.h"

#include "commands/async.h"
#include "fmgr.h"
#include "ledger.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "party.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_deal_transitions);
PG_FUNCTION_INFO_V1(escrow_state_machine_dot);

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_START] = "start",
	[STAGE_ORDER_RECEIVED] = "order_received",
	[STAGE_IDENTITY_CONFIRMED] = "identity_confirmed",
	[STAGE_FUNDS_RESERVED] = "funds_reserved",
	[STAGE_SHIPPED] = "shipped",
	[STAGE_DELIVERED] = "delivered",
	[STAGE_SETTLED] = "settled",
	[STAGE_INVOICED] = "invoiced",
	[STAGE_COMPLETED] = "completed",
	[STAGE_CANCELLED] = "cancelled",
	[STAGE_EXPIRED] = "expired",
	[STAGE_RETURNED] = "returned",
	[STAGE_REFUNDED] = "refunded",
	[STAGE_DISPUTED] = "disputed",
	[STAGE_RESOLVED] = "resolved",
	[STAGE_UNPAID] = "unpaid",
	[STAGE_WRITTEN_OFF] = "written_off",
};

/* OPTIONAL: offered only by the settlement models that list the step (model.h) */
#define OPTIONAL	true

typedef struct EpTransition
{
	const char *action;
	EpStage		from;
	EpStage		to;
	int			who;
	const char *what;			/* what happens to the money */
	bool		optional;		/* false: every settlement model offers it */
} EpTransition;

/*
 * The lifecycle.  Order matters only for display.
 *
 * Every stage that is not final either waits for the platform itself
 * (disputed: escrow_admin) or has a deadline that run_maintenance()
 * enforces (a system step below), or gives the party that waits an exit:
 * funds_reserved (ship-by: expire), shipped (delivery deadline: escalate
 * to a dispute), delivered (inspection window: auto_accept; a deal served
 * first and never paid: payment deadline, mark_unpaid), settled
 * (cooling-off: complete, or invoice_due), returned (refund deadline:
 * auto_confirm_return), unpaid (the merchant writes it off, or the buyer
 * pays late), invoiced (escrowpay holds nothing: the agency has paid and
 * is owed the invoice, whose due date receivables.due_at tracks).  The
 * stages before funds_reserved hold no money and either party may cancel.
 */
static const EpTransition transitions[] = {
	{"open_deal", STAGE_START, STAGE_ORDER_RECEIVED, ACTOR_BUYER, "no money moves"},
	{"confirm_identity", STAGE_ORDER_RECEIVED, STAGE_IDENTITY_CONFIRMED, ACTOR_BUYER,
	"no money moves"},
	{"reserve", STAGE_IDENTITY_CONFIRMED, STAGE_FUNDS_RESERVED, ACTOR_BUYER,
	"hold the amount on the buyer's balance or credit line"},
	{"pay_cash", STAGE_IDENTITY_CONFIRMED, STAGE_FUNDS_RESERVED, ACTOR_BUYER,
	"cash at a terminal, change made, held in the terminal's cash account", OPTIONAL},
	{"serve_first", STAGE_IDENTITY_CONFIRMED, STAGE_DELIVERED, ACTOR_MERCHANT,
	"pay later: service first, no money yet; escrow: pay by the payment deadline",
	OPTIONAL},
	{"pay_cash", STAGE_DELIVERED, STAGE_SETTLED, ACTOR_BUYER,
	"pay later: cash at a terminal settles the deal", OPTIONAL},
	{"mark_unpaid", STAGE_DELIVERED, STAGE_UNPAID, ACTOR_SYSTEM,
	"served first, payment deadline passed: nothing was held, no money moves", OPTIONAL},
	{"pay_cash", STAGE_UNPAID, STAGE_SETTLED, ACTOR_BUYER,
	"paid late: cash at a terminal settles the deal", OPTIONAL},
	{"write_off", STAGE_UNPAID, STAGE_WRITTEN_OFF, ACTOR_MERCHANT,
	"the merchant gives up the unpaid bill: no money moves", OPTIONAL},
	{"mark_shipped", STAGE_FUNDS_RESERVED, STAGE_SHIPPED, ACTOR_MERCHANT,
	"before the ship-by deadline; the delivery deadline starts"},
	{"mark_delivered", STAGE_SHIPPED, STAGE_DELIVERED, ACTOR_MERCHANT | ACTOR_INSPECTOR,
	"before the delivery deadline; the inspection window starts"},
	{"escalate", STAGE_SHIPPED, STAGE_DISPUTED, ACTOR_SYSTEM,
	"delivery deadline passed: opened as a dispute, money frozen"},
	{"confirm_inspection", STAGE_DELIVERED, STAGE_SETTLED, ACTOR_BUYER | ACTOR_INSPECTOR,
	"capture the hold to the merchant, fee to the fee account"},
	{"auto_accept", STAGE_DELIVERED, STAGE_SETTLED, ACTOR_SYSTEM,
	"inspection window passed: capture as confirm_inspection"},
	{"complete", STAGE_SETTLED, STAGE_COMPLETED, ACTOR_SYSTEM,
	"cooling-off passed (agency: and the invoice paid)"},
	{"invoice_due", STAGE_SETTLED, STAGE_INVOICED, ACTOR_SYSTEM,
	"cooling-off passed, the invoice unpaid: the buyer owes the agency", OPTIONAL},
	{"pay_invoice", STAGE_INVOICED, STAGE_COMPLETED, ACTOR_BUYER,
	"the invoice paid in full", OPTIONAL},
	{"cancel_deal", STAGE_ORDER_RECEIVED, STAGE_CANCELLED, ACTOR_BUYER | ACTOR_MERCHANT,
	"no money moves"},
	{"cancel_deal", STAGE_IDENTITY_CONFIRMED, STAGE_CANCELLED, ACTOR_BUYER | ACTOR_MERCHANT,
	"no money moves"},
	{"cancel_deal", STAGE_FUNDS_RESERVED, STAGE_CANCELLED, ACTOR_BUYER | ACTOR_MERCHANT,
	"release the hold"},
	{"expire", STAGE_FUNDS_RESERVED, STAGE_EXPIRED, ACTOR_SYSTEM,
	"not shipped in time: release the hold"},
	{"reject_delivery", STAGE_DELIVERED, STAGE_RETURNED, ACTOR_BUYER | ACTOR_INSPECTOR,
	"within the inspection window; the hold stays until the return is confirmed"},
	{"request_return", STAGE_SETTLED, STAGE_RETURNED, ACTOR_BUYER,
	"within cooling-off; refund when the return is confirmed"},
	{"confirm_return", STAGE_RETURNED, STAGE_REFUNDED, ACTOR_MERCHANT,
	"release the hold, or refund the capture and the fee"},
	{"auto_confirm_return", STAGE_RETURNED, STAGE_REFUNDED, ACTOR_SYSTEM,
	"refund deadline passed: as confirm_return"},
	{"open_dispute", STAGE_SHIPPED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_DELIVERED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_SETTLED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_RETURNED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT,
	"before the refund deadline; money frozen"},
	{"resolve_dispute", STAGE_DISPUTED, STAGE_RESOLVED, ACTOR_ADMIN,
	"split the amount exactly between buyer and merchant; financed: advance, fee and receivable follow the merchant's share"},
};

const char *
ep_stage_name(EpStage stage)
{
	return stage_names[stage];
}

static EpStage
stage_from_name(const char *name)
{
	int			s;

	for (s = 0; s < STAGE_COUNT; s++)
		if (strcmp(stage_names[s], name) == 0)
			return (EpStage) s;
	elog(ERROR, "escrowpay: unknown deal stage \"%s\"", name);
	pg_unreachable();
}

/* "buyer or inspector" */
static char *
role_names(int who)
{
	StringInfoData s;
	static const struct
	{
		int			bit;
		const char *name;
	}			roles[] = {
		{ACTOR_BUYER, "buyer"}, {ACTOR_MERCHANT, "merchant"},
		{ACTOR_INSPECTOR, "inspector"}, {ACTOR_SYSTEM, "system"},
		{ACTOR_ADMIN, "escrow_admin"},
	};
	size_t		i;

	initStringInfo(&s);
	for (i = 0; i < lengthof(roles); i++)
		if (who & roles[i].bit)
			appendStringInfo(&s, "%s%s", s.len ? " or " : "", roles[i].name);
	return s.data;
}

static bool
offered(const EpTransition *t, const EpModel *model)
{
	return !t->optional || ep_model_offers(model, t->action);
}

/* "escrow, agency", or "all" */
static char *
model_names(const EpTransition *t)
{
	return t->optional ? ep_model_list(t->action, ", ") : "all";
}

/* The actions a deal of this model may take from a stage, with who may */
static char *
allowed_actions(EpStage from, const EpModel *model)
{
	StringInfoData s;
	size_t		i;

	initStringInfo(&s);
	for (i = 0; i < lengthof(transitions); i++)
		if (transitions[i].from == from && offered(&transitions[i], model))
			appendStringInfo(&s, "%s%s (%s)", s.len ? ", " : "",
							 transitions[i].action, role_names(transitions[i].who));
	if (s.len == 0)
		appendStringInfoString(&s, "none (final stage)");
	return s.data;
}

/* Lock deal id FOR UPDATE (P0002 when it does not exist) */
void
ep_lock_deal(int64 id, EpDeal *d)
{
	static EpPlan lock = {NULL,
		"SELECT txn_no, buyer, merchant, amount, debit_account, credit_account, "
		"       coalesce(fee_account, 0), fee_bps, inspector, stage, deadline, "
		"       coalesce(hold_id, 0), coalesce(capture_transfer, 0), "
		"       coalesce(fee_transfer, 0), held, captured, refunded, fee, currency, "
		"       settlement, institution, coalesce(institution_account, 0), discount_bps, "
		"       coalesce(prepay_transfer, 0), payment_method "
		"  FROM escrow.deals WHERE id = $1 FOR UPDATE",
	1, {INT8OID}};
	Datum		values[1];
	Datum		v;
	bool		isnull;

	values[0] = Int64GetDatum(id);
	if (ep_exec(&lock, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("deal %lld does not exist", (long long) id)));
	d->id = id;
	d->txn_no = ep_text(0, 1);
	d->buyer = ep_text(0, 2);
	d->merchant = ep_text(0, 3);
	d->amount = ep_int64(0, 4);
	d->debit_account = ep_int64(0, 5);
	d->credit_account = ep_int64(0, 6);
	d->fee_account = ep_int64(0, 7);
	d->fee_bps = DatumGetInt32(ep_datum(0, 8, &isnull));
	d->inspector = ep_text(0, 9);
	d->stage = stage_from_name(ep_text(0, 10));
	v = ep_datum(0, 11, &isnull);
	d->has_deadline = !isnull;
	d->deadline = isnull ? 0 : DatumGetTimestampTz(v);
	d->hold_id = ep_int64(0, 12);
	d->capture_transfer = ep_int64(0, 13);
	d->fee_transfer = ep_int64(0, 14);
	d->held = ep_int64(0, 15);
	d->captured = ep_int64(0, 16);
	d->refunded = ep_int64(0, 17);
	d->fee = ep_int64(0, 18);
	d->currency = ep_text(0, 19);
	d->settlement = ep_text(0, 20);
	d->institution = ep_text(0, 21);
	d->institution_account = ep_int64(0, 22);
	d->discount_bps = DatumGetInt32(ep_datum(0, 23, &isnull));
	d->prepay_transfer = ep_int64(0, 24);
	d->payment_method = ep_text(0, 25);
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
 * Check that action may be taken now on deal by actor: refuse with EP007
 * naming the stage and the allowed actions when the stage does not allow
 * it, and with 42501 when actor (plus the caller's own roles, `extra`) may
 * not take it.  Fills in step->action and step->to.
 */
EpStage
ep_deal_check(const EpDeal *d, const char *action, const char *actor, int extra,
			  EpStep *step)
{
	const EpTransition *t = NULL;
	size_t		i;
	int			roles;

	for (i = 0; i < lengthof(transitions); i++)
		if (transitions[i].from == d->stage && strcmp(transitions[i].action, action) == 0)
			t = &transitions[i];
	if (t == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is %s: %s is not allowed", d->txn_no,
						ep_stage_name(d->stage), action),
				 errdetail("Allowed now: %s.", allowed_actions(d->stage, d->model))));
	if (!offered(t, d->model))
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is settled by %s: %s is not offered for %s deals", d->txn_no,
						d->settlement, action, d->settlement),
				 errdetail("%s is offered for %s deals; allowed now: %s.", action,
						   model_names(t), allowed_actions(d->stage, d->model))));

	roles = ep_actor_role(d, actor) | extra;
	if ((roles & t->who) == 0)
	{
		/* no part in the deal: an unknown actor is refused as such (P0002) */
		if (roles == 0 && (t->who & ACTOR_PARTIES) != 0)
			ep_require_known_actor(actor);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"%s\" may not %s deal %s", actor, action, d->txn_no),
				 errdetail("Only the deal's %s may.", role_names(t->who))));
	}

	memset(step, 0, sizeof(*step));
	step->action = action;
	step->to = t->to;
	return t->to;
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
 * Write the deal's stage (unchanged when stage is NULL), deadline and
 * money columns.
 */
static void
save_deal(EpDeal *d, const char *stage, const char *deadline)
{
	static EpPlan update = {NULL,
		"UPDATE escrow.deals SET stage = coalesce($2, stage), "
		"       deadline = CASE $3 WHEN 'keep' THEN deadline "
		"                          WHEN 'ship' THEN clock_timestamp() + ship_within "
		"                          WHEN 'deliver' THEN clock_timestamp() + deliver_within "
		"                          WHEN 'inspect' THEN clock_timestamp() + inspection_window "
		"                          WHEN 'pay' THEN clock_timestamp() + pay_within "
		"                          WHEN 'return' THEN clock_timestamp() + cooling_off "
		"                          WHEN 'refund' THEN clock_timestamp() + refund_within END, "
		"       hold_id = nullif($4, 0), capture_transfer = nullif($5, 0), "
		"       fee_transfer = nullif($6, 0), held = $7, captured = $8, "
		"       refunded = $9, fee = $10, prepay_transfer = nullif($11, 0), "
		"       updated_at = now() "
		" WHERE id = $1",
	11, {INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID,
		INT8OID, INT8OID, INT8OID, INT8OID, INT8OID}};
	Datum		values[11];
	char		nulls[11];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(d->id);
	values[1] = stage ? CStringGetTextDatum(stage) : (Datum) 0;
	nulls[1] = stage ? ' ' : 'n';
	values[2] = CStringGetTextDatum(deadline ? deadline : "keep");
	values[3] = Int64GetDatum(d->hold_id);
	values[4] = Int64GetDatum(d->capture_transfer);
	values[5] = Int64GetDatum(d->fee_transfer);
	values[6] = Int64GetDatum(d->held);
	values[7] = Int64GetDatum(d->captured);
	values[8] = Int64GetDatum(d->refunded);
	values[9] = Int64GetDatum(d->fee);
	values[10] = Int64GetDatum(d->prepay_transfer);
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
	static EpPlan insert = {NULL,
		"INSERT INTO escrow.deal_events (deal, action, from_stage, to_stage, actor, payload, parties) "
		"SELECT $1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'), "
		"       pg_catalog.array_remove(ARRAY[d.buyer, d.merchant, d.institution]::text[], NULL) "
		"  FROM escrow.deals d WHERE d.id = $1",
	6, {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}};
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
	EpStage		s = stage_from_name(stage);

	ep_deal_event(deal, action, s, s, actor, payload);
}

/*
 * A deal served first and not paid yet: a deal its buyer pays (escrow) at
 * delivered (or unpaid) with nothing held or captured.  Its deadline is the payment
 * deadline, not an inspection window.
 */
bool
ep_deal_served_unpaid(const EpDeal *d)
{
	return d->model->buyer_pays && d->held == 0 && d->captured == 0 &&
		(d->stage == STAGE_DELIVERED || d->stage == STAGE_UNPAID);
}

/* What the deadline of the deal's current stage is called */
static const char *
deadline_name(const EpDeal *d)
{
	switch (d->stage)
	{
		case STAGE_FUNDS_RESERVED:
			return "ship-by deadline";
		case STAGE_SHIPPED:
			return "delivery deadline";
		case STAGE_DELIVERED:
			return ep_deal_served_unpaid(d) ? "payment deadline" : "inspection window";
		case STAGE_SETTLED:
			return "cooling-off period";
		case STAGE_RETURNED:
			return "refund deadline";
		default:
			return "deadline";
	}
}

/* Refuse (EP007) when the deal's current deadline has passed */
void
ep_deal_require_before_deadline(const EpDeal *d, const char *action)
{
	const char *window = deadline_name(d);

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

/*
 * escrow.deal_transitions()
 *	 RETURNS TABLE(action text, from_stage text, to_stage text,
 *				   actors text, money text, settlements text)
 */
Datum
escrow_deal_transitions(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < lengthof(transitions); i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		values[0] = CStringGetTextDatum(transitions[i].action);
		values[1] = CStringGetTextDatum(ep_stage_name(transitions[i].from));
		values[2] = CStringGetTextDatum(ep_stage_name(transitions[i].to));
		values[3] = CStringGetTextDatum(role_names(transitions[i].who));
		values[4] = CStringGetTextDatum(transitions[i].what);
		values[5] = CStringGetTextDatum(model_names(&transitions[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * escrow.state_machine_dot() RETURNS text
 *
 * The lifecycle as a Graphviz digraph, generated from the transition table.
 */
Datum
escrow_state_machine_dot(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	StringInfoData s;
	size_t		i;
	int			st;

	initStringInfo(&s);
	appendStringInfoString(&s,
						   "digraph escrowpay_deal {\n"
						   "  rankdir=LR;\n"
						   "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
						   "  edge [fontname=\"Helvetica\", fontsize=10];\n"
						   "  start [shape=point];\n");
	for (st = STAGE_COMPLETED; st < STAGE_COUNT; st++)
	{
		bool		final = true;

		for (i = 0; i < lengthof(transitions); i++)
			if (transitions[i].from == st)
				final = false;
		if (final)
			appendStringInfo(&s, "  %s [peripheries=2];\n", ep_stage_name(st));
	}
	for (i = 0; i < lengthof(transitions); i++)
		appendStringInfo(&s, "  %s -> %s [label=\"%s\\n(%s)%s%s%s\"];\n",
						 ep_stage_name(transitions[i].from),
						 ep_stage_name(transitions[i].to),
						 transitions[i].action, role_names(transitions[i].who),
						 transitions[i].optional ? "\\n[" : "",
						 transitions[i].optional ? model_names(&transitions[i]) : "",
						 transitions[i].optional ? "]" : "");
	appendStringInfoString(&s, "}\n");
	PG_RETURN_TEXT_P(cstring_to_text(s.data));
}
