-- 65_balance_history.sql: balances as of any time.  A transfer counts for
-- an account from its created_at on; escrow.balance_at(account, at) is the
-- sum of the account's legs (credits +, debits -) of the transfers created
-- at or before at, and escrow.statement(account, from_time, to_time) lists
-- the legs created after from_time and at or before to_time with the
-- balance after each, starting from balance_at(from_time) and ending at
-- balance_at(to_time).  Both read escrow.transfers through the two indexes
-- below (what the account paid, what it received, by time), so they are
-- exact whether or not the legs are folded into escrow.entries, and cost
-- index lookups: a statement reads its own rows, balance_at the account's
-- transfers on the nearer side of at (before it, or after it subtracted
-- from the current balance).

CREATE INDEX transfers_debit_time ON escrow.transfers (debit_account, created_at) INCLUDE (amount);
CREATE INDEX transfers_credit_time ON escrow.transfers (credit_account, created_at) INCLUDE (amount);

-- The account's legs of the transfers created in (after, upto] (infinite
-- bounds for none; never NULL, so that each side is one index range).
-- Internal: no role may call it.
CREATE FUNCTION escrow.account_legs(account bigint, after timestamptz, upto timestamptz)
    RETURNS TABLE (transfer bigint, kind text, created_at timestamptz, counterparty bigint,
                   amount bigint)
    -- PL/pgSQL, not SQL: on a Citus cluster a query of an SQL function over
    -- the distributed transfers cannot be planned with its parameters
    -- (docs/scale-out.md); SECURITY DEFINER keeps either from being inlined
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN QUERY
    SELECT t.id, t.kind::text, t.created_at, t.credit_account, -t.amount::bigint
      FROM escrow.transfers t
     WHERE t.debit_account = account_legs.account
       AND t.created_at > account_legs.after AND t.created_at <= account_legs.upto
    UNION ALL
    SELECT t.id, t.kind::text, t.created_at, t.debit_account, t.amount::bigint
      FROM escrow.transfers t
     WHERE t.credit_account = account_legs.account
       AND t.created_at > account_legs.after AND t.created_at <= account_legs.upto;
END
$$;
COMMENT ON FUNCTION escrow.account_legs(bigint, timestamptz, timestamptz) IS
    'Internal: an account''s legs (credit +, debit -) of the transfers created in (after, upto]';

-- 22023 for a NULL argument, P0002 for an account that does not exist
CREATE FUNCTION escrow.require_account(account bigint, at timestamptz)
    RETURNS void
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF account IS NULL OR at IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN account IS NULL THEN 'account' ELSE 'the time' END
            USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM escrow.balances b WHERE b.account = require_account.account) THEN
        RAISE EXCEPTION 'account % does not exist', account USING ERRCODE = 'P0002';
    END IF;
END
$$;
COMMENT ON FUNCTION escrow.require_account(bigint, timestamptz) IS
    'Internal: refuse a NULL account or time (22023) and an unknown account (P0002)';

CREATE FUNCTION escrow.balance_at(account bigint, at timestamptz)
    RETURNS bigint
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    first_at timestamptz;
    last_at timestamptz;
BEGIN
    PERFORM escrow.require_account(account, at);
    SELECT min(l.created_at), max(l.created_at) INTO first_at, last_at
      FROM (SELECT min(t.created_at) AS created_at FROM escrow.transfers t WHERE t.debit_account = account
            UNION ALL SELECT max(t.created_at) FROM escrow.transfers t WHERE t.debit_account = account
            UNION ALL SELECT min(t.created_at) FROM escrow.transfers t WHERE t.credit_account = account
            UNION ALL SELECT max(t.created_at) FROM escrow.transfers t WHERE t.credit_account = account) l;
    IF first_at IS NULL OR at < first_at THEN
        RETURN 0;
    END IF;
    -- the nearer side of at: the legs before it, or the current balance
    -- less the legs after it (a STABLE function reads one snapshot)
    IF at < last_at AND at - first_at <= last_at - at THEN
        RETURN (SELECT coalesce(sum(l.amount), 0)::bigint
                  FROM escrow.account_legs(balance_at.account, '-infinity', balance_at.at) l);
    END IF;
    RETURN (SELECT b.posted - coalesce((SELECT sum(l.amount)
                                          FROM escrow.account_legs(balance_at.account, balance_at.at, 'infinity') l), 0)
              FROM escrow.balances b WHERE b.account = balance_at.account)::bigint;
END
$$;
COMMENT ON FUNCTION escrow.balance_at(bigint, timestamptz) IS
    'The account''s balance counting every transfer created at or before the given time (minor units, credits positive)';

CREATE FUNCTION escrow.statement(account bigint, from_time timestamptz, to_time timestamptz)
    RETURNS TABLE (transfer bigint, kind text, created_at timestamptz, counterparty bigint,
                   amount bigint, balance bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    opening bigint;
BEGIN
    PERFORM escrow.require_account(account, from_time);
    PERFORM escrow.require_account(account, to_time);
    IF from_time > to_time THEN
        RAISE EXCEPTION 'a statement''s period must not end before it starts'
            USING ERRCODE = '22023', DETAIL = format('From %s to %s.', from_time, to_time);
    END IF;
    opening := escrow.balance_at(statement.account, from_time);
    RETURN QUERY
    SELECT l.transfer, l.kind, l.created_at, l.counterparty, l.amount,
           (opening + sum(l.amount) OVER (ORDER BY l.created_at, l.transfer))::bigint
      FROM escrow.account_legs(statement.account, from_time, to_time) l
     ORDER BY l.created_at, l.transfer;
END
$$;
COMMENT ON FUNCTION escrow.statement(bigint, timestamptz, timestamptz) IS
    'The account''s legs of the transfers created after from_time and at or before to_time, oldest first, with the balance after each (the first starts from balance_at(from_time), the last is balance_at(to_time))';
