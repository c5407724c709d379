-- 60_api_accounts.sql: accounts and posted transfers (account.c, ledger.c).
-- Every public function is SECURITY DEFINER with a pinned search_path;
-- EXECUTE is granted per role in 90_security.sql.

CREATE FUNCTION escrow.open_account(owner text, currency text,
                                    kind text DEFAULT 'deposit',
                                    credit_limit bigint DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_open_account'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.open_account(text, text, text, bigint) IS
    'Open an account (kind deposit, credit or system) in an ISO 4217 currency; returns its id';

CREATE FUNCTION escrow.deposit(account bigint, amount bigint,
                               idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_deposit'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.deposit(bigint, bigint, text) IS
    'Funds in from the currency''s funding account; returns the transfer id';

CREATE FUNCTION escrow.withdraw(account bigint, amount bigint,
                                idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_withdraw'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.withdraw(bigint, bigint, text) IS
    'Funds out to the currency''s funding account; refused (EP001) beyond what is available; returns the transfer id';

CREATE FUNCTION escrow.transfer(debit_account bigint, credit_account bigint,
                                amount bigint, idempotency_key text DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_transfer'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.transfer(bigint, bigint, bigint, text) IS
    'Immediate posted transfer between two accounts of one currency; returns the transfer id';

CREATE FUNCTION escrow.set_credit_limit(account bigint, credit_limit bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'escrow_set_credit_limit'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.set_credit_limit(bigint, bigint) IS
    'Set a credit account''s line; refused (EP001) below what is used plus held';

CREATE FUNCTION escrow.set_account_shards(account bigint, shards integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'escrow_set_account_shards'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.set_account_shards(bigint, integer) IS
    'Kept for 0.1.0 callers, changes nothing: every account takes credits without waiting since 0.2.0 (no balance shards); checks its arguments, returns 0';

CREATE FUNCTION escrow.fold_journal(max_accounts integer DEFAULT 1000)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_fold_journal'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.fold_journal(integer) IS
    'Fold the legs waiting in escrow.unfolded into the entries and balances: the credits of up to max_accounts accounts (in id order from where the session''s previous call stopped, wrapping around) and the oldest 16 x max_accounts debits already applied to their rows; returns the number of legs folded.  The maintenance worker runs it; balances never depend on it';
