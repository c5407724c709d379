-- 40_holds.sql: holds (reservation freezes and credit-line holds).

CREATE SEQUENCE escrow.hold_id_seq;

CREATE TABLE escrow.holds (
    id             bigint PRIMARY KEY,
    debit_account  bigint NOT NULL,
    credit_account bigint NOT NULL,
    amount         escrow.amount NOT NULL,
    captured       bigint NOT NULL DEFAULT 0,
    released       bigint NOT NULL DEFAULT 0,
    status         escrow.hold_status NOT NULL DEFAULT 'open',
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    -- the deal this hold freezes money for: it moves only through the deal
    deal           bigint,
    -- the one CHECK a capture or release can break (debit <> credit is
    -- checked at hold time and by verify_ledger())
    CONSTRAINT holds_within_amount
        CHECK (captured >= 0 AND released >= 0 AND captured + released <= amount)
);
-- expire_holds() finds due holds through this small partial index.
CREATE INDEX holds_open_expiry ON escrow.holds (expires_at)
    WHERE status = 'open' AND expires_at IS NOT NULL;

COMMENT ON TABLE escrow.holds IS
    'Holds: amount reserved on debit_account for credit_account; captured and released never exceed amount; status ends once (captured, released or expired)';

SELECT pg_catalog.pg_extension_config_dump('escrow.holds', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.hold_id_seq', '');
