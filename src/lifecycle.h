/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  The deal lifecycle as data: stages, transitions, deadlines.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_LIFECYCLE_H
#define EP_LIFECYCLE_H

#include "deal.h"
#include "fmgr.h"

/* OPTIONAL: offered only by the settlement models that list the step (model.h) */
#define OPTIONAL	true
#define ALL_MODELS	false

/*
 * Which deals at its stage a party's step is for: any, only a deal served
 * first and not paid yet (ep_deal_served_unpaid), or only one that is not.
 * (A system step is for the deals whose deadline takes it: the deadline
 * table says which.)
 */
typedef enum EpWhen
{
	WHEN_ANY = 0,
	WHEN_SERVED_UNPAID,
	WHEN_NOT_SERVED_UNPAID
} EpWhen;

typedef struct EpTransition
{
	const char *action;
	EpStage		from;
	EpStage		to;
	int			who;
	const char *what;			/* what happens to the money */
	bool		optional;		/* false: every settlement model offers it */
	EpWhen		when;			/* which deals at the stage it is for */
	bool		in_time;		/* refused once the stage's deadline passed */
} EpTransition;


/* A deadline: the stage that runs it, what sets it, what happens when it passes */
typedef struct EpDeadline
{
	const char *term;			/* what a step names in EpStep.deadline */
	const char *column;			/* the interval column of escrow.deals that sets it */
	EpStage		stage;			/* the stage that runs it */
	bool		served_unpaid;	/* run by a deal served first and not paid */
	const char *name;			/* for messages: "ship-by deadline" */
	const char *on_expiry;		/* the system step when it passes */
	const char *on_expiry_owed; /* instead, while the buyer owes its model */
	const char *reason;			/* the reason that step records, or NULL */
} EpDeadline;

extern const char *ep_stage_name(EpStage stage);
extern EpStage ep_stage_from_name(const char *name);
extern bool ep_stage_before_receipt(EpStage stage);
extern const EpTransition *ep_transition(EpStage from, const char *action);
extern EpStage ep_deal_check(const EpDeal *deal, const char *action,
							 const char *actor, int allowed_extra, EpStep *step);
extern const EpDeadline *ep_deadline_of(const EpDeal *deal);
extern const char *ep_deadline_name(const EpDeal *deal);
extern const char *ep_deadline_sql(void);
extern const char *ep_due_stages_sql(void);

/* SQL-callable */
extern Datum escrow_deal_transitions(PG_FUNCTION_ARGS);
extern Datum escrow_next_actions(PG_FUNCTION_ARGS);
extern Datum escrow_state_machine_dot(PG_FUNCTION_ARGS);

#endif							/* EP_LIFECYCLE_H */
