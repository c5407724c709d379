-- 31_retention: escrow.apply_retention() deletes idempotency keys older
-- than escrowpay.idempotency_retention and the events of deals that ended
-- longer than escrowpay.event_retention ago; both 0 (the default) keep
-- everything.  A key deleted is forgotten: replaying it is a new request.
-- An event goes only with its whole deal's history, once the deal can take
-- no further step, has no open loan or invoice, and its last event is
-- older than the retention.  Bounded by max_rows.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- the settings: 0 by default, else at least a day; superuser only
SHOW escrowpay.idempotency_retention;
SHOW escrowpay.event_retention;
SET escrowpay.idempotency_retention = '1h';
SET escrowpay.event_retention = '23h';
SET escrowpay.idempotency_retention = '30d';
SHOW escrowpay.idempotency_retention;

SELECT escrow.open_account('rt-buyer', 'USD') AS buyer, escrow.open_account('rt-shop', 'USD') AS shop \gset
SELECT escrow.deposit(:buyer, 1000, 'rt-old') AS old_deposit,
       escrow.deposit(:buyer, 1000, 'rt-new') AS new_deposit \gset
-- a key made 31 days ago, and three 40 days ago
SELECT count(escrow.transfer(:buyer, :shop, 1, 'rt-' || i)) AS transfers FROM generate_series(1, 3) i;
UPDATE escrow.idempotency_keys SET created_at = now() - interval '31 days' WHERE key = 'rt-old';
UPDATE escrow.idempotency_keys SET created_at = now() - interval '40 days' WHERE key LIKE 'rt-_';

-- max_rows bounds each kind, oldest first
SELECT * FROM escrow.apply_retention(2);
SELECT key FROM escrow.idempotency_keys ORDER BY key;
SELECT * FROM escrow.apply_retention();
SELECT key FROM escrow.idempotency_keys ORDER BY key;
SELECT * FROM escrow.apply_retention();

-- a key kept still returns the first result and moves nothing
SELECT escrow.deposit(:buyer, 1000, 'rt-new') = :new_deposit AS same_transfer;
-- a key deleted is forgotten: replaying it is a new request, posted again
SELECT escrow.deposit(:buyer, 1000, 'rt-old') <> :old_deposit AS new_transfer;
SELECT posted FROM escrow.balances WHERE account = :buyer;

-- retention 0 keeps every key, however old
RESET escrowpay.idempotency_retention;
UPDATE escrow.idempotency_keys SET created_at = now() - interval '10 years';
SELECT * FROM escrow.apply_retention();
SELECT count(*) AS keys FROM escrow.idempotency_keys;

-- events: a cancelled deal (ended), one still open, one ended recently
SELECT escrow.register_member('RT-B', 'Buyer', 'b@example.org', :buyer);
SELECT escrow.register_merchant('RT-M', 'Shop', 'm@example.org', :shop);
SELECT escrow.open_deal('RT-B', 'RT-M', 100) AS ended,
       escrow.open_deal('RT-B', 'RT-M', 200) AS open,
       escrow.open_deal('RT-B', 'RT-M', 300) AS recent \gset
SELECT escrow.cancel_deal(:ended, 'changed my mind', 'RT-B'),
       escrow.cancel_deal(:recent, 'changed my mind', 'RT-B');
UPDATE escrow.deal_events SET at = at - interval '40 days' WHERE deal IN (:ended, :open);
UPDATE escrow.deal_events SET at = at - interval '40 days'
 WHERE deal = :recent AND action = 'open_deal';
SELECT deal = :ended AS ended, action FROM escrow.deal_events ORDER BY id;
-- event_retention 0: nothing goes
SELECT * FROM escrow.apply_retention();
SET escrowpay.event_retention = '30d';
SELECT * FROM escrow.apply_retention(1);
SELECT * FROM escrow.apply_retention();
SELECT CASE deal WHEN :open THEN 'open' WHEN :recent THEN 'recent' ELSE 'ended' END AS deal, action
  FROM escrow.deal_events ORDER BY id;
-- the deal itself stays, with its stage
SELECT stage FROM escrow.deals WHERE id = :ended;
SELECT * FROM escrow.apply_retention();
RESET escrowpay.event_retention;

-- refusals
SELECT * FROM escrow.apply_retention(0);
SELECT * FROM escrow.apply_retention(NULL);
CREATE ROLE rt_app IN ROLE escrow_app;
SET ROLE rt_app;
SELECT * FROM escrow.apply_retention();
SET escrowpay.idempotency_retention = '30d';
RESET ROLE;
DROP ROLE rt_app;
SELECT count(*) AS problems FROM escrow.verify_ledger();
