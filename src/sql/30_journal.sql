-- 30_journal.sql: the append-only journal.  A transfer posts exactly two
-- legs that sum to zero.  A posting appends the transfer and its two legs
-- to escrow.unfolded; folding (journal.c: the maintenance worker, or a call
-- that needs an account's exact folded figure) moves an account's legs, in
-- transfer order, into escrow.entries, where each account's entries are
-- numbered, carry the running balance and are hash-chained.  No foreign
-- keys: the C functions check ids, and verify_ledger() checks every
-- reference.

CREATE SEQUENCE escrow.transfer_id_seq;

CREATE TABLE escrow.transfers (
    id             bigint PRIMARY KEY,
    kind           escrow.transfer_kind NOT NULL,
    debit_account  bigint NOT NULL,
    credit_account bigint NOT NULL,
    amount         escrow.amount NOT NULL,
    -- only refund() moves it, within 0..amount (journal_guard enforces it)
    refunded       bigint NOT NULL DEFAULT 0,
    hold_id        bigint,
    refund_of      bigint,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfers_refund_of ON escrow.transfers (refund_of) WHERE refund_of IS NOT NULL;

COMMENT ON TABLE escrow.transfers IS
    'Posted transfers (append-only): amount moves from debit_account to credit_account; refunded is the running total of refunds of it';

CREATE TABLE escrow.entries (
    account     bigint NOT NULL,
    seq         bigint NOT NULL,
    transfer_id bigint NOT NULL,
    amount      bigint NOT NULL,
    balance     bigint NOT NULL,
    hash        bytea NOT NULL,
    PRIMARY KEY (account, seq)
);
COMMENT ON TABLE escrow.entries IS
    'Folded journal entries (append-only): one per account per transfer, signed amount (credit +, debit -), the account''s balance after it, SHA-256 chained per account in seq order';
COMMENT ON COLUMN escrow.entries.seq IS
    'position in the account''s chain: 1, 2, ... in the order the entries were folded (transfer order, except a transfer that committed after a later one of the account was folded, or a credit waiting while a transaction held the account''s row)';
COMMENT ON COLUMN escrow.entries.balance IS
    'running balance: the account''s balance after this entry, summing its entries of seq 1..this one (exact once folded)';
COMMENT ON COLUMN escrow.entries.hash IS
    'SHA-256(previous hash || account || seq || transfer_id || kind || NUL || counterparty || amount || balance || hold_id || refund_of), integers 8-byte big-endian, NULL references as 0';

-- Legs not folded yet: at most one per account per transfer.  applied: the
-- leg already changed accounts.posted (a debit checked against funds, a leg
-- posted under the account's lock, or a credit a debit counted before
-- deciding); otherwise the account row has not seen it and escrow.balances
-- adds it.  Folding deletes the rows it moves into escrow.entries.  Only
-- the legs not applied are indexed, by account: they are what balances,
-- the debits that count them and the fold look up by account; the applied
-- ones (the debit of a transfer) only the fold reads, the oldest first,
-- so that a posting writes one index entry, not two.
CREATE TABLE escrow.unfolded (
    account     bigint NOT NULL,
    transfer_id bigint NOT NULL,
    amount      bigint NOT NULL,
    applied     boolean NOT NULL
);
CREATE INDEX unfolded_account ON escrow.unfolded (account, transfer_id) WHERE NOT applied;
COMMENT ON TABLE escrow.unfolded IS
    'Journal legs not folded into escrow.entries yet: signed amount (credit +, debit -); applied when already counted in accounts.posted';

CREATE FUNCTION escrow.entry_hash(prev bytea, account bigint, seq bigint,
                                  transfer bigint, kind text, counterparty bigint,
                                  amount bigint, balance bigint,
                                  hold_id bigint, refund_of bigint)
    RETURNS bytea
    AS 'MODULE_PATHNAME', 'escrow_entry_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION escrow.entry_hash(bytea, bigint, bigint, bigint, text, bigint, bigint, bigint, bigint, bigint) IS
    'One step of an account''s journal hash chain (SHA-256)';

CREATE FUNCTION escrow.journal_guard() RETURNS trigger
    AS 'MODULE_PATHNAME', 'escrow_journal_guard'
    LANGUAGE C;
COMMENT ON FUNCTION escrow.journal_guard() IS
    'Trigger keeping the journal append-only: no DELETE or TRUNCATE, no UPDATE except a transfer''s refunded total growing';

CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON escrow.entries
    FOR EACH ROW EXECUTE FUNCTION escrow.journal_guard();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON escrow.entries
    FOR EACH STATEMENT EXECUTE FUNCTION escrow.journal_guard();
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON escrow.transfers
    FOR EACH ROW EXECUTE FUNCTION escrow.journal_guard();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON escrow.transfers
    FOR EACH STATEMENT EXECUTE FUNCTION escrow.journal_guard();

-- ENABLE ALWAYS: the guard fires under session_replication_role = replica too.
ALTER TABLE escrow.entries ENABLE ALWAYS TRIGGER entries_append_only;
ALTER TABLE escrow.entries ENABLE ALWAYS TRIGGER entries_no_truncate;
ALTER TABLE escrow.transfers ENABLE ALWAYS TRIGGER transfers_append_only;
ALTER TABLE escrow.transfers ENABLE ALWAYS TRIGGER transfers_no_truncate;

SELECT pg_catalog.pg_extension_config_dump('escrow.transfers', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.entries', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.unfolded', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.transfer_id_seq', '');
