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
 *	  On a Citus cluster the linked accounts are locked and their
 *	  positions read one account per statement (positions_each()).
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

/*
 * What one line settles of a position (numeric: positions are cumulative
 * and have no bound), from the account's available money (avail) and the
 * room left under its balance bound (headroom): at most EP_MAX_AMOUNT ($3),
 * a payout at most the account's own money (posted less held, never a
 * credit line's limit), a collection at most what the balance can still
 * take.  The rest carries to the next batch.
 */
#define SETTLE_BOUND \
	"(CASE WHEN position > 0 THEN least(position, greatest(avail, 0), $3) " \
	"      ELSE greatest(position, -$3, -greatest(headroom, 0)) END)::bigint "

/* The lines a batch is about to settle, one per linked account */
typedef struct SettleLines
{
	uint64		n;
	int64	   *account;
	char	  **ref;
	Datum	   *position;
	int64	   *settle;
} SettleLines;

static void
lines_alloc(SettleLines *lines, uint64 n)
{
	lines->n = n;
	lines->account = palloc(sizeof(int64) * Max(n, 1));
	lines->ref = palloc(sizeof(char *) * Max(n, 1));
	lines->position = palloc(sizeof(Datum) * Max(n, 1));
	lines->settle = palloc(sizeof(int64) * Max(n, 1));
}

/*
 * On a Citus cluster, which refuses a locking statement over several
 * shards and cannot join an account's legs with their transfers (not
 * co-located) in one statement: the linked accounts of values[0] (the
 * institution) are locked one statement each, in ascending id order as on
 * one server, before any position is read; then each account's position up
 * to values[1] (the cutoff) is read on its own: its legs through
 * escrow.account_legs(), less what earlier batches settled, and bounded by
 * its balance (values[2], values[3]: EP_MAX_AMOUNT and EP_MAX_BALANCE).
 */
static void
positions_each(Datum *values, SettleLines *lines)
{
	static EpPlan linked = EP_PLAN("SELECT account, external_ref FROM escrow.settlement_links "
		" WHERE institution = $1 ORDER BY account", TEXTOID);
	static EpPlan lock = EP_PLAN("SELECT id FROM escrow.accounts WHERE id = $1 FOR UPDATE",
		INT8OID);
	static EpPlan position = EP_PLAN("SELECT coalesce((SELECT sum(l.amount) "
		"                   FROM escrow.account_legs($1, '-infinity', $2) l "
		"                  WHERE l.kind NOT IN ('settlement', 'deposit', 'withdraw')), 0) "
		"     - coalesce((SELECT sum(s.settled) FROM escrow.settlement_lines s "
		"                  WHERE s.account = $1), 0)", INT8OID, TIMESTAMPTZOID);
	static EpPlan bound = EP_PLAN("SELECT " SETTLE_BOUND
		"  FROM (SELECT $2::numeric AS position, b.posted - b.held AS avail, "
		"               $4 - b.posted AS headroom "
		"          FROM escrow.balances b WHERE b.account = $1) p",
		INT8OID, NUMERICOID, INT8OID, INT8OID);
	Datum		args[4];
	bool		isnull;
	uint64		i;

	lines_alloc(lines, ep_exec(&linked, values, NULL, 0));
	for (i = 0; i < lines->n; i++)
	{
		lines->account[i] = ep_int64(i, 1);
		lines->ref[i] = ep_text(i, 2);
	}
	for (i = 0; i < lines->n; i++)
	{
		args[0] = Int64GetDatum(lines->account[i]);
		ep_exec(&lock, args, NULL, 1);
	}
	for (i = 0; i < lines->n; i++)
	{
		args[0] = Int64GetDatum(lines->account[i]);
		args[1] = values[1];
		ep_exec(&position, args, NULL, 1);
		lines->position[i] = SPI_datumTransfer(ep_datum(0, 1, &isnull), false, -1);
		args[1] = lines->position[i];
		args[2] = values[2];
		args[3] = values[3];
		ep_exec(&bound, args, NULL, 1);
		lines->settle[i] = ep_int64(0, 1);
	}
}

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
	/* positions and what each line settles (SETTLE_BOUND) */
	static EpPlan positions = EP_PLAN("SELECT account, external_ref, position, " SETTLE_BOUND
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
	uint64		i;
	SettleLines lines;
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
	values[2] = Int64GetDatum(EP_MAX_AMOUNT);
	values[3] = Int64GetDatum(EP_MAX_BALANCE);
	if (ep_distributed())
		positions_each(values, &lines);
	else
	{
		ep_exec(&lock_linked, values, NULL, 0);
		lines_alloc(&lines, ep_exec(&positions, values, NULL, 0));
		for (i = 0; i < lines.n; i++)
		{
			lines.account[i] = ep_int64(i, 1);
			lines.ref[i] = ep_text(i, 2);
			lines.position[i] = SPI_datumTransfer(ep_datum(i, 3, &isnull), false, -1);
			lines.settle[i] = ep_int64(i, 4);
		}
	}
	values[0] = Int64GetDatum(clearing);
	ep_exec(&clearing_posted, values, NULL, 1);
	clearing_at = ep_int64(0, 1);
	values[0] = PG_GETARG_DATUM(0);

	values[2] = Int64GetDatum(clearing);
	ep_exec(&batch, values, NULL, 1);
	batch_id = ep_int64(0, 1);

	/* accounts in ascending id order; the clearing account is a system account */
	for (i = 0; i < lines.n; i++)
	{
		EpPosting	p = {0};
		int64		settled = lines.settle[i];

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
			p.debit = settled > 0 ? lines.account[i] : clearing;
			p.credit = settled > 0 ? clearing : lines.account[i];
			p.amount = settled > 0 ? settled : -settled;
			ep_post_transfer(&p);
			if (settled > 0)
				paid_out = ep_add(paid_out, settled, "paid out");
			else
				collected = ep_add(collected, -settled, "collected");
		}
		values[0] = Int64GetDatum(batch_id);
		values[1] = Int64GetDatum(lines.account[i]);
		values[2] = CStringGetTextDatum(lines.ref[i]);
		values[3] = lines.position[i];
		values[4] = Int64GetDatum(settled);
		values[5] = Int64GetDatum(p.id);
		ep_exec(&line, values, NULL, 0);
	}
	values[0] = Int64GetDatum(batch_id);
	values[1] = Int32GetDatum((int32) lines.n);
	values[2] = Int64GetDatum(paid_out);
	values[3] = Int64GetDatum(collected);
	ep_exec(&totals, values, NULL, 0);
	SPI_finish();
	PG_RETURN_INT64(batch_id);
}
