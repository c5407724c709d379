-- 06_verify: verify_ledger() finds nothing after a mixed workload (every
-- money function, replays and refusals), and it detects tampering that a
-- superuser can do behind the functions' back: entries, hashes, balances,
-- holds and refund totals.  Each tampering runs in a transaction that is
-- rolled back.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

SELECT escrow.open_account('vf-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('vf-shop', 'USD') AS shop \gset
SELECT escrow.open_account('vf-line', 'USD', 'credit', 2000) AS line \gset
SELECT escrow.open_account('vf-fees', 'USD', 'system') AS fees \gset
SELECT escrow.open_account('vf-euro', 'EUR') AS euro \gset
SELECT escrow.open_account('vf-eshop', 'EUR') AS eshop \gset

-- the workload
SELECT escrow.deposit(:buyer, 10000, 'vf-dep') AS dep \gset
SELECT escrow.deposit(:buyer, 10000, 'vf-dep') = :dep AS replayed;
SELECT escrow.withdraw(:buyer, 500) > 0 AS withdrew;
SELECT escrow.transfer(:buyer, :shop, 1000) AS tr \gset
SELECT escrow.hold(:buyer, :shop, 3000) AS h1 \gset
SELECT escrow.capture(:h1, 1000) AS cap1 \gset
SELECT escrow.capture(:h1) > 0 AS captured_rest;
SELECT escrow.hold(:buyer, :shop, 500) AS h2 \gset
SELECT escrow.release(:h2, 'vf-rel') = escrow.release(:h2, 'vf-rel') AS released;
SELECT escrow.hold(:line, :shop, 1500) AS h3 \gset
SELECT escrow.capture(:h3, 600, final => true) AS cap3 \gset
SELECT escrow.refund(:cap3, 200) > 0 AS refunded;
SELECT escrow.refund(:cap1, 400, 'vf-ref') > 0 AS refunded;
SELECT escrow.refund(:tr) > 0 AS refunded;
SELECT escrow.transfer(:fees, :shop, 50) > 0 AS fee_paid;
SELECT escrow.hold(:buyer, :shop, 700, '1 millisecond') AS h4 \gset
SELECT escrow.hold(:buyer, :shop, 800) AS h5 \gset
SELECT escrow.deposit(:euro, 900) > 0 AND escrow.transfer(:euro, :eshop, 300) > 0 AS eur_moved;
SELECT pg_sleep(0.05);
SELECT escrow.expire_holds();
-- refusals along the way leave no trace either
SELECT escrow.withdraw(:buyer, 1000000);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.transfer(:buyer, :euro, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.capture(:h1, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.capture(:h5, 801);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.refund(:cap1, 5000);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.deposit(:buyer, 1, 'vf-dep');
\echo :LAST_ERROR_SQLSTATE
SELECT owner, currency, posted, held, credit_limit, available
  FROM escrow.balances ORDER BY currency, owner;
SELECT status, count(*) FROM escrow.holds GROUP BY status ORDER BY status;
SELECT * FROM escrow.verify_ledger();

-- Tampering.  Folded first (the hash chains cover folded entries); the
-- shop's journal, for reference:
SELECT escrow.fold_journal() > 0 AS folded;
SELECT seq, amount, balance FROM escrow.entries WHERE account = :shop ORDER BY seq;

-- 1. an entry's amount changed (journal trigger disabled by a superuser)
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
UPDATE escrow.entries SET amount = amount + 1 WHERE account = :shop AND seq = 2;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 2. a transfer's amount raised consistently everywhere (both entries, the
--    balances after them, both account rows, the transfer row): only the
--    hash chains notice
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.entries e SET amount = e.amount + CASE WHEN e.amount > 0 THEN 100 ELSE -100 END
 WHERE e.transfer_id = :tr;
UPDATE escrow.entries e SET balance = e.balance + CASE WHEN e.account = :shop THEN 100 ELSE -100 END
 WHERE e.account IN (:shop, :buyer)
   AND e.seq >= (SELECT seq FROM escrow.entries WHERE account = e.account AND transfer_id = :tr);
UPDATE escrow.accounts SET posted = posted + CASE WHEN id = :shop THEN 100 ELSE -100 END
 WHERE id IN (:shop, :buyer);
UPDATE escrow.transfers SET amount = amount + 100 WHERE id = :tr;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 3. a hash overwritten, and a stored balance changed
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.entries SET hash = sha256('forged') WHERE account = :shop AND seq = 3;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.entries SET balance = balance + 1 WHERE account = :shop AND seq = 3;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 4. an entry deleted from the middle of a chain, and the last one
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
DELETE FROM escrow.entries WHERE account = :shop AND seq = 2;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
DELETE FROM escrow.entries
 WHERE account = :shop AND seq = (SELECT max(seq) FROM escrow.entries WHERE account = :shop);
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 5. a transfer deleted with its entries: the chains still notice
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
DELETE FROM escrow.entries WHERE transfer_id = :tr;
DELETE FROM escrow.transfers WHERE id = :tr;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 6. account rows: posted, held, entry_count, chain head (no trigger needed)
BEGIN;
UPDATE escrow.accounts SET posted = posted + 1000 WHERE id = :shop;
UPDATE escrow.accounts SET held = held + 5 WHERE id = :buyer;
UPDATE escrow.accounts SET entry_count = entry_count + 1 WHERE id = :line;
UPDATE escrow.accounts SET chain_head = sha256('forged') WHERE id = :eshop;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 7. an overdrawn deposit account (its CHECK constraint dropped first)
BEGIN;
ALTER TABLE escrow.accounts DROP CONSTRAINT accounts_not_overdrawn;
UPDATE escrow.accounts SET held = held + 100000 WHERE id = :buyer;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 8. holds: captured changed; an open hold marked released behind the
--    account's back
BEGIN;
UPDATE escrow.holds SET captured = captured - 1 WHERE id = :h1;
UPDATE escrow.holds SET status = 'released', released = amount, ended_at = now() WHERE id = :h5;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 9. a transfer's refunded total raised: only refund() may move it, so the
--    trigger refuses a direct update; with the trigger off, verify_ledger
--    catches a raise without a refund
UPDATE escrow.transfers SET refunded = refunded + 1 WHERE id = :cap1;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.transfers SET refunded = refunded + 1 WHERE id = :cap1;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 10. two folded entries reordered (their seq swapped, balances kept)
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
UPDATE escrow.entries SET seq = 1002 WHERE account = :shop AND seq = 2;
UPDATE escrow.entries SET seq = 2 WHERE account = :shop AND seq = 3;
UPDATE escrow.entries SET seq = 3 WHERE account = :shop AND seq = 1002;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- 11. legs not folded yet: an amount changed, a leg deleted, a leg of
--     another transfer's account (escrow.unfolded has no triggers: the
--     transfers and the other leg give it away)
SELECT escrow.transfer(:buyer, :shop, 25) AS tr11 \gset
SELECT account = :shop AS to_shop, amount, applied FROM escrow.unfolded WHERE transfer_id = :tr11;
BEGIN;
UPDATE escrow.unfolded SET amount = amount + 1 WHERE transfer_id = :tr11 AND amount > 0;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
BEGIN;
DELETE FROM escrow.unfolded WHERE transfer_id = :tr11 AND amount > 0;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
BEGIN;
UPDATE escrow.unfolded SET account = :line WHERE transfer_id = :tr11 AND amount > 0;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
-- and once folded, the same leg is in the shop's hash chain: raised
-- consistently everywhere, the chain still notices
SELECT escrow.fold_journal() > 0 AS folded;
BEGIN;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.entries SET amount = amount + 1, balance = balance + 1
 WHERE transfer_id = :tr11 AND amount > 0;
UPDATE escrow.accounts SET posted = posted + 1 WHERE id = :shop;
UPDATE escrow.transfers SET amount = amount + 1 WHERE id = :tr11;
UPDATE escrow.entries SET amount = amount - 1, balance = balance - 1
 WHERE transfer_id = :tr11 AND amount < 0;
UPDATE escrow.accounts SET posted = posted - 1 WHERE id = :buyer;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;

-- everything restored: triggers enabled, constraint back, no problem
SELECT tgrelid::regclass::text AS tbl, tgname, tgenabled FROM pg_trigger
 WHERE tgrelid IN ('escrow.entries'::regclass, 'escrow.transfers'::regclass) AND NOT tgisinternal
 ORDER BY 1, 2;
SELECT conname FROM pg_constraint
 WHERE conrelid = 'escrow.accounts'::regclass AND contype = 'c' ORDER BY 1;
SELECT * FROM escrow.verify_ledger();
