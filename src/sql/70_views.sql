-- 70_views.sql: read-only views for applications, DBAs and auditors.

CREATE VIEW escrow.balances AS
SELECT a.id AS account, a.owner, a.kind, a.currency, a.posted, a.held,
       a.credit_limit, a.posted + a.credit_limit - a.held AS available
  FROM escrow.accounts a;
COMMENT ON VIEW escrow.balances IS
    'Per account: posted balance, held amount, credit limit and available = posted + credit_limit - held (minor units)';

CREATE VIEW escrow.open_holds AS
SELECT h.id AS hold, h.debit_account, h.credit_account, a.currency, h.amount,
       h.captured, h.released, h.amount - h.captured - h.released AS remaining,
       h.created_at, h.expires_at,
       coalesce(h.expires_at <= pg_catalog.clock_timestamp(), false) AS expired
  FROM escrow.holds h
  JOIN escrow.accounts a ON a.id = h.debit_account
 WHERE h.status = 'open';
COMMENT ON VIEW escrow.open_holds IS
    'Holds not yet ended, with what remains; expired is true once past expires_at (not capturable, awaiting expire_holds)';

CREATE VIEW escrow.journal AS
SELECT e.transfer_id AS transfer, t.kind, e.account, e.seq, e.amount,
       e.balance, a.currency,
       CASE WHEN e.amount < 0 THEN t.credit_account ELSE t.debit_account END AS counterparty,
       t.hold_id AS hold, t.refund_of, t.created_at,
       pg_catalog.encode(e.hash, 'hex') AS hash
  FROM escrow.entries e
  JOIN escrow.transfers t ON t.id = e.transfer_id
  JOIN escrow.accounts a ON a.id = e.account;
COMMENT ON VIEW escrow.journal IS
    'Journal entries with their transfer: signed amount (credit +, debit -), balance after, counterparty and chain hash';
