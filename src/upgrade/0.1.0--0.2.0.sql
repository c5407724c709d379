-- src/upgrade/0.1.0--0.2.0.sql: the state migration from 0.1.0 to 0.2.0,
-- part 1 of escrowpay--0.1.0--0.2.0.sql (scripts/upgrade_script.pl adds
-- the code of 0.2.0 from src/sql after it; views and policies are already
-- dropped when this runs).  Written for a 0.1.0 database with money,
-- holds, deals and keys in it: every change below says what it does to
-- existing rows.  Frozen with the rest of the script once 0.2.0 ships.

-- ------------------------------------------------------------------
-- Accounts of parties (87_account_owners.sql).  0.1.0 kept no owners;
-- 0.2.0 refuses a deal step on an account its party neither owns nor is
-- authorised to use, so the owners are derived from what 0.1.0 recorded,
-- keeping every party able to do what it did (docs/operations.md,
-- "Accounts of parties"):
--   1. each party owns the deposit account or credit line it registered
--      with (a member's account, a merchant's settlement account, an
--      institution's account) -- the first party registered with it, when
--      several shared one;
--   2. an account no party registered with, that deals paid from, goes to
--      their buyer when one buyer alone used it (a second wallet given to
--      set_payment_sources);
--   3. every other party that registered with, paid from (a deal, a loan
--      repaid, an invoice paid) or was paid into an account another party
--      owns gets that owner's authorisation (pay_from, pay_into), granted
--      when it first used it.
-- Never owned: terminals' cash accounts and merchants' fee accounts (the
-- platform's).  assigned_by and granted_by name the role that ran the
-- upgrade.  Review escrow.account_authorisations afterwards.

\create_as_installed escrow.account_owners escrow.account_authorisations

CREATE TEMPORARY VIEW escrowpay_upgrade_account_uses AS
SELECT u.account, u.party, u.purpose, u.at
  FROM (SELECT coalesce(p.account, p.settlement_account) AS account, p.party_no AS party,
               CASE p.kind WHEN 'member' THEN 'pay_from' WHEN 'merchant' THEN 'pay_into' END AS purpose,
               p.created_at AS at
          FROM escrow.parties p
        UNION ALL
        SELECT s.account, d.buyer, 'pay_from', d.created_at
          FROM escrow.deal_sources s JOIN escrow.deals d ON d.id = s.deal
        UNION ALL
        SELECT d.debit_account, d.buyer, 'pay_from', d.created_at
          FROM escrow.deals d WHERE d.payment_method <> 'cash'
        UNION ALL
        SELECT d.credit_account, d.merchant, 'pay_into', d.created_at
          FROM escrow.deals d
        UNION ALL
        -- who paid a loan or an invoice from which account: 0.1.0 kept the
        -- payment only as a transfer to the receivable's pay_to, posted in
        -- the transaction of the repay / pay_invoice event
        SELECT t.debit_account, r.debtor, 'pay_from', e.at
          FROM escrow.deal_events e
          JOIN escrow.receivables r ON r.deal = e.deal
          JOIN escrow.transfers t ON t.created_at = e.at AND t.credit_account = r.pay_to
                                 AND t.kind = 'transfer'
         WHERE e.action IN ('repay', 'pay_invoice')) u
  JOIN escrow.accounts a ON a.id = u.account
 WHERE a.kind IN ('deposit', 'credit')
   AND u.account NOT IN (SELECT cash_account FROM escrow.terminals)
   AND u.account NOT IN (SELECT fee_account FROM escrow.parties WHERE fee_account IS NOT NULL);

INSERT INTO escrow.account_owners (account, party, assigned_by, assigned_at)
SELECT DISTINCT ON (u.account) u.account, u.party, current_user, u.at
  FROM escrowpay_upgrade_account_uses u
  JOIN escrow.parties p ON p.party_no = u.party
 WHERE u.account = coalesce(p.account, p.settlement_account)
 ORDER BY u.account, p.created_at, p.party_no;

INSERT INTO escrow.account_owners (account, party, assigned_by, assigned_at)
SELECT u.account, min(u.party), current_user, min(u.at)
  FROM escrowpay_upgrade_account_uses u
 WHERE u.purpose = 'pay_from'
   AND NOT EXISTS (SELECT 1 FROM escrow.account_owners o WHERE o.account = u.account)
 GROUP BY u.account
HAVING count(DISTINCT u.party) = 1;

INSERT INTO escrow.account_authorisations (account, owner, party, purpose, granted_by, granted_at)
SELECT u.account, o.party, u.party, u.purpose, current_user, min(u.at)
  FROM escrowpay_upgrade_account_uses u
  JOIN escrow.account_owners o ON o.account = u.account
 WHERE o.party <> u.party AND u.purpose IS NOT NULL
 GROUP BY u.account, o.party, u.party, u.purpose
 ORDER BY min(u.at), u.account, u.party, u.purpose;

DROP VIEW escrowpay_upgrade_account_uses;

-- ------------------------------------------------------------------
-- Owned transfers (88_transfer_owners.sql).  0.1.0 recorded only the
-- transfers a deal made besides its captures (escrow.deal_transfers) and
-- let escrow.refund() reverse a receivable's payments, a terminal's cash
-- and a batch's settlements.  0.2.0 records the owner of every transfer a
-- deal, a receivable, a cash terminal or a settlement batch posted, and
-- refund() refuses them (EP007).  The owners of existing transfers are
-- derived from what 0.1.0 recorded:
--   1. a capture of a deal's hold: the deal;
--   2. a row of escrow.deal_transfers: its deal, except the invoice
--      payments a confirmed return sent back (agency account to the
--      buyer's account, the amount paid on the cancelled invoice): the
--      invoice;
--   3. a payment on a receivable: 0.1.0 kept it only as a transfer into
--      the receivable's pay_to, posted in the transaction of the repay /
--      pay_invoice event with the amount in its payload: the receivable;
--   4. a deposit or withdrawal of a terminal's cash account: the terminal;
--   5. a settlement named by a batch's line: the batch;
--   6. a refund of any of these: the same owner.
-- escrow.deal_transfers is then dropped.  verify_ledger() checks the
-- result (transfer_owner, receivable_payments, receivable_deal,
-- loan_line): a payment 0.1.0 let be refunded shows there.

\create_as_installed escrow.transfer_owners

INSERT INTO escrow.transfer_owners (transfer_id, deal)
SELECT t.id, h.deal
  FROM escrow.transfers t JOIN escrow.holds h ON h.id = t.hold_id
 WHERE t.kind = 'capture' AND h.deal IS NOT NULL;

INSERT INTO escrow.transfer_owners (transfer_id, deal, receivable)
SELECT dt.transfer_id, CASE WHEN r.id IS NULL THEN dt.deal END, r.id
  FROM escrow.deal_transfers dt
  JOIN escrow.transfers t ON t.id = dt.transfer_id
  JOIN escrow.deals d ON d.id = dt.deal
  LEFT JOIN escrow.receivables r
         ON r.deal = d.id AND r.kind = 'invoice' AND r.status = 'cancelled'
        AND t.debit_account = r.pay_to AND t.credit_account = d.debit_account
        AND t.amount = r.paid
 WHERE NOT EXISTS (SELECT 1 FROM escrow.transfer_owners o WHERE o.transfer_id = dt.transfer_id);

INSERT INTO escrow.transfer_owners (transfer_id, receivable)
SELECT DISTINCT ON (t.id) t.id, r.id
  FROM escrow.deal_events e
  JOIN escrow.receivables r ON r.deal = e.deal
  JOIN escrow.transfers t ON t.created_at = e.at AND t.credit_account = r.pay_to
                         AND t.kind = 'transfer'
                         AND t.amount = (e.payload ->> 'paid')::bigint
 WHERE e.action IN ('repay', 'pay_invoice')
   AND (e.payload ->> 'receivable')::bigint = r.id
   AND NOT EXISTS (SELECT 1 FROM escrow.transfer_owners o WHERE o.transfer_id = t.id)
 ORDER BY t.id, r.id;

INSERT INTO escrow.transfer_owners (transfer_id, terminal)
SELECT t.id, tm.terminal_no
  FROM escrow.transfers t
  JOIN escrow.terminals tm ON tm.cash_account IN (t.debit_account, t.credit_account)
 WHERE t.kind IN ('deposit', 'withdraw')
   AND NOT EXISTS (SELECT 1 FROM escrow.transfer_owners o WHERE o.transfer_id = t.id);

INSERT INTO escrow.transfer_owners (transfer_id, batch)
SELECT l.transfer_id, l.batch
  FROM escrow.settlement_lines l
 WHERE l.transfer_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM escrow.transfer_owners o WHERE o.transfer_id = l.transfer_id);

INSERT INTO escrow.transfer_owners (transfer_id, deal, receivable, terminal, batch)
SELECT t.id, o.deal, o.receivable, o.terminal, o.batch
  FROM escrow.transfers t JOIN escrow.transfer_owners o ON o.transfer_id = t.refund_of
 WHERE t.kind = 'refund'
   AND NOT EXISTS (SELECT 1 FROM escrow.transfer_owners x WHERE x.transfer_id = t.id);

-- out of the extension first: that also takes it off the dumped tables
ALTER EXTENSION escrowpay DROP TABLE escrow.deal_transfers;
DROP TABLE escrow.deal_transfers;

-- ------------------------------------------------------------------
-- Payment-agency deals complete only once the invoice is paid (new stage
-- invoiced, src/deal.c).  0.1.0 completed an agency deal after cooling-off
-- with its invoice open; such a deal goes back to waiting for the buyer's
-- payment: stage invoiced, no deadline (the payment that clears the
-- invoice completes it).  Its events are kept as they were (the
-- complete event stays in its history).

UPDATE escrow.deals d SET stage = 'invoiced', deadline = NULL
 WHERE d.settlement = 'agency' AND d.stage = 'completed'
   AND EXISTS (SELECT 1 FROM escrow.receivables r
                WHERE r.deal = d.id AND r.kind = 'invoice' AND r.status = 'open');

-- ------------------------------------------------------------------
-- Identity codes (81_deals.sql; docs/operations.md, "Identity-code keys"
-- and "Counting attempts, and restarts").  0.2.0 keeps with each code hash
-- the id of the key it was made with (keys now come from the file named by
-- escrowpay.hmac_key_file, not from the setting escrowpay.hmac_key) and
-- when it was issued.  Existing rows are left as they are: a code pending
-- at the upgrade has neither, so confirm_identity refuses it as void
-- (EP008: issued before the server started counting attempts in shared
-- memory) and the buyer gets a new code; code_attempts is kept and still
-- counts.
ALTER TABLE escrow.deals ADD COLUMN code_key_id text;
ALTER TABLE escrow.deals ADD COLUMN code_issued_at timestamptz;

-- ------------------------------------------------------------------
-- Limits (06_limits.sql, docs/reference.md "Limits").  0.2.0 bounds every
-- text it stores with a domain (the functions refuse longer arguments up
-- front); 0.1.0 took any length.  A 0.1.0 value over a limit stops the
-- upgrade here, naming the column and how many rows: shorten those values
-- (as the extension's owner) and run ALTER EXTENSION escrowpay UPDATE
-- again.  Balances, held amounts and credit limits beyond 0.2.0's bounds
-- are left as they are: they stay readable (every view's sum fits), and
-- 0.2.0 refuses only postings that would take them further out.
DO $$
DECLARE
    c record;
    n bigint;
    over text := '';
BEGIN
    FOR c IN SELECT * FROM (VALUES
            ('accounts', 'owner', 200), ('parties', 'name', 200), ('parties', 'contact', 1000),
            ('deals', 'inspection_place', 200), ('deals', 'carrier', 200),
            ('deals', 'provider', 200), ('deals', 'inspector', 200), ('deals', 'tracking', 200),
            ('deal_events', 'actor', 200), ('terminals', 'terminal_no', 64),
            ('terminals', 'name', 200), ('settlement_links', 'external_ref', 200),
            ('idempotency_keys', 'key', 200)) AS v (tab, col, max) LOOP
        EXECUTE format('SELECT count(*) FROM escrow.%I WHERE octet_length(%I) > %s',
                       c.tab, c.col, c.max) INTO n;
        IF n > 0 THEN
            over := over || format('%s.%s: %s rows over %s bytes; ', c.tab, c.col, n, c.max);
        END IF;
    END LOOP;
    IF over <> '' THEN
        RAISE EXCEPTION 'escrowpay 0.2.0 keeps shorter texts than this database holds'
            USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = over,
                  HINT = 'Shorten those values, then run ALTER EXTENSION escrowpay UPDATE again.';
    END IF;
END $$;

CREATE DOMAIN escrow.text_id AS text CHECK (octet_length(VALUE) <= 64);
CREATE DOMAIN escrow.text_short AS text CHECK (octet_length(VALUE) <= 200);
CREATE DOMAIN escrow.text_long AS text CHECK (octet_length(VALUE) <= 1000);
ALTER TABLE escrow.accounts ALTER COLUMN owner TYPE escrow.text_short;
ALTER TABLE escrow.parties ALTER COLUMN name TYPE escrow.text_short,
                           ALTER COLUMN contact TYPE escrow.text_long;
ALTER TABLE escrow.deals ALTER COLUMN inspection_place TYPE escrow.text_short,
                         ALTER COLUMN carrier TYPE escrow.text_short,
                         ALTER COLUMN provider TYPE escrow.text_short,
                         ALTER COLUMN inspector TYPE escrow.text_short,
                         ALTER COLUMN tracking TYPE escrow.text_short;
ALTER TABLE escrow.deal_events ALTER COLUMN actor TYPE escrow.text_short;
ALTER TABLE escrow.terminals ALTER COLUMN terminal_no TYPE escrow.text_id,
                             ALTER COLUMN name TYPE escrow.text_short;
ALTER TABLE escrow.settlement_links ALTER COLUMN external_ref TYPE escrow.text_short;
ALTER TABLE escrow.idempotency_keys ALTER COLUMN key TYPE escrow.text_short;

-- Settlement positions are cumulative and have no bound: numeric (the
-- values stay as they were).
ALTER TABLE escrow.settlement_lines ALTER COLUMN position TYPE numeric;

-- ------------------------------------------------------------------
-- Row-level security (84_deal_security.sql): the party policies look the
-- party up once per query and compare it with these indexed columns.
\create_as_installed deals_institution receivables_debtor receivables_creditor
-- Each event carries its deal's parties (deal_events.parties), copied from
-- the deal; the outbox's party policy compares them in a GIN index.
ALTER TABLE escrow.deal_events ADD COLUMN parties text[];
UPDATE escrow.deal_events e
   SET parties = pg_catalog.array_remove(ARRAY[d.buyer, d.merchant, d.institution]::text[], NULL)
  FROM escrow.deals d
 WHERE d.id = e.deal;
ALTER TABLE escrow.deal_events ALTER COLUMN parties SET NOT NULL;
\create_as_installed deal_events_parties
-- Deadlines for every waiting stage, disputes for every settlement model
-- (80_parties.sql, 81_deals.sql; docs/lifecycle.md "Deadlines and
-- run_maintenance").  Merchants get the three new terms at their defaults
-- (14 days for a shipment to be delivered, 14 for the merchant to confirm
-- a return, 7 for a buyer served first to pay) and every deal copies its
-- merchant's.  The deals 0.1.0 left waiting without any deadline get one,
-- counted from the upgrade rather than from when they began to wait, so
-- that the first run_maintenance() after the upgrade escalates, refunds
-- or marks unpaid nothing without the parties having had the new term:
--   shipped: deliver by now + deliver_within;
--   returned: refund by now + refund_within;
--   delivered, escrow, served first and not paid (nothing held or
--     captured): pay by now + pay_within;
--   delivered, agency, served first: the inspection window, now +
--     inspection_window (0.1.0 gave it none, so it was never accepted).
-- Receivables get written_down (0: 0.1.0 had no disputes of financed
-- deals).  register_merchant takes the three terms as new trailing
-- arguments: its old declaration is dropped (part 2 creates the new one).

ALTER TABLE escrow.parties
    ADD COLUMN deliver_within interval,
    ADD COLUMN refund_within interval,
    ADD COLUMN pay_within interval;
UPDATE escrow.parties
   SET deliver_within = '14 days', refund_within = '14 days', pay_within = '7 days'
 WHERE kind = 'merchant';
ALTER TABLE escrow.parties
    DROP CONSTRAINT parties_check2,
    ADD CONSTRAINT parties_check2 CHECK (kind <> 'merchant' OR (inspection_window IS NOT NULL AND cooling_off IS NOT NULL
                                  AND deliver_within IS NOT NULL AND refund_within IS NOT NULL
                                  AND pay_within IS NOT NULL));

ALTER TABLE escrow.deals
    ADD COLUMN deliver_within interval,
    ADD COLUMN refund_within interval,
    ADD COLUMN pay_within interval;
UPDATE escrow.deals d
   SET deliver_within = p.deliver_within, refund_within = p.refund_within, pay_within = p.pay_within
  FROM escrow.parties p
 WHERE p.party_no = d.merchant;
ALTER TABLE escrow.deals
    ALTER COLUMN deliver_within SET NOT NULL,
    ALTER COLUMN refund_within SET NOT NULL,
    ALTER COLUMN pay_within SET NOT NULL;
UPDATE escrow.deals
   SET deadline = clock_timestamp() + CASE stage WHEN 'shipped' THEN deliver_within
                                                 WHEN 'returned' THEN refund_within
                                                 WHEN 'delivered' THEN CASE settlement WHEN 'escrow' THEN pay_within
                                                                                        ELSE inspection_window END END
 WHERE deadline IS NULL
   AND (stage IN ('shipped', 'returned')
        OR (stage = 'delivered' AND settlement = 'escrow' AND held = 0 AND captured = 0)
        OR (stage = 'delivered' AND settlement = 'agency'));

DROP INDEX escrow.deals_due;
\create_as_installed deals_due

ALTER TABLE escrow.receivables
    ADD COLUMN written_down bigint NOT NULL DEFAULT 0 CHECK (written_down >= 0);

DROP FUNCTION escrow.register_merchant(text, text, text, bigint, interval, interval, integer, bigint, name);

-- ------------------------------------------------------------------
-- The background worker's record of its runs (89_operations.sql): new,
-- empty until the worker's first round after the upgrade.
\create_as_installed escrow.maintenance_runs

-- Retention (89_operations.sql): indexes on when keys and events were
-- made, built over the existing rows.  Nothing is deleted until
-- escrowpay.idempotency_retention / event_retention are set.
\create_as_installed idempotency_keys_created deal_events_at

-- ------------------------------------------------------------------
-- Signed checkpoints (64_checkpoints.sql): new and empty.  The first
-- escrow.checkpoint() after the upgrade seals every transfer 0.1.0
-- posted, so proofs cover them too.

\create_as_installed escrow.checkpoints escrow.checkpoint_chunks

-- ------------------------------------------------------------------
-- Balances as of any time (65_balance_history.sql): the indexes that
-- balance_at() and statement() read, built over the existing transfers,
-- and the balance anchors, new and empty: 0.1.0 made no checkpoints, and
-- the first escrow.checkpoint() after the upgrade anchors every transfer
-- 0.1.0 posted as it seals them.
\create_as_installed transfers_debit_time transfers_credit_time
\create_as_installed escrow.balance_anchors escrow.open_balance_anchors

-- ------------------------------------------------------------------
-- Folding replaces balance shards (30_journal.sql, ledger.c).  In 0.2.0 a
-- credit touches no account row: it waits in escrow.unfolded until it is
-- folded into the entries and the row, so no account needs shards.  Each
-- 0.1.0 balance shard's entries become legs of the account it belonged to
-- (applied: the shard's money is added to the account's row now, as the
-- C code kept the account's row plus its shards within the funds check),
-- and fold into the account's own hash chain at the next fold; then the
-- shard rows and the shards/parent columns go.  set_account_shards stays,
-- changing nothing (docs/reference.md).
\create_as_installed escrow.unfolded

INSERT INTO escrow.unfolded (account, transfer_id, amount, applied)
SELECT s.parent, e.transfer_id, e.amount, true
  FROM escrow.entries e JOIN escrow.accounts s ON s.id = e.account
 WHERE s.kind = 'shard';
UPDATE escrow.accounts a SET posted = a.posted + s.total
  FROM (SELECT parent, sum(posted) AS total FROM escrow.accounts
         WHERE kind = 'shard' GROUP BY parent) s
 WHERE a.id = s.parent;
ALTER TABLE escrow.entries DISABLE TRIGGER entries_append_only;
DELETE FROM escrow.entries e USING escrow.accounts s WHERE s.id = e.account AND s.kind = 'shard';
ALTER TABLE escrow.entries ENABLE ALWAYS TRIGGER entries_append_only;
DELETE FROM escrow.accounts WHERE kind = 'shard';
ALTER TABLE escrow.accounts DROP CONSTRAINT accounts_not_overdrawn;
ALTER TABLE escrow.accounts DROP COLUMN shards, DROP COLUMN parent;
-- The head of an account's chain is its last entry: a fold no longer
-- rewrites the row of an account it only chains (an account that is only
-- debited is never locked by a fold), so the row keeps neither the count
-- of its entries nor the last hash.
ALTER TABLE escrow.accounts DROP COLUMN entry_count, DROP COLUMN chain_head;
ALTER TABLE escrow.accounts ADD CONSTRAINT accounts_not_overdrawn
    CHECK (held >= 0 AND (kind = 'system' OR posted >= held - credit_limit));

-- ------------------------------------------------------------------
-- Settlement models (81_deals.sql, src/model.c).  0.1.0 listed the models
-- in two CHECKs on escrow.deals; 0.2.0 asks the model table of the
-- library, so that a new model is a change in one place.  The rows are
-- the same either way: the new CHECK accepts exactly what the old two
-- did.  The function is declared here because the constraint needs it
-- before part 2 (which re-creates it with CREATE OR REPLACE); the
-- remaining unnamed CHECK takes the name a fresh install gives it.
CREATE FUNCTION escrow.settlement_fits(settlement text, institution text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'escrow_settlement_fits'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
ALTER TABLE escrow.deals
    DROP CONSTRAINT deals_settlement_check,
    DROP CONSTRAINT deals_check1,
    ADD CONSTRAINT deals_settlement_check CHECK (escrow.settlement_fits(settlement, institution));
ALTER TABLE escrow.deals RENAME CONSTRAINT deals_check2 TO deals_check1;

-- accounts.currency: no foreign key (re-checked with a KEY SHARE lock on
-- every update of a row changed earlier in the transaction); the trigger
-- currencies_in_use (src/sql/20_accounts.sql) keeps a used currency.
ALTER TABLE escrow.accounts DROP CONSTRAINT accounts_currency_fkey;

-- ------------------------------------------------------------------
-- The platform's own accounts (20_accounts.sql, ledger.c).  0.1.0 let
-- deposit, withdraw, transfer, hold and link_external_account name a cash
-- terminal's cash account or an institution's clearing account, moving
-- their balances past the terminal's cash or the settlement batches;
-- 0.2.0 marks them, and the funding accounts, accounts.platform, and the
-- public calls refuse them (EP007).  What 0.1.0 already moved that way
-- stays in the journal, and verify_ledger() reports it (terminal_cash,
-- terminal_account).
ALTER TABLE escrow.accounts ADD COLUMN platform boolean NOT NULL DEFAULT false;
UPDATE escrow.accounts SET platform = true
 WHERE (kind = 'system' AND owner = 'escrow:funding')
    OR id IN (SELECT cash_account FROM escrow.terminals)
    OR id IN (SELECT clearing_account FROM escrow.parties WHERE clearing_account IS NOT NULL);

-- What a terminal unloaded beyond its float moved no e-money, and 0.1.0
-- kept no record of it; 0.2.0 counts it (terminals.unloaded_beyond_float)
-- so that verify_ledger() can check the cash in the machine against its
-- cash account.  For an existing terminal it is what the cash account's
-- balance, less what deals moved on it, says beyond the cash the
-- terminal holds (never below 0: more cash than that is reported).
ALTER TABLE escrow.terminals ADD COLUMN unloaded_beyond_float bigint NOT NULL DEFAULT 0
    CHECK (unloaded_beyond_float >= 0);
UPDATE escrow.terminals tm
   SET unloaded_beyond_float = greatest(f.own - c.cash, 0)
  FROM (SELECT tm2.terminal_no,
               coalesce(sum(CASE WHEN t.credit_account = tm2.cash_account THEN t.amount
                                 ELSE -t.amount END)
                        FILTER (WHERE o.deal IS NULL), 0) AS own
          FROM escrow.terminals tm2
          LEFT JOIN escrow.transfers t ON tm2.cash_account IN (t.debit_account, t.credit_account)
          LEFT JOIN escrow.transfer_owners o ON o.transfer_id = t.id
         GROUP BY tm2.terminal_no) f,
       (SELECT terminal_no, sum(denomination * pieces) AS cash
          FROM escrow.terminal_cash GROUP BY terminal_no) c
 WHERE f.terminal_no = tm.terminal_no AND c.terminal_no = tm.terminal_no;
