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
#include "money.h"
#include "party.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_deal_transitions);
PG_FUNCTION_INFO_V1(escrow_next_actions);
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
 *
 * A party's step may be for some of the deals at its stage only (when: a
 * deal served first and not paid yet pays at a terminal, one that is paid
 * is inspected), or only until the stage's deadline (in_time); a system
 * step is for the deals whose deadline takes it (deadlines[] below).  The
 * checks of the steps and the actions listed for a deal
 * (escrow.next_actions(), deal_progress.next_actions, the "Allowed now"
 * of a refusal) both come from here, so that what is listed is what is
 * accepted.
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
	"pay later: cash at a terminal settles the deal", OPTIONAL, WHEN_SERVED_UNPAID},
	{"mark_unpaid", STAGE_DELIVERED, STAGE_UNPAID, ACTOR_SYSTEM,
	"served first, payment deadline passed: nothing was held, no money moves", OPTIONAL},
	{"pay_cash", STAGE_UNPAID, STAGE_SETTLED, ACTOR_BUYER,
	"paid late: cash at a terminal settles the deal", OPTIONAL},
	{"write_off", STAGE_UNPAID, STAGE_WRITTEN_OFF, ACTOR_MERCHANT,
	"the merchant gives up the unpaid bill: no money moves", OPTIONAL},
	{"mark_shipped", STAGE_FUNDS_RESERVED, STAGE_SHIPPED, ACTOR_MERCHANT,
	"before the ship-by deadline; the delivery deadline starts", .in_time = true},
	{"mark_delivered", STAGE_SHIPPED, STAGE_DELIVERED, ACTOR_MERCHANT | ACTOR_INSPECTOR,
	"before the delivery deadline; the inspection window starts", .in_time = true},
	{"escalate", STAGE_SHIPPED, STAGE_DISPUTED, ACTOR_SYSTEM,
	"delivery deadline passed: opened as a dispute, money frozen"},
	{"confirm_inspection", STAGE_DELIVERED, STAGE_SETTLED, ACTOR_BUYER | ACTOR_INSPECTOR,
	"capture the hold to the merchant, fee to the fee account", ALL_MODELS,
	WHEN_NOT_SERVED_UNPAID},
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
	"within the inspection window; the hold stays until the return is confirmed",
	.in_time = true},
	{"request_return", STAGE_SETTLED, STAGE_RETURNED, ACTOR_BUYER,
	"within cooling-off; refund when the return is confirmed", .in_time = true},
	{"confirm_return", STAGE_RETURNED, STAGE_REFUNDED, ACTOR_MERCHANT,
	"release the hold, or refund the capture and the fee"},
	{"auto_confirm_return", STAGE_RETURNED, STAGE_REFUNDED, ACTOR_SYSTEM,
	"refund deadline passed: as confirm_return"},
	{"open_dispute", STAGE_SHIPPED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_DELIVERED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_SETTLED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT, "money frozen"},
	{"open_dispute", STAGE_RETURNED, STAGE_DISPUTED, ACTOR_BUYER | ACTOR_MERCHANT,
	"before the refund deadline; money frozen", .in_time = true},
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

/*
 * What decides which steps a deal may take now besides its stage and
 * model: whether it was served first and is not paid yet, whether the
 * buyer still owes its model (an agency's invoice), whether the stage's
 * deadline has passed
 */
typedef struct EpSituation
{
	EpStage		stage;
	const EpModel *model;
	bool		served_unpaid;
	bool		owed;
	bool		overdue;
} EpSituation;

static const EpDeadline *deadline_for(EpStage stage, bool served_unpaid);

/* Whether transition t is a step a deal in situation s may take */
static bool
transition_open(const EpTransition *t, const EpSituation *s)
{
	if (t->from != s->stage || !offered(t, s->model))
		return false;
	if (t->who & ACTOR_SYSTEM)
	{
		/* the step run_maintenance() takes when the stage's deadline passes */
		const EpDeadline *dl = deadline_for(s->stage, s->served_unpaid);

		return dl != NULL &&
			strcmp(t->action, s->owed && dl->on_expiry_owed ?
				   dl->on_expiry_owed : dl->on_expiry) == 0;
	}
	if ((t->when == WHEN_SERVED_UNPAID && !s->served_unpaid) ||
		(t->when == WHEN_NOT_SERVED_UNPAID && s->served_unpaid))
		return false;
	return !(t->in_time && s->overdue);
}

/* The actions a deal in situation s may take, with who may; NULL: none */
static char *
allowed_actions(const EpSituation *s)
{
	StringInfoData out;
	size_t		i;

	initStringInfo(&out);
	for (i = 0; i < lengthof(transitions); i++)
		if (transition_open(&transitions[i], s))
			appendStringInfo(&out, "%s%s (%s)", out.len ? ", " : "",
							 transitions[i].action, role_names(transitions[i].who));
	return out.len ? out.data : NULL;
}

/* What a refusal lists as allowed now for deal d (owed: asks its model) */
static char *
allowed_now(const EpDeal *d)
{
	EpSituation s;
	int64		receivable;
	char	   *list;

	s.stage = d->stage;
	s.model = d->model;
	s.served_unpaid = ep_deal_served_unpaid(d);
	s.owed = d->model->owed != NULL && d->model->owed(d, &receivable) > 0;
	s.overdue = d->has_deadline && d->deadline <= GetCurrentTimestamp();
	list = allowed_actions(&s);
	return list ? list : "none (final stage)";
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
	bool		served_unpaid = ep_deal_served_unpaid(d);

	/* (what is allowed now is worked out before ereport: it may ask the model) */
	if (t == NULL)
	{
		char	   *allowed = allowed_now(d);

		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is %s: %s is not allowed", d->txn_no,
						ep_stage_name(d->stage), action),
				 errdetail("Allowed now: %s.", allowed)));
	}
	if (!offered(t, d->model))
	{
		char	   *allowed = allowed_now(d);

		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is settled by %s: %s is not offered for %s deals", d->txn_no,
						d->settlement, action, d->settlement),
				 errdetail("%s is offered for %s deals; allowed now: %s.", action,
						   model_names(t), allowed)));
	}

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

	/* a step for some of the deals at the stage only, or only in time */
	if ((t->when == WHEN_SERVED_UNPAID && !served_unpaid) ||
		(t->when == WHEN_NOT_SERVED_UNPAID && served_unpaid))
	{
		char	   *allowed = allowed_now(d);

		if (served_unpaid)
			ereport(ERROR,
					(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
					 errmsg("deal %s has not been paid", d->txn_no),
					 errdetail("It was served first; the buyer pays at a terminal (escrow.pay_cash). Allowed now: %s.",
							   allowed),
					 errhint("Nothing can be captured before then.")));
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is already paid", d->txn_no),
				 errdetail("%s at this stage is for a deal served first and not paid yet; allowed now: %s.",
						   action, allowed)));
	}
	if (t->in_time)
		ep_deal_require_before_deadline(d, action);

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
static const EpDeadline *
deadline_for(EpStage stage, bool served_unpaid)
{
	size_t		i;

	for (i = 0; i < lengthof(deadlines); i++)
		if (deadlines[i].stage == stage && deadlines[i].served_unpaid == served_unpaid)
			return &deadlines[i];
	return NULL;
}

const EpDeadline *
ep_deadline_of(const EpDeal *d)
{
	return deadline_for(d->stage, ep_deal_served_unpaid(d));
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
 * escrow.next_actions(stage text, settlement text, held bigint,
 *					   captured bigint, overdue boolean,
 *					   receivable_open boolean) RETURNS text
 *
 * The steps a deal at stage, of this settlement model, holding and having
 * captured so much, past its stage's deadline or not, with its receivable
 * (an invoice, a loan) open or not, may take now, with who may take each:
 * "mark_shipped (merchant), cancel_deal (buyer or merchant), expire
 * (system)"; NULL when none (a final stage).  What the steps' checks
 * accept (a system step: the one run_maintenance() takes when the
 * deadline passes); escrow.deal_progress lists it for each deal.
 */
Datum
escrow_next_actions(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpSituation s;
	char	   *stage;
	char	   *settlement;
	char	   *list;
	int			i;

	ep_arg_required(fcinfo, 0, "stage");
	ep_arg_required(fcinfo, 1, "settlement");
	ep_arg_required(fcinfo, 2, "held");
	ep_arg_required(fcinfo, 3, "captured");
	stage = text_to_cstring(PG_GETARG_TEXT_PP(0));
	settlement = text_to_cstring(PG_GETARG_TEXT_PP(1));
	for (i = 0; i < STAGE_COUNT && strcmp(stage_names[i], stage) != 0; i++)
		;
	if (i == STAGE_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown deal stage \"%s\"", stage),
				 errhint("The stages are those of escrow.deal_transitions().")));
	s.stage = (EpStage) i;
	s.model = ep_model_by_name(settlement);
	if (s.model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown settlement \"%s\"", settlement),
				 errhint("Use %s.", ep_model_list(NULL, " or "))));
	s.served_unpaid = ep_served_unpaid(s.model, s.stage, PG_GETARG_INT64(2), PG_GETARG_INT64(3));
	s.overdue = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	s.owed = s.model->owed != NULL && !PG_ARGISNULL(5) && PG_GETARG_BOOL(5);
	list = allowed_actions(&s);
	if (list == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(list));
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
