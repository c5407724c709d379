/*-------------------------------------------------------------------------
 *
 * refund.c
 *	  Refunds: reverse part or all of a capture or transfer, several times,
 *	  never more than was posted.  A refund is a new transfer in the other
 *	  direction; the original keeps a running `refunded` total, the only
 *	  column of the journal that may change (guard.c enforces that).
 *
 * Lock order: the original transfer row first, then accounts in ascending
 * id order.
 *
 *-------------------------------------------------------------------------
 */
#include "refund.h"

#include "fmgr.h"
#include "guard.h"
#include "idempotency.h"
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_refund);

int64
ep_refund_transfer(int64 transfer_id, bool has_amount, int64 amount,
				   const char *key)
{
	static EpPlan lock = {NULL,
		"SELECT kind, debit_account, credit_account, amount, refunded "
		"  FROM escrow.transfers WHERE id = $1 FOR UPDATE",
	1, {INT8OID}};
	static EpPlan update = {NULL,
		"UPDATE escrow.transfers SET refunded = $2 WHERE id = $1",
	2, {INT8OID, INT8OID}};
	EpPosting	p = {0};
	Datum		values[2];
	char	   *kind;
	int64		posted;
	int64		refunded;
	int64		rest;
	int64		prior;

	p.id = ep_next_id("transfer_id_seq");
	if (key)
	{
		char	   *request;

		request = has_amount ?
			psprintf("refund(%lld,%lld)", (long long) transfer_id, (long long) amount) :
			psprintf("refund(%lld,NULL)", (long long) transfer_id);
		if (ep_idem_claim(key, request, true, p.id, &prior))
			return prior;
	}

	values[0] = Int64GetDatum(transfer_id);
	if (ep_exec(&lock, values, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("transfer %lld does not exist", (long long) transfer_id)));
	kind = ep_text(0, 1);
	posted = ep_int64(0, 4);
	refunded = ep_int64(0, 5);
	if (strcmp(kind, "capture") != 0 && strcmp(kind, "transfer") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transfer %lld is a %s and cannot be refunded",
						(long long) transfer_id, kind),
				 errhint("Only captures and transfers can be refunded.")));

	rest = posted - refunded;
	if (!has_amount && rest == 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_EXCEEDS_CAPTURED),
				 errmsg("transfer %lld is already fully refunded", (long long) transfer_id),
				 errdetail("Posted %lld, refunded %lld.", (long long) posted,
						   (long long) refunded)));
	if (!has_amount)
		amount = rest;
	if (amount > rest)
		ereport(ERROR,
				(errcode(ERRCODE_EP_EXCEEDS_CAPTURED),
				 errmsg("refund exceeds what remains of transfer %lld",
						(long long) transfer_id),
				 errdetail("Posted %lld, already refunded %lld, remaining %lld, requested %lld.",
						   (long long) posted, (long long) refunded,
						   (long long) rest, (long long) amount)));

	p.kind = "refund";
	p.debit = ep_int64(0, 3);
	p.credit = ep_int64(0, 2);
	p.amount = amount;
	p.refund_of = transfer_id;

	values[1] = Int64GetDatum(refunded + amount);
	ep_guard_allow_refund_update(true);
	PG_TRY();
	{
		ep_exec(&update, values, NULL, 0);
	}
	PG_FINALLY();
	{
		ep_guard_allow_refund_update(false);
	}
	PG_END_TRY();
	ep_post_transfer(&p);
	return p.id;
}

/*
 * A deal's transfers (captures of its holds, fees, pre-payments, payouts)
 * are reversed only by the deal's own steps: refuse them here (EP007).
 */
static void
refuse_deal_transfer(int64 transfer_id)
{
	static EpPlan owner = {NULL,
		"SELECT deal FROM escrow.deal_transfers WHERE transfer_id = $1 "
		"UNION ALL "
		"SELECT h.deal FROM escrow.transfers t JOIN escrow.holds h ON h.id = t.hold_id "
		" WHERE t.id = $1 AND h.deal IS NOT NULL "
		"LIMIT 1",
	1, {INT8OID}};
	Datum		values[1];

	values[0] = Int64GetDatum(transfer_id);
	if (ep_exec(&owner, values, NULL, 1) == 1)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("transfer %lld belongs to deal %lld", (long long) transfer_id,
						(long long) ep_int64(0, 1)),
				 errhint("Use the deal's lifecycle functions (request_return, resolve_dispute, ...).")));
}

/*
 * escrow.refund(transfer_id bigint, amount bigint DEFAULT NULL,
 *				 idempotency_key text DEFAULT NULL) RETURNS bigint
 */
Datum
escrow_refund(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		transfer_id = ep_arg_id(fcinfo, 0, "transfer_id");
	bool		has_amount = !PG_ARGISNULL(1);
	int64		amount = has_amount ? ep_arg_amount(fcinfo, 1, "amount") : 0;
	char	   *key = ep_arg_key(fcinfo, 2);
	int64		id;

	SPI_connect();
	refuse_deal_transfer(transfer_id);
	id = ep_refund_transfer(transfer_id, has_amount, amount, key);
	SPI_finish();
	PG_RETURN_INT64(id);
}
