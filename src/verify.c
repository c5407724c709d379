/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  escrow.verify_ledger() recomputes the ledger's invariants from the
 *	  journal and reports each violation as a (problem, detail) row; no rows
 *	  means the ledger is sound:
 *
 *	  - entries (folded or not) sum to zero per currency;
 *	  - every transfer has exactly its two entries, folded or not
 *		(-amount on the debit account, +amount on the credit account, same
 *		currency), and its hold, refund and funding references agree with
 *		its kind;
 *	  - each account's posted balance equals its folded entries plus its
 *		unfolded legs applied to the row, its entry count its folded
 *		entries, and its held amount the remainder of its open holds;
 *	  - deposit accounts never below zero, credit lines within their limit,
 *		both including holds;
 *	  - holds: captured + released <= amount, captured equals their
 *		captures, ended holds keep nothing back;
 *	  - a deal's held amount equals what its open holds keep back;
 *	  - refunds never exceed the transfer, and match its refunded total;
 *	  - every account's SHA-256 chain recomputes, balance by balance, to the
 *		head stored on the account;
 *	  - balance anchors: each account's anchor of its legs up to each
 *		checkpoint recomputes from the sealed journal;
 *	  - signed checkpoints (checkpoint.c): numbered in order, each signature
 *		verifying under its public key, each stored chunk and each root
 *		recomputing from the transfers it sealed, none missing or added;
 *	  - owned transfers (escrow.transfer_owners): a capture belongs to its
 *		hold's deal (or nobody), a refund to the owner of what it refunds,
 *		a settlement to the batch whose line names it; each owner posts
 *		only its kinds of transfer (a terminal moves its cash account, a
 *		receivable pays into or back from its account); a deal's capture,
 *		fee and pre-payment are its own;
 *	  - receivables: paid equals the payments that belong to it, none of
 *		them refunded; the status agrees with the amounts (open: something
 *		outstanding; paid: nothing); a cancelled invoice's payments went
 *		back to the buyer, nothing went back otherwise; kind, parties,
 *		amount and account agree with the deal; a financed deal that was
 *		settled has its receivable, an agency deal is completed only with
 *		its invoice paid;
 *	  - a loan and the buyer's credit line agree: what the deal drew on the
 *		line (its capture, less what was given back) less the repayments
 *		equals what is outstanding (nothing for a cancelled loan);
 *	  - the platform's own accounts (accounts.platform) are exactly the
 *		funding, clearing and terminals' cash accounts;
 *	  - a cash terminal's cash account moves only through the terminal and
 *		the deals paid at it, and the cash in the machine is what its
 *		balance says: the balance, less what those deals moved on it, less
 *		what was unloaded beyond the float.
 *
 *-------------------------------------------------------------------------
 */
#include "verify.h"
#include "checkpoint.h"
#include "limits.h"

#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "journal.h"
#include "ledger.h"
#include "plan.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(escrow_verify_ledger);

/*
 * Set-based checks: each query returns (problem, detail) rows.
 */
static const char *const checks[] = {
	/* entries sum to zero per currency */
	"SELECT 'currency_unbalanced', "
	"       format('entries in %s sum to %s', a.currency, sum(e.amount)) "
	"  FROM (SELECT account, amount FROM escrow.entries "
	"        UNION ALL SELECT account, amount FROM escrow.unfolded) e "
	"  JOIN escrow.accounts a ON a.id = e.account "
	" GROUP BY a.currency HAVING sum(e.amount) <> 0",

	/* each transfer: exactly its two entries, folded or not */
	"WITH e AS ("
	"  SELECT e.transfer_id, e.amount, a.id AS logical, a.currency "
	"    FROM (SELECT account, transfer_id, amount FROM escrow.entries "
	"          UNION ALL SELECT account, transfer_id, amount FROM escrow.unfolded) e "
	"    JOIN escrow.accounts a ON a.id = e.account), "
	"g AS ("
	"  SELECT t.id, count(e.transfer_id) AS n, "
	"         count(*) FILTER (WHERE e.logical = t.debit_account AND e.amount = -t.amount) AS d, "
	"         count(*) FILTER (WHERE e.logical = t.credit_account AND e.amount = t.amount) AS c, "
	"         count(DISTINCT e.currency) AS currencies, "
	"         string_agg(e.logical || ':' || e.amount, ', ' ORDER BY e.logical) AS entries "
	"    FROM escrow.transfers t LEFT JOIN e ON e.transfer_id = t.id GROUP BY t.id) "
	"SELECT 'transfer_entries', "
	"       format('transfer %s (%s of %s from %s to %s) has entries %s', "
	"              t.id, t.kind, t.amount, t.debit_account, t.credit_account, "
	"              coalesce(g.entries, 'none')) "
	"  FROM g JOIN escrow.transfers t ON t.id = g.id "
	" WHERE g.n <> 2 OR g.d <> 1 OR g.c <> 1 OR g.currencies <> 1",

	/* each transfer's references agree with its kind */
	"SELECT 'transfer_reference', format('transfer %s (%s): %s', t.id, t.kind, r.why) "
	"  FROM escrow.transfers t "
	"  LEFT JOIN escrow.holds h ON h.id = t.hold_id "
	"  LEFT JOIN escrow.transfers o ON o.id = t.refund_of "
	"  LEFT JOIN escrow.accounts d ON d.id = t.debit_account "
	"  LEFT JOIN escrow.accounts c ON c.id = t.credit_account "
	"  CROSS JOIN LATERAL (SELECT CASE "
	"    WHEN d.id IS NULL OR c.id IS NULL "
	"      THEN 'names a missing account' "
	"    WHEN t.debit_account = t.credit_account "
	"      THEN 'debits and credits the same account' "
	"    WHEN t.refunded < 0 OR t.refunded > t.amount "
	"      THEN format('refunded %s is outside 0..%s', t.refunded, t.amount) "
	"    WHEN (t.kind = 'capture') <> (t.hold_id IS NOT NULL) "
	"      THEN 'hold reference does not match its kind' "
	"    WHEN t.kind = 'capture' AND (h.id IS NULL OR h.debit_account <> t.debit_account "
	"                                 OR h.credit_account <> t.credit_account) "
	"      THEN format('hold %s is missing or between other accounts', t.hold_id) "
	"    WHEN (t.kind = 'refund') <> (t.refund_of IS NOT NULL) "
	"      THEN 'refund reference does not match its kind' "
	"    WHEN t.kind = 'refund' AND (o.id IS NULL OR o.kind NOT IN ('capture', 'transfer') "
	"                                OR o.debit_account <> t.credit_account "
	"                                OR o.credit_account <> t.debit_account) "
	"      THEN format('refunded transfer %s is missing, not refundable or between other accounts', "
	"                  t.refund_of) "
	"    WHEN (d.owner = '" EP_FUNDING_OWNER "') <> (t.kind = 'deposit') "
	"      THEN 'only deposits draw on a funding account' "
	"    WHEN (c.owner = '" EP_FUNDING_OWNER "') <> (t.kind = 'withdraw') "
	"      THEN 'only withdrawals pay into a funding account' "
	"    END AS why) r "
	" WHERE r.why IS NOT NULL",

	/* entries of no transfer */
	"SELECT 'orphan_entry', format('entry %s/%s names missing transfer %s', "
	"       e.account, coalesce(e.seq::text, 'unfolded'), e.transfer_id) "
	"  FROM (SELECT account, seq, transfer_id FROM escrow.entries "
	"        UNION ALL SELECT account, NULL, transfer_id FROM escrow.unfolded) e "
	" WHERE NOT EXISTS (SELECT 1 FROM escrow.transfers t WHERE t.id = e.transfer_id)",

	/* stored posted / held against the journal and holds */
	"SELECT 'account_totals', "
	"       format('account %s: posted %s vs entries and applied legs %s, "
	"held %s vs open holds %s', "
	"              a.id, a.posted, coalesce(e.total, 0), a.held, coalesce(h.total, 0)) "
	"  FROM escrow.accounts a "
	"  LEFT JOIN (SELECT account, sum(amount) AS total "
	"               FROM (SELECT account, amount FROM escrow.entries "
	"                     UNION ALL SELECT account, amount FROM escrow.unfolded "
	"                                WHERE applied) x "
	"              GROUP BY account) e ON e.account = a.id "
	"  LEFT JOIN (SELECT debit_account, sum(amount - captured - released) AS total "
	"               FROM escrow.holds WHERE status = 'open' GROUP BY debit_account) h "
	"         ON h.debit_account = a.id "
	" WHERE a.posted <> coalesce(e.total, 0) OR a.held <> coalesce(h.total, 0)",

	/* no deposit account below zero, no credit line beyond its limit (folded money) */
	"SELECT 'overdrawn', "
	"       format('%s account %s: posted %s, held %s, credit_limit %s', "
	"              a.kind, a.id, a.posted, a.held, a.credit_limit) "
	"  FROM escrow.accounts a "
	" WHERE a.kind IN ('deposit', 'credit') "
	"   AND (a.posted::numeric + a.credit_limit - a.held < 0 "
	"        OR (a.kind = 'deposit' AND a.credit_limit <> 0))",

	/* an account has at most one leg of a transfer waiting */
	"SELECT 'unfolded', format('account %s has %s unfolded legs of transfer %s', "
	"       account, count(*), transfer_id) "
	"  FROM escrow.unfolded GROUP BY account, transfer_id HAVING count(*) > 1",

	/* holds name two existing accounts of one currency */
	"SELECT 'hold_reference', format('hold %s: accounts %s and %s are missing or in different currencies', "
	"       h.id, h.debit_account, h.credit_account) "
	"  FROM escrow.holds h "
	"  LEFT JOIN escrow.accounts d ON d.id = h.debit_account "
	"  LEFT JOIN escrow.accounts c ON c.id = h.credit_account "
	" WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> c.currency "
	"    OR h.debit_account = h.credit_account",

	/* a deal holds exactly what its open holds keep back */
	"SELECT 'deal_holds', format('deal %s (%s): held %s, its open holds keep %s', "
	"       d.id, d.stage, d.held, coalesce(h.total, 0)) "
	"  FROM escrow.deals d "
	"  LEFT JOIN (SELECT deal, sum(amount - captured - released) AS total "
	"               FROM escrow.holds WHERE status = 'open' AND deal IS NOT NULL "
	"              GROUP BY deal) h ON h.deal = d.id "
	" WHERE d.held <> coalesce(h.total, 0)",

	/* fields set once, checked by the C writers rather than table CHECKs */
	"SELECT 'account_fields', format('account %s (%s): %s', a.id, a.kind, r.why) "
	"  FROM escrow.accounts a "
	"  CROSS JOIN LATERAL (SELECT CASE "
	"    WHEN btrim(a.owner) = '' THEN 'blank owner' "
	"    WHEN a.credit_limit < 0 THEN 'negative credit limit' "
	"    WHEN a.kind <> 'credit' AND a.credit_limit <> 0 THEN 'credit limit on a non-credit account' "
	"    WHEN a.kind = 'shard' THEN 'a balance shard, which no longer exists' "
	"    WHEN a.held < 0 THEN 'negative held amount' "
	"    END AS why) r "
	" WHERE r.why IS NOT NULL",

	/* holds against their captures */
	"SELECT 'hold_totals', "
	"       format('hold %s (%s): amount %s, captured %s (captures sum %s), released %s', "
	"              h.id, h.status, h.amount, h.captured, coalesce(c.total, 0), h.released) "
	"  FROM escrow.holds h "
	"  LEFT JOIN (SELECT hold_id, sum(amount) AS total FROM escrow.transfers "
	"              WHERE kind = 'capture' GROUP BY hold_id) c ON c.hold_id = h.id "
	" WHERE h.captured <> coalesce(c.total, 0) "
	"    OR h.captured + h.released > h.amount "
	"    OR (h.status <> 'open' AND h.captured + h.released <> h.amount) "
	"    OR (h.status = 'open' AND h.captured + h.released = h.amount)",

	/* who a transfer belongs to agrees with what it is */
	"SELECT 'transfer_owner', format('transfer %s (%s): %s', t.id, t.kind, r.why) "
	"  FROM escrow.transfers t "
	"  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id "
	"  LEFT JOIN escrow.holds h ON h.id = t.hold_id "
	"  LEFT JOIN escrow.transfer_owners ro ON ro.transfer_id = t.refund_of "
	"  LEFT JOIN escrow.settlement_lines l ON l.transfer_id = t.id "
	"  LEFT JOIN escrow.terminals tm ON tm.terminal_no = o.terminal "
	"  LEFT JOIN escrow.receivables rv ON rv.id = o.receivable "
	"  CROSS JOIN LATERAL (SELECT CASE "
	"    WHEN t.kind = 'capture' AND o.deal IS DISTINCT FROM h.deal "
	"      THEN format('captures hold %s of %s but belongs to %s', t.hold_id, "
	"                  coalesce('deal ' || h.deal, 'nobody'), "
	"                  coalesce('deal ' || o.deal, 'receivable ' || o.receivable, "
	"                           'terminal ' || o.terminal, 'batch ' || o.batch, 'nobody')) "
	"    WHEN t.kind = 'refund' AND (o.deal, o.receivable, o.terminal, o.batch) "
	"         IS DISTINCT FROM (ro.deal, ro.receivable, ro.terminal, ro.batch) "
	"      THEN format('refunds transfer %s but does not belong to its owner', t.refund_of) "
	"    WHEN t.kind = 'settlement' AND (l.batch IS NULL OR o.batch IS DISTINCT FROM l.batch) "
	"      THEN format('settles in batch %s but belongs to %s', coalesce(l.batch::text, '(none)'), "
	"                  coalesce('deal ' || o.deal, 'receivable ' || o.receivable, "
	"                           'terminal ' || o.terminal, 'batch ' || o.batch, 'nobody')) "
	"    WHEN o.batch IS NOT NULL AND t.kind <> 'settlement' "
	"      THEN format('belongs to batch %s but is no settlement', o.batch) "
	"    WHEN o.deal IS NOT NULL AND t.kind NOT IN ('capture', 'transfer', 'refund') "
	"      THEN format('belongs to deal %s, which posts no %s', o.deal, t.kind) "
	"    WHEN o.terminal IS NOT NULL AND (t.kind NOT IN ('deposit', 'withdraw', 'refund') "
	"         OR tm.cash_account NOT IN (t.debit_account, t.credit_account)) "
	"      THEN format('belongs to terminal %s but does not move its cash account in or out', o.terminal) "
	"    WHEN o.receivable IS NOT NULL AND (t.kind NOT IN ('transfer', 'refund') "
	"         OR rv.pay_to NOT IN (t.debit_account, t.credit_account)) "
	"      THEN format('belongs to receivable %s but does not pay into or back from its account %s', "
	"                  o.receivable, rv.pay_to) "
	"    END AS why) r "
	" WHERE r.why IS NOT NULL",

	/* ownership records of no transfer */
	"SELECT 'transfer_owner', format('owner record of missing transfer %s', o.transfer_id) "
	"  FROM escrow.transfer_owners o "
	" WHERE NOT EXISTS (SELECT 1 FROM escrow.transfers t WHERE t.id = o.transfer_id)",

	/* a deal's own transfers are its own */
	"SELECT 'transfer_owner', format('deal %s: its %s transfer %s belongs to %s', d.id, x.what, x.id, "
	"       coalesce('deal ' || o.deal, 'receivable ' || o.receivable, "
	"                'terminal ' || o.terminal, 'batch ' || o.batch, 'nobody')) "
	"  FROM escrow.deals d "
	"  CROSS JOIN LATERAL (VALUES ('capture', d.capture_transfer), ('fee', d.fee_transfer), "
	"                             ('pre-payment', d.prepay_transfer)) x (what, id) "
	"  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = x.id "
	" WHERE x.id IS NOT NULL AND o.deal IS DISTINCT FROM d.id "
	"UNION ALL "
	"SELECT 'transfer_owner', format('deal %s: the capture transfer %s of source %s belongs to %s', "
	"       s.deal, s.capture_transfer, s.account, coalesce('deal ' || o.deal, 'another owner or nobody')) "
	"  FROM escrow.deal_sources s "
	"  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = s.capture_transfer "
	" WHERE s.capture_transfer IS NOT NULL AND o.deal IS DISTINCT FROM s.deal",

	/* receivables against the payments that belong to them */
	"WITH m AS ("
	"  SELECT o.receivable, "
	"         sum(t.amount) FILTER (WHERE t.credit_account = r.pay_to) AS paid_in, "
	"         sum(t.refunded) FILTER (WHERE t.credit_account = r.pay_to) AS refunded, "
	"         sum(t.amount) FILTER (WHERE t.debit_account = r.pay_to) AS returned "
	"    FROM escrow.transfer_owners o "
	"    JOIN escrow.transfers t ON t.id = o.transfer_id "
	"    JOIN escrow.receivables r ON r.id = o.receivable "
	"   WHERE o.receivable IS NOT NULL GROUP BY o.receivable) "
	"SELECT 'receivable_payments', "
	"       format('%s %s (deal %s, %s): amount %s, paid %s; its payments sum %s, %s of them refunded; %s sent back', "
	"              r.kind, r.id, r.deal, r.status, r.amount, r.paid, coalesce(m.paid_in, 0), "
	"              coalesce(m.refunded, 0), coalesce(m.returned, 0)) "
	"  FROM escrow.receivables r LEFT JOIN m ON m.receivable = r.id "
	" WHERE coalesce(m.refunded, 0) <> 0 "
	"    OR (r.status = 'open' AND r.paid >= r.amount) "
	"    OR (r.status = 'paid' AND r.paid <> r.amount) "
	"    OR CASE WHEN r.kind = 'invoice' AND r.status = 'cancelled' "
	/* a cancelled invoice: every payment sent back */
	"            THEN r.paid <> coalesce(m.paid_in, 0) OR coalesce(m.returned, 0) <> r.paid "
	/* an invoice written down: what it was paid beyond the new amount sent back */
	"            WHEN r.kind = 'invoice' "
	"            THEN r.paid <> coalesce(m.paid_in, 0) - coalesce(m.returned, 0) "
	"                 OR coalesce(m.returned, 0) > r.written_down "
	/* a loan written down: repayments beyond it stay on the buyer's line */
	"            ELSE coalesce(m.returned, 0) <> 0 "
	"                 OR r.paid <> least(coalesce(m.paid_in, 0), r.amount) "
	"                 OR (r.written_down = 0 AND r.paid <> coalesce(m.paid_in, 0)) END",

	/* receivables against their deals */
	"SELECT 'receivable_deal', format('%s %s of deal %s (%s, %s): %s', r.kind, r.id, d.id, "
	"       d.settlement, d.stage, x.why) "
	"  FROM escrow.receivables r JOIN escrow.deals d ON d.id = r.deal "
	"  CROSS JOIN LATERAL (SELECT CASE "
	"    WHEN r.kind IS DISTINCT FROM escrow.settlement_receivable(d.settlement) "
	"      THEN 'the wrong kind of receivable for the deal' "
	"    WHEN r.debtor <> d.buyer OR r.creditor IS DISTINCT FROM d.institution "
	"      THEN format('owed by %s to %s, the deal is of buyer %s and institution %s', "
	"                  r.debtor, r.creditor, d.buyer, d.institution) "
	"    WHEN r.amount + r.written_down <> d.amount "
	"      THEN format('amount %s and written down %s, the deal''s %s', "
	"                  r.amount, r.written_down, d.amount) "
	"    WHEN r.pay_to IS DISTINCT FROM CASE r.kind WHEN 'loan' THEN d.debit_account "
	"                                              ELSE d.institution_account END "
	"      THEN format('paid into account %s, not the deal''s %s', r.pay_to, "
	"                  CASE r.kind WHEN 'loan' THEN 'credit line' ELSE 'institution''s account' END) "
	"    WHEN r.status = 'cancelled' AND d.stage IN ('settled', 'invoiced', 'completed') "
	"      THEN 'cancelled while the deal stands' "
	"    WHEN r.status <> 'cancelled' AND d.stage = 'refunded' "
	"      THEN 'still owed although the deal was refunded' "
	"    WHEN r.kind = 'invoice' AND d.stage = 'completed' AND r.status <> 'paid' "
	"      THEN format('the deal is completed with the invoice %s', r.status) "
	"    WHEN d.stage = 'invoiced' AND r.status <> 'open' "
	"      THEN format('the deal waits for an invoice that is %s', r.status) "
	"    END AS why) x "
	" WHERE x.why IS NOT NULL "
	"UNION ALL "
	"SELECT 'receivable_deal', format('%s deal %s (%s) has no receivable', d.settlement, d.id, d.stage) "
	"  FROM escrow.deals d "
	" WHERE escrow.settlement_receivable(d.settlement) IS NOT NULL "
	"   AND d.stage IN ('settled', 'invoiced', 'completed') "
	"   AND NOT EXISTS (SELECT 1 FROM escrow.receivables r WHERE r.deal = d.id)",

	/* a loan against what its deal drew on the buyer's credit line */
	"SELECT 'loan_line', "
	"       format('loan %s of deal %s (%s): outstanding %s, but the line is drawn %s for it "
	"(captured %s, given back %s, repaid %s)', r.id, d.id, r.status, "
	"              CASE WHEN r.status = 'cancelled' THEN 0 ELSE r.amount - r.paid END, "
	"              coalesce(c.amount - c.refunded, 0) - p.repaid, coalesce(c.amount, 0), "
	"              coalesce(c.refunded, 0), p.repaid) "
	"  FROM escrow.receivables r JOIN escrow.deals d ON d.id = r.deal "
	"  LEFT JOIN escrow.transfers c ON c.id = d.capture_transfer "
	"  CROSS JOIN LATERAL (SELECT coalesce(sum(t.amount - t.refunded), 0) AS repaid "
	"                        FROM escrow.transfer_owners o "
	"                        JOIN escrow.transfers t ON t.id = o.transfer_id "
	"                       WHERE o.receivable = r.id AND t.credit_account = r.pay_to) p "
	" WHERE r.kind = 'loan' "
	"   AND coalesce(c.amount - c.refunded, 0) - p.repaid "
	"       <> CASE WHEN r.status = 'cancelled' THEN -p.repaid ELSE r.amount - p.repaid END",

	/* the platform's own accounts are marked, and only they */
	"SELECT 'platform_account', CASE WHEN a.platform "
	"         THEN format('account %s (%s, owner %s) is marked the platform''s but is no funding, "
	"clearing or terminal''s cash account', a.id, a.kind, a.owner) "
	"         ELSE format('account %s is %s but not marked the platform''s', a.id, w.what) END "
	"  FROM escrow.accounts a "
	"  LEFT JOIN escrow.terminals tm ON tm.cash_account = a.id "
	"  LEFT JOIN escrow.parties p ON p.clearing_account = a.id "
	"  CROSS JOIN LATERAL (SELECT coalesce("
	"    CASE WHEN a.kind = 'system' AND a.owner = '" EP_FUNDING_OWNER "' "
	"         THEN 'the funding account of ' || a.currency END, "
	"    'the cash account of terminal ' || tm.terminal_no, "
	"    'the clearing account of institution ' || p.party_no) AS what) w "
	" WHERE a.platform <> (w.what IS NOT NULL)",

	/* a terminal's cash account moves through the terminal and its deals only */
	"SELECT 'terminal_account', "
	"       format('transfer %s (%s of %s) moves the cash account %s of terminal %s but belongs to %s', "
	"              t.id, t.kind, t.amount, tm.cash_account, tm.terminal_no, "
	"              coalesce('deal ' || o.deal, 'receivable ' || o.receivable, "
	"                       'terminal ' || o.terminal, 'batch ' || o.batch, 'nobody')) "
	"  FROM (SELECT account, transfer_id FROM escrow.entries "
	"        UNION ALL SELECT account, transfer_id FROM escrow.unfolded) l "
	"  JOIN escrow.terminals tm ON tm.cash_account = l.account "
	"  JOIN escrow.transfers t ON t.id = l.transfer_id "
	"  LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id "
	"  LEFT JOIN escrow.deals d ON d.id = o.deal "
	" WHERE o.terminal IS DISTINCT FROM tm.terminal_no "
	"   AND d.debit_account IS DISTINCT FROM tm.cash_account",

	/* the cash in a terminal against its cash account */
	"WITH f AS ("
	"  SELECT tm.terminal_no, sum(l.amount) AS balance, "
	"         coalesce(sum(l.amount) FILTER (WHERE o.deal IS NOT NULL), 0) AS deals "
	"    FROM escrow.terminals tm "
	"    JOIN (SELECT account, transfer_id, amount FROM escrow.entries "
	"          UNION ALL SELECT account, transfer_id, amount FROM escrow.unfolded) l "
	"      ON l.account = tm.cash_account "
	"    LEFT JOIN escrow.transfer_owners o ON o.transfer_id = l.transfer_id "
	"   GROUP BY tm.terminal_no), "
	"c AS (SELECT terminal_no, sum(denomination::numeric * pieces) AS cash "
	"        FROM escrow.terminal_cash GROUP BY terminal_no) "
	"SELECT 'terminal_cash', "
	"       format('terminal %s: %s in the machine, but its cash account %s accounts for %s "
	"(balance %s, plus %s the deals paid at it moved out, less %s unloaded beyond the float)', "
	"              tm.terminal_no, coalesce(c.cash, 0), tm.cash_account, "
	"              coalesce(f.balance, 0) - coalesce(f.deals, 0) - tm.unloaded_beyond_float, "
	"              coalesce(f.balance, 0), -coalesce(f.deals, 0), tm.unloaded_beyond_float) "
	"  FROM escrow.terminals tm "
	"  LEFT JOIN f ON f.terminal_no = tm.terminal_no "
	"  LEFT JOIN c ON c.terminal_no = tm.terminal_no "
	" WHERE coalesce(c.cash, 0) "
	"       <> coalesce(f.balance, 0) - coalesce(f.deals, 0) - tm.unloaded_beyond_float",

	/*
	 * balance anchors (65_balance_history.sql) recomputed from the sealed
	 * journal: each account's legs up to the last checkpoint, one per
	 * transfer, in id order, cut every escrow.balance_anchor_legs() legs;
	 * the full ones in escrow.balance_anchors, the last one, until it is
	 * full, in escrow.open_balance_anchors
	 */
	"WITH s AS (SELECT coalesce(max(last_transfer), 0) AS upto FROM escrow.checkpoints), "
	"l AS (SELECT l.account, l.transfer, sum(l.amount) AS amount, min(l.created_at) AS created_at "
	"        FROM (SELECT t.debit_account AS account, t.id AS transfer, -t.amount::bigint AS amount, "
	"                     t.created_at FROM escrow.transfers t, s WHERE t.id <= s.upto "
	"              UNION ALL SELECT t.credit_account, t.id, t.amount::bigint, t.created_at "
	"                FROM escrow.transfers t, s WHERE t.id <= s.upto) l "
	"       GROUP BY l.account, l.transfer), "
	"g AS (SELECT account, seq, max(transfer) AS last_transfer, count(*)::int AS legs, "
	"             sum(amount) AS moved, min(created_at) AS first_at, max(created_at) AS last_at "
	"        FROM (SELECT l.*, (row_number() OVER (PARTITION BY account ORDER BY transfer) - 1) "
	"                          / escrow.balance_anchor_legs() + 1 AS seq FROM l) n "
	"       GROUP BY account, seq), "
	"w AS (SELECT account, seq, last_transfer, legs, "
	"             (sum(moved) OVER (PARTITION BY account ORDER BY seq))::bigint AS balance, "
	"             first_at, last_at, max(last_at) OVER (PARTITION BY account ORDER BY seq) AS upto_at, "
	"             min(first_at) OVER (PARTITION BY account ORDER BY seq DESC) AS from_at FROM g) "
	"SELECT 'balance_anchor', "
	"       CASE WHEN b.account IS NULL "
	"              THEN format('account %s anchor %s (legs up to transfer %s) is missing', "
	"                          w.account, w.seq, w.last_transfer) "
	"            WHEN w.account IS NULL "
	"              THEN format('account %s anchor %s is not in the sealed journal', b.account, b.seq) "
	"            ELSE format('account %s anchor %s: %s legs up to transfer %s, balance %s; "
	"the sealed journal: %s legs up to transfer %s, balance %s%s%s', "
	"                        w.account, w.seq, b.legs, b.last_transfer, b.balance, "
	"                        w.legs, w.last_transfer, w.balance, "
	"                        CASE WHEN row(w.first_at, w.last_at, w.upto_at, w.from_at) "
	"                                  IS DISTINCT FROM row(b.first_at, b.last_at, b.upto_at, b.from_at) "
	"                             THEN ', the times of its legs differ' END, "
	"                        CASE WHEN b.open <> (w.legs < escrow.balance_anchor_legs()) "
	"                             THEN CASE WHEN b.open THEN ', stored as the open one' ELSE ', stored as a full one' END "
	"                        END) END "
	"  FROM w FULL JOIN escrow.all_balance_anchors b ON b.account = w.account AND b.seq = w.seq "
	" WHERE row(w.last_transfer, w.legs, w.balance, w.first_at, w.last_at, w.upto_at, w.from_at) "
	"       IS DISTINCT FROM "
	"       row(b.last_transfer, b.legs, b.balance, b.first_at, b.last_at, b.upto_at, b.from_at) "
	"    OR b.open <> (w.legs < escrow.balance_anchor_legs())",

	/* refunds against the transfers they reverse */
	"SELECT 'refund_totals', "
	"       format('transfer %s: amount %s, refunded %s, refunds sum %s', "
	"              t.id, t.amount, t.refunded, coalesce(r.total, 0)) "
	"  FROM escrow.transfers t "
	"  LEFT JOIN (SELECT refund_of, sum(amount) AS total FROM escrow.transfers "
	"              WHERE refund_of IS NOT NULL GROUP BY refund_of) r ON r.refund_of = t.id "
	" WHERE t.refunded <> coalesce(r.total, 0) OR t.refunded > t.amount",
};

/* One (problem, detail) row of verify_ledger() */
void
ep_verify_emit(Tuplestorestate *ts, TupleDesc desc, const char *problem, const char *detail)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = CStringGetTextDatum(problem);
	values[1] = CStringGetTextDatum(detail);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/*
 * The hash-distributed tables of a Citus cluster (escrow.distribute()),
 * copied for verification: NULL-terminated names, or NULL on one server.
 */
static char **distributed_tables = NULL;

/*
 * On a Citus cluster, the checks join tables that live on different
 * workers, which Citus cannot plan, and a cluster has no snapshot common
 * to its nodes.  So verification first stops the ledger: a SHARE lock on
 * every table it reads, on the coordinator (all writes come through it),
 * then on every shard of the distributed ones (one statement per worker in
 * its own short transaction, which waits for a two-phase commit still
 * completing there); then it copies each distributed table into a temporary table of
 * the same name, and every check reads the copies.  Writers wait meanwhile
 * (docs/scale-out.md).
 */
static void
copy_distributed(void)
{
	int			rc;
	uint64		i,
				n;

	rc = ep_execute("SELECT c.relname::text FROM pg_catalog.pg_dist_partition p "
					"  JOIN pg_catalog.pg_class c ON c.oid = p.logicalrelid "
					" WHERE c.relnamespace = 'escrow'::regnamespace AND p.partmethod = 'h' "
					" ORDER BY 1", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "escrowpay: could not list the distributed tables");
	n = SPI_processed;
	distributed_tables = palloc0(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
		distributed_tables[i] = pstrdup(ep_text(i, 1));
	if (ep_execute("LOCK TABLE escrow.accounts, escrow.entries, escrow.transfers, "
				   "  escrow.transfer_owners, escrow.holds, escrow.deals, escrow.deal_sources, "
				   "  escrow.receivables, escrow.settlement_lines IN SHARE MODE",
				   false, 0) < 0)
		elog(ERROR, "escrowpay: could not lock the ledger");
	/*
	 * the barrier: on each worker, in one statement, a SHARE lock on every
	 * shard of a distributed table there (a worker holds only some)
	 */
	{
		StringInfoData names;

		initStringInfo(&names);
		for (i = 0; i < n; i++)
			appendStringInfo(&names, "%s%s", i ? "|" : "", distributed_tables[i]);
		if (n > 0 &&
			ep_execute(psprintf("SELECT pg_catalog.run_command_on_workers($c$DO $d$ "
								"DECLARE r record; BEGIN FOR r IN "
								"SELECT c.oid::regclass AS t FROM pg_catalog.pg_class c "
								" WHERE c.relnamespace = 'escrow'::regnamespace "
								"   AND c.relkind = 'r' AND c.relname ~ '^(%s)_[0-9]+$' LOOP "
								"EXECUTE pg_catalog.format('LOCK TABLE %%s IN SHARE MODE', r.t); "
								"END LOOP; END $d$$c$)", names.data), false, 0) < 0)
			elog(ERROR, "escrowpay: could not wait for the workers' commits");
	}
	for (i = 0; i < n; i++)
	{
		const char *t = distributed_tables[i];
		bool		isnull = true;

		/* a copy made by an earlier call in this transaction goes first */
		if (ep_execute(psprintf("SELECT pg_catalog.to_regclass('pg_temp.%s')", t), true, 1) ==
			SPI_OK_SELECT)
			(void) ep_datum(0, 1, &isnull);
		/* with the primary key, on which the checks' GROUP BY rely */
		if ((!isnull && ep_execute(psprintf("DROP TABLE pg_temp.%s", t), false, 0) < 0) ||
			ep_execute(psprintf("CREATE TEMP TABLE %s (LIKE escrow.%s INCLUDING INDEXES) "
								"ON COMMIT DROP", t, t), false, 0) < 0 ||
			ep_execute(psprintf("INSERT INTO pg_temp.%s SELECT * FROM escrow.%s", t, t),
					   false, 0) < 0)
			elog(ERROR, "escrowpay: could not copy escrow.%s for verification", t);
	}
}

/*
 * sql with every distributed table escrow.T read from its copy pg_temp.T;
 * sql itself on one server
 */
static const char *
localise(const char *sql)
{
	StringInfoData out;
	const char *p = sql;

	if (distributed_tables == NULL)
		return sql;
	initStringInfo(&out);
	while (*p)
	{
		char	  **t;
		bool		done = false;

		if (strncmp(p, "escrow.", 7) == 0)
			for (t = distributed_tables; *t && !done; t++)
			{
				size_t		len = strlen(*t);

				if (strncmp(p + 7, *t, len) == 0 &&
					!(isalnum((unsigned char) p[7 + len]) || p[7 + len] == '_'))
				{
					appendStringInfo(&out, "pg_temp.%s", *t);
					p += 7 + len;
					done = true;
				}
			}
		if (!done)
			appendStringInfoChar(&out, *p++);
	}
	return out.data;
}

/*
 * Walk every account's entries in order, recomputing hashes and running
 * balances (the last entry is the head of the chain; a transfer whose
 * entries are gone is reported by transfer_entries).
 */
static void
verify_chains(Tuplestorestate *ts, TupleDesc desc)
{
	Portal		portal;
	SPIPlanPtr	plan;
	int64		account = 0;
	int64		expect_seq = 0;
	int64		balance = 0;
	uint8		hash[EP_HASH_LEN];
	bool		have_account = false;
	bool		broken = false;

	plan = SPI_prepare(localise("SELECT a.id, e.seq, e.transfer_id, e.amount, "
					   "       e.balance, e.hash, t.kind, "
					   "       CASE WHEN e.amount < 0 THEN t.credit_account "
					   "            ELSE t.debit_account END, "
					   "       coalesce(t.hold_id, 0), coalesce(t.refund_of, 0) "
					   "  FROM escrow.accounts a "
					   "  LEFT JOIN escrow.entries e ON e.account = a.id "
					   "  LEFT JOIN escrow.transfers t ON t.id = e.transfer_id "
					   " ORDER BY a.id, e.seq"), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "escrowpay: SPI_prepare failed for the chain walk");
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, distributed_tables == NULL);

	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
		{
			int64		id = ep_int64(i, 1);
			int64		seq;
			bool		isnull;

			if (!have_account || id != account)
			{
				account = id;
				have_account = true;
				broken = false;
				expect_seq = 1;
				balance = 0;
				memset(hash, 0, EP_HASH_LEN);
			}
			if (broken || !ep_get_int64(i, 2, &seq))
				continue;		/* account without entries, or already reported */

			{
				EpEntry		e;
				int64		stored_balance = ep_int64(i, 5);
				bytea	   *stored = DatumGetByteaPP(ep_datum(i, 6, &isnull));

				e.account = account;
				e.seq = seq;
				e.transfer = ep_int64(i, 3);
				e.amount = ep_int64(i, 4);
				e.balance = stored_balance;
				e.kind = ep_text(i, 7);
				if (e.kind == NULL)
				{
					/* reported as orphan_entry; the chain cannot be recomputed */
					broken = true;
					continue;
				}
				e.counterparty = ep_int64(i, 8);
				e.hold_id = ep_int64(i, 9);
				e.refund_of = ep_int64(i, 10);

				if (seq != expect_seq)
				{
					ep_verify_emit(ts, desc, "chain_gap",
						 psprintf("account %lld: entry %lld found where %lld was expected",
								  (long long) account, (long long) seq,
								  (long long) expect_seq));
					broken = true;
					continue;
				}
				if (pg_add_s64_overflow(balance, e.amount, &balance) ||
					balance != stored_balance)
				{
					ep_verify_emit(ts, desc, "entry_balance",
						 psprintf("account %lld entry %lld: stored balance %lld, recomputed %lld",
								  (long long) account, (long long) seq,
								  (long long) stored_balance, (long long) balance));
					broken = true;
					continue;
				}
				ep_entry_hash(hash, &e, hash);
				if (VARSIZE_ANY_EXHDR(stored) != EP_HASH_LEN ||
					memcmp(VARDATA_ANY(stored), hash, EP_HASH_LEN) != 0)
				{
					ep_verify_emit(ts, desc, "chain_hash",
						 psprintf("account %lld entry %lld (transfer %lld): hash does not match",
								  (long long) account, (long long) seq,
								  (long long) e.transfer));
					broken = true;
					continue;
				}
				expect_seq++;
			}
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_freeplan(plan);
}

/*
 * escrow.verify_ledger() RETURNS TABLE(problem text, detail text)
 */
Datum
escrow_verify_ledger(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	size_t		c;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	distributed_tables = NULL;
	if (ep_distributed())
		copy_distributed();
	for (c = 0; c < lengthof(checks); c++)
	{
		uint64		i;

		/* the copies are newer than this call's snapshot: not read-only then */
		int			rc = ep_execute(localise(checks[c]), distributed_tables == NULL, 0);

		if (rc != SPI_OK_SELECT)
			elog(ERROR, "escrowpay: verify query failed: %s", SPI_result_code_string(rc));
		for (i = 0; i < SPI_processed; i++)
			ep_verify_emit(rsinfo->setResult, rsinfo->setDesc, ep_text(i, 1), ep_text(i, 2));
	}
	verify_chains(rsinfo->setResult, rsinfo->setDesc);
	ep_verify_checkpoints(rsinfo->setResult, rsinfo->setDesc);
	distributed_tables = NULL;
	SPI_finish();
	return (Datum) 0;
}
