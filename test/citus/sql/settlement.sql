-- settlement: two-stage settlement batches on a Citus cluster, run by
-- scripts/test.sh (kind citus) against the coordinator.  The linked
-- accounts live on different workers; close_settlement_batch locks them
-- one statement each (ascending ids) and reads each position on its own,
-- and must settle exactly what it does on one server
-- (sql/17_settlement_batches.sql): payments between parties netted per
-- account up to the cutoff against the institution's clearing account,
-- deposits and withdrawals not counted, payouts capped at the available
-- balance with the rest carried, the same cutoff again the same batch.
\set SHOW_CONTEXT never

-- the bank's own account, and alice and bob, whose accounts live on
-- different workers (pg_temp.node() says where)
SELECT escrow.open_account('st-bank', 'USD') AS bank \gset
\set prefix st
\set currency USD
\i test/citus/include/two_workers.sql
\set alice :a
\set bob :b
SELECT escrow.register_institution('ST-BANK', 'First Bank', 'ops@bank.test', :bank);
SELECT escrow.link_external_account(:alice, 'ST-BANK', 'US00-ALICE'),
       escrow.link_external_account(:bob, 'ST-BANK', 'US00-BOB');
\set who 'CASE account WHEN ' :alice ' THEN ''alice'' WHEN ' :bob ' THEN ''bob'' ELSE ''clearing'' END AS who'
\set lines 'SELECT ' :who ', external_ref, position, settled, transfer_id IS NOT NULL AS posted FROM escrow.settlement_lines WHERE batch = '
\set export 'SELECT line, external_ref, amount FROM escrow.settlement_export('
\set bal 'SELECT account = ' :alice ' AS is_alice, posted, held, available FROM escrow.balances WHERE account IN (' :alice ',' :bob ') ORDER BY account;'

-- deposits and withdrawals are not positions; payments between the two
-- workers' accounts are: alice +3000 - 500 = +2500, bob -2500
SELECT escrow.deposit(:bob, 5000) > 0 AND escrow.deposit(:alice, 100) > 0
       AND escrow.withdraw(:alice, 50) > 0 AS funded;
SELECT escrow.transfer(:bob, :alice, 3000) > 0 AND escrow.transfer(:alice, :bob, 500) > 0 AS paid;
:bal
SELECT escrow.close_settlement_batch('ST-BANK') AS b1 \gset
:lines :b1 ORDER BY account;
:export :b1);
SELECT lines, paid_out, collected FROM escrow.settlement_batches WHERE id = :b1;
-- alice's 2500 paid out to her bank account, bob's 2500 collected
:bal
SELECT escrow.close_settlement_batch('ST-BANK', (SELECT cutoff FROM escrow.settlement_batches
                                                  WHERE id = :b1)) = :b1 AS same_batch;

-- a payout is capped at what is available: alice receives 1000 and holds
-- 700 for bob, so 350 is paid out (posted 1050 less 700 held) and 650
-- carried to the next batch; bob's -1000 is collected
SELECT escrow.transfer(:bob, :alice, 1000) > 0 AS paid;
SELECT escrow.hold(:alice, :bob, 700) AS h \gset
SELECT escrow.close_settlement_batch('ST-BANK') AS b2 \gset
:lines :b2 ORDER BY account;
:bal
-- the hold is released: the next batch pays out the 650 carried, and bob
-- has nothing to settle
SELECT escrow.release(:h);
SELECT escrow.close_settlement_batch('ST-BANK') AS b3 \gset
:lines :b3 ORDER BY account;
:export :b3);
:bal
SELECT count(*) AS batches, sum(paid_out) AS paid_out, sum(collected) AS collected
  FROM escrow.settlement_batches WHERE institution = 'ST-BANK';
SELECT * FROM escrow.verify_ledger();
