-- bench/rls_deals.sql -- builds :deals deals quickly for bench/rls.sh: 1,000
-- members and 1,000 merchants registered through the API (each with its
-- own account), then the deals and their open_deal events written straight
-- into the tables as the superuser (INSERT ... SELECT generate_series), as
-- escrow.open_deal() would leave them: stage order_received, no money
-- moved, a valid transaction number.  Member M-1 logs in as bench_buyer,
-- merchant S-1 as bench_shop; bench_app is an application role.  Each
-- party has :deals / 1000 deals.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_buyer') THEN
        CREATE ROLE bench_buyer LOGIN IN ROLE escrow_party;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_shop') THEN
        CREATE ROLE bench_shop LOGIN IN ROLE escrow_party;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_app') THEN
        CREATE ROLE bench_app LOGIN IN ROLE escrow_app;
    END IF;
END $$;

SELECT count(escrow.register_member('M-' || i, 'Member ' || i, 'm' || i || '@bench.test',
                                    escrow.open_account('member ' || i, 'USD'),
                                    CASE WHEN i = 1 THEN 'bench_buyer' END))
  FROM generate_series(1, 1000) i;
SELECT count(escrow.register_merchant('S-' || i, 'Shop ' || i, 's' || i || '@bench.test',
                                      escrow.open_account('shop ' || i, 'USD'),
                                      login_role => CASE WHEN i = 1 THEN 'bench_shop' END))
  FROM generate_series(1, 1000) i;

-- the Luhn check digit of a transaction number, as escrowpay computes it
-- (digits from the right, every other one doubled), as one expression in i
SELECT string_agg(format('CASE WHEN (i / %s) %% 10 > 4 AND %s %% 2 = 0 THEN -9 ELSE 0 END + (i / %s) %% 10 * (2 - %s %% 2)',
                         (10 ^ k)::bigint, k, (10 ^ k)::bigint, k), ' + ') AS luhn_sum
  FROM generate_series(0, 9) k \gset
-- the parties exist by construction: skip the foreign key triggers
SET session_replication_role = replica;
\timing on
INSERT INTO escrow.deals (id, txn_no, buyer, merchant, amount, currency, payment_method,
                          debit_account, credit_account, fee_bps, stage, ship_within,
                          inspection_window, cooling_off, deliver_within, refund_within,
                          pay_within)
SELECT i, 'EP' || lpad(i::text, 10, '0') || (10 - (:luhn_sum) % 10) % 10,
       b.party_no, m.party_no, 1000 + i % 5000, 'USD', 'balance', b.account,
       m.settlement_account, 0, 'order_received', interval '7 days', m.inspection_window,
       m.cooling_off, m.deliver_within, m.refund_within, m.pay_within
  FROM generate_series(1, :deals) i
  JOIN escrow.parties b ON b.party_no = 'M-' || (1 + i % 1000)
  JOIN escrow.parties m ON m.party_no = 'S-' || (1 + (i * 7) % 1000);
INSERT INTO escrow.deal_events (deal, action, from_stage, to_stage, actor, parties, payload)
SELECT id, 'open_deal', NULL, 'order_received', buyer, ARRAY[buyer, merchant],
       jsonb_build_object('txn_no', txn_no, 'amount', amount)
  FROM escrow.deals ORDER BY id;
\timing off
RESET session_replication_role;
SELECT setval('escrow.deal_id_seq', (SELECT max(id) FROM escrow.deals));
SELECT bool_and(escrow.txn_no_valid(txn_no)) AS transaction_numbers_valid FROM escrow.deals WHERE id % 997 = 0;
VACUUM ANALYZE escrow.deals, escrow.deal_events, escrow.parties;
