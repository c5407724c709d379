/*-------------------------------------------------------------------------
 *
 * deal_maintenance.c
 *	  escrow.run_maintenance(): the system steps of deals whose deadline
 *	  passed (expire, escalate, auto_accept, mark_unpaid, complete,
 *	  invoice_due, auto_confirm_return), each deal in a subtransaction of
 *	  its own.  The background worker (maintenance.c) calls it.
 *
 *-------------------------------------------------------------------------
 */
#include "deal_maintenance.h"

#include "access/xact.h"
#include "deal.h"
#include "deal_steps.h"
#include "model.h"
#include "payload.h"
#include "funcapi.h"
#include "lifecycle.h"
#include "limits.h"
#include "money.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_run_maintenance);

/*
 * What maintenance does to a deal whose deadline passed (the order of
 * run_maintenance()'s rows)
 */
#define EP_WORK(X) \
	X(EXPIRE, "expire")			/* funds_reserved: not shipped */ \
	X(AUTO_ACCEPT, "auto_accept")	/* delivered: inspection window passed */ \
	X(COMPLETE, "complete")		/* settled: cooling-off passed */ \
	X(INVOICE_DUE, "invoice_due")	/* settled agency deal, invoice unpaid */ \
	X(ESCALATE, "escalate")		/* shipped: not delivered */ \
	X(MARK_UNPAID, "mark_unpaid")	/* delivered, served first: not paid */ \
	X(AUTO_CONFIRM_RETURN, "auto_confirm_return")	/* returned: not confirmed by the merchant */

#define WORK_ENUM(id, action) WORK_##id,
typedef enum EpWork
{
	EP_WORK(WORK_ENUM)
	WORK_COUNT,
	WORK_NONE = WORK_COUNT		/* not due after all */
} EpWork;

#define WORK_ACTION(id, action) [WORK_##id] = action,
static const char *const work_actions[WORK_COUNT] = {EP_WORK(WORK_ACTION)};

/* What the buyer still owes before the deal may complete (its model's owed) */
static int64
buyer_owes(const EpDeal *d, int64 *receivable)
{
	int64		ignored;

	return d->model->owed ? d->model->owed(d, receivable ? receivable : &ignored) : 0;
}

/* The payload of invoice_due: which invoice, and what is outstanding */
static char *
invoice_payload(const EpDeal *d)
{
	StringInfoData p;
	int64		invoice;
	int64		outstanding = buyer_owes(d, &invoice);

	ep_json_begin(&p);
	ep_json_int(&p, "invoice", invoice);
	ep_json_int(&p, "outstanding", outstanding);
	return ep_json_end(&p);
}

/*
 * The step a due deal takes: the system step of the deadline its stage
 * runs (lifecycle.c), or the alternative while the buyer still owes
 */
static EpWork
work_of(const EpDeal *d, const char **reason)
{
	const EpDeadline *dl = ep_deadline_of(d);
	const char *action;
	int			w;

	if (dl == NULL)
		return WORK_NONE;
	/* e.g. a payment-agency deal whose invoice is unpaid waits as invoiced */
	action = dl->on_expiry_owed && buyer_owes(d, NULL) > 0 ? dl->on_expiry_owed : dl->on_expiry;
	*reason = dl->reason;
	for (w = 0; w < WORK_COUNT; w++)
		if (strcmp(work_actions[w], action) == 0)
			return (EpWork) w;
	elog(ERROR, "escrowpay: system step \"%s\" is not one run_maintenance() takes", action);
	pg_unreachable();
}

/* Take a due deal's next step; returns which */
static EpWork
maintain_deal(int64 id)
{
	EpDeal		d;
	EpStep		step;
	EpWork		w;
	const char *reason = NULL;

	ep_lock_deal(id, &d);
	w = work_of(&d, &reason);
	if (w == WORK_NONE)
		return w;
	ep_deal_check(&d, work_actions[w], "system", ACTOR_SYSTEM, &step);
	switch (w)
	{
		case WORK_EXPIRE:
			ep_deal_release_step(&d, "system", reason, &step);
			break;
		case WORK_ESCALATE:
		case WORK_MARK_UNPAID:
			ep_deal_note_step(&d, "system", reason, "none", &step);
			break;
		case WORK_AUTO_ACCEPT:
			ep_deal_settle(&d, "system", &step);
			break;
		case WORK_INVOICE_DUE:
			step.payload = invoice_payload(&d);
			step.deadline = "none";
			ep_deal_commit_step(&d, "system", &step);
			break;
		case WORK_AUTO_CONFIRM_RETURN:
			ep_deal_return_step(&d, "system", &step);
			break;
		default:
			step.deadline = "none";
			ep_deal_commit_step(&d, "system", &step);
			break;
	}
	return w;
}

/*
 * escrow.run_maintenance(max_deals integer DEFAULT 100)
 *	 RETURNS TABLE(action text, deals integer)
 *
 * Takes up to max_deals deals whose deadline has passed (skipping deals
 * other transactions hold): reserved deals never shipped expire (hold
 * released), delivered deals past the inspection window are accepted and
 * settled, settled deals past cooling-off complete (a payment-agency deal
 * whose invoice is unpaid becomes invoiced instead), shipped deals never
 * delivered are escalated to a dispute (money stays frozen for the
 * adjudicator), deals served first and never paid are marked unpaid, and
 * returns the merchant did not confirm in time are confirmed for it
 * (refunded).  A deal that fails is reported (WARNING) and counted as
 * failed; the others go on.
 */
Datum
escrow_run_maintenance(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	/* the stages of lifecycle.c's deadline table: the partial index deals_due */
	static EpPlan due = EP_PLAN(NULL, INT4OID);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			counts[WORK_COUNT] = {0};
	volatile int failed = 0;
	Datum		values[1];
	int64	   *ids;
	uint64		n;
	uint64		i;
	int			w;

	(void) ep_arg_positive(fcinfo, 0, "max_deals");
	InitMaterializedSRF(fcinfo, 0);
	if (due.sql == NULL)
		due.sql = MemoryContextStrdup(TopMemoryContext,
									  psprintf("SELECT id FROM escrow.deals "
											   " WHERE stage IN (%s) "
											   "   AND deadline <= clock_timestamp() "
											   " ORDER BY deadline LIMIT $1 FOR UPDATE SKIP LOCKED",
											   ep_due_stages_sql()));

	SPI_connect();
	values[0] = Int32GetDatum(PG_GETARG_INT32(0));
	n = ep_exec(&due, values, NULL, 0);
	ids = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
		ids[i] = ep_int64(i, 1);

	for (i = 0; i < n; i++)
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;

		/*
		 * Each deal in its own subtransaction: one deal that cannot move
		 * (say its merchant cannot pay back a fee) is reported and skipped
		 * instead of holding up every other due deal.
		 */
		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			w = maintain_deal(ids[i]);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			if (w < WORK_COUNT)
				counts[w]++;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(cxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			ereport(WARNING,
					(errmsg("escrowpay maintenance skipped deal %lld: %s",
							(long long) ids[i], edata->message),
					 edata->detail ? errdetail_internal("%s", edata->detail) : 0));
			FreeErrorData(edata);
			failed++;
		}
		PG_END_TRY();
	}
	SPI_finish();

	for (w = 0; w <= WORK_COUNT; w++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		row[0] = CStringGetTextDatum(w < WORK_COUNT ? work_actions[w] : "failed");
		row[1] = Int32GetDatum(w < WORK_COUNT ? counts[w] : failed);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}

