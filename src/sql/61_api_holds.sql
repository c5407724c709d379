-- 61_api_holds.sql: holds, captures, releases, expiry (hold.c).

CREATE FUNCTION escrow.hold(debit_account bigint, credit_account bigint,
                            amount bigint, expires_in interval DEFAULT NULL,
                            idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_hold'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.hold(bigint, bigint, bigint, interval, text) IS
    'Reserve amount on debit_account for credit_account (reservation freeze or credit-line hold); returns the hold id';

CREATE FUNCTION escrow.capture(hold_id bigint, amount bigint DEFAULT NULL,
                               idempotency_key text DEFAULT NULL,
                               final boolean DEFAULT false)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_capture'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.capture(bigint, bigint, text, boolean) IS
    'Post part (NULL: all that remains) of a hold as a transfer; final releases the rest; returns the transfer id';

CREATE FUNCTION escrow.release(hold_id bigint, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_release'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.release(bigint, text) IS
    'Void what remains of a hold; returns the amount released';

CREATE FUNCTION escrow.expire_holds(max_holds integer DEFAULT 1000)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'escrow_expire_holds'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.expire_holds(integer) IS
    'Release up to max_holds holds past their expiry, skipping locked ones; returns how many';

CREATE FUNCTION escrow.hold_batch(debit_accounts bigint[], credit_accounts bigint[],
                                  amounts bigint[], expires_in interval DEFAULT NULL,
                                  idempotency_key text DEFAULT NULL)
    RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'escrow_hold_batch'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.hold_batch(bigint[], bigint[], bigint[], interval, text) IS
    'Place one hold per element (up to 10,000), all or nothing; returns the hold ids in input order';

CREATE FUNCTION escrow.capture_batch(hold_ids bigint[], amounts bigint[] DEFAULT NULL,
                                     idempotency_key text DEFAULT NULL,
                                     final boolean DEFAULT false)
    RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'escrow_capture_batch'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.capture_batch(bigint[], bigint[], text, boolean) IS
    'Capture each hold (amount NULL: all that remains), all or nothing; returns the transfer ids in input order';
