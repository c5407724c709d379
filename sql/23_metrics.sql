-- 23_metrics: escrow.metrics, one (metric, labels, value) row per metric
-- and label set: open, expiring and expired holds per currency; deals per
-- stage (every stage, 0 included) and past their deadline; overdue
-- invoices and loans; the worker's settings, lag and failures per task;
-- idempotency keys past their retention.  Readable by escrow_admin and
-- escrow_auditor only.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- an empty database: zero rows where there is nothing, zeros for stages
-- and kinds
SELECT metric, labels, value FROM escrow.metrics ORDER BY metric, labels::text;

SELECT escrow.open_account('mt-buyer', 'USD') AS buyer, escrow.open_account('mt-shop', 'USD') AS shop,
       escrow.open_account('mt-eur', 'EUR') AS eur, escrow.open_account('mt-eshop', 'EUR') AS eshop,
       escrow.open_account('mt-agency', 'USD') AS other \gset
SELECT escrow.deposit(:buyer, 100000) > 0 AND escrow.deposit(:eur, 5000) > 0 AS funded;
-- holds: one without expiry, one expiring in 30 minutes, one in 2 hours,
-- one expired (made so by moving its expiry back)
SELECT escrow.hold(:buyer, :shop, 100) AS h1, escrow.hold(:buyer, :shop, 200, '30 minutes') AS h2,
       escrow.hold(:buyer, :shop, 300, '2 hours') AS h3, escrow.hold(:eur, :eshop, 400, '1 day') AS h4 \gset
UPDATE escrow.holds SET expires_at = now() - interval '1 minute' WHERE id = :h4;
SELECT escrow.capture(:h1, 40);

-- deals: one reserved and past its ship-by deadline, three opened
SELECT escrow.register_member('MT-B', 'Buyer', 'b@example.org', :buyer);
SELECT escrow.register_merchant('MT-S', 'Shop', 's@example.org', :shop);
SELECT escrow.open_deal('MT-B', 'MT-S', 500) AS late, escrow.open_deal('MT-B', 'MT-S', 600) AS fresh,
       escrow.open_deal('MT-B', 'MT-S', 700) AS d3, escrow.open_deal('MT-B', 'MT-S', 800) AS d4 \gset
SELECT escrow.confirm_identity(:late, escrow.issue_identity_code(:late));
SELECT escrow.reserve(:late, 'MT-B') IS NOT NULL AS reserved;
UPDATE escrow.deals SET deadline = now() - interval '1 hour' WHERE id = :late;

-- receivables (written here by hand: the financed flows are in
-- 15_financed_deals): an invoice overdue, a loan overdue, a loan not due
-- yet, a paid invoice past its date
SELECT escrow.register_institution('MT-AG', 'Agency', 'ag@example.org', :other) AS inst \gset
INSERT INTO escrow.receivables (deal, kind, debtor, creditor, pay_to, amount, paid, due_at, status)
VALUES (:late, 'invoice', 'MT-B', 'MT-AG', :other, 500, 120, now() - interval '1 day', 'open'),
       (:fresh, 'loan', 'MT-B', 'MT-AG', :other, 600, 0, now() - interval '1 hour', 'open'),
       (:d3, 'loan', 'MT-B', 'MT-AG', :other, 700, 0, now() + interval '1 day', 'open'),
       (:d4, 'invoice', 'MT-B', 'MT-AG', :other, 800, 800, now() - interval '1 day', 'paid');
-- the worker's record (written here by hand: no worker in this test)
INSERT INTO escrow.maintenance_runs (task, last_start, last_end, last_success, last_processed, last_error, runs, failures)
VALUES ('deal_deadlines', now() - interval '2 minutes', now() - interval '2 minutes', now() - interval '10 minutes', 3, 'lock timeout', 7, 2),
       ('expire_holds', now() - interval '1 minute', now() - interval '1 minute', now() - interval '1 minute', 0, NULL, 9, 0);

-- idempotency keys past a 30-day retention
SET escrowpay.idempotency_retention = '30d';
SELECT escrow.deposit(:buyer, 1, 'mt-' || i) > 0 FROM generate_series(1, 3) i;
UPDATE escrow.idempotency_keys SET created_at = now() - interval '31 days' WHERE key IN ('mt-1', 'mt-2');

-- every metric (the lag columns rounded to the minute)
SELECT metric, labels,
       CASE WHEN metric = 'escrowpay_maintenance_seconds_since_success' THEN round(value / 60) ELSE value END AS value
  FROM escrow.metrics
 WHERE value <> 0 OR metric NOT IN ('escrowpay_deals_in_stage', 'escrowpay_deals_due')
 ORDER BY metric, labels::text;
-- every stage of the transition table has its row
SELECT count(*) = (SELECT count(*) FROM (SELECT to_stage FROM escrow.deal_transitions()
                                         UNION SELECT from_stage FROM escrow.deal_transitions()
                                          WHERE from_stage <> 'start') s) AS every_stage
  FROM escrow.metrics WHERE metric = 'escrowpay_deals_in_stage';
RESET escrowpay.idempotency_retention;
SELECT value FROM escrow.metrics WHERE metric = 'escrowpay_idempotency_keys_expired';

-- who may read it
CREATE ROLE mt_admin IN ROLE escrow_admin;
CREATE ROLE mt_auditor IN ROLE escrow_auditor;
CREATE ROLE mt_app IN ROLE escrow_app;
CREATE ROLE mt_party IN ROLE escrow_party;
SET ROLE mt_admin;
SELECT count(*) > 0 AS admin_reads FROM escrow.metrics;
SET ROLE mt_auditor;
SELECT count(*) > 0 AS auditor_reads FROM escrow.metrics;
SELECT count(*) > 0 AS auditor_reads_runs FROM escrow.maintenance_runs;
SET ROLE mt_app;
SELECT count(*) FROM escrow.metrics;
SELECT count(*) FROM escrow.maintenance_runs;
SET ROLE mt_party;
SELECT count(*) FROM escrow.metrics;
RESET ROLE;
DROP ROLE mt_admin, mt_auditor, mt_app, mt_party;
