-- 37_direct_writes: a hold writes its reservation and its row straight
-- into escrow.accounts and escrow.holds (direct.c), a transfer its debit,
-- the transfer and its legs, a capture its hold's row, and each must do
-- exactly what the statement it replaces did.  A later statement of the same call
-- or transaction sees the rows; a trigger on either table (added by a
-- superuser) sends the hold through SQL, so that it fires, with the same
-- result; a CHECK, a column default, a new column or a domain constraint
-- added by a DBA applies at once, in a backend that has already placed
-- holds (what the direct writes keep per backend is rebuilt); an error
-- inside the direct writes, caught by a savepoint, leaves nothing behind.
-- The races are in the isolation specs direct_holds and direct_transfers.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql
CREATE FUNCTION pg_temp.buyer_state(bigint) RETURNS TABLE (posted bigint, held bigint, available bigint)
LANGUAGE sql AS $$ SELECT posted, held, available FROM escrow.balances WHERE account = $1 $$;

SELECT escrow.open_account('dw-buyer', 'USD') AS buyer, escrow.open_account('dw-shop', 'USD') AS shop \gset
SELECT escrow.deposit(:buyer, 5000) > 0 AS funded;

-- the direct path: the hold's row as the statement wrote it (defaults
-- included), the reservation on the buyer
SELECT escrow.hold(:buyer, :shop, 100, interval '1 day') AS h1 \gset
SELECT debit_account = :buyer AS debit, credit_account = :shop AS credit, amount, captured,
       released, status, expires_at > now() AS expires, created_at BETWEEN now() - interval '10 minutes' AND now() AS created,
       ended_at, deal
  FROM escrow.holds WHERE id = :h1;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- the same transaction sees each hold at once: the second of these does
-- not fit on top of the first (4,900 available)
BEGIN;
SELECT escrow.hold(:buyer, :shop, 4000) > 0 AS placed;
SELECT pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 1000)', :buyer, :shop));
SELECT * FROM pg_temp.buyer_state(:buyer);
ROLLBACK;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- =====================================================================
-- A trigger on either table: the hold goes through SQL and the triggers
-- fire (row and statement triggers), with the same rows written
CREATE TABLE public.dw_seen (what text, value bigint);
CREATE FUNCTION public.dw_seen_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.dw_seen VALUES (TG_TABLE_NAME || ' ' || TG_WHEN || ' row',
    (to_jsonb(NEW) ->> CASE TG_TABLE_NAME WHEN 'accounts' THEN 'held' ELSE 'amount' END)::bigint);
  RETURN NEW;
END $$;
CREATE FUNCTION public.dw_seen_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.dw_seen VALUES (TG_TABLE_NAME || ' ' || TG_WHEN || ' statement', NULL);
  RETURN NULL;
END $$;
CREATE TRIGGER dw_seen BEFORE UPDATE ON escrow.accounts
  FOR EACH ROW EXECUTE FUNCTION public.dw_seen_row();
SELECT escrow.hold(:buyer, :shop, 200) AS h2 \gset
DROP TRIGGER dw_seen ON escrow.accounts;
CREATE TRIGGER dw_seen AFTER INSERT ON escrow.holds
  FOR EACH ROW EXECUTE FUNCTION public.dw_seen_row();
SELECT escrow.hold(:buyer, :shop, 300) AS h3 \gset
DROP TRIGGER dw_seen ON escrow.holds;
CREATE TRIGGER dw_seen AFTER INSERT ON escrow.holds
  FOR EACH STATEMENT EXECUTE FUNCTION public.dw_seen_statement();
SELECT escrow.hold(:buyer, :shop, 400) AS h4 \gset
DROP TRIGGER dw_seen ON escrow.holds;
-- no trigger left: direct again, nothing seen
SELECT escrow.hold(:buyer, :shop, 500) AS h5 \gset
SELECT * FROM public.dw_seen;
-- the holds through SQL and the one written directly look alike
SELECT id - :h1 AS nth, debit_account = :buyer AS debit, credit_account = :shop AS credit,
       amount, captured, released, status, expires_at, created_at BETWEEN now() - interval '10 minutes' AND now() AS created,
       ended_at, deal
  FROM escrow.holds WHERE id IN (:h2, :h3, :h4, :h5) ORDER BY id;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- =====================================================================
-- A DBA's CHECK on escrow.holds, then on escrow.accounts, applies at once
-- in this backend (which has written both tables directly), and is gone
-- once dropped
ALTER TABLE escrow.holds ADD CONSTRAINT dw_small CHECK (amount < 1000);
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 1500)', :buyer, :shop)), ' / ', 1) AS refused;
ALTER TABLE escrow.holds DROP CONSTRAINT dw_small;
ALTER TABLE escrow.accounts ADD CONSTRAINT dw_cap CHECK (held <= 2000);
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 1000)', :buyer, :shop)), ' / ', 1) AS refused;
SELECT escrow.hold(:buyer, :shop, 400) > 0 AS fits_under_the_cap;
ALTER TABLE escrow.accounts DROP CONSTRAINT dw_cap;
SELECT escrow.hold(:buyer, :shop, 1000) > 0 AS cap_gone;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- caught by a savepoint: the error inside the direct writes leaves
-- nothing (the reservation made before the CHECK refused the hold is
-- undone) and the next hold is written normally
ALTER TABLE escrow.holds ADD CONSTRAINT dw_small CHECK (amount < 100) NOT VALID;
DO $$
BEGIN
  PERFORM escrow.hold((SELECT id FROM escrow.accounts WHERE owner = 'dw-buyer'),
                      (SELECT id FROM escrow.accounts WHERE owner = 'dw-shop'), 150);
EXCEPTION WHEN check_violation THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;
ALTER TABLE escrow.holds DROP CONSTRAINT dw_small;
SELECT * FROM pg_temp.buyer_state(:buyer);
SELECT escrow.hold(:buyer, :shop, 50) > 0 AS placed_after;

-- a CHECK that fails when it is planned (NOT VALID: not checked on the
-- rows already there) refuses every hold, not only the first one of the
-- backend (what the direct writes keep is never left half-built)
ALTER TABLE escrow.holds ADD CONSTRAINT dw_broken CHECK (amount > 1 / 0) NOT VALID;
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 5)', :buyer, :shop)), ' / ', 1) AS refused;
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 5)', :buyer, :shop)), ' / ', 1) AS refused_again;
ALTER TABLE escrow.holds DROP CONSTRAINT dw_broken;

-- a domain constraint on amounts (NOT VALID: the rows already there are
-- not checked) applies to the next hold
ALTER DOMAIN escrow.amount ADD CONSTRAINT dw_amount_cap CHECK (VALUE <= 700) NOT VALID;
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 800)', :buyer, :shop)), ' / ', 1) AS refused;
ALTER DOMAIN escrow.amount DROP CONSTRAINT dw_amount_cap;

-- a changed default, a new column with its default, then dropped
ALTER TABLE escrow.holds ALTER COLUMN created_at SET DEFAULT '2001-02-03 04:05:06+00';
SELECT escrow.hold(:buyer, :shop, 10) AS h6 \gset
ALTER TABLE escrow.holds ALTER COLUMN created_at SET DEFAULT now();
ALTER TABLE escrow.holds ADD COLUMN dw_note text NOT NULL DEFAULT 'noted';
ALTER TABLE escrow.accounts ADD COLUMN dw_flag integer DEFAULT 7;
SELECT escrow.hold(:buyer, :shop, 20) AS h7 \gset
SELECT id - :h1 AS nth, amount, created_at = '2001-02-03 04:05:06+00' AS set_default,
       created_at BETWEEN now() - interval '10 minutes' AND now() AS now_default, dw_note
  FROM escrow.holds WHERE id IN (:h6, :h7) ORDER BY id;
SELECT dw_flag FROM escrow.accounts WHERE id = :buyer;
ALTER TABLE escrow.holds DROP COLUMN dw_note;
ALTER TABLE escrow.accounts DROP COLUMN dw_flag;
SELECT escrow.hold(:buyer, :shop, 30) AS h8 \gset
SELECT amount, status, created_at BETWEEN now() - interval '10 minutes' AND now() AS created FROM escrow.holds WHERE id = :h8;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- =====================================================================
-- A transfer (and a capture's posting) writes its debit, the transfer and
-- its two legs directly too: a trigger on escrow.transfers or
-- escrow.unfolded sends it through SQL, with the same rows; a DBA's CHECK
-- on escrow.transfers applies at once
CREATE TRIGGER dw_seen_t AFTER INSERT ON escrow.transfers
  FOR EACH ROW EXECUTE FUNCTION public.dw_seen_row();
SELECT escrow.transfer(:buyer, :shop, 11) AS t1 \gset
CREATE TRIGGER dw_seen_u AFTER INSERT ON escrow.unfolded
  FOR EACH STATEMENT EXECUTE FUNCTION public.dw_seen_statement();
SELECT escrow.transfer(:buyer, :shop, 12) > 0 AS transferred;
DROP TRIGGER dw_seen_t ON escrow.transfers;
DROP TRIGGER dw_seen_u ON escrow.unfolded;
SELECT escrow.transfer(:buyer, :shop, 13) > 0 AS transferred;
SELECT * FROM public.dw_seen WHERE what LIKE 'transfers%' OR what LIKE 'unfolded%';
SELECT id - :t1 AS nth, kind, debit_account = :buyer AS debit, credit_account = :shop AS credit,
       amount, refunded, hold_id, refund_of,
       created_at BETWEEN now() - interval '10 minutes' AND now() AS created
  FROM escrow.transfers WHERE id >= :t1 ORDER BY id;
SELECT transfer_id - :t1 AS nth, account = :buyer AS debit, amount, applied
  FROM escrow.unfolded WHERE transfer_id >= :t1 ORDER BY transfer_id, amount;
ALTER TABLE escrow.transfers ADD CONSTRAINT dw_small CHECK (amount < 1000) NOT VALID;
SELECT split_part(pg_temp.error_of(format('SELECT escrow.transfer(%s, %s, 1500)', :buyer, :shop)), ' / ', 1) AS refused;
ALTER TABLE escrow.transfers DROP CONSTRAINT dw_small;
SELECT * FROM pg_temp.buyer_state(:buyer);

-- =====================================================================
-- A capture (or release) locks and updates its hold's row directly too:
-- a partial capture leaves it open (ended_at NULL), the last one ends it;
-- a trigger on escrow.holds for UPDATE sends it through SQL
SELECT escrow.hold(:buyer, :shop, 40) AS hc \gset
SELECT escrow.capture(:hc, 15) > 0 AS captured;
SELECT captured, released, status, ended_at IS NULL AS not_ended FROM escrow.holds WHERE id = :hc;
CREATE TRIGGER dw_seen_h BEFORE UPDATE ON escrow.holds
  FOR EACH ROW EXECUTE FUNCTION public.dw_seen_row();
SELECT escrow.capture(:hc, 5) > 0 AS captured;
DROP TRIGGER dw_seen_h ON escrow.holds;
SELECT escrow.capture(:hc) > 0 AS captured_the_rest;
SELECT captured, released, status,
       ended_at BETWEEN now() - interval '10 minutes' AND now() AS ended
  FROM escrow.holds WHERE id = :hc;
SELECT * FROM public.dw_seen WHERE what = 'holds BEFORE row';
SELECT * FROM pg_temp.buyer_state(:buyer);

-- a read-only transaction writes nothing
BEGIN READ ONLY;
SELECT split_part(pg_temp.error_of(format('SELECT escrow.hold(%s, %s, 10)', :buyer, :shop)), ' / ', 1) AS refused;
ROLLBACK;

SELECT sum(amount) AS open_holds FROM escrow.holds WHERE status = 'open';
SELECT count(*) AS problems FROM escrow.verify_ledger();
DROP TABLE public.dw_seen;
DROP FUNCTION public.dw_seen_row();
DROP FUNCTION public.dw_seen_statement();
