/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  The deal lifecycle as data, its single source: the stages, the
 *	  transition table (which step goes from which stage to which, who
 *	  may take it, what happens to the money, which settlement models
 *	  offer it) and the deadline table (which stage runs which deadline,
 *	  which term of the deal sets it, and which system step
 *	  run_maintenance() takes when it passes).
 *
 *	  Generated from these tables: the checks of every step (deal.c),
 *	  escrow.deal_transitions() (which the views read),
 *	  escrow.state_machine_dot() (docs/deal_lifecycle.dot), the deadline
 *	  update of a step and run_maintenance()'s due predicate.  The SQL
 *	  side that cannot be generated (the partial index of due deals, the
 *	  stage columns of escrow.deal_progress, the CHECK on the settlement
 *	  model) is verified against them by sql/29_single_sources.sql.
 *
 *-------------------------------------------------------------------------
 */
#include "lifecycle.h"

#include "limits.h"
#include "model.h"
#include "party.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_deal_transitions);
PG_FUNCTION_INFO_V1(escrow_state_machine_dot);

#define STAGE_NAME(id, name) [STAGE_##id] = name,
static const char *const stage_names[STAGE_COUNT] = {EP_STAGES(STAGE_NAME)};

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

/* The stages at which a deal's payment sources may still change */
static const bool before_receipt[STAGE_COUNT] = {
	[STAGE_ORDER_RECEIVED] = true,
	[STAGE_IDENTITY_CONFIRMED] = true,
	[STAGE_FUNDS_RESERVED] = true,
	[STAGE_SHIPPED] = true,
	[STAGE_DELIVERED] = true,
};

bool
ep_stage_before_receipt(EpStage stage)
{
	return before_receipt[stage];
}

const char *
ep_stage_name(EpStage stage)
{
	return stage_names[stage];
}

EpStage
ep_stage_from_name(const char *name)
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

/* The transition of action from stage, or NULL */
const EpTransition *
ep_transition(EpStage from, const char *action)
{
	size_t		i;

	for (i = 0; i < lengthof(transitions); i++)
		if (transitions[i].from == from && strcmp(transitions[i].action, action) == 0)
			return &transitions[i];
	return NULL;
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
	const EpTransition *t = ep_transition(d->stage, action);
	int			roles;

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
 * The deadlines: each runs in one stage (delivered runs one of two: the
 * inspection window, or the payment deadline of a deal served first and
 * not paid), starts when a step names its term (EpStep.deadline), is set
 * from the deal's column of that term (copied from the merchant's terms at
 * open_deal, or open_deal's ship_within), and when it passes
 * run_maintenance() takes the system step on_expiry (on_expiry_owed when
 * the buyer still owes the deal's model, e.g. an agency's invoice).
 */
static const EpDeadline deadlines[] = {
	{"ship", "ship_within", STAGE_FUNDS_RESERVED, false, "ship-by deadline",
	"expire", NULL, "not shipped by the deadline"},
	{"deliver", "deliver_within", STAGE_SHIPPED, false, "delivery deadline",
	"escalate", NULL, "not delivered by the deadline"},
	{"inspect", "inspection_window", STAGE_DELIVERED, false, "inspection window",
	"auto_accept", NULL, NULL},
	{"pay", "pay_within", STAGE_DELIVERED, true, "payment deadline",
	"mark_unpaid", NULL, "not paid by the deadline"},
	{"return", "cooling_off", STAGE_SETTLED, false, "cooling-off period",
	"complete", "invoice_due", NULL},
	{"refund", "refund_within", STAGE_RETURNED, false, "refund deadline",
	"auto_confirm_return", NULL, NULL},
};

/*
 * The deadline the deal's current stage runs, or NULL.  (Whether it is
 * set is the deal's has_deadline: a stage entered by a step that named no
 * term, e.g. delivered through serve_first of an agency deal, runs the
 * inspection window all the same.)
 */
const EpDeadline *
ep_deadline_of(const EpDeal *d)
{
	bool		served_unpaid = ep_deal_served_unpaid(d);
	size_t		i;

	for (i = 0; i < lengthof(deadlines); i++)
		if (deadlines[i].stage == d->stage && deadlines[i].served_unpaid == served_unpaid)
			return &deadlines[i];
	return NULL;
}

/* What the deadline of the deal's current stage is called */
const char *
ep_deadline_name(const EpDeal *d)
{
	const EpDeadline *dl = ep_deadline_of(d);

	return dl ? dl->name : "deadline";
}

/*
 * The new deadline of a step, as SQL over escrow.deals with the term as
 * $3: "keep" keeps it, a term of the table starts it from its column,
 * anything else ("none") clears it.  Built once per backend.
 */
const char *
ep_deadline_sql(void)
{
	static char *sql = NULL;

	if (sql == NULL)
	{
		StringInfoData s;
		size_t		i;

		initStringInfo(&s);
		appendStringInfoString(&s, "CASE $3 WHEN 'keep' THEN deadline");
		for (i = 0; i < lengthof(deadlines); i++)
			appendStringInfo(&s, " WHEN '%s' THEN clock_timestamp() + %s",
							 deadlines[i].term, deadlines[i].column);
		appendStringInfoString(&s, " END");
		sql = MemoryContextStrdup(TopMemoryContext, s.data);
		pfree(s.data);
	}
	return sql;
}

/* Whether action is a system step from stage in the transition table */
static bool
system_step(EpStage from, const char *action)
{
	const EpTransition *t = ep_transition(from, action);

	return t != NULL && (t->who & ACTOR_SYSTEM) != 0;
}

/*
 * The stages that run a deadline, as an SQL list ('funds_reserved',
 * 'shipped', ...): run_maintenance()'s due predicate, which the partial
 * index escrow.deals_due must match.  Built once per backend; first
 * checks that every deadline's system steps leave its stage in the
 * transition table.
 */
const char *
ep_due_stages_sql(void)
{
	static char *sql = NULL;

	if (sql == NULL)
	{
		StringInfoData s;
		bool		seen[STAGE_COUNT] = {false};
		size_t		i;

		initStringInfo(&s);
		for (i = 0; i < lengthof(deadlines); i++)
		{
			const EpDeadline *dl = &deadlines[i];

			if (!system_step(dl->stage, dl->on_expiry) ||
				(dl->on_expiry_owed && !system_step(dl->stage, dl->on_expiry_owed)))
				elog(ERROR, "escrowpay: deadline \"%s\" has no system step from %s",
					 dl->term, ep_stage_name(dl->stage));
			if (seen[dl->stage])
				continue;
			seen[dl->stage] = true;
			appendStringInfo(&s, "%s'%s'", s.len ? ", " : "", ep_stage_name(dl->stage));
		}
		/* and every system step is some deadline's */
		for (i = 0; i < lengthof(transitions); i++)
		{
			size_t		k;
			bool		found = false;

			if ((transitions[i].who & ACTOR_SYSTEM) == 0)
				continue;
			for (k = 0; k < lengthof(deadlines); k++)
				if (deadlines[k].stage == transitions[i].from &&
					(strcmp(deadlines[k].on_expiry, transitions[i].action) == 0 ||
					 (deadlines[k].on_expiry_owed &&
					  strcmp(deadlines[k].on_expiry_owed, transitions[i].action) == 0)))
					found = true;
			if (!found)
				elog(ERROR, "escrowpay: system step \"%s\" from %s has no deadline",
					 transitions[i].action, ep_stage_name(transitions[i].from));
		}
		sql = MemoryContextStrdup(TopMemoryContext, s.data);
		pfree(s.data);
	}
	return sql;
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
