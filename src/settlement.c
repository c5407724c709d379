/*-------------------------------------------------------------------------
 *
 * settlement.c
 *	  Two-stage settlement.  Primary payments move in real time
 *	  between internal accounts (e-money); the secondary settlement with an
 *	  outside institution (a bank) runs in batches.
 *
 *	  escrow.close_settlement_batch(institution, cutoff) takes every account
 *	  linked to the institution, computes its position: the sum of its
 *	  journal entries (folded or not) from payments between
 *	  parties made up to the cutoff (money entering or leaving the ledger,
 *	  and earlier settlements, excluded), less what earlier batches
 *	  settled; and posts it against the institution's clearing account (a
 *	  system account): a positive position (the party received) is paid out
 *	  to its outside account (account to clearing, as far as its own money
 *	  allows: posted less held, never a credit line's limit), a negative
 *	  one (it paid) collected from there
 *	  (clearing to account).  The clearing account nets to what the
 *	  institution owes or is owed.  What is not settled,
 *	  and postings that commit after the batch with an earlier timestamp,
 *	  count in the next batch, because positions are cumulative.  A batch
 *	  is closed once per (institution, cutoff): calling again returns it.
 *	  escrow.settlement_export() lists it for the bank, summing to zero.
 *
 *-------------------------------------------------------------------------
 */
#include "settlement.h"

#include "fmgr.h"
#include "ledger.h"
#include "money.h"
#include "party.h"
#include "plan.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(escrow_link_external_account);
PG_FUNCTION_INFO_V1(escrow_close_settlement_batch);

/*
 * The institution's clearing account, created on first use; the
 * institution row is locked, which also serialises its batches.
 */
static int64
clearing_account(const char *institution, char **currency)
{
	static EpPlan lock = EP_PLAN("SELECT p.kind, p.clearing_account, a.currency FROM escrow.parties p "
		"  LEFT JOIN escrow.accounts a ON a.id = p.settlement_account "
		" WHERE p.party_no = $1 FOR UPDATE OF p", TEXTOID);
	static EpPlan create = EP_PLAN("WITH a AS (INSERT INTO escrow.accounts (owner, kind, currency, platform) "
		"           VALUES ('escrow:clearing:' || $1, 'system', $2, true) RETURNING id) "
		"UPDATE escrow.parties SET clearing_account = a.id FROM a "
		" WHERE party_no = $1 RETURNING a.id", TEXTOID, TEXTOID);
	Datum		values[2];
	int64		id;

	ep_require_party_kind(&lock, institution, "institution");
	*currency = ep_text(0, 3);
	if (ep_get_int64(0, 2, &id))
		return id;
	values[0] = CStringGetTextDatum(institution);
	values[1] = CStringGetTextDatum(*currency);
	ep_exec(&create, values, NULL, 1);
	return ep_int64(0, 1);
}

/*
 * escrow.link_external_account(account bigint, institution text,
 *								external_ref text) RETURNS void
 */
Datum
escrow_link_external_account(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan account = EP_PLAN("SELECT currency, platform FROM escrow.accounts "
		" WHERE id = $1 AND kind IN ('deposit', 'credit')", INT8OID);
	static EpPlan link = EP_PLAN("INSERT INTO escrow.settlement_links (account, institution, external_ref) "
		"VALUES ($1, $2, $3) ON CONFLICT (account) DO NOTHING", INT8OID, TEXTOID, TEXTOID);
	int64		id = ep_arg_id(fcinfo, 0, "account");
	char	   *institution;
	char	   *currency;
	Datum		values[3];
	bool		isnull;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("institution and external_ref must not be NULL or empty")));
	institution = text_to_cstring(PG_GETARG_TEXT_PP(1));

	SPI_connect();
	(void) clearing_account(institution, &currency);
	values[0] = Int64GetDatum(id);
	ep_exec_one(&account, values, NULL,
			errcode(ERRCODE_NO_DATA_FOUND),
			errmsg("account %lld is not a deposit or credit account", (long long) id));
	/* a terminal's cash account moves only with its cash */
	if (DatumGetBool(ep_datum(0, 2, &isnull)))
		ep_refuse_platform_account(id);
	if (strcmp(ep_text(0, 1), currency) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("Account %lld is in %s, institution %s settles %s.", (long long) id,
						   ep_text(0, 1), institution, currency)));
	values[1] = PG_GETARG_DATUM(1);
	values[2] = PG_GETARG_DATUM(2);
	if (ep_exec(&link, values, NULL, 0) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account %lld is already linked for settlement", (long long) id)));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * escrow.close_settlement_batch(institution text,
 *								 cutoff timestamptz DEFAULT now())
 *	 RETURNS bigint
 */
Datum
escrow_close_settlement_batch(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan existing = EP_PLAN("SELECT id FROM escrow.settlement_batches WHERE institution = $1 AND cutoff = $2",
		TEXTOID, TIMESTAMPTZOID);
	static EpPlan last = EP_PLAN("SELECT max(cutoff) FROM escrow.settlement_batches WHERE institution = $1",
		TEXTOID);
	/*
	 * Positions are cumulative, so they are summed as numeric (they have
	 * no bound); what one line settles is bounded: at most EP_MAX_AMOUNT,
	 * a payout at most the account's own money (posted less held), a
	 * collection at most what the account's balance can still take.  The rest carries to the next batch.
	 */
	static EpPlan positions = EP_PLAN("SELECT account, external_ref, position, "
		"       (CASE WHEN position > 0 THEN least(position, greatest(avail, 0), $3) "
		"             ELSE greatest(position, -$3, -greatest(headroom, 0)) END)::bigint "
		"  FROM (SELECT l.account, l.external_ref, "
		"               coalesce((SELECT sum(e.amount) "
		"                           FROM (SELECT transfer_id, amount FROM escrow.entries "
		"                                  WHERE account = l.account "
		"                                 UNION ALL "
		"                                 SELECT transfer_id, amount FROM escrow.unfolded "
		"                                  WHERE account = l.account) e "
		"                           JOIN escrow.transfers t ON t.id = e.transfer_id "
		"                          WHERE t.created_at <= $2 "
		"                            AND t.kind NOT IN ('settlement', 'deposit', 'withdraw')), 0) "
		"             - coalesce((SELECT sum(s.settled) FROM escrow.settlement_lines s "
		"                          WHERE s.account = l.account), 0) AS position, "
		"               b.posted - b.held AS avail, "
		"               $4 - b.posted AS headroom "
		"          FROM escrow.settlement_links l "
		"          JOIN escrow.balances b ON b.account = l.account "
		"         WHERE l.institution = $1) p "
		" ORDER BY account", TEXTOID, TIMESTAMPTZOID, INT8OID, INT8OID);
	static EpPlan clearing_posted = EP_PLAN("SELECT posted FROM escrow.accounts WHERE id = $1",
		INT8OID);
	static EpPlan lock_linked = EP_PLAN("SELECT a.id FROM escrow.accounts a "
		"  JOIN escrow.settlement_links l ON l.account = a.id "
		" WHERE l.institution = $1 ORDER BY a.id FOR UPDATE OF a", TEXTOID);
	static EpPlan batch = EP_PLAN("INSERT INTO escrow.settlement_batches (institution, cutoff, clearing, lines, "
		"  paid_out, collected) VALUES ($1, $2, $3, 0, 0, 0) RETURNING id",
		TEXTOID, TIMESTAMPTZOID, INT8OID);
	static EpPlan line = EP_PLAN("INSERT INTO escrow.settlement_lines (batch, account, external_ref, position, "
		"  settled, transfer_id) VALUES ($1, $2, $3, $4, $5, nullif($6, 0))",
		INT8OID, INT8OID, TEXTOID, NUMERICOID, INT8OID, INT8OID);
	static EpPlan totals = EP_PLAN("UPDATE escrow.settlement_batches SET lines = $2, paid_out = $3, collected = $4 "
		" WHERE id = $1", INT8OID, INT4OID, INT8OID, INT8OID);
	char	   *institution;
	TimestampTz cutoff;
	int64		clearing;
	char	   *currency;
	Datum		values[6];
	bool		isnull;
	Datum		prev;
	int64		batch_id;
	int64		paid_out = 0;
	int64		collected = 0;
	uint64		n,
				i;
	int64	   *acct;
	char	  **ref;
	Datum	   *pos;
	int64	   *settle;
	int64		clearing_at;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("institution and cutoff must not be NULL")));
	institution = text_to_cstring(PG_GETARG_TEXT_PP(0));
	cutoff = PG_GETARG_TIMESTAMPTZ(1);
	if (cutoff > GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cutoff %s is in the future", timestamptz_to_str(cutoff))));

	SPI_connect();
	clearing = clearing_account(institution, &currency);	/* locks the institution */
	values[0] = PG_GETARG_DATUM(0);
	values[1] = TimestampTzGetDatum(cutoff);
	if (ep_exec(&existing, values, NULL, 1) == 1)
	{
		batch_id = ep_int64(0, 1);
		SPI_finish();
		PG_RETURN_INT64(batch_id);	/* closed once: the same batch again */
	}
	ep_exec(&last, values, NULL, 1);
	prev = ep_datum(0, 1, &isnull);
	if (!isnull && DatumGetTimestampTz(prev) > cutoff)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cutoff %s is before the last batch of %s", timestamptz_to_str(cutoff),
						institution),
				 errdetail("The last batch was cut off at %s.",
						   timestamptz_to_str(DatumGetTimestampTz(prev)))));

	/*
	 * Lock the linked accounts (ascending id) before reading positions and
	 * balances, so that what the batch pays out is still there when it
	 * posts.
	 */
	ep_exec(&lock_linked, values, NULL, 0);
	values[2] = Int64GetDatum(EP_MAX_AMOUNT);
	values[3] = Int64GetDatum(EP_MAX_BALANCE);
	n = ep_exec(&positions, values, NULL, 0);
	acct = palloc(sizeof(int64) * Max(n, 1));
	ref = palloc(sizeof(char *) * Max(n, 1));
	pos = palloc(sizeof(Datum) * Max(n, 1));
	settle = palloc(sizeof(int64) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		acct[i] = ep_int64(i, 1);
		ref[i] = ep_text(i, 2);
		pos[i] = SPI_datumTransfer(ep_datum(i, 3, &isnull), false, -1);
		settle[i] = ep_int64(i, 4);
	}
	values[0] = Int64GetDatum(clearing);
	ep_exec(&clearing_posted, values, NULL, 1);
	clearing_at = ep_int64(0, 1);
	values[0] = PG_GETARG_DATUM(0);

	values[2] = Int64GetDatum(clearing);
	ep_exec(&batch, values, NULL, 1);
	batch_id = ep_int64(0, 1);

	/* accounts in ascending id order; the clearing account is a system account */
	for (i = 0; i < n; i++)
	{
		EpPosting	p = {0};
		int64		settled = settle[i];

		/* and within the clearing account's bound (the rest carries) */
		if (settled > 0)
			settled = Min(settled, Max(EP_MAX_SYSTEM_BALANCE - clearing_at, 0));
		else
			settled = Max(settled, -Max(EP_MAX_SYSTEM_BALANCE + clearing_at, 0));
		clearing_at += settled;

		if (settled != 0)
		{
			p.kind = "settlement";
			p.id = ep_next_id("transfer_id_seq");
			p.owner.batch = batch_id;	/* settled only by later batches */
			p.debit = settled > 0 ? acct[i] : clearing;
			p.credit = settled > 0 ? clearing : acct[i];
			p.amount = settled > 0 ? settled : -settled;
			ep_post_transfer(&p);
			if (settled > 0)
				paid_out = ep_add(paid_out, settled, "paid out");
			else
				collected = ep_add(collected, -settled, "collected");
		}
		values[0] = Int64GetDatum(batch_id);
		values[1] = Int64GetDatum(acct[i]);
		values[2] = CStringGetTextDatum(ref[i]);
		values[3] = pos[i];
		values[4] = Int64GetDatum(settled);
		values[5] = Int64GetDatum(p.id);
		ep_exec(&line, values, NULL, 0);
	}
	values[0] = Int64GetDatum(batch_id);
	values[1] = Int32GetDatum((int32) n);
	values[2] = Int64GetDatum(paid_out);
	values[3] = Int64GetDatum(collected);
	ep_exec(&totals, values, NULL, 0);
	SPI_finish();
	PG_RETURN_INT64(batch_id);
}
