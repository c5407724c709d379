-- bench/balance_history.sql: :transfers transfers over one year between
-- accounts 2..10001 (system accounts, so no funds check applies to the
-- synthetic rows), account 10002 the hot merchant credited by one in ten.
-- Times increase with ids, a few seconds apart.  The account rows' posted
-- balances are set to the sums, so escrow.balances is right.
\set ON_ERROR_STOP 1
INSERT INTO escrow.accounts (id, owner, kind, currency)
SELECT g, 'bh-' || g, 'system', 'USD' FROM generate_series(2, 10002) g;
SELECT setval(pg_get_serial_sequence('escrow.accounts', 'id'), 10002);
ALTER TABLE escrow.transfers SET (autovacuum_enabled = off);
INSERT INTO escrow.transfers (id, kind, debit_account, credit_account, amount, created_at)
SELECT g, 'transfer', d, CASE WHEN g % 10 = 0 THEN 10002 WHEN c >= d THEN c + 1 ELSE c END,
       1 + (g * 7919) % 10000,
       timestamptz '2026-01-01 00:00:00+00' + (g::float8 / :transfers) * interval '365 days'
  FROM generate_series(1::bigint, :transfers) g,
       LATERAL (SELECT 2 + (g * 2654435761) % 10000 AS d,
                       2 + (g * 40503) % 9999 AS c) r;
SELECT setval('escrow.transfer_id_seq', :transfers);
UPDATE escrow.accounts a SET posted = s.posted
  FROM (SELECT account, sum(amount)::bigint AS posted
          FROM (SELECT credit_account AS account, amount FROM escrow.transfers
                UNION ALL SELECT debit_account, -amount FROM escrow.transfers) l
         GROUP BY account) s
 WHERE s.account = a.id;
VACUUM ANALYZE escrow.transfers;
VACUUM ANALYZE escrow.accounts;
SELECT pg_size_pretty(pg_relation_size('escrow.transfers')) AS transfers,
       pg_size_pretty(pg_relation_size('escrow.transfers_debit_time')
                      + pg_relation_size('escrow.transfers_credit_time')) AS time_indexes;
