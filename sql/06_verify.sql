-- 06_verify: verify_ledger() finds nothing after a mixed workload (every
-- money function, replays and refusals), and it detects tampering that a
-- superuser can do behind the functions' back: entries, hashes, balances,
-- holds and refund totals.  Each tampering runs in a subtransaction that is
-- rolled back.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql

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
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.withdraw(%s, 1000000)$$, :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 1)$$, :'buyer', :'euro')),
  (format($$SELECT escrow.capture(%s, 1)$$, :'h1')),
  (format($$SELECT escrow.capture(%s, 801)$$, :'h5')),
  (format($$SELECT escrow.refund(%s, 5000)$$, :'cap1')),
  (format($$SELECT escrow.deposit(%s, 1, 'vf-dep')$$, :'buyer'))) AS t(c);
SELECT owner, currency, posted, held, credit_limit, available
  FROM escrow.balances ORDER BY currency, owner;
SELECT status, count(*) FROM escrow.holds GROUP BY status ORDER BY status;
SELECT * FROM escrow.verify_ledger();

-- Tampering.  Folded first (the hash chains cover folded entries); the
-- shop's journal, for reference:
SELECT escrow.fold_journal() > 0 AS folded;
SELECT seq, amount, balance FROM escrow.entries WHERE account = :shop ORDER BY seq;

-- Each tampering is a list of edits for pg_temp.tampered(), which runs them,
-- returns what verify_ledger() then reports and undoes them (its own
-- exception rolls the subtransaction back: the disabled triggers and the
-- dropped constraint come back too).  Escrow.entries and escrow.transfers
-- keep their journal trigger unless an edit disables it:
\set entries_off 'ALTER TABLE escrow.entries DISABLE TRIGGER USER'
\set transfers_off 'ALTER TABLE escrow.transfers DISABLE TRIGGER USER'
\i sql/include/tampered.sql

-- 1. an entry's amount changed (journal trigger disabled by a superuser)
SELECT * FROM pg_temp.tampered(:'entries_off',
  format('UPDATE escrow.entries SET amount = amount + 1 WHERE account = %s AND seq = 2', :'shop'));

-- 2. a transfer's amount raised consistently everywhere (both entries, the
--    balances after them, both account rows, the transfer row): only the
--    hash chains notice
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('UPDATE escrow.entries e SET amount = e.amount + CASE WHEN e.amount > 0 THEN 100 ELSE -100 END
           WHERE e.transfer_id = %s', :'tr'),
  format('UPDATE escrow.entries e SET balance = e.balance + CASE WHEN e.account = %s THEN 100 ELSE -100 END
           WHERE e.account IN (%s, %s)
             AND e.seq >= (SELECT seq FROM escrow.entries WHERE account = e.account AND transfer_id = %s)',
         :'shop', :'shop', :'buyer', :'tr'),
  format('UPDATE escrow.accounts SET posted = posted + CASE WHEN id = %s THEN 100 ELSE -100 END
           WHERE id IN (%s, %s)', :'shop', :'shop', :'buyer'),
  format('UPDATE escrow.transfers SET amount = amount + 100 WHERE id = %s', :'tr'));

-- 3. a hash overwritten, and a stored balance changed
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format($$UPDATE escrow.entries SET hash = sha256('forged') WHERE account = %s AND seq = 3$$, :'shop'));
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('UPDATE escrow.entries SET balance = balance + 1 WHERE account = %s AND seq = 3', :'shop'));

-- 4. an entry deleted from the middle of a chain, and the last one
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('DELETE FROM escrow.entries WHERE account = %s AND seq = 2', :'shop'));
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('DELETE FROM escrow.entries
           WHERE account = %s AND seq = (SELECT max(seq) FROM escrow.entries WHERE account = %s)',
         :'shop', :'shop'));

-- 5. a transfer deleted with its entries: the chains still notice
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('DELETE FROM escrow.entries WHERE transfer_id = %s', :'tr'),
  format('DELETE FROM escrow.transfers WHERE id = %s', :'tr'));

-- 6. account rows: posted, held (no trigger needed)
SELECT * FROM pg_temp.tampered(
  format('UPDATE escrow.accounts SET posted = posted + 1000 WHERE id = %s', :'shop'),
  format('UPDATE escrow.accounts SET held = held + 5 WHERE id = %s', :'buyer'));

-- 7. an overdrawn deposit account (its CHECK constraint dropped first)
SELECT * FROM pg_temp.tampered('ALTER TABLE escrow.accounts DROP CONSTRAINT accounts_not_overdrawn',
  format('UPDATE escrow.accounts SET held = held + 100000 WHERE id = %s', :'buyer'));

-- 8. holds: captured changed; an open hold marked released behind the
--    account's back
SELECT * FROM pg_temp.tampered(
  format('UPDATE escrow.holds SET captured = captured - 1 WHERE id = %s', :'h1'),
  format($$UPDATE escrow.holds SET status = 'released', released = amount, ended_at = now() WHERE id = %s$$, :'h5'));

-- 9. a transfer's refunded total raised: only refund() may move it, so the
--    trigger refuses a direct update; with the trigger off, verify_ledger
--    catches a raise without a refund
UPDATE escrow.transfers SET refunded = refunded + 1 WHERE id = :cap1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.tampered(:'transfers_off',
  format('UPDATE escrow.transfers SET refunded = refunded + 1 WHERE id = %s', :'cap1'));

-- 10. two folded entries reordered (their seq swapped, balances kept)
SELECT * FROM pg_temp.tampered(:'entries_off',
  format('UPDATE escrow.entries SET seq = 1002 WHERE account = %s AND seq = 2', :'shop'),
  format('UPDATE escrow.entries SET seq = 2 WHERE account = %s AND seq = 3', :'shop'),
  format('UPDATE escrow.entries SET seq = 3 WHERE account = %s AND seq = 1002', :'shop'));

-- 11. legs not folded yet: an amount changed, a leg deleted, a leg of
--     another transfer's account (escrow.unfolded has no triggers: the
--     transfers and the other leg give it away)
SELECT escrow.transfer(:buyer, :shop, 25) AS tr11 \gset
SELECT account = :shop AS to_shop, amount, applied FROM escrow.unfolded WHERE transfer_id = :tr11;
SELECT * FROM pg_temp.tampered(
  format('UPDATE escrow.unfolded SET amount = amount + 1 WHERE transfer_id = %s AND amount > 0', :'tr11'));
SELECT * FROM pg_temp.tampered(
  format('DELETE FROM escrow.unfolded WHERE transfer_id = %s AND amount > 0', :'tr11'));
SELECT * FROM pg_temp.tampered(
  format('UPDATE escrow.unfolded SET account = %s WHERE transfer_id = %s AND amount > 0', :'line', :'tr11'));
-- and once folded, the same leg is in the shop's hash chain: raised
-- consistently everywhere, the chain still notices
SELECT escrow.fold_journal() > 0 AS folded;
SELECT * FROM pg_temp.tampered(:'entries_off', :'transfers_off',
  format('UPDATE escrow.entries SET amount = amount + 1, balance = balance + 1
           WHERE transfer_id = %s AND amount > 0', :'tr11'),
  format('UPDATE escrow.accounts SET posted = posted + 1 WHERE id = %s', :'shop'),
  format('UPDATE escrow.transfers SET amount = amount + 1 WHERE id = %s', :'tr11'),
  format('UPDATE escrow.entries SET amount = amount - 1, balance = balance - 1
           WHERE transfer_id = %s AND amount < 0', :'tr11'),
  format('UPDATE escrow.accounts SET posted = posted - 1 WHERE id = %s', :'buyer'));

-- everything restored: triggers enabled, constraint back, no problem
SELECT tgrelid::regclass::text AS tbl, tgname, tgenabled FROM pg_trigger
 WHERE tgrelid IN ('escrow.entries'::regclass, 'escrow.transfers'::regclass) AND NOT tgisinternal
 ORDER BY 1, 2;
SELECT conname FROM pg_constraint
 WHERE conrelid = 'escrow.accounts'::regclass AND contype = 'c' ORDER BY 1;
SELECT * FROM escrow.verify_ledger();
