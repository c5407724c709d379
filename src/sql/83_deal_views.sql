-- 83_deal_views.sql: reporting views over deals.  The deal views are
-- security_invoker, so the row-level security of escrow.deals,
-- deal_events and receivables applies to the reader: a party's login role
-- sees only its own deals.  hold_aging reads the ledger and is granted to
-- the platform roles only.  No view shows a party's contact.
--
-- "overdue" compares with statement_timestamp(), not clock_timestamp():
-- a volatile function in its columns would stop PostgreSQL from merging
-- deal_progress into the query that reads it, so "the latest 20 deals"
-- would compute every deal's row before sorting instead of walking
-- deals_pkey backwards (sql/20_rls_plans.sql checks the plan).

CREATE VIEW escrow.deal_progress WITH (security_invoker = true) AS
SELECT d.id AS deal, d.txn_no, d.buyer, d.merchant, d.amount, d.currency,
       d.payment_method, d.stage, d.auth_no,
       s.order_received_at, s.identity_confirmed_at, s.funds_reserved_at,
       s.shipped_at, s.delivered_at, s.settled_at, s.completed_at, s.ended_at,
       d.held, d.captured, d.refunded, d.fee,
       escrow.next_actions(d.stage, d.settlement, d.held, d.captured,
                           d.deadline <= pg_catalog.statement_timestamp(),
                           r.status = 'open') AS next_actions, d.deadline,
       d.inspection_place::text AS inspection_place, d.carrier::text AS carrier,
       d.tracking::text AS tracking, d.provider::text AS provider,
       d.inspector::text AS inspector,
       r.status = 'open' AND r.due_at < pg_catalog.statement_timestamp() AS overdue
  FROM escrow.deals d
  LEFT JOIN escrow.receivables r ON r.deal = d.id
  LEFT JOIN LATERAL (
       SELECT min(e.at) FILTER (WHERE e.to_stage = 'order_received') AS order_received_at,
              min(e.at) FILTER (WHERE e.to_stage = 'identity_confirmed') AS identity_confirmed_at,
              min(e.at) FILTER (WHERE e.to_stage = 'funds_reserved') AS funds_reserved_at,
              min(e.at) FILTER (WHERE e.to_stage = 'shipped') AS shipped_at,
              min(e.at) FILTER (WHERE e.to_stage = 'delivered') AS delivered_at,
              min(e.at) FILTER (WHERE e.to_stage = 'settled') AS settled_at,
              min(e.at) FILTER (WHERE e.to_stage = 'completed') AS completed_at,
              min(e.at) FILTER (WHERE e.to_stage IN ('cancelled', 'expired', 'refunded', 'resolved', 'written_off')) AS ended_at
         FROM escrow.deal_events e WHERE e.deal = d.id) s ON true;
COMMENT ON VIEW escrow.deal_progress IS
    'One row per deal: transaction number, stage, when each stage was reached, money held/captured/refunded and fee, the steps it may take now and by whom (escrow.next_actions()), deadline of the current stage; overdue: its loan or invoice is open past its due date (NULL: none)';

CREATE VIEW escrow.receivables_due WITH (security_invoker = true) AS
SELECT r.id AS receivable, r.kind, d.txn_no, r.debtor, r.creditor, d.currency,
       r.amount, r.paid,
       CASE WHEN r.status = 'open' THEN r.amount - r.paid ELSE 0 END AS outstanding,
       r.due_at, r.status,
       r.status = 'open' AND r.due_at < pg_catalog.statement_timestamp() AS overdue,
       r.written_down
  FROM escrow.receivables r
  JOIN escrow.deals d ON d.id = r.deal;
COMMENT ON VIEW escrow.receivables_due IS
    'Loans (credit finance) and invoices (payment agency) per buyer and institution: amount, paid, outstanding, due date, overdue, and what a dispute''s resolution wrote down';

CREATE VIEW escrow.overdue_receivables WITH (security_invoker = true) AS
SELECT * FROM escrow.receivables_due WHERE overdue;
COMMENT ON VIEW escrow.overdue_receivables IS
    'Open loans and unpaid invoices past their due date';

CREATE VIEW escrow.stage_funnel WITH (security_invoker = true) AS
SELECT d.stage, count(*) AS deals, sum(d.amount) AS amount, sum(d.held) AS held,
       sum(d.captured) AS captured, sum(d.refunded) AS refunded, d.currency
  FROM escrow.deals d
 GROUP BY d.stage, d.currency;
COMMENT ON VIEW escrow.stage_funnel IS
    'Deals per stage and currency: count, amount, and money held, captured and refunded';

CREATE VIEW escrow.hold_aging AS
SELECT CASE WHEN age < interval '1 hour' THEN '1: under 1 hour'
            WHEN age < interval '1 day' THEN '2: 1 to 24 hours'
            WHEN age < interval '7 days' THEN '3: 1 to 7 days'
            ELSE '4: over 7 days' END AS age_bucket,
       currency, count(*) AS holds, sum(remaining) AS remaining,
       max(age) AS oldest
  FROM (SELECT h.currency, h.remaining, pg_catalog.clock_timestamp() - h.created_at AS age
          FROM escrow.open_holds h) a
 GROUP BY 1, currency;
COMMENT ON VIEW escrow.hold_aging IS
    'Open holds by age bucket and currency: how many, how much remains held, the oldest';

CREATE VIEW escrow.merchant_payouts WITH (security_invoker = true) AS
SELECT d.merchant, d.currency, (e.at AT TIME ZONE 'UTC')::date AS day,
       sum(coalesce((e.payload ->> 'merchant_in')::bigint, 0)) AS settled,
       sum(coalesce((e.payload ->> 'fee')::bigint, 0)) AS fees,
       sum(coalesce((e.payload ->> 'refund')::bigint, 0)) AS refunds,
       sum(coalesce((e.payload ->> 'merchant_in')::bigint, 0)
           - coalesce((e.payload ->> 'fee')::bigint, 0)
           - coalesce((e.payload ->> 'refund')::bigint, 0)) AS net
  FROM escrow.deal_events e
  JOIN escrow.deals d ON d.id = e.deal
 WHERE e.payload ?| ARRAY['merchant_in', 'fee', 'refund']
 GROUP BY d.merchant, d.currency, 3;
COMMENT ON VIEW escrow.merchant_payouts IS
    'Per merchant, currency and day (UTC): settled to the merchant, fees, refunds to buyers, and net';
