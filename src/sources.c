/*-------------------------------------------------------------------------
 *
 * sources.c
 *	  Where an escrow deal's money comes from (several payment
 *	  methods in one purchase, and the method changed afterwards).
 *
 *	  A deal is paid from one or more sources, each an account with an
 *	  amount and its own hold; the amounts add up to the deal amount.  A
 *	  deal paid from the buyer's default account has one source, kept on
 *	  the deal row itself (debit_account, hold_id, capture_transfer); a
 *	  split deal lists its sources in escrow.deal_sources.  Every money
 *	  step of the escrow model (model_escrow.c) goes through the functions
 *	  here, so one code path serves both:
 *
 *	  reserve: one hold per source, placed in ascending account order so
 *		that concurrent calls lock alike (all or nothing: a refused hold
 *		aborts the call and nothing is held);
 *	  capture: the merchant's share taken from the sources in the buyer's
 *		order, each source's hold captured for its part, the rest released
 *		(holds are always touched in ascending account order, so that
 *		calls on deals sharing accounts lock alike);
 *	  release: every open hold released;
 *	  refund: the buyer's share refunded across the captures, last first.
 *
 *	  escrow.set_payment_sources() sets or changes the sources before
 *	  settlement: old holds released and new ones placed in the same
 *	  transaction, so a refused new hold leaves the old ones in place.
 *
 *-------------------------------------------------------------------------
 */
#include "sources.h"

#include "lifecycle.h"
#include "model.h"
#include "party.h"
#include "payload.h"

#include "fmgr.h"
#include "hold.h"
#include "ledger.h"
#include "money.h"
#include "plan.h"
#include "refund.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_set_payment_sources);

typedef struct EpSource
{
	int64		account;
	int64		amount;
	int64		hold_id;		/* 0: none */
	int64		capture_transfer;	/* 0: none */
	int64		captured;
	int64		refunded;
} EpSource;

/* The deal's sources: its deal_sources rows, or the deal row itself */
static EpSource *
load_sources(const EpDeal *d, int *n)
{
	static EpPlan fetch = EP_PLAN("SELECT account, amount, coalesce(hold_id, 0), coalesce(capture_transfer, 0), "
		"       captured, refunded "
		"  FROM escrow.deal_sources WHERE deal = $1 ORDER BY position", INT8OID);
	EpSource   *s;
	Datum		values[1];
	int			i;

	if (!d->split)
	{
		s = palloc0(sizeof(EpSource));
		s->account = d->debit_account;
		s->amount = d->amount;
		s->hold_id = d->hold_id;
		s->capture_transfer = d->capture_transfer;
		s->captured = d->captured;
		s->refunded = d->refunded;
		*n = 1;
		return s;
	}
	values[0] = Int64GetDatum(d->id);
	*n = (int) ep_exec(&fetch, values, NULL, 0);
	s = palloc0(sizeof(EpSource) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		s[i].account = ep_int64(i, 1);
		s[i].amount = ep_int64(i, 2);
		s[i].hold_id = ep_int64(i, 3);
		s[i].capture_transfer = ep_int64(i, 4);
		s[i].captured = ep_int64(i, 5);
		s[i].refunded = ep_int64(i, 6);
	}
	return s;
}

/* Write the sources back (the deal row's money columns are the caller's) */
static void
save_sources(EpDeal *d, const EpSource *s, int n)
{
	static EpPlan update = EP_PLAN("UPDATE escrow.deal_sources SET hold_id = nullif($3, 0), "
		"       capture_transfer = nullif($4, 0), captured = $5, refunded = $6 "
		" WHERE deal = $1 AND account = $2", INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID);
	Datum		values[6];
	int			i;

	if (!d->split)
	{
		d->hold_id = s[0].hold_id;
		d->capture_transfer = s[0].capture_transfer;
		return;
	}
	values[0] = Int64GetDatum(d->id);
	for (i = 0; i < n; i++)
	{
		values[1] = Int64GetDatum(s[i].account);
		values[2] = Int64GetDatum(s[i].hold_id);
		values[3] = Int64GetDatum(s[i].capture_transfer);
		values[4] = Int64GetDatum(s[i].captured);
		values[5] = Int64GetDatum(s[i].refunded);
		ep_exec(&update, values, NULL, 0);
	}
}

/*
 * Visit order: the sources' amounts are taken in the buyer's order
 * (position), but the holds and accounts are touched in ascending account
 * order, so that two calls on deals sharing accounts lock alike.
 */
static int *
account_order(const EpSource *s, int n)
{
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	int			i,
				j;

	for (i = 0; i < n; i++)
	{
		/* insertion sort: a deal has at most 16 sources */
		for (j = i; j > 0 && s[order[j - 1]].account > s[i].account; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	return order;
}

/* One hold per source, in ascending account order; held becomes the amount */
void
ep_sources_reserve(EpDeal *d)
{
	int			n,
				i;
	EpSource   *s = load_sources(d, &n);
	int		   *order = account_order(s, n);

	/* the buyer's own accounts, or ones their owners let it pay from */
	for (i = 0; i < n; i++)
		ep_require_account_use(s[order[i]].account, d->buyer, false);
	for (i = 0; i < n; i++)
		s[order[i]].hold_id = ep_place_hold(s[order[i]].account, d->credit_account,
											s[order[i]].amount, NULL, NULL, d->id);
	save_sources(d, s, n);
	d->held = d->amount;
}

/* What a source can give to a capture: its open hold */
static int64
hold_left(const EpSource *s)
{
	return s->hold_id != 0 ? s->amount : 0;
}

/* What a source can give to a refund: its capture not refunded yet */
static int64
capture_left(const EpSource *s)
{
	return Max(s->captured - s->refunded, 0);
}

/*
 * Split share over the n sources, each giving at most left(source), in
 * source order or the last source first; what the split takes from each
 * source.  They must cover it (else an internal error: "deal <txn>
 * <uncovered> <share>").
 */
static int64 *
split_share(const EpDeal *d, const EpSource *s, int n, int64 share, bool last_first,
			int64 (*left) (const EpSource *s), const char *uncovered)
{
	int64	   *take = palloc0(sizeof(int64) * Max(n, 1));
	int64		rest = share;
	int			k;

	for (k = 0; k < n && rest > 0; k++)
	{
		int			i = last_first ? n - 1 - k : k;

		take[i] = Min(rest, left(&s[i]));
		rest -= take[i];
	}
	if (rest != 0)
		elog(ERROR, "escrowpay: deal %s %s %lld", d->txn_no, uncovered, (long long) share);
	return take;
}

/*
 * Capture share for the merchant from the open holds, taken in source
 * order; every hold ends (the rest of it released).  Returns the capture
 * transfer of a single-source deal (0 for a split one).
 */
int64
ep_sources_capture(EpDeal *d, int64 share)
{
	int			n,
				i;
	EpSource   *s = load_sources(d, &n);
	int64	   *take = split_share(d, s, n, share, false, hold_left, "sources do not cover");
	int		   *order = account_order(s, n);

	for (i = 0; i < n; i++)
	{
		EpSource   *src = &s[order[i]];

		if (src->hold_id == 0)
			continue;
		if (take[order[i]] > 0)
		{
			src->capture_transfer = ep_capture_hold(src->hold_id, true, take[order[i]], true,
													NULL, d->id);
			src->captured = take[order[i]];
		}
		else
			(void) ep_release_hold(src->hold_id, NULL, d->id);
	}
	save_sources(d, s, n);
	d->captured = share;
	d->held = 0;
	return d->split ? 0 : s[0].capture_transfer;
}

/* Release every open hold of the deal; returns the amount released */
int64
ep_sources_release(EpDeal *d)
{
	int			n,
				i;
	EpSource   *s;
	int		   *order;
	int64		released = 0;

	if (d->held == 0)
		return 0;
	s = load_sources(d, &n);
	order = account_order(s, n);
	for (i = 0; i < n; i++)
	{
		EpSource   *src = &s[order[i]];

		if (src->hold_id != 0 && src->captured == 0)
			released = ep_add(released, ep_release_hold(src->hold_id, NULL, d->id), "released");
	}
	d->held = 0;
	return released;
}

/* Refund share to the buyer across the captures, the last source first */
void
ep_sources_refund(EpDeal *d, int64 share)
{
	int			n,
				i;
	EpSource   *s = load_sources(d, &n);
	int64	   *take = split_share(d, s, n, share, true, capture_left,
								   "captures do not cover a refund of");
	int		   *order = account_order(s, n);

	for (i = 0; i < n; i++)
	{
		EpSource   *src = &s[order[i]];

		if (take[order[i]] == 0)
			continue;
		ep_refund_transfer(src->capture_transfer, true, take[order[i]]);
		src->refunded += take[order[i]];
	}
	save_sources(d, s, n);
	d->refunded += share;
}

/*
 * escrow.set_payment_sources(deal bigint, accounts bigint[],
 *							  amounts bigint[], actor text) RETURNS void
 *
 * The buyer pays the deal from these accounts (balance and credit lines
 * mixed), amounts adding up to the deal amount.  Before reserve it only
 * records them; once funds are reserved it releases the current holds and
 * places the new ones, atomically.  Escrow deals only, before settlement.
 */
Datum
escrow_set_payment_sources(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan clear = EP_PLAN("DELETE FROM escrow.deal_sources WHERE deal = $1", INT8OID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.deal_sources (deal, account, amount, position) "
		"SELECT $1, a, m, p FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS u(a, m, p)",
		INT8OID, INT8ARRAYOID, INT8ARRAYOID);
	static EpPlan single = EP_PLAN("UPDATE escrow.deals SET hold_id = NULL, "
		"       payment_method = CASE WHEN $2 THEN 'split' ELSE $3 END, debit_account = $4 "
		" WHERE id = $1", INT8OID, BOOLOID, TEXTOID, INT8OID);
	static EpPlan account_kind = EP_PLAN("SELECT kind, currency FROM escrow.accounts WHERE id = $1",
		INT8OID);
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *actor;
	Datum	   *ad,
			   *md;
	bool	   *an,
			   *mn;
	int			n,
				m,
				i,
				j;
	int64		total = 0;
	int64	   *accounts;
	int64	   *amounts;
	EpDeal		d;
	Datum		values[4];
	bool		reserved;
	char	   *method = NULL;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accounts, amounts and actor must not be NULL")));
	actor = text_to_cstring(PG_GETARG_TEXT_PP(3));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &ad, &an, &n);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &md, &mn, &m);
	if (n != m || n < 1 || n > EP_MAX_SOURCES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("accounts and amounts must have the same 1 to 16 elements")));
	accounts = palloc(sizeof(int64) * n);
	amounts = palloc(sizeof(int64) * n);
	for (i = 0; i < n; i++)
	{
		if (an[i] || mn[i] || DatumGetInt64(md[i]) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each source needs an account and a positive amount"),
					 errdetail("Element %d.", i + 1)));
		accounts[i] = DatumGetInt64(ad[i]);
		amounts[i] = DatumGetInt64(md[i]);
		ep_check_amount(amounts[i], "an element of amounts");
		for (j = 0; j < i; j++)
			if (accounts[j] == accounts[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("account %lld appears twice", (long long) accounts[i]),
						 errhint("Give each account once, with its total.")));
		total = ep_add(total, amounts[i], "sources");
	}

	SPI_connect();
	ep_lock_deal(deal_id, &d);
	if (!ep_stage_before_receipt(d.stage))
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is %s: set_payment_sources is not allowed", d.txn_no,
						ep_stage_name(d.stage)),
				 errdetail("Payment sources change only before settlement.")));
	if ((ep_actor_role(&d, actor) & ACTOR_BUYER) == 0)
	{
		if (ep_actor_role(&d, actor) == 0)
			ep_require_known_actor(actor);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("\"%s\" may not set_payment_sources deal %s", actor, d.txn_no),
				 errdetail("Only the deal's buyer may.")));
	}
	if (!d.model->buyer_pays || strcmp(d.payment_method, "cash") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_WRONG_DEAL_STATE),
				 errmsg("deal %s is paid by %s: its payment sources cannot change", d.txn_no,
						!d.model->buyer_pays ? d.settlement : d.payment_method)));
	if (total != d.amount)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the sources must add up to the deal amount exactly"),
				 errdetail("Sources %lld, amount %lld.", (long long) total, (long long) d.amount)));
	for (i = 0; i < n; i++)
	{
		values[0] = Int64GetDatum(accounts[i]);
		ep_exec_id(&account_kind, accounts[i], "account");
		if (strcmp(ep_text(0, 1), "deposit") != 0 && strcmp(ep_text(0, 1), "credit") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("account %lld is a %s account", (long long) accounts[i], ep_text(0, 1)),
					 errhint("A deal is paid from deposit accounts and credit lines.")));
		if (strcmp(ep_text(0, 2), d.currency) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
					 errmsg("currency mismatch between accounts"),
					 errdetail("Account %lld is in %s, deal %s in %s.", (long long) accounts[i],
							   ep_text(0, 2), d.txn_no, d.currency)));
		if (n == 1)
			method = pstrdup(strcmp(ep_text(0, 1), "credit") == 0 ? "credit" : "balance");
		/* the buyer's own account, or one its owner lets the buyer pay from */
		ep_require_account_use(accounts[i], d.buyer, false);
	}

	/* out with the old holds, in with the new */
	reserved = d.held > 0;
	(void) ep_sources_release(&d);
	values[0] = Int64GetDatum(d.id);
	ep_exec(&clear, values, NULL, 0);
	values[1] = BoolGetDatum(n > 1);
	values[2] = CStringGetTextDatum(method ? method : "split");
	values[3] = Int64GetDatum(accounts[0]);
	ep_exec(&single, values, NULL, 0);
	d.hold_id = 0;
	d.debit_account = accounts[0];
	d.split = n > 1;
	if (d.split)
	{
		values[1] = PointerGetDatum(construct_array(ad, n, INT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		values[2] = PointerGetDatum(construct_array(md, n, INT8OID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		ep_exec(&insert, values, NULL, 0);
	}
	if (reserved)
		ep_sources_reserve(&d);

	{
		StringInfoData p;

		initStringInfo(&p);
		appendStringInfoChar(&p, '{');
		ep_json_int(&p, "sources", n);
		ep_json_int(&p, "held", d.held);
		appendStringInfoChar(&p, '}');
		ep_deal_event_at(d.id, "set_payment_sources", ep_stage_name(d.stage), actor, p.data);
	}
	ep_deal_save_money(&d);
	SPI_finish();
	PG_RETURN_VOID();
}
