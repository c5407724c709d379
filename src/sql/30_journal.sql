-- 30_journal.sql: the append-only journal.  A transfer posts exactly two
-- entries that sum to zero; each account's entries are numbered and hash-
-- chained.  No foreign keys: the C functions check ids under row locks, and
-- verify_ledger() checks every reference.

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
    'Journal entries (append-only): one per account per transfer, signed amount (credit +, debit -), balance after it, SHA-256 chained per account';
COMMENT ON COLUMN escrow.entries.hash IS
    'SHA-256(previous hash || account || seq || transfer_id || kind || NUL || counterparty || amount || balance || hold_id || refund_of), integers 8-byte big-endian, NULL references as 0';

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
SELECT pg_catalog.pg_extension_config_dump('escrow.transfer_id_seq', '');
