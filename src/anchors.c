/*-------------------------------------------------------------------------
 *
 * anchors.c
 *	  Balance anchors, stored by escrow.checkpoint() (65_balance_history.sql
 *	  and docs/reference.md, "Balance anchors", say what they hold and how
 *	  balance_at() reads them).
 *
 * A checkpoint takes every account's legs (one per transfer) of the
 * transfers it seals, in transfer id order: it fills the account's open
 * anchor up to escrow.balance_anchor_legs() legs, then starts new ones,
 * each with the balance after its last leg, the earliest and latest time
 * of its legs, the latest time of every leg up to it (upto_at) and the
 * earliest of every leg from it on (from_at, lowered on the account's
 * earlier anchors when a new leg is older).  A full anchor is inserted
 * into escrow.balance_anchors once; the account's last one, while it
 * fills, is its row of escrow.open_balance_anchors, indexed by the
 * account alone so that rewriting it is a HOT update (rewriting it in the
 * indexed table left a dead version and three index entries per touched
 * account and checkpoint: bench/README.md).  Three statements, each
 * reading the new legs once: the cost follows the transfers sealed, not
 * the accounts' histories.  Only checkpoint() calls it, so no role can
 * write an anchor out of step with the sealed journal; verify_ledger()
 * recomputes them all.
 *
 *-------------------------------------------------------------------------
 */
#include "anchors.h"

#include "plan.h"

/* the new legs: one per account and transfer (a self-transfer's sum to 0) */
#define NEW_LEGS_SQL \
	"CREATE TEMPORARY TABLE escrowpay_new_legs ON COMMIT DROP AS " \
	"SELECT l.account, l.transfer, sum(l.amount)::bigint AS amount, " \
	"       min(l.created_at) AS created_at " \
	"  FROM (SELECT t.debit_account AS account, t.id AS transfer, -t.amount::bigint AS amount, " \
	"               t.created_at " \
	"          FROM escrow.transfers t WHERE t.id > " INT64_FORMAT " AND t.id <= " INT64_FORMAT \
	"        UNION ALL " \
	"        SELECT t.credit_account, t.id, t.amount::bigint, t.created_at " \
	"          FROM escrow.transfers t WHERE t.id > " INT64_FORMAT " AND t.id <= " INT64_FORMAT ") l " \
	" GROUP BY l.account, l.transfer"

/*
 * The earliest time from each earlier anchor on (a full anchor's from_at
 * changes only when a new leg is older than one of its legs: rare, and
 * then one index probe per account finds it; the open anchor's is
 * rewritten below)
 */
#define LOWER_FROM_SQL \
	"UPDATE escrow.balance_anchors b SET from_at = n.first_at " \
	"  FROM (SELECT l.account, min(l.created_at) AS first_at " \
	"          FROM pg_temp.escrowpay_new_legs l GROUP BY l.account) n " \
	" WHERE b.account = n.account AND b.from_at > n.first_at"

/*
 * Each leg's anchor: the account's open one first (k = 0, filled up to
 * full legs), then new ones; an anchor's balance and upto_at run on from
 * the account's last anchor (its open one, else its last full one),
 * from_at is the earliest time from it on.  The anchors that are full are
 * inserted into escrow.balance_anchors, once; the account's last one, when
 * it is not full, replaces its open anchor (an update of a row indexed by
 * its key alone), and an open anchor that filled up is deleted.
 */
#define STORE_SQL \
	"WITH f AS (SELECT escrow.balance_anchor_legs() AS full_legs), " \
	"newest AS (" \
	"    SELECT o.* FROM (SELECT DISTINCT l.account FROM pg_temp.escrowpay_new_legs l) a " \
	"      CROSS JOIN LATERAL (" \
	"        SELECT b.account, b.seq, b.legs, b.balance, b.first_at, b.last_at, b.upto_at " \
	"          FROM escrow.all_balance_anchors b WHERE b.account = a.account " \
	"         ORDER BY b.seq DESC LIMIT 1) o), " \
	"placed AS (" \
	"    SELECT l.account, l.transfer, l.amount, l.created_at, " \
	"           coalesce(n.balance, 0) AS base, n.upto_at AS base_upto, " \
	"           CASE WHEN n.legs < f.full_legs THEN n.seq ELSE coalesce(n.seq, 0) + 1 END AS open_seq, " \
	"           CASE WHEN n.legs < f.full_legs THEN n.legs ELSE 0 END AS open_legs, " \
	"           CASE WHEN n.legs < f.full_legs THEN n.first_at END AS open_first, " \
	"           CASE WHEN n.legs < f.full_legs THEN n.last_at END AS open_last, " \
	"           (CASE WHEN n.legs < f.full_legs THEN n.legs ELSE 0 END " \
	"            + row_number() OVER (PARTITION BY l.account ORDER BY l.transfer) - 1) / f.full_legs AS k " \
	"      FROM pg_temp.escrowpay_new_legs l CROSS JOIN f " \
	"      LEFT JOIN newest n ON n.account = l.account), " \
	"runs AS (" \
	"    SELECT p.account, p.open_seq + p.k AS seq, max(p.transfer) AS last_transfer, " \
	"           count(*) + CASE WHEN p.k = 0 THEN p.open_legs ELSE 0 END AS legs, " \
	"           sum(p.amount) AS moved, p.base, p.base_upto, " \
	"           least(min(p.created_at), CASE WHEN p.k = 0 THEN p.open_first END) AS first_at, " \
	"           greatest(max(p.created_at), CASE WHEN p.k = 0 THEN p.open_last END) AS last_at " \
	"      FROM placed p " \
	"     GROUP BY p.account, p.open_seq, p.k, p.open_legs, p.open_first, p.open_last, p.base, " \
	"              p.base_upto), " \
	"anchors AS MATERIALIZED (" \
	"    SELECT r.account, r.seq, r.last_transfer, r.legs::integer AS legs, " \
	"           (r.base + sum(r.moved) OVER (PARTITION BY r.account ORDER BY r.seq))::bigint AS balance, " \
	"           r.first_at, r.last_at, " \
	"           greatest(r.base_upto, max(r.last_at) OVER (PARTITION BY r.account ORDER BY r.seq)) AS upto_at, " \
	"           min(r.first_at) OVER (PARTITION BY r.account ORDER BY r.seq DESC) AS from_at, " \
	"           r.legs = f.full_legs AS full " \
	"      FROM runs r CROSS JOIN f), " \
	"sealed AS (" \
	"    INSERT INTO escrow.balance_anchors " \
	"           (account, seq, last_transfer, legs, balance, first_at, last_at, upto_at, from_at) " \
	"    SELECT a.account, a.seq, a.last_transfer, a.legs, a.balance, a.first_at, a.last_at, " \
	"           a.upto_at, a.from_at " \
	"      FROM anchors a WHERE a.full), " \
	"filled AS (" \
	"    DELETE FROM escrow.open_balance_anchors o " \
	"     WHERE o.account IN (SELECT a.account FROM anchors a GROUP BY a.account " \
	"                          HAVING bool_and(a.full))) " \
	"INSERT INTO escrow.open_balance_anchors AS o " \
	"       (account, seq, last_transfer, legs, balance, first_at, last_at, upto_at, from_at) " \
	"SELECT a.account, a.seq, a.last_transfer, a.legs, a.balance, a.first_at, a.last_at, " \
	"       a.upto_at, a.from_at " \
	"  FROM anchors a WHERE NOT a.full " \
	"ON CONFLICT (account) DO UPDATE " \
	"   SET seq = excluded.seq, last_transfer = excluded.last_transfer, legs = excluded.legs, " \
	"       balance = excluded.balance, first_at = excluded.first_at, " \
	"       last_at = excluded.last_at, upto_at = excluded.upto_at, from_at = excluded.from_at"

void
ep_store_balance_anchors(int64 after, int64 upto)
{
	/*
	 * the new legs are read once (on a Citus cluster the transfers' shards
	 * are read here, the rest is the coordinator's)
	 */
	if (ep_execute(psprintf(NEW_LEGS_SQL, after, upto, after, upto), false, 0) < 0 ||
		ep_execute(LOWER_FROM_SQL, false, 0) < 0 ||
		ep_execute(STORE_SQL, false, 0) < 0 ||
		ep_execute("DROP TABLE pg_temp.escrowpay_new_legs", false, 0) < 0)
		elog(ERROR, "escrowpay: could not store the balance anchors");
}
