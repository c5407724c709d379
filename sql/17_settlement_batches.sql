-- 17_settlement_batches: two-stage settlement (src/settlement.c).
-- Primary payments move in real time between internal accounts; accounts
-- linked to an outside institution (link_external_account) are settled
-- with it in batches: close_settlement_batch(institution, cutoff) nets each
-- linked account's position (payments between parties up to the cutoff,
-- balance shards included, deposits and withdrawals excluded, less what
-- earlier batches settled) against the institution's clearing account:
-- positive positions paid out (capped at the available balance, the rest
-- carried to the next batch), negative ones collected.  settlement_export()
-- lists a batch for the bank, summing to zero.  The same cutoff again
-- returns the same batch; a later batch nets only what happened since.
-- Refusals (cutoff, institution, links, privileges) change nothing.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- Everything a refused call could have touched: accounts, holds, the
-- journal, parties, links, batches and their lines.
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- Balances of this file's accounts and of the clearing account
CREATE FUNCTION pg_temp.bal() RETURNS TABLE (owner text, kind text, posted bigint, held bigint,
    available bigint)
LANGUAGE sql AS $$
  SELECT owner, kind::text, posted, held, available FROM escrow.balances
   WHERE owner LIKE 'sb-%' OR owner LIKE 'escrow:clearing:%' ORDER BY account
$$;
-- A batch's lines by owner
CREATE FUNCTION pg_temp.lines(bigint) RETURNS TABLE (owner text, external_ref text,
    "position" bigint, settled bigint, carried bigint, kind text, debit text, credit text)
LANGUAGE sql AS $$
  SELECT a.owner, l.external_ref, l.position, l.settled, l.position - l.settled,
         t.kind::text, da.owner, ca.owner
    FROM escrow.settlement_lines l
    JOIN escrow.accounts a ON a.id = l.account
    LEFT JOIN escrow.transfers t ON t.id = l.transfer_id
    LEFT JOIN escrow.accounts da ON da.id = t.debit_account
    LEFT JOIN escrow.accounts ca ON ca.id = t.credit_account
   WHERE l.batch = $1 ORDER BY l.account
$$;
-- A batch's totals
CREATE FUNCTION pg_temp.batch(bigint) RETURNS TABLE (institution text, clearing text, lines integer,
    paid_out bigint, collected bigint, export_lines bigint, export_sum numeric)
LANGUAGE sql AS $$
  SELECT b.institution, a.owner, b.lines, b.paid_out, b.collected,
         (SELECT count(*) FROM escrow.settlement_export(b.id)),
         (SELECT sum(amount) FROM escrow.settlement_export(b.id))
    FROM escrow.settlement_batches b JOIN escrow.accounts a ON a.id = b.clearing
   WHERE b.id = $1
$$;
-- Per linked account: its net payments so far (journal entries of
-- transfers other than deposits, withdrawals and settlements, folded or
-- not) and what all batches settled; equal once nothing is carried
CREATE FUNCTION pg_temp.cumulative() RETURNS TABLE (owner text, payments bigint, settled bigint,
    carried bigint)
LANGUAGE sql AS $$
  SELECT a.owner, p.total, s.total, p.total - s.total
    FROM escrow.settlement_links l
    JOIN escrow.accounts a ON a.id = l.account
    CROSS JOIN LATERAL (SELECT coalesce(sum(e.amount), 0)::bigint AS total
                          FROM escrow.journal e JOIN escrow.transfers t ON t.id = e.transfer
                         WHERE e.account = l.account
                           AND t.kind NOT IN ('deposit', 'withdraw', 'settlement')) p
    CROSS JOIN LATERAL (SELECT coalesce(sum(x.settled), 0)::bigint AS total
                          FROM escrow.settlement_lines x WHERE x.account = l.account) s
   ORDER BY l.account
$$;

-- The bank BANK (its own account sb-bank), and parties that bank there:
-- alice, bob (deposit accounts), carol (a credit line of 5000), erin and
-- hot (an account whose credits are not folded yet).  dave and the fee account do not.
SELECT escrow.open_account('sb-bank', 'USD') AS bank, escrow.open_account('sb-alice', 'USD') AS alice,
       escrow.open_account('sb-bob', 'USD') AS bob, escrow.open_account('sb-carol', 'USD', 'credit', 5000) AS carol,
       escrow.open_account('sb-dave', 'USD') AS dave, escrow.open_account('sb-erin', 'USD') AS erin,
       escrow.open_account('sb-hot', 'USD') AS hot, escrow.open_account('sb-fees', 'USD') AS fees,
       escrow.open_account('sb-euro', 'EUR') AS euro, escrow.open_account('sb-system', 'USD', 'system') AS sys \gset
SELECT escrow.register_institution('BANK', 'First Bank', 'ops@bank.test', :bank);
-- a buyer and a merchant for one escrow deal: bob buys from alice, the
-- fee (100 basis points) goes to sb-fees
SELECT escrow.register_member('MB', 'Bob', 'bob@buyer.test', :bob),
       escrow.register_merchant('MS', 'Alice', 'alice@shop.test', :alice, fee_bps => 100, fee_account => :fees);

-- =====================================================================
-- Linking accounts
-- =====================================================================
SELECT escrow.link_external_account(:alice, 'BANK', 'US00-ALICE'),
       escrow.link_external_account(:bob, 'BANK', 'US00-BOB'),
       escrow.link_external_account(:carol, 'BANK', 'US00-CAROL'),
       escrow.link_external_account(:erin, 'BANK', 'US00-ERIN'),
       escrow.link_external_account(:hot, 'BANK', 'US00-HOT');
SELECT a.owner, l.institution, l.external_ref FROM escrow.settlement_links l
  JOIN escrow.accounts a ON a.id = l.account ORDER BY l.account;
-- the first link created the bank's clearing account, a system account
SELECT p.party_no, a.owner, a.kind, a.currency FROM escrow.parties p
  JOIN escrow.accounts a ON a.id = p.clearing_account;

-- =====================================================================
-- Deposits and withdrawals are not positions
-- =====================================================================
SELECT escrow.deposit(:alice, 10000) > 0 AND escrow.deposit(:bob, 5000) > 0
       AND escrow.deposit(:dave, 3000) > 0 AND escrow.withdraw(:alice, 1000) > 0 AS funded;
SELECT escrow.close_settlement_batch('BANK') AS b0 \gset
SELECT * FROM pg_temp.batch(:b0);
SELECT * FROM pg_temp.lines(:b0);
COPY (SELECT * FROM escrow.settlement_export(:b0)) TO STDOUT WITH CSV HEADER;

-- =====================================================================
-- Payments between parties, then the first real batch
-- =====================================================================
SELECT escrow.transfer(:alice, :bob, 3000) > 0 AS alice_to_bob,
       escrow.transfer(:bob, :carol, 1000) > 0 AS bob_to_carol,
       escrow.transfer(:carol, :alice, 4000) > 0 AS carol_to_alice,
       escrow.transfer(:alice, :dave, 500) > 0 AS alice_to_dave;
-- an escrow deal: bob pays alice 2000 through escrow, 20 fee
SELECT escrow.open_deal('MB', 'MS', 2000) AS deal \gset
SELECT escrow.issue_identity_code(:deal) AS code \gset
SELECT escrow.confirm_identity(:deal, :'code');
SELECT escrow.reserve(:deal, 'MB') IS NOT NULL AS reserved;
SELECT escrow.mark_shipped(:deal, 'DHL', 'T-1', 'MS');
SELECT escrow.mark_delivered(:deal, 'MS');
SELECT escrow.confirm_inspection(:deal, 'MB') IS NOT NULL AS settled;
-- hot receives 600 (waiting unfolded; paying bob 100 folds it) and pays bob 100
SELECT escrow.transfer(:dave, :hot, 600) > 0 AS dave_to_hot, escrow.transfer(:hot, :bob, 100) > 0 AS hot_to_bob;
SELECT a.owner, a.kind, a.posted FROM escrow.accounts a WHERE a.id = :hot;
SELECT * FROM pg_temp.bal();
SELECT now() AS cut1 \gset
SELECT escrow.close_settlement_batch('BANK', :'cut1') AS b1 \gset
-- alice: -3000 + 4000 - 500 + 2000 - 20 = +2480, paid out;
-- bob: +3000 - 1000 - 2000 + 100 = +100, paid out;
-- carol: +1000 - 4000 = -3000, collected; erin: nothing;
-- hot: +600 - 100 = +500, paid out
SELECT * FROM pg_temp.lines(:b1);
SELECT * FROM pg_temp.batch(:b1);
-- for the bank: pay the positive lines, collect the negative ones; line 0
-- is the clearing account's balancing line; the lines sum to zero
COPY (SELECT * FROM escrow.settlement_export(:b1)) TO STDOUT WITH CSV HEADER;
-- the clearing account now holds what the bank owes net (2480 + 100 + 500
-- paid out to the bank's customers less 3000 collected from carol)
SELECT * FROM pg_temp.bal();
SELECT * FROM escrow.verify_ledger();

-- The same cutoff again: the same batch, nothing posted
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.close_settlement_batch('BANK', :'cut1') = :b1 AS same_batch;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- A later batch nets only what happened since
-- =====================================================================
SELECT escrow.transfer(:bob, :alice, 700) > 0 AS bob_to_alice,
       escrow.transfer(:dave, :carol, 250) > 0 AS dave_to_carol,
       escrow.deposit(:carol, 400) > 0 AS carol_deposits,
       escrow.withdraw(:alice, 300) > 0 AS alice_withdraws;
SELECT now() AS cut2 \gset
-- a payment after the cutoff (bob pays carol 50) belongs to the next batch
SELECT escrow.transfer(:bob, :carol, 50) > 0 AS bob_to_carol_late;
SELECT escrow.close_settlement_batch('BANK', :'cut2') AS b2 \gset
-- alice +700, bob -700, carol +250; the deposit, the withdrawal and the
-- late 50 are not in it
SELECT * FROM pg_temp.lines(:b2);
SELECT * FROM pg_temp.batch(:b2);
COPY (SELECT * FROM escrow.settlement_export(:b2)) TO STDOUT WITH CSV HEADER;

-- =====================================================================
-- Payouts are capped at the available balance; the rest carries over
-- =====================================================================
-- erin is paid 1000 by dave and holds 700 of it for dave: only 300 is
-- available, so only 300 is paid out; 700 stays in her position
SELECT escrow.transfer(:dave, :erin, 1000) > 0 AS dave_to_erin;
SELECT escrow.hold(:erin, :dave, 700) AS erin_hold \gset
SELECT owner, posted, held, available FROM escrow.balances WHERE account = :erin;
SELECT escrow.close_settlement_batch('BANK') AS b3 \gset
-- bob -50 and carol +50 (the late payment), erin +1000 of which 300 settled
SELECT * FROM pg_temp.lines(:b3);
SELECT * FROM pg_temp.batch(:b3);
COPY (SELECT * FROM escrow.settlement_export(:b3)) TO STDOUT WITH CSV HEADER;
SELECT owner, posted, held, available FROM escrow.balances WHERE account = :erin;
-- dave captures 200 of the hold, the other 500 is released: erin's
-- position is now 1000 - 200 - 300 already settled = 500, all available
SELECT escrow.capture(:erin_hold, 200, final => true) > 0 AS captured;
SELECT owner, posted, held, available FROM escrow.balances WHERE account = :erin;
SELECT escrow.close_settlement_batch('BANK') AS b4 \gset
SELECT * FROM pg_temp.lines(:b4);
SELECT * FROM pg_temp.batch(:b4);
COPY (SELECT * FROM escrow.settlement_export(:b4)) TO STDOUT WITH CSV HEADER;
-- every payment of a linked account was settled exactly once
SELECT * FROM pg_temp.cumulative();
SELECT count(*) AS batches, sum(paid_out) AS paid_out, sum(collected) AS collected
  FROM escrow.settlement_batches;
SELECT * FROM pg_temp.bal();
SELECT * FROM escrow.verify_ledger();

-- =====================================================================
-- Refusals: nothing changes
-- =====================================================================
SELECT escrow.open_account('sb-spare', 'USD') AS spare \gset
SELECT escrow.open_account('sb-euro-bank', 'EUR') AS eurobank \gset
SELECT escrow.register_institution('EUBANK', 'Euro Bank', 'ops@eubank.test', :eurobank);
SELECT clearing_account AS clearing FROM escrow.parties WHERE party_no = 'BANK' \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.link_external_account(:euro, 'EUBANK', 'EU00-X');
SELECT pg_temp.fingerprint() AS before \gset
-- a cutoff in the future (22023)
SELECT escrow.close_settlement_batch('BANK', '2999-01-01 00:00:00+00');
\echo :LAST_ERROR_SQLSTATE
-- a cutoff before the last batch (22023); the detail names the last
-- cutoff, a time, so it is left out here (VERBOSITY terse)
\set VERBOSITY terse
SELECT escrow.close_settlement_batch('BANK', '2000-01-01 00:00:00+00');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- (an earlier batch's exact cutoff is no refusal: it returns that batch)
SELECT escrow.close_settlement_batch('BANK', :'cut2') = :b2 AS same_batch;
-- NULL institution or cutoff (22023)
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.close_settlement_batch(NULL, now())$$),
  ($$SELECT escrow.close_settlement_batch('BANK', NULL)$$),
  -- no such party (P0002); not an institution (22023)
  ($$SELECT escrow.close_settlement_batch('NOBANK')$$),
  ($$SELECT escrow.close_settlement_batch('MS')$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- link refusals: already linked (22023), to this or another institution
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.link_external_account(%s, 'BANK', 'US00-ALICE-2')$$, :'alice')),
  (format($$SELECT escrow.link_external_account(%s, 'EUBANK', 'EU00-Y')$$, :'euro')),
  -- another currency than the institution's (EP004)
  (format($$SELECT escrow.link_external_account(%s, 'EUBANK', 'EU00-SPARE')$$, :'spare')),
  -- not a deposit account or credit line (P0002): a system account, the
  -- clearing account, the funding account, no account
  (format($$SELECT escrow.link_external_account(%s, 'BANK', 'US00-SYS')$$, :'sys')),
  (format($$SELECT escrow.link_external_account(%s, 'BANK', 'US00-CLEARING')$$, :'clearing')),
  (format($$SELECT escrow.link_external_account(%s, 'BANK', 'US00-FUNDING')$$, :'funding')),
  ($$SELECT escrow.link_external_account(999999, 'BANK', 'US00-NONE')$$),
  -- no such institution (P0002), not an institution (22023)
  (format($$SELECT escrow.link_external_account(%s, 'NOBANK', 'US00-SPARE')$$, :'spare')),
  (format($$SELECT escrow.link_external_account(%s, 'MS', 'US00-SPARE')$$, :'spare')),
  -- NULL or empty arguments (22023)
  (format($$SELECT escrow.link_external_account(%s, 'BANK', '')$$, :'spare')),
  (format($$SELECT escrow.link_external_account(%s, 'BANK', NULL)$$, :'spare')),
  (format($$SELECT escrow.link_external_account(%s, NULL, 'US00-SPARE')$$, :'spare')),
  ($$SELECT escrow.link_external_account(NULL, 'BANK', 'US00-SPARE')$$)) AS t(c);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- privileges: the application moves money but neither links accounts nor
-- closes or reads batches (42501); an auditor reads the export only
SELECT pg_temp.fingerprint() AS before \gset
SET ROLE escrow_app;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT escrow.close_settlement_batch('BANK')$$),
  (format($$SELECT escrow.link_external_account(%s, 'BANK', 'US00-SPARE')$$, :'spare')),
  (format($$SELECT * FROM escrow.settlement_export(%s)$$, :'b1')),
  ($$SELECT count(*) FROM escrow.settlement_batches$$)) AS t(c);
RESET ROLE;
SET ROLE escrow_auditor;
SELECT count(*) AS export_lines, sum(amount) AS export_sum FROM escrow.settlement_export(:b1);
SELECT escrow.close_settlement_batch('BANK');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

SELECT * FROM escrow.verify_ledger();
