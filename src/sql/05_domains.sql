-- 05_domains.sql: value types of the ledger.  Checks that only concern a
-- value written once (an amount, a kind, a status) live in domains: they
-- run when the value is written, not again on every update of the row as
-- a table CHECK would (PostgreSQL re-evaluates, and re-reads, every CHECK
-- of a table on each UPDATE, which is measurable on the hot path).

CREATE DOMAIN escrow.amount AS bigint CHECK (VALUE > 0);
COMMENT ON DOMAIN escrow.amount IS 'a positive amount in minor units of a currency';

CREATE DOMAIN escrow.account_kind AS text
    CHECK (VALUE IN ('deposit', 'credit', 'system', 'shard'));
COMMENT ON DOMAIN escrow.account_kind IS
    'deposit (balance >= 0), credit (credit line), system (may go negative); shard was a 0.1.0 balance shard, none exist since 0.2.0';

CREATE DOMAIN escrow.transfer_kind AS text
    CHECK (VALUE IN ('deposit', 'withdraw', 'transfer', 'capture', 'refund', 'settlement'));
COMMENT ON DOMAIN escrow.transfer_kind IS 'what posted a transfer';

CREATE DOMAIN escrow.hold_status AS text
    CHECK (VALUE IN ('open', 'captured', 'released', 'expired'));
COMMENT ON DOMAIN escrow.hold_status IS 'open, or how the hold ended';
