-- 65_balance_history.sql: balances as of any time.  A transfer counts for
-- an account from its created_at on: escrow.balance_at(account, at) is the
-- sum of the account's legs (credits +, debits -) of the transfers created
-- at or before at, and escrow.statement(account, from_time, to_time) lists
-- the legs created after from_time and at or before to_time with the
-- balance after each, starting from balance_at(from_time) and ending at
-- balance_at(to_time).  Both read escrow.transfers through the two indexes
-- below (what the account paid, what it received, by time), so they are
-- exact whether or not the legs are folded into escrow.entries.
--
-- Balance anchors make balance_at cost index lookups whatever the size of
-- the account's history.  escrow.checkpoint() seals every transfer up to
-- its last_transfer, and no transfer can appear below it later; it cuts
-- each account's legs of the transfers it seals, in transfer id order, into
-- anchors of escrow.balance_anchor_legs() legs.  A full anchor is written
-- once, into escrow.balance_anchors; the account's last anchor, still
-- filling, is its row of escrow.open_balance_anchors, which each checkpoint
-- that seals a leg of the account rewrites in place (no index but the key:
-- a HOT update) until it is full and moves, one insert, to the first.  An
-- anchor keeps the account's balance after its last leg (the sum of its
-- legs up to last_transfer) and the earliest and latest time of its legs.
-- Ids and times do not follow the same order (a transfer's time is the
-- start of its transaction), so an anchor also keeps the latest time of
-- every leg up to it (upto_at) and the earliest of every leg from it on
-- (from_at); then, for a moment at:
--   * every leg of the anchors up to the newest one with upto_at <= at was
--     created at or before at;
--   * every leg of the anchors after the newest one with from_at <= at was
--     created after at;
--   * an anchor between the two counts whole when its last leg is at or
--     before at, not at all when its first leg is after, and otherwise
--     through its legs between its first leg's time and at (one index
--     range, its ids);
--   * the account's legs after the last checkpoint (not in any anchor)
--     count through one index range from the earliest time of the
--     transfers after that checkpoint.
-- That is exact for any order of ids and times; when they follow each
-- other (the journal's normal state) it reads one or two anchors and at
-- most about one anchor's and one checkpoint interval's legs of the
-- account (bench/README.md has the figures at 10 M transfers).
CREATE INDEX transfers_debit_time ON escrow.transfers (debit_account, created_at) INCLUDE (amount);
CREATE INDEX transfers_credit_time ON escrow.transfers (credit_account, created_at) INCLUDE (amount);


CREATE TABLE escrow.balance_anchors (
    account       bigint NOT NULL,
    seq           bigint NOT NULL,
    last_transfer bigint NOT NULL,
    legs          integer NOT NULL,
    balance       bigint NOT NULL,
    first_at      timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    upto_at       timestamptz NOT NULL,
    from_at       timestamptz NOT NULL,
    PRIMARY KEY (account, seq)
);
CREATE INDEX balance_anchors_upto ON escrow.balance_anchors (account, upto_at, seq);
CREATE INDEX balance_anchors_from ON escrow.balance_anchors (account, from_at, seq);
COMMENT ON TABLE escrow.balance_anchors IS
    'Full balance anchors, written once by escrow.checkpoint(): anchor seq of an account holds its legs (one per transfer) of the transfers after the previous anchor''s last_transfer up to its own, in sealed transfers only; balance_at() starts from them (the account''s last anchor, still filling, is in escrow.open_balance_anchors)';
COMMENT ON COLUMN escrow.balance_anchors.seq IS
    'The anchor''s number in the account''s history: 1, 2, ...; each holds escrow.balance_anchor_legs() legs';
COMMENT ON COLUMN escrow.balance_anchors.balance IS
    'The account''s balance after the anchor''s last leg: the sum of its legs of the transfers up to last_transfer';
COMMENT ON COLUMN escrow.balance_anchors.upto_at IS
    'The latest time of the account''s legs up to last_transfer (this anchor''s and every earlier one''s)';
COMMENT ON COLUMN escrow.balance_anchors.from_at IS
    'The earliest time of the account''s sealed legs from this anchor on (this anchor''s and every later one''s)';
SELECT pg_catalog.pg_extension_config_dump('escrow.balance_anchors', '');

-- Each account's last anchor while it fills (fewer than
-- escrow.balance_anchor_legs() legs; none when the last one is full), with
-- the columns of escrow.balance_anchors (LIKE: the same names, types and
-- NOT NULLs, in the same order).  Only the key is indexed and pages are
-- left half free, so that the checkpoints' rewrites are HOT updates.
CREATE TABLE escrow.open_balance_anchors (
    LIKE escrow.balance_anchors,
    PRIMARY KEY (account)
) WITH (fillfactor = 50);
COMMENT ON TABLE escrow.open_balance_anchors IS
    'Each account''s last balance anchor while it holds fewer than escrow.balance_anchor_legs() legs (the columns of escrow.balance_anchors), rewritten by each escrow.checkpoint() that seals a leg of the account until it is full and moves to escrow.balance_anchors';
SELECT pg_catalog.pg_extension_config_dump('escrow.open_balance_anchors', '');

-- Every anchor, full or open (open: the account's last one, while it
-- fills), in one relation: where escrow.checkpoint() continues an
-- account's anchors from, the anchors balance_at() reads between two
-- moments and what verify_ledger() compares with the sealed journal.  A
-- filter on the account (and seq) applies to both tables, each through
-- its own key.  Internal: no role may read it.
CREATE VIEW escrow.all_balance_anchors AS
SELECT b.account, b.seq, b.last_transfer, b.legs, b.balance, b.first_at, b.last_at,
       b.upto_at, b.from_at, false AS open
  FROM escrow.balance_anchors b
UNION ALL
SELECT o.account, o.seq, o.last_transfer, o.legs, o.balance, o.first_at, o.last_at,
       o.upto_at, o.from_at, true
  FROM escrow.open_balance_anchors o;
COMMENT ON VIEW escrow.all_balance_anchors IS
    'Internal: every balance anchor, the full ones of escrow.balance_anchors and the open ones of escrow.open_balance_anchors (open true)';

-- Legs per anchor.  Internal: no role may call it.
CREATE FUNCTION escrow.balance_anchor_legs()
    RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT 256';
COMMENT ON FUNCTION escrow.balance_anchor_legs() IS
    'Internal: the number of legs of a full balance anchor';


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
    full_legs constant integer := escrow.balance_anchor_legs();
    last_open record;           -- the account's open anchor, if it has one
    newest record;              -- the account's last anchor
    below record;               -- the last anchor with every leg up to it at or before at
    above bigint;               -- the last anchor with a leg from it on at or before at
    sealed bigint;              -- the last checkpoint's last transfer
    unsealed bigint;            -- how many transfer ids were handed out after it
    unsealed_from timestamptz;  -- the earliest time of the transfers after it
    r record;
    total bigint;
    first_at timestamptz;
    last_at timestamptz;
    before_side boolean;
BEGIN
    PERFORM escrow.require_account(account, at);
    -- a STABLE function reads one snapshot: the anchors, the checkpoints
    -- and the transfers below agree with each other.  The account's last
    -- anchor is its open one when it has one.
    SELECT o.seq, o.legs, o.upto_at, o.from_at INTO last_open
      FROM escrow.open_balance_anchors o WHERE o.account = balance_at.account;
    IF last_open.seq IS NOT NULL THEN
        newest := last_open;
    ELSE
        SELECT b.seq, b.legs, b.upto_at INTO newest
          FROM escrow.balance_anchors b WHERE b.account = balance_at.account ORDER BY b.seq DESC LIMIT 1;
    END IF;
    IF newest.seq IS NOT NULL AND at < newest.upto_at THEN
        -- upto_at and from_at grow with seq; the last anchor's upto_at is
        -- after at, so below is a full one
        SELECT b.seq, b.balance, b.last_transfer INTO below
          FROM escrow.balance_anchors b WHERE b.account = balance_at.account AND b.upto_at <= at
         ORDER BY b.upto_at DESC, b.seq DESC LIMIT 1;
        IF last_open.from_at <= at THEN
            above := last_open.seq;
        ELSE
            SELECT b.seq INTO above
              FROM escrow.balance_anchors b WHERE b.account = balance_at.account AND b.from_at <= at
             ORDER BY b.from_at DESC, b.seq DESC LIMIT 1;
        END IF;
        SELECT c.last_transfer INTO sealed FROM escrow.checkpoints c ORDER BY c.seq DESC LIMIT 1;
        SELECT coalesce(max(t.id) - sealed, 0) INTO unsealed FROM escrow.transfers t;
        -- the anchors cost a read of the transfers after the last
        -- checkpoint; the account's legs on one side of at may be fewer
        IF unsealed <= least(coalesce(below.seq, 0) * full_legs,
                             (newest.seq - coalesce(above, 0)) * full_legs) THEN
            total := coalesce(below.balance, 0);
            FOR r IN
                SELECT a.last_transfer, a.first_at, a.last_at, a.balance - lag(a.balance, 1, total) OVER w AS moved,
                       lag(a.last_transfer, 1, coalesce(below.last_transfer, 0)) OVER w AS after
                  FROM escrow.all_balance_anchors a
                 WHERE a.account = balance_at.account AND a.seq > coalesce(below.seq, 0)
                   AND a.seq <= above
                WINDOW w AS (ORDER BY a.seq)
            LOOP
                IF r.last_at <= at THEN
                    total := total + r.moved;
                ELSIF r.first_at <= at THEN
                    total := total + (SELECT coalesce(sum(l.amount), 0)
                                        FROM escrow.account_legs(balance_at.account,
                                                                 r.first_at - interval '1 microsecond', at) l
                                       WHERE l.transfer > r.after AND l.transfer <= r.last_transfer);
                END IF;
            END LOOP;
            IF unsealed > 0 THEN
                -- planned with the value: a generic plan of id > $1 reads the table
                EXECUTE 'SELECT min(t.created_at) FROM escrow.transfers t WHERE t.id > $1'
                   INTO unsealed_from USING sealed;
                IF unsealed_from <= at THEN
                    total := total + (SELECT coalesce(sum(l.amount), 0)
                                        FROM escrow.account_legs(balance_at.account,
                                                                 unsealed_from - interval '1 microsecond', at) l
                                       WHERE l.transfer > sealed);
                END IF;
            END IF;
            RETURN total;
        END IF;
        before_side := coalesce(below.seq, 0) < newest.seq - coalesce(above, 0);
    ELSIF newest.seq IS NOT NULL THEN
        -- every sealed leg of the account is at or before at
        before_side := false;
    ELSE
        -- no anchor yet: the nearer end of the account's history
        SELECT min(l.created_at), max(l.created_at) INTO first_at, last_at
          FROM (SELECT min(t.created_at) AS created_at FROM escrow.transfers t WHERE t.debit_account = account
                UNION ALL SELECT max(t.created_at) FROM escrow.transfers t WHERE t.debit_account = account
                UNION ALL SELECT min(t.created_at) FROM escrow.transfers t WHERE t.credit_account = account
                UNION ALL SELECT max(t.created_at) FROM escrow.transfers t WHERE t.credit_account = account) l;
        IF first_at IS NULL OR at < first_at THEN
            RETURN 0;
        END IF;
        before_side := at < last_at AND at - first_at <= last_at - at;
    END IF;
    -- the legs before at, or the current balance less the legs after it
    IF before_side THEN
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
