-- 70_views.sql: read-only views for applications, DBAs and auditors.

CREATE VIEW escrow.balances AS
SELECT a.id AS account, a.owner::text AS owner, a.kind::text AS kind, a.currency,
       a.posted + coalesce(u.amount, 0) AS posted, a.held, a.credit_limit,
       a.posted + coalesce(u.amount, 0) + a.credit_limit - a.held AS available
  FROM escrow.accounts a
  LEFT JOIN LATERAL (SELECT sum(amount)::bigint AS amount FROM escrow.unfolded
                      WHERE account = a.id AND NOT applied) u ON true;
COMMENT ON VIEW escrow.balances IS
    'Per account: posted balance (folded and not yet folded legs), held amount, credit limit and available = posted + credit_limit - held (minor units)';

CREATE VIEW escrow.open_holds AS
SELECT h.id AS hold, h.debit_account, h.credit_account, a.currency, h.amount::bigint AS amount,
       h.captured, h.released, h.amount - h.captured - h.released AS remaining,
       h.created_at, h.expires_at,
       coalesce(h.expires_at <= pg_catalog.clock_timestamp(), false) AS expired
  FROM escrow.holds h
  JOIN escrow.accounts a ON a.id = h.debit_account
 WHERE h.status = 'open';
COMMENT ON VIEW escrow.open_holds IS
    'Holds not yet ended, with what remains; expired is true once past expires_at (not capturable, awaiting expire_holds)';

CREATE VIEW escrow.journal AS
-- one join per kind of leg, then their union (the same rows as joining the
-- union): on a Citus cluster, Citus 13.2 returns only the first branch's
-- rows when a UNION ALL subquery is joined by repartitioning
SELECT e.transfer_id AS transfer, t.kind::text AS kind, e.account,
       e.seq, e.amount, e.balance, a.currency,
       CASE WHEN e.amount < 0 THEN t.credit_account ELSE t.debit_account END AS counterparty,
       t.hold_id AS hold, t.refund_of, t.created_at,
       pg_catalog.encode(e.hash, 'hex') AS hash
  FROM escrow.entries e
  JOIN escrow.transfers t ON t.id = e.transfer_id
  JOIN escrow.accounts a ON a.id = e.account
UNION ALL
SELECT u.transfer_id, t.kind::text, u.account, NULL::bigint, u.amount, NULL::bigint, a.currency,
       CASE WHEN u.amount < 0 THEN t.credit_account ELSE t.debit_account END,
       t.hold_id, t.refund_of, t.created_at, NULL::text
  FROM escrow.unfolded u
  JOIN escrow.transfers t ON t.id = u.transfer_id
  JOIN escrow.accounts a ON a.id = u.account;
COMMENT ON VIEW escrow.journal IS
    'Journal entries with their transfer: signed amount (credit +, debit -); seq, balance (the account''s balance after the entry) and hash are set once the entry is folded, NULL before';
