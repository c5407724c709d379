-- 62_api_refunds.sql: refunds (refund.c).

CREATE FUNCTION escrow.refund(transfer_id bigint, amount bigint DEFAULT NULL,
                              idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_refund'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.refund(bigint, bigint, text) IS
    'Reverse part (NULL: all that remains) of a capture or transfer; never more than was posted; returns the refund transfer id';
