-- 06_limits.sql: bounds on what escrowpay keeps (limits.c, docs/reference.md
-- "Limits").  The C functions refuse over-long text arguments up front;
-- these domains are the backstop on the columns that store text.  Like the
-- domains in 05_domains.sql they are checked when a value is written, not
-- on every update of the row.

CREATE DOMAIN escrow.text_id AS text CHECK (octet_length(VALUE) <= 64);
COMMENT ON DOMAIN escrow.text_id IS
    'party numbers, terminal numbers, codes: at most 64 bytes';
CREATE DOMAIN escrow.text_short AS text CHECK (octet_length(VALUE) <= 200);
COMMENT ON DOMAIN escrow.text_short IS
    'names, owners, idempotency keys, actors, shipping details: at most 200 bytes';
CREATE DOMAIN escrow.text_long AS text CHECK (octet_length(VALUE) <= 1000);
COMMENT ON DOMAIN escrow.text_long IS 'contacts: at most 1000 bytes';

CREATE FUNCTION escrow.limits()
    RETURNS TABLE (kind text, function text, argument text, maximum bigint, unit text)
    AS 'MODULE_PATHNAME', 'escrow_limits'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION escrow.limits() IS
    'The bounds escrowpay enforces: amounts, balances, held amounts and credit limits (minor units), text arguments (bytes) and array arguments (elements), by argument name and, where one function differs, by function';
GRANT EXECUTE ON FUNCTION escrow.limits()
    TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
