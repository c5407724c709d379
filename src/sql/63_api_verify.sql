-- 63_api_verify.sql: the invariant checker (verify.c).

CREATE FUNCTION escrow.verify_ledger()
    RETURNS TABLE (problem text, detail text)
    AS 'MODULE_PATHNAME', 'escrow_verify_ledger'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.verify_ledger() IS
    'Recompute every ledger invariant (zero-sum journal, balances, holds, refunds, hash chains); no rows when all hold';
