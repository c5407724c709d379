-- 50_idempotency.sql: idempotency keys of money-moving calls.

CREATE TABLE escrow.idempotency_keys (
    key        escrow.text_short PRIMARY KEY,
    request    text NOT NULL,
    result     bigint,
    results    bigint[],
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE escrow.idempotency_keys IS
    'Idempotency keys: the canonical request (operation and arguments, or a SHA-256 of a batch''s arguments) first made with each key, and its result (results for batch calls)';

SELECT pg_catalog.pg_extension_config_dump('escrow.idempotency_keys', '');
