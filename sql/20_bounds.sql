-- Bounds on amounts, balances, held amounts and credit limits (docs/
-- reference.md, "Limits"): no sequence of calls may leave a view or a
-- later call failing.  Two exploits first, as reported: the application
-- drove an administrator's system account to -2^63 and put a hold on it,
-- after which escrow.balances failed for every reader; and two deposits
-- pinned a currency's funding account at -2^63, after which every deposit
-- in that currency failed.
\i sql/include/fresh_extension.sql
\set SHOW_CONTEXT never
-- runs stmt ($n: 0, 1, 2, ...) until a call is refused; says how many passed
CREATE FUNCTION pg_temp.until_refused(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
    state text;
    detail text;
BEGIN
    LOOP
        BEGIN
            EXECUTE replace(stmt, '$n', n::text);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
            RETURN format('%s calls, then %s: %s', n, state, detail);
        END;
        n := n + 1;
        IF n = 1000 THEN
            RETURN 'none of 1000 calls refused';
        END IF;
    END LOOP;
END $$;
SELECT * FROM escrow.limits() WHERE kind NOT IN ('text', 'array') ORDER BY maximum, kind;

-- exploit 1: a system account driven to the bottom of bigint, then held
-- (by an administrator: only escrow_admin takes money out of a system
-- account, 35_system_accounts)
SELECT escrow.open_account('bd ops', 'USD', 'system') AS ops \gset
SELECT escrow.open_account('bd a', 'USD') AS a \gset
SELECT escrow.open_account('bd b', 'USD') AS b \gset
SELECT escrow.open_account('bd c', 'USD') AS c \gset
SET ROLE escrow_admin;
SELECT escrow.transfer(:ops, :a, 4611686018427387904);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.transfer(:ops, :b, 4611686018427387904);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.hold(:ops, :c, 1) > 0 AS held;
SELECT owner, posted, held, available FROM escrow.balances ORDER BY account;
RESET ROLE;

-- exploit 2: two deposits pin the funding account
SELECT escrow.open_account('bd d', 'EUR') AS d \gset
SELECT escrow.open_account('bd e', 'EUR') AS e \gset
SET ROLE escrow_app;
SELECT escrow.deposit(:d, 4611686018427387904);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.deposit(:e, 4611686018427387904);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.deposit(:d, 100) > 0 AS deposited;
RESET ROLE;
SELECT owner, posted FROM escrow.balances WHERE currency = 'EUR' ORDER BY account;

-- amounts: up to 10^15 per call
SELECT escrow.deposit(:a, 1000000000000001);
SELECT escrow.deposit(:a, 1000000000000000) > 0 AS deposited;
SELECT escrow.hold(:a, :b, 1000000000000001);
SELECT escrow.hold_batch(ARRAY[:a], ARRAY[:b], ARRAY[1000000000000001]);
-- credit limits: up to 10^16
SELECT escrow.open_account('bd line', 'USD', 'credit', 10000000000000001);
SELECT escrow.open_account('bd line', 'USD', 'credit', 10000000000000000) AS line \gset
SELECT escrow.set_credit_limit(:line, 10000000000000001);
SELECT escrow.set_credit_limit(:line, 9000000000000000);

-- a deposit account's balance: up to 10^16; the eleventh 10^15 is refused
SELECT pg_temp.until_refused('SELECT escrow.deposit(' || :a || ', 1000000000000000)');
SELECT posted, available FROM escrow.balances WHERE account = :a;

-- a system account: down to -10^17, however many accounts it pays
SELECT count(escrow.open_account('bd sink ' || i, 'USD')) FROM generate_series(0, 10) i;
SELECT pg_temp.until_refused('SELECT escrow.transfer(' || :ops || ', (SELECT id FROM escrow.accounts WHERE owner = ''bd sink '' || $n / 10), 1000000000000000)');
-- held: up to 10^16, on a system account too
SELECT pg_temp.until_refused('SELECT escrow.hold(' || :ops || ', ' || :c || ', 1000000000000000)');
-- every view still reads, for every reader
SELECT owner, posted, held, available FROM escrow.balances WHERE owner = 'bd ops';
SET ROLE escrow_auditor;
SELECT count(*), sum(available) FROM escrow.balances;
SELECT currency, holds, remaining FROM escrow.hold_aging;
SELECT count(*), sum(remaining) FROM escrow.open_holds;
SELECT count(*) > 0 AS journal FROM escrow.journal;
RESET ROLE;

-- the funding account of a currency: its balance stops at -10^17, a
-- capacity that withdrawals free again (set_account_shards changes nothing
-- since 0.2.0); deposits of 10^15 are posted under the lock, so the bound
-- is checked against the exact balance
SELECT escrow.open_account('bd gbp', 'GBP') AS g \gset
SELECT id AS gbp_funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'GBP' \gset
SELECT escrow.set_account_shards(:gbp_funding, 2);
SELECT count(escrow.open_account('bd gbp ' || i, 'GBP')) FROM generate_series(0, 30) i;
SELECT pg_temp.until_refused('SELECT escrow.deposit((SELECT id FROM escrow.accounts WHERE owner = ''bd gbp '' || $n / 10), 1000000000000000)');
SELECT posted FROM escrow.balances WHERE account = :gbp_funding;
SELECT posted FROM escrow.accounts WHERE id = :gbp_funding;
SELECT id AS g0 FROM escrow.accounts WHERE owner = 'bd gbp 0' \gset
SELECT escrow.deposit(:g0, 1);
SELECT escrow.withdraw(:g0, 1000000000000000) > 0 AS withdrawn;
SELECT escrow.deposit(:g0, 1000000000000000) > 0 AS deposited_again;
SELECT count(*), sum(posted), sum(available) FROM escrow.balances WHERE currency = 'GBP';

-- a deposit account: credits fill it up to 10^16
SELECT escrow.open_account('bd hot', 'JPY') AS hot \gset
SELECT escrow.open_account('bd payer', 'JPY', 'system') AS payer \gset
SELECT escrow.set_account_shards(:hot, 1);
SELECT pg_temp.until_refused('SELECT escrow.transfer(' || :payer || ', ' || :hot || ', 1000000000000000)');
SELECT posted, available FROM escrow.balances WHERE account = :hot;

-- deals: amounts up to 10^15; the reporting views sum them without overflow
SELECT escrow.open_account('bd big buyer', 'CHF', 'credit', 10000000000000000) AS bb \gset
SELECT escrow.open_account('bd big shop', 'CHF') AS bs \gset
SELECT escrow.register_member('BD-B', 'Big buyer', 'b@example.com', :bb),
       escrow.register_merchant('BD-S', 'Big shop', 's@example.com', :bs);
SELECT escrow.open_deal('BD-B', 'BD-S', 1000000000000001);
DO $$
DECLARE
    d bigint;
BEGIN
    FOR i IN 1..10 LOOP
        d := escrow.open_deal('BD-B', 'BD-S', 1000000000000000);
        PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
        PERFORM escrow.reserve(d, 'BD-B');
        PERFORM escrow.mark_shipped(d, NULL, NULL, 'BD-S');
        PERFORM escrow.mark_delivered(d, 'BD-S');
        PERFORM escrow.confirm_inspection(d, 'BD-B');
    END LOOP;
END $$;
SELECT stage, deals, amount, captured FROM escrow.stage_funnel WHERE currency = 'CHF';
SELECT merchant, settled, net FROM escrow.merchant_payouts WHERE currency = 'CHF';
SELECT count(*), sum(captured) FROM escrow.deal_progress WHERE currency = 'CHF';
SELECT owner, posted, available FROM escrow.balances WHERE currency = 'CHF' ORDER BY account;

-- cash terminals: pieces up to 10^15 each, 10^15 per load, 10^16 in a till
SELECT escrow.open_account('bd till', 'CLP') AS till \gset
SELECT escrow.register_terminal('BD-T', 'Big till', :till, ARRAY[1000000000000001]);
SELECT escrow.register_terminal('BD-T', 'Big till', :till, ARRAY[1000000000000000, 1]);
SELECT escrow.load_terminal_cash('BD-T', ARRAY[1], ARRAY[1000000000000001]);
SELECT escrow.load_terminal_cash('BD-T', ARRAY[1000000000000000], ARRAY[2]);
SELECT pg_temp.until_refused('SELECT escrow.load_terminal_cash(''BD-T'', ARRAY[1000000000000000], ARRAY[1])');
SELECT terminal_no, cash_value, account_balance FROM escrow.terminal_inventory;

SELECT * FROM escrow.verify_ledger();
