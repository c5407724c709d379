/*-------------------------------------------------------------------------
 *
 * refund.c
 *	  Refunds: reverse part or all of a capture or transfer, several times,
 *	  never more than was posted.  A refund is a new transfer in the other
 *	  direction; the original keeps a running `refunded` total, the only
 *	  column of the journal that may change (guard.c enforces that).
 *	  A transfer that belongs to an owner (escrow.transfer_owners: a deal,
 *	  a receivable, a cash terminal or a settlement batch) is refunded only
 *	  by its owner, never through escrow.refund(); the refund belongs to
 *	  the same owner.
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

/* escrow.refund()'s arguments in its idempotency request (ep_idem_request) */
#define REFUND_REQUEST "ii-"

/*
 * Refuse (EP007) a refund of a transfer that belongs to an owner: it moves
 * only through the owner.  The detail names the owner.
 */
static void
refuse_owned(int64 transfer_id, const EpOwner *o, const char *kind)
{
	static EpPlan deal = EP_PLAN("SELECT txn_no, stage FROM escrow.deals WHERE id = $1", INT8OID);
	static EpPlan receivable = EP_PLAN("SELECT r.kind, d.txn_no, r.pay_to FROM escrow.receivables r "
		"  JOIN escrow.deals d ON d.id = r.deal WHERE r.id = $1", INT8OID);
	static EpPlan credit_of = EP_PLAN("SELECT credit_account FROM escrow.transfers WHERE id = $1",
		INT8OID);
	Datum		values[1];
	long long	id = (long long) transfer_id;

	if (o->deal)
	{
		values[0] = Int64GetDatum(o->deal);
		ep_exec(&deal, values, NULL, 1);
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("transfer %lld belongs to deal %lld", id, (long long) o->deal),
				 errdetail("Transfer %lld (%s) is part of deal %s, now %s; it moves only through the deal.",
						   id, kind, ep_text(0, 1), ep_text(0, 2)),
				 errhint("Use the deal's lifecycle functions (request_return, resolve_dispute, ...).")));
	}
	if (o->receivable)
	{
		char	   *rkind;
		char	   *txn_no;
		int64		pay_to;

		values[0] = Int64GetDatum(o->receivable);
		ep_exec(&receivable, values, NULL, 1);
		rkind = ep_text(0, 1);
		txn_no = ep_text(0, 2);
		pay_to = ep_int64(0, 3);
		values[0] = Int64GetDatum(transfer_id);
		ep_exec(&credit_of, values, NULL, 1);
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("transfer %lld belongs to receivable %lld", id, (long long) o->receivable),
				 errdetail("Transfer %lld %s %s %lld of deal %s; it moves only through the deal.",
						   id, ep_int64(0, 1) == pay_to ? "pays" : "returns the payments on",
						   strcmp(rkind, "loan") == 0 ? "loan" : "invoice",
						   (long long) o->receivable, txn_no),
				 errhint("A confirmed return of the deal gives back what was paid on an invoice.")));
	}
	if (o->terminal)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("transfer %lld belongs to terminal \"%s\"", id, o->terminal),
				 errdetail("Transfer %lld (%s) moves the cash of terminal \"%s\"; it moves only through the terminal.",
						   id, kind, o->terminal),
				 errhint("Cash leaves a terminal with escrow.unload_terminal_cash().")));
	ereport(ERROR,
			(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
			 errmsg("transfer %lld belongs to settlement batch %lld", id, (long long) o->batch),
			 errdetail("Transfer %lld settles a linked account in batch %lld; it moves only through the settlement batches.",
					   id, (long long) o->batch),
			 errhint("Positions are cumulative: the next batch settles any difference.")));
}

/*
 * Refund amount (all that remains when !has_amount) of a transfer, for its
 * owner if it has one (a deal's step: the caller has checked that the
 * transfer is its own); the refund belongs to the same owner.  Returns the
 * refund's transfer id.  key is the idempotency key of call, a call of
 * escrow.refund(), claimed for that call's own arguments (NULL: none).
 */
static int64
refund_transfer(int64 transfer_id, bool has_amount, int64 amount,
				FunctionCallInfo call, const char *key)
{
	static EpPlan lock = EP_PLAN("SELECT t.kind, t.debit_account, t.credit_account, t.amount, t.refunded, "
		"       coalesce(o.deal, 0), coalesce(o.receivable, 0), o.terminal, "
		"       coalesce(o.batch, 0) "
		"  FROM escrow.transfers t "
		"  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id "
		" WHERE t.id = $1 FOR UPDATE OF t", INT8OID);
	static EpPlan update = EP_PLAN("UPDATE escrow.transfers SET refunded = $2 WHERE id = $1",
		INT8OID, INT8OID);
	EpPosting	p = {0};
	Datum		values[2];
	char	   *kind;
	int64		posted;
	int64		refunded;
	int64		rest;
	int64		prior;

	p.id = ep_next_id("transfer_id_seq");
	if (ep_idem_claim_call(call, key, "refund", REFUND_REQUEST, p.id, &prior))
		return prior;

	values[0] = Int64GetDatum(transfer_id);
	ep_exec_id(&lock, transfer_id, "transfer");
	kind = ep_text(0, 1);
	posted = ep_int64(0, 4);
	refunded = ep_int64(0, 5);
	p.owner.deal = ep_int64(0, 6);
	p.owner.receivable = ep_int64(0, 7);
	p.owner.terminal = ep_text(0, 8);
	p.owner.batch = ep_int64(0, 9);
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
	p.public_call = call != NULL;	/* escrow.refund() */
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

/* A refund without an idempotency key (a deal's step) */
int64
ep_refund_transfer(int64 transfer_id, bool has_amount, int64 amount)
{
	return refund_transfer(transfer_id, has_amount, amount, NULL, NULL);
}

/*
 * escrow.refund() leaves an owned transfer to its owner: refuse it (EP007)
 * before anything else but the replay of a finished call (a key reused
 * with other arguments included).  Ownership is
 * written when a transfer is posted and never changes, so checking before
 * the transfer row is locked is final.
 */
static void
refuse_if_owned(int64 transfer_id)
{
	static EpPlan owner = EP_PLAN("SELECT coalesce(o.deal, 0), coalesce(o.receivable, 0), o.terminal, "
		"       coalesce(o.batch, 0), t.kind "
		"  FROM escrow.transfer_owners o JOIN escrow.transfers t ON t.id = o.transfer_id "
		" WHERE o.transfer_id = $1", INT8OID);
	Datum		values[1];
	EpOwner		o;

	values[0] = Int64GetDatum(transfer_id);
	if (ep_exec(&owner, values, NULL, 1) != 1)
		return;
	o.deal = ep_int64(0, 1);
	o.receivable = ep_int64(0, 2);
	o.terminal = ep_text(0, 3);
	o.batch = ep_int64(0, 4);
	refuse_owned(transfer_id, &o, ep_text(0, 5));
}

/*
 * escrow.refund(transfer_id bigint, amount bigint DEFAULT NULL,
 *				 idempotency_key text DEFAULT NULL) RETURNS bigint
 *
 * A transfer that belongs to a deal, a receivable, a cash terminal or a
 * settlement batch is refused (EP007): it moves only through its owner.
 */
Datum
escrow_refund(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		transfer_id = ep_arg_id(fcinfo, 0, "transfer_id");
	bool		has_amount;
	int64		amount = ep_arg_opt_amount(fcinfo, 1, "amount", &has_amount);
	char	   *key = ep_arg_key(fcinfo, 2);
	int64		id;

	SPI_connect();
	if (!key || !ep_idem_replay(key, ep_idem_request(fcinfo, "refund", REFUND_REQUEST), &id))
	{
		refuse_if_owned(transfer_id);
		id = refund_transfer(transfer_id, has_amount, amount, fcinfo, key);
	}
	SPI_finish();
	PG_RETURN_INT64(id);
}
