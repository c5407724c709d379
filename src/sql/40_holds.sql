-- 40_holds.sql: holds (reservation freezes and credit-line holds).

CREATE SEQUENCE escrow.hold_id_seq;

CREATE TABLE escrow.holds (
    id             bigint PRIMARY KEY,
    debit_account  bigint NOT NULL,
    credit_account bigint NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    captured       bigint NOT NULL DEFAULT 0 CHECK (captured >= 0),
    released       bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
    status         text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'captured', 'released', 'expired')),
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    CHECK (captured + released <= amount),
    CHECK (debit_account <> credit_account)
);
-- expire_holds() finds due holds through this small partial index.
CREATE INDEX holds_open_expiry ON escrow.holds (expires_at)
    WHERE status = 'open' AND expires_at IS NOT NULL;

COMMENT ON TABLE escrow.holds IS
    'Holds: amount reserved on debit_account for credit_account; captured and released never exceed amount; status ends once (captured, released or expired)';

SELECT pg_catalog.pg_extension_config_dump('escrow.holds', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.hold_id_seq', '');
