/*-------------------------------------------------------------------------
 *
 * retention.c
 *	  Retention of idempotency keys and of the deal event outbox:
 *	  escrow.apply_retention() deletes, in bounded batches, the keys older
 *	  than escrowpay.idempotency_retention and the events of deals that
 *	  ended longer than escrowpay.event_retention ago (0, the default of
 *	  both: kept forever).  The background worker runs it (task
 *	  "retention", maintenance.c).
 *
 * A key deleted is forgotten: a call replaying it is a new request.  An
 * event is deleted only when its deal can take no further step (a stage
 * no transition leaves), no loan or invoice of the deal is open, and no
 * event of the deal is younger than the retention, so a deal's history
 * goes as a whole, long after the last consumer could still need it
 * (docs/operations.md, "Retention").
 *
 *-------------------------------------------------------------------------
 */
#include "retention.h"

#include "funcapi.h"
#include "limits.h"
#include "money.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/guc.h"

/* Settings (seconds; 0: keep forever), defined by ep_retention_define_gucs */
static int	ep_idempotency_retention = 0;
static int	ep_event_retention = 0;

#define RETENTION_MIN (24 * 3600)

/* A retention is 0 (keep) or at least a day: retries must keep working */
static bool
check_retention(int *newval, void **extra, GucSource source)
{
	if (*newval != 0 && *newval < RETENTION_MIN)
	{
		GUC_check_errdetail("A retention is 0 (keep forever) or at least 1 day.");
		return false;
	}
	return true;
}

void
ep_retention_define_gucs(void)
{
	DefineCustomIntVariable("escrowpay.idempotency_retention",
							"How long idempotency keys are kept (0: forever).",
							"A key deleted is forgotten: a call replaying it moves money again.",
							&ep_idempotency_retention, 0, 0, INT_MAX, PGC_SUSET,
							GUC_UNIT_S, check_retention, NULL, NULL);
	DefineCustomIntVariable("escrowpay.event_retention",
							"How long the events of a deal that has ended are kept (0: forever).",
							"Counted from the deal's last event.",
							&ep_event_retention, 0, 0, INT_MAX, PGC_SUSET,
							GUC_UNIT_S, check_retention, NULL, NULL);
}

/*
 * Delete up to max_rows rows with plan (parameters: the retention in
 * seconds, max_rows); 0 when retention is 0.
 */
static int32
purge(EpPlan *plan, int retention, int32 max_rows)
{
	Datum		values[2];

	if (retention <= 0)
		return 0;
	values[0] = Int32GetDatum(retention);
	values[1] = Int32GetDatum(max_rows);
	return (int32) ep_exec(plan, values, NULL, 0);
}

/*
 * escrow.apply_retention(max_rows integer DEFAULT 10000)
 *		RETURNS TABLE (purged text, deleted integer)
 *
 * Deletes up to max_rows idempotency keys past escrowpay.idempotency_retention
 * (oldest first) and up to max_rows events past escrowpay.event_retention,
 * skipping rows locked by other transactions; one row each
 * (idempotency_keys, deal_events) with how many went.
 */
PG_FUNCTION_INFO_V1(escrow_apply_retention);

Datum
escrow_apply_retention(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan keys = EP_PLAN("DELETE FROM escrow.idempotency_keys WHERE key IN ("
		"  SELECT key FROM escrow.idempotency_keys "
		"   WHERE created_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1) "
		"   ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)", INT4OID, INT4OID);
	static EpPlan events = EP_PLAN("WITH cutoff AS (SELECT pg_catalog.now() - pg_catalog.make_interval(secs => $1) AS t) "
		"DELETE FROM escrow.deal_events WHERE id IN ("
		"  SELECT e.id FROM escrow.deal_events e "
		"    JOIN escrow.deals d ON d.id = e.deal, cutoff "
		"   WHERE e.at < cutoff.t "
		"     AND d.stage NOT IN (SELECT t.from_stage FROM escrow.deal_transitions() t) "
		"     AND NOT EXISTS (SELECT 1 FROM escrow.receivables r "
		"                      WHERE r.deal = d.id AND r.status = 'open') "
		"     AND NOT EXISTS (SELECT 1 FROM escrow.deal_events l "
		"                      WHERE l.deal = d.id AND l.at >= cutoff.t) "
		"   ORDER BY e.id LIMIT $2 FOR UPDATE OF e SKIP LOCKED)", INT4OID, INT4OID);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const char *purged[2] = {"idempotency_keys", "deal_events"};
	int32		deleted[2];
	int32		max_rows;
	int			i;

	max_rows = ep_arg_positive(fcinfo, 0, "max_rows");

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	deleted[0] = purge(&keys, ep_idempotency_retention, max_rows);
	deleted[1] = purge(&events, ep_event_retention, max_rows);
	SPI_finish();

	for (i = 0; i < 2; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};

		row[0] = CStringGetTextDatum(purged[i]);
		row[1] = Int32GetDatum(deleted[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	return (Datum) 0;
}
