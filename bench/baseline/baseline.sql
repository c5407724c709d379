-- bench/baseline/baseline.sql -- THE BASELINE, not escrowpay.
--
-- A plain PL/pgSQL ledger of the calls the benchmark makes, written the way
-- one would hand-roll it in SQL: account rows whose balances are updated in
-- place on every posting, one journal table, a holds table, and the same
-- checks escrowpay makes (positive amount within bounds, accounts exist and
-- differ, same currency, no funding account outside deposits, funds
-- available, hold open and not expired, capture within what remains).
-- SECURITY DEFINER with a pinned search_path, like escrowpay's functions.
-- It exists only so that bench/run.sh can report escrowpay / baseline in
-- the same run; nothing in escrowpay uses it.

CREATE SCHEMA baseline;

CREATE TABLE baseline.accounts (
    id           bigserial PRIMARY KEY,
    owner        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('deposit', 'credit', 'system')),
    currency     text NOT NULL,
    balance      bigint NOT NULL DEFAULT 0,
    held         bigint NOT NULL DEFAULT 0,
    credit_limit bigint NOT NULL DEFAULT 0,
    CHECK (held >= 0 AND (kind = 'system' OR balance >= held - credit_limit))
);
ALTER TABLE baseline.accounts SET (fillfactor = 50);

CREATE TABLE baseline.journal (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL,
    debit_account  bigint NOT NULL,
    credit_account bigint NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    hold_id        bigint,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE baseline.holds (
    id             bigserial PRIMARY KEY,
    debit_account  bigint NOT NULL,
    credit_account bigint NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    captured       bigint NOT NULL DEFAULT 0,
    status         text NOT NULL DEFAULT 'open',
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz
);
ALTER TABLE baseline.holds SET (fillfactor = 70);

CREATE FUNCTION baseline.open_account(p_owner text, p_currency text, p_kind text DEFAULT 'deposit')
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO baseline.accounts (owner, kind, currency) VALUES (p_owner, p_kind, upper(p_currency))
    RETURNING id
$$;

-- Post amount from debit to credit: both rows updated in place (ascending
-- id order, so concurrent postings never deadlock), funds checked on the
-- debit row, one journal row.
CREATE FUNCTION baseline.post(p_kind text, p_debit bigint, p_credit bigint, p_amount bigint,
                              p_unhold bigint DEFAULT 0, p_hold bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a_first bigint := least(p_debit, p_credit);
    a_second bigint := greatest(p_debit, p_credit);
    cur text;
    cur2 text;
    id bigint;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 OR p_amount > 1000000000000000 THEN
        RAISE EXCEPTION 'amount must be positive' USING ERRCODE = '22023';
    END IF;
    IF p_debit = p_credit THEN
        RAISE EXCEPTION 'debit and credit account must differ' USING ERRCODE = '22023';
    END IF;
    UPDATE baseline.accounts a
       SET balance = a.balance + CASE WHEN a.id = p_credit THEN p_amount ELSE -p_amount END,
           held = a.held - CASE WHEN a.id = p_debit THEN p_unhold ELSE 0 END
     WHERE a.id = a_first
       AND (a.id = p_credit OR a.kind = 'system' OR a.balance - p_amount >= a.held - p_unhold - a.credit_limit)
       AND (p_kind IN ('deposit', 'withdraw') OR a.owner <> 'funding')
    RETURNING a.currency INTO cur;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account %: missing, funding or insufficient funds', a_first USING ERRCODE = 'P0001';
    END IF;
    UPDATE baseline.accounts a
       SET balance = a.balance + CASE WHEN a.id = p_credit THEN p_amount ELSE -p_amount END,
           held = a.held - CASE WHEN a.id = p_debit THEN p_unhold ELSE 0 END
     WHERE a.id = a_second AND a.currency = cur
       AND (a.id = p_credit OR a.kind = 'system' OR a.balance - p_amount >= a.held - p_unhold - a.credit_limit)
       AND (p_kind IN ('deposit', 'withdraw') OR a.owner <> 'funding')
    RETURNING a.currency INTO cur2;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account %: missing, other currency, funding or insufficient funds', a_second
            USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO baseline.journal (kind, debit_account, credit_account, amount, hold_id)
    VALUES (p_kind, p_debit, p_credit, p_amount, p_hold) RETURNING journal.id INTO id;
    RETURN id;
END
$$;

CREATE FUNCTION baseline.deposit(p_account bigint, p_amount bigint)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT baseline.post('deposit', f.id, p_account, p_amount)
      FROM baseline.accounts a
      JOIN baseline.accounts f ON f.currency = a.currency AND f.owner = 'funding'
     WHERE a.id = p_account
$$;

CREATE FUNCTION baseline.transfer(p_debit bigint, p_credit bigint, p_amount bigint)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT baseline.post('transfer', p_debit, p_credit, p_amount)
$$;

-- A hold reserves amount on the debit account (held += amount, funds
-- checked in the UPDATE) for the credit account.
CREATE FUNCTION baseline.hold(p_debit bigint, p_credit bigint, p_amount bigint,
                              p_expires_in interval DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    id bigint;
BEGIN
    IF p_amount IS NULL OR p_amount <= 0 OR p_amount > 1000000000000000 THEN
        RAISE EXCEPTION 'amount must be positive' USING ERRCODE = '22023';
    END IF;
    UPDATE baseline.accounts a SET held = a.held + p_amount
      FROM baseline.accounts c
     WHERE a.id = p_debit AND c.id = p_credit AND a.id <> c.id AND a.currency = c.currency
       AND a.owner <> 'funding' AND c.owner <> 'funding'
       AND (a.kind = 'system' OR a.balance >= a.held + p_amount - a.credit_limit);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hold from % to % refused', p_debit, p_credit USING ERRCODE = 'P0001';
    END IF;
    INSERT INTO baseline.holds (debit_account, credit_account, amount, expires_at)
    VALUES (p_debit, p_credit, p_amount, now() + p_expires_in) RETURNING holds.id INTO id;
    RETURN id;
END
$$;

-- Capture what remains of a hold (or p_amount of it): a posted transfer
-- from its debit account to its credit account.
CREATE FUNCTION baseline.capture(p_hold bigint, p_amount bigint DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    h baseline.holds;
    amt bigint;
BEGIN
    SELECT * INTO h FROM baseline.holds WHERE id = p_hold FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hold % does not exist', p_hold USING ERRCODE = 'P0002';
    END IF;
    IF h.status <> 'open' OR (h.expires_at IS NOT NULL AND h.expires_at <= clock_timestamp()) THEN
        RAISE EXCEPTION 'hold % is not open', p_hold USING ERRCODE = 'P0001';
    END IF;
    amt := coalesce(p_amount, h.amount - h.captured);
    IF amt <= 0 OR amt > h.amount - h.captured THEN
        RAISE EXCEPTION 'capture % exceeds what remains of hold %', amt, p_hold USING ERRCODE = 'P0001';
    END IF;
    UPDATE baseline.holds SET captured = captured + amt,
           status = CASE WHEN captured + amt = amount THEN 'captured' ELSE 'open' END
     WHERE id = p_hold;
    RETURN baseline.post('capture', h.debit_account, h.credit_account, amt, amt, p_hold);
END
$$;
