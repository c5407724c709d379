/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  The journal is append-only.  escrow.journal_guard() is a trigger for
 *	  escrow.entries and escrow.transfers that refuses DELETE and TRUNCATE,
 *	  refuses UPDATE of entries, and allows an UPDATE of a transfer only
 *	  from refund.c, and only when the sole change is its `refunded` total
 *	  growing within its amount.  The triggers are ENABLE ALWAYS, so they
 *	  fire for the table owner and under session_replication_role =
 *	  replica too; the per-account hash chains catch what a superuser could
 *	  still do by disabling them.
 *
 *-------------------------------------------------------------------------
 */
#include "guard.h"

#include "access/htup_details.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/datum.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(escrow_journal_guard);

/*
 * True only while refund.c updates a transfer's refunded total.  Backend-
 * local state is the point: it tells the trigger that the UPDATE comes from
 * escrow.refund() in this backend and not from a direct statement; refund.c
 * resets it in PG_FINALLY, so an error cannot leave it set.
 */
static bool allow_refund_update = false;

void
ep_guard_allow_refund_update(bool allow)
{
	allow_refund_update = allow;
}

static void
refuse(TriggerData *trigdata, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("the escrowpay journal is append-only"),
			 errdetail("%s on %s is not allowed.", what,
					   RelationGetRelationName(trigdata->tg_relation)),
			 errhint("Correct a posted transfer with a refund or a new transfer.")));
}

/*
 * Is rel a shard of a Citus table (escrow.transfers_102040: the table's
 * name, an underscore and the shard id)?  On a Citus cluster the refund
 * runs on the coordinator and the UPDATE of refunded on the worker holding
 * the transfer's shard, in another backend, which the coordinator's
 * allow_refund_update cannot reach: there the guard lets refunded grow
 * within the amount and refuses everything else (docs/scale-out.md).
 */
static bool
citus_shard(Relation rel)
{
	const char *name = RelationGetRelationName(rel);
	const char *us = strrchr(name, '_');

	return us != NULL && us[1] != '\0' && strspn(us + 1, "0123456789") == strlen(us + 1);
}

/*
 * escrow.journal_guard() RETURNS trigger
 */
Datum
escrow_journal_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	oldtup;
	HeapTuple	newtup;
	int			refunded_att;
	int			amount_att;
	int			i;
	bool		n1,
				n2;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "escrow.journal_guard() must be called as a trigger");

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		refuse(trigdata, "TRUNCATE");
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		refuse(trigdata, "DELETE");
	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return PointerGetDatum(trigdata->tg_trigtuple);

	desc = RelationGetDescr(trigdata->tg_relation);
	refunded_att = SPI_fnumber(desc, "refunded");
	amount_att = SPI_fnumber(desc, "amount");
	if (refunded_att <= 0 || !(allow_refund_update || citus_shard(trigdata->tg_relation)))
		refuse(trigdata, "UPDATE");

	/* Only refunded may change, and only upwards within amount */
	oldtup = trigdata->tg_trigtuple;
	newtup = trigdata->tg_newtuple;
	for (i = 1; i <= desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i - 1);
		Datum		a,
					b;

		if (att->attisdropped || i == refunded_att)
			continue;
		a = heap_getattr(oldtup, i, desc, &n1);
		b = heap_getattr(newtup, i, desc, &n2);
		if (n1 != n2 || (!n1 && !datumIsEqual(a, b, att->attbyval, att->attlen)))
			refuse(trigdata, "UPDATE");
	}
	{
		int64		old_refunded = DatumGetInt64(heap_getattr(oldtup, refunded_att, desc, &n1));
		int64		new_refunded = DatumGetInt64(heap_getattr(newtup, refunded_att, desc, &n2));
		int64		amount = DatumGetInt64(heap_getattr(newtup, amount_att, desc, &n1));

		if (n2 || new_refunded < old_refunded || new_refunded > amount)
			refuse(trigdata, "UPDATE of refunded outside 0..amount or downwards");
	}
	return PointerGetDatum(newtup);
}
