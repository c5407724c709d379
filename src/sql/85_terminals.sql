-- 85_terminals.sql: cash terminals with automatic change (terminal.c,
-- change.c).  A terminal's cash account moves with its inventory.

CREATE TABLE escrow.terminals (
    terminal_no  escrow.text_id PRIMARY KEY,
    name         escrow.text_short NOT NULL,
    currency     text NOT NULL REFERENCES escrow.currencies (code),
    cash_account bigint NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- last: added by 0.2.0, and an upgraded table has it last too
    unloaded_beyond_float bigint NOT NULL DEFAULT 0 CHECK (unloaded_beyond_float >= 0)
);
COMMENT ON TABLE escrow.terminals IS
    'Cash terminals: each takes one currency and has its own deposit account for the cash it holds';
COMMENT ON COLUMN escrow.terminals.unloaded_beyond_float IS
    'value of the cash unloaded beyond the float (cash that backed merchants'' balances), which moved no e-money: the cash in the machine is its cash account''s balance, less what deals moved on it, less this (verify_ledger)';

CREATE TABLE escrow.terminal_cash (
    terminal_no  text NOT NULL REFERENCES escrow.terminals (terminal_no),
    denomination bigint NOT NULL CHECK (denomination > 0),
    pieces       integer NOT NULL CHECK (pieces >= 0),
    PRIMARY KEY (terminal_no, denomination)
);
COMMENT ON TABLE escrow.terminal_cash IS
    'Per-terminal cash inventory: pieces of each denomination (minor units) it takes';

SELECT pg_catalog.pg_extension_config_dump('escrow.terminals', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.terminal_cash', '');

CREATE VIEW escrow.terminal_inventory AS
SELECT t.terminal_no::text AS terminal_no, t.name::text AS name, t.currency, t.cash_account,
       coalesce(sum(c.denomination * c.pieces), 0)::bigint AS cash_value,
       b.posted AS account_balance, b.held AS held_for_deals,
       pg_catalog.jsonb_object_agg(c.denomination, c.pieces ORDER BY c.denomination) AS pieces
  FROM escrow.terminals t
  JOIN escrow.terminal_cash c USING (terminal_no)
  JOIN escrow.balances b ON b.account = t.cash_account
 GROUP BY t.terminal_no, t.name, t.currency, t.cash_account, b.posted, b.held;
COMMENT ON VIEW escrow.terminal_inventory IS
    'Per terminal: cash value of its inventory, pieces per denomination, and its cash account''s balance and amount held for deals';

CREATE FUNCTION escrow.make_change(amount bigint, denominations bigint[], counts integer[])
    RETURNS integer[] AS 'MODULE_PATHNAME', 'escrow_make_change'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION escrow.make_change(bigint, bigint[], integer[]) IS
    'Pieces of each denomination paying amount with the fewest pieces within the counts (exact, not greedy); NULL when impossible';

CREATE FUNCTION escrow.register_terminal(terminal_no text, name text, cash_account bigint,
                                         denominations bigint[])
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_register_terminal'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.register_terminal(text, text, bigint, bigint[]) IS
    'Register a cash terminal taking these denominations, with its own deposit account; empty at first';

CREATE FUNCTION escrow.load_terminal_cash(terminal_no text, denominations bigint[], counts bigint[])
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_load_terminal_cash'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.load_terminal_cash(text, bigint[], bigint[]) IS
    'Fill a terminal: pieces added, their value deposited to its cash account; returns the value';

CREATE FUNCTION escrow.unload_terminal_cash(terminal_no text, denominations bigint[], counts bigint[])
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_unload_terminal_cash'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.unload_terminal_cash(text, bigint[], bigint[]) IS
    'Empty a terminal: pieces taken out, their value withdrawn; never the cash held for deals';

CREATE FUNCTION escrow.pay_cash(terminal_no text, deal bigint, tendered bigint[])
    RETURNS TABLE (denomination bigint, pieces integer) AS 'MODULE_PATHNAME', 'escrow_pay_cash'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.pay_cash(text, bigint, bigint[]) IS
    'Pay a deal in cash at a terminal (each tendered piece listed); returns the change given; reserves the deal, or settles one served first';

CREATE FUNCTION escrow.serve_first(deal bigint, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_serve_first'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.serve_first(bigint, text) IS
    'Pay later: the merchant serves the buyer before payment; the buyer pays at a terminal afterwards';

GRANT SELECT ON escrow.terminal_inventory TO escrow_admin, escrow_app, escrow_auditor;
GRANT EXECUTE ON FUNCTION escrow.make_change(bigint, bigint[], integer[])
    TO escrow_admin, escrow_app, escrow_auditor;
GRANT EXECUTE ON FUNCTION
    escrow.register_terminal(text, text, bigint, bigint[]),
    escrow.load_terminal_cash(text, bigint[], bigint[]),
    escrow.unload_terminal_cash(text, bigint[], bigint[]),
    escrow.pay_cash(text, bigint, bigint[]),
    escrow.serve_first(bigint, text)
    TO escrow_app, escrow_admin;
