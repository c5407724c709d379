-- test/t/upgrade/0.1.0-activity.sql -- activity on a database at escrowpay 0.1.0,
-- written against the 0.1.0 API (the frozen escrowpay--0.1.0.sql) and
-- run with the library of release 0.1.0 to make test/t/upgrade/0.1.0-dump.sql,
-- the database test/t/007_upgrade.pl upgrades.  Frozen with them.
-- It calls every function 0.1.0 declares and leaves money in every shape
-- 0.1.0 keeps:
--
--   - a world like the model's (test/t/EscrowPay/Model.pm) for 3 clients,
--     under names of its own (old-*): shared and sharded accounts, each
--     client's accounts and parties, activity on them with keys
--     old-c<n>-key-* and deals of its merchant;
--   - beside it (owners u-*, parties U-*): holds open, captured, released,
--     expired; captures, refunds, batches; a custom currency; deals in
--     every stage of 0.1.0 (a code pending, completed ones, expired,
--     returned, refunded, disputed, resolved), escrow deals paid from
--     several accounts, credit-finance and payment-agency deals with loans
--     and invoices part paid (one agency deal completed with its invoice
--     open, as 0.1.0 did), a cash terminal with pay-now and pay-later
--     deals, a settlement batch, and a party's login role.
--
-- Run by psql with ON_ERROR_STOP; each statement must succeed.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- ------------------------------------------------------------ a world like the model's
DO $$
DECLARE a bigint;
BEGIN
  FOR i IN 1..2 LOOP
    a := escrow.open_account('old-shared-' || i, 'EUR');
    PERFORM escrow.deposit(a, 100000);
  END LOOP;
  a := escrow.open_account('old-shared-hot', 'EUR');
  PERFORM escrow.set_account_shards(a, 4);
  PERFORM escrow.deposit(a, 100000);
  PERFORM escrow.deposit(a, 1, 'old-setup-key');
  PERFORM escrow.open_account('old-shared-jpy', 'JPY');
  PERFORM escrow.set_account_shards(
    (SELECT id FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'JPY'), 2);
END $$;

DO $$
DECLARE d1 bigint; d2 bigint; cr bigint; s bigint; f bigint; j bigint;
        h bigint; t bigint; d bigint; hs bigint[]; c text;
BEGIN
  FOR n IN 1..3 LOOP
    c := 'old-c' || n;
    d1 := escrow.open_account(c || '-d1', 'EUR');
    d2 := escrow.open_account(c || '-d2', 'EUR');
    cr := escrow.open_account(c || '-cr', 'EUR', 'credit', 300000);
    s  := escrow.open_account(c || '-s', 'EUR');
    f  := escrow.open_account(c || '-f', 'EUR');
    j  := escrow.open_account(c || '-j', 'JPY');
    PERFORM escrow.set_account_shards(s, 2);
    PERFORM escrow.deposit(d1, 1000000);
    PERFORM escrow.deposit(d2, 200000);
    PERFORM escrow.deposit(s, 50000);
    PERFORM escrow.deposit(j, 5000000);
    PERFORM escrow.register_member('old-m' || n, 'member ' || n, 'old-m' || n || '@example.org', d1);
    PERFORM escrow.register_member('old-k' || n, 'credit member ' || n, 'old-k' || n || '@example.org', cr);
    PERFORM escrow.register_member('old-j' || n, 'yen member ' || n, 'old-j' || n || '@example.org', j);
    PERFORM escrow.register_merchant('old-s' || n, 'shop ' || n, 'old-s' || n || '@example.org', s,
                                     fee_bps => 100 + 50 * (n % 5), fee_account => f);
    -- money calls with keys the model adopts (and may replay)
    PERFORM escrow.deposit(d1, 5000 + n, c || '-key-1');
    PERFORM escrow.withdraw(d2, 100 * n, c || '-key-2');
    t := escrow.transfer(d1, d2, 700 + n, c || '-key-3');
    PERFORM escrow.refund(t, 200, c || '-key-4');
    h := escrow.hold(d1, s, 3000, interval '7 days', c || '-key-5');
    t := escrow.capture(h, 1000, c || '-key-6');
    PERFORM escrow.refund(t);
    h := escrow.hold(d2, s, 500 + n);
    PERFORM escrow.release(h, c || '-key-7');
    h := escrow.hold(cr, (SELECT id FROM escrow.accounts WHERE owner = 'old-shared-1'), 4000);
    PERFORM escrow.capture(h, NULL, NULL, true);
    hs := escrow.hold_batch(ARRAY[d1, d2], ARRAY[s, s], ARRAY[300, 400], NULL, c || '-key-8');
    PERFORM escrow.capture_batch(hs, ARRAY[100, 400]::bigint[], c || '-key-9');
    PERFORM escrow.transfer(d1, (SELECT id FROM escrow.accounts WHERE owner = 'old-shared-hot'), 999);
    -- the client's merchant's deals: settled, funds reserved, just opened, cancelled
    d := escrow.open_deal('old-m' || n, 'old-s' || n, 1500 + n, idempotency_key => c || '-key-10');
    PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
    PERFORM escrow.reserve(d, 'old-m' || n);
    PERFORM escrow.mark_shipped(d, 'DHL', 'v010-' || d, 'old-s' || n);
    PERFORM escrow.mark_delivered(d, 'old-s' || n);
    PERFORM escrow.confirm_inspection(d, 'old-m' || n);
    d := escrow.open_deal('old-k' || n, 'old-s' || n, 2500, inspector => 'old-i' || n);
    PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
    PERFORM escrow.reserve(d, 'old-k' || n);
    d := escrow.open_deal('old-m' || n, 'old-s' || n, 700);
    d := escrow.open_deal('old-m' || n, 'old-s' || n, 900);
    PERFORM escrow.cancel_deal(d, 'changed my mind', 'old-m' || n);
  END LOOP;
END $$;

-- ------------------------------------------------------------ the rest of 0.1.0
INSERT INTO escrow.currencies (code, exponent, name) VALUES ('XTS', 2, 'Testing currency');
SELECT escrow.deposit(escrow.open_account('u-xts', 'XTS'), 12345, 'u-key-xts');

-- A deal of buyer with merchant, settled by settlement through
-- institution, driven to stage (up to settled)
CREATE FUNCTION pg_temp.deal_at(b text, m text, amount bigint, stage text,
                                settlement text DEFAULT 'escrow',
                                institution text DEFAULT NULL,
                                ship_within interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  d bigint := escrow.open_deal(b, m, amount, ship_within => ship_within,
                               settlement => settlement, institution => institution);
  n int := array_position(ARRAY['order_received', 'identity_confirmed', 'funds_reserved',
                                'shipped', 'delivered', 'settled'], stage);
BEGIN
  IF n IS NULL THEN RAISE EXCEPTION 'no such stage %', stage; END IF;
  IF n > 1 THEN PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d)); END IF;
  IF n > 2 THEN PERFORM escrow.reserve(d, b); END IF;
  IF n > 3 THEN PERFORM escrow.mark_shipped(d, 'Yamato', 'u-' || d, m); END IF;
  IF n > 4 THEN PERFORM escrow.mark_delivered(d, m); END IF;
  IF n > 5 THEN PERFORM escrow.confirm_inspection(d, b); END IF;
  RETURN d;
END $$;

CREATE ROLE upgrade_buyer LOGIN;
CREATE ROLE upgrade_shop LOGIN;
GRANT escrow_party TO upgrade_buyer, upgrade_shop;

DO $$
DECLARE wallet bigint; line bigint; shop bigint; fees bigint; fast bigint; bank bigint;
        agency bigint; other bigint; till bigint; clearing bigint;
BEGIN
  wallet := escrow.open_account('u-wallet', 'USD');
  other  := escrow.open_account('u-other', 'USD');
  line   := escrow.open_account('u-line', 'USD', 'credit', 50000);
  PERFORM escrow.set_credit_limit(line, 60000);
  shop   := escrow.open_account('u-shop', 'USD');
  fees   := escrow.open_account('u-fees', 'USD');
  fast   := escrow.open_account('u-fast', 'USD');
  bank   := escrow.open_account('u-bank', 'USD');
  agency := escrow.open_account('u-agency', 'USD');
  till   := escrow.open_account('u-till', 'USD');
  clearing := escrow.open_account('u-clearing', 'USD', 'system');
  PERFORM escrow.set_account_shards(shop, 3);
  PERFORM escrow.deposit(wallet, 200000, 'u-key-1'), escrow.deposit(other, 50000, 'u-key-2'),
          escrow.deposit(bank, 500000), escrow.deposit(agency, 500000);
  PERFORM escrow.register_member('U-M1', 'Upgrade buyer', 'buyer@upgrade.test', wallet,
                                 login_role => 'upgrade_buyer');
  PERFORM escrow.register_member('U-M2', 'Second buyer', 'second@upgrade.test', other);
  PERFORM escrow.register_member('U-K1', 'Credit buyer', 'credit@upgrade.test', line);
  PERFORM escrow.register_merchant('U-S1', 'Upgrade shop', 'shop@upgrade.test', shop,
                                   fee_bps => 250, fee_account => fees,
                                   login_role => 'upgrade_shop');
  PERFORM escrow.register_merchant('U-FAST', 'Fast shop', 'fast@upgrade.test', fast,
                                   inspection_window => '1 second', cooling_off => '1 second');
  PERFORM escrow.register_institution('U-BANK', 'Upgrade bank', 'bank@upgrade.test', bank, 300);
  PERFORM escrow.register_institution('U-AGY', 'Upgrade agency', 'agency@upgrade.test', agency,
                                      repay_within => '14 days');
  PERFORM escrow.register_terminal('U-T1', 'Upgrade terminal', till, '{100,500,1000,5000}');
  PERFORM escrow.load_terminal_cash('U-T1', '{100,500,1000}', '{50,20,10}');
  PERFORM escrow.unload_terminal_cash('U-T1', '{100}', '{5}');
  PERFORM escrow.link_external_account(wallet, 'U-BANK', 'US00-WALLET');
  PERFORM escrow.link_external_account(shop, 'U-BANK', 'US00-SHOP');
END $$;

-- escrow deals in every stage of 0.1.0
SELECT pg_temp.deal_at('U-M1', 'U-S1', 1000, 'order_received');
SELECT escrow.issue_identity_code(pg_temp.deal_at('U-M1', 'U-S1', 1100, 'order_received'));
SELECT pg_temp.deal_at('U-M1', 'U-S1', 1200, 'identity_confirmed');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 1300, 'funds_reserved');
SELECT pg_temp.deal_at('U-K1', 'U-S1', 1400, 'shipped');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 1500, 'delivered');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 1600, 'settled');
SELECT escrow.cancel_deal(pg_temp.deal_at('U-M1', 'U-S1', 1700, 'funds_reserved'), 'sold out', 'U-S1');
SELECT escrow.reject_delivery(pg_temp.deal_at('U-M1', 'U-S1', 1800, 'delivered'), 'wrong colour', 'U-M1');
SELECT escrow.request_return(pg_temp.deal_at('U-K1', 'U-S1', 1900, 'settled'), 'too small', 'U-K1');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 2000, 'settled') AS d \gset
SELECT escrow.request_return(:d, 'broken', 'U-M1');
SELECT escrow.confirm_return(:d, 'U-S1');
SELECT escrow.open_dispute(pg_temp.deal_at('U-M1', 'U-S1', 2100, 'shipped'), 'never came', 'U-M1');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 2200, 'delivered') AS d \gset
SELECT escrow.open_dispute(:d, 'half of it', 'U-S1');
SELECT escrow.resolve_dispute(:d, 1000, 1200);
-- paid from two accounts, changed after reserve; one settled
SELECT pg_temp.deal_at('U-M1', 'U-S1', 4000, 'funds_reserved') AS d \gset
SELECT escrow.set_payment_sources(:d, ARRAY[(SELECT id FROM escrow.accounts WHERE owner = 'u-wallet'),
                                            (SELECT id FROM escrow.accounts WHERE owner = 'u-line')],
                                  '{3000,1000}', 'U-M1');
SELECT pg_temp.deal_at('U-M1', 'U-S1', 4100, 'funds_reserved') AS d \gset
SELECT escrow.set_payment_sources(:d, ARRAY[(SELECT id FROM escrow.accounts WHERE owner = 'u-line'),
                                            (SELECT id FROM escrow.accounts WHERE owner = 'u-wallet')],
                                  '{2100,2000}', 'U-M1');
SELECT escrow.mark_shipped(:d, 'Sagawa', 'u-split', 'U-S1');
SELECT escrow.mark_delivered(:d, 'U-S1');
SELECT escrow.confirm_inspection(:d, 'U-M1');
-- credit finance: loans, one part repaid, one unwound by a return
SELECT pg_temp.deal_at('U-K1', 'U-S1', 5000, 'settled', 'credit_finance', 'U-BANK') AS d \gset
SELECT escrow.repay((SELECT id FROM escrow.receivables WHERE deal = :d),
                    (SELECT id FROM escrow.accounts WHERE owner = 'u-wallet'), 1500, 'u-key-repay');
SELECT pg_temp.deal_at('U-K1', 'U-S1', 5100, 'funds_reserved', 'credit_finance', 'U-BANK');
SELECT pg_temp.deal_at('U-K1', 'U-S1', 5200, 'settled', 'credit_finance', 'U-BANK') AS d \gset
SELECT escrow.request_return(:d, 'not as described', 'U-K1');
SELECT escrow.confirm_return(:d, 'U-S1');
-- payment agency: invoices, one part paid, one paid in full
SELECT pg_temp.deal_at('U-M1', 'U-S1', 6000, 'settled', 'agency', 'U-AGY') AS d \gset
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :d),
                          (SELECT id FROM escrow.accounts WHERE owner = 'u-wallet'), 2000, 'u-key-invoice');
SELECT pg_temp.deal_at('U-M2', 'U-S1', 6100, 'settled', 'agency', 'U-AGY') AS d \gset
SELECT escrow.pay_invoice((SELECT id FROM escrow.receivables WHERE deal = :d),
                          (SELECT id FROM escrow.accounts WHERE owner = 'u-other'));
SELECT pg_temp.deal_at('U-M1', 'U-S1', 6200, 'delivered', 'agency', 'U-AGY');
-- a merchant with one-second windows: auto-accepted, completed (an
-- agency deal among them, its invoice open), expired
SELECT pg_temp.deal_at('U-M1', 'U-FAST', 700, 'settled');
SELECT pg_temp.deal_at('U-M2', 'U-FAST', 710, 'settled', 'agency', 'U-AGY');
SELECT pg_temp.deal_at('U-K1', 'U-FAST', 720, 'settled', 'credit_finance', 'U-BANK');
SELECT pg_temp.deal_at('U-M1', 'U-FAST', 730, 'delivered');
SELECT pg_temp.deal_at('U-M1', 'U-FAST', 740, 'funds_reserved', ship_within => '1 second');
SELECT pg_sleep(1.2);
SELECT * FROM escrow.run_maintenance(100);
SELECT pg_sleep(1.2);
SELECT * FROM escrow.run_maintenance(100);
-- cash at the terminal: paid now (change given), and served first then paid
SELECT pg_temp.deal_at('U-M2', 'U-S1', 1300, 'identity_confirmed') AS d \gset
SELECT * FROM escrow.pay_cash('U-T1', :d, '{1000,500}');
SELECT pg_temp.deal_at('U-M2', 'U-S1', 800, 'identity_confirmed') AS d \gset
SELECT escrow.serve_first(:d, 'U-S1');
SELECT * FROM escrow.pay_cash('U-T1', :d, '{1000}');
SELECT pg_temp.deal_at('U-M2', 'U-S1', 900, 'identity_confirmed') AS d \gset
SELECT escrow.serve_first(:d, 'U-S1');

-- the ledger API beside deals: an expired hold, open ones, batches
SELECT escrow.hold(a.id, b.id, 10, interval '1 microsecond') FROM escrow.accounts a, escrow.accounts b
 WHERE a.owner = 'u-other' AND b.owner = 'u-shop';
SELECT pg_sleep(0.01);
SELECT escrow.expire_holds();
SELECT escrow.hold(a.id, b.id, 321, interval '30 days', 'u-key-hold') FROM escrow.accounts a, escrow.accounts b
 WHERE a.owner = 'u-other' AND b.owner = 'u-shop';
SELECT escrow.hold(a.id, b.id, 654) FROM escrow.accounts a, escrow.accounts b
 WHERE a.owner = 'u-line' AND b.owner = 'u-shop';
SELECT escrow.transfer(a.id, b.id, 4321, 'u-key-transfer') FROM escrow.accounts a, escrow.accounts b
 WHERE a.owner = 'u-other' AND b.owner = 'u-wallet';
SELECT escrow.withdraw(id, 1000, 'u-key-withdraw') FROM escrow.accounts WHERE owner = 'u-other';

-- two-stage settlement: a closed batch and its export
SELECT escrow.close_settlement_batch('U-BANK', now()) AS batch \gset
SELECT * FROM escrow.settlement_export(:batch);

-- the party's login role reads its own deals (row-level security)
SET ROLE upgrade_buyer;
SELECT count(*) > 0 AS sees_own_deals FROM escrow.deal_progress;
RESET ROLE;

-- the read-only functions
SELECT escrow.make_change(600, '{100,500,1000}', '{5,1,1}');
SELECT count(*) FROM escrow.deal_transitions();
SELECT length(escrow.state_machine_dot()) > 0;
SELECT escrow.txn_no_valid(txn_no) FROM escrow.deals ORDER BY id LIMIT 1;
SELECT escrow.entry_hash('\x00'::bytea, 1, 1, 1, 'deposit', 2, 3, 4, NULL, NULL) IS NOT NULL;
SELECT count(*) AS problems FROM escrow.verify_ledger();
