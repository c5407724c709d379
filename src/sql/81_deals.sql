-- 81_deals.sql: deals held in escrow and their event outbox.  The stage
-- column follows the transition table in src/lifecycle.c; money moves only
-- through the ledger (hold, capture, release, refund, transfer).

CREATE SEQUENCE escrow.deal_id_seq;

-- The CHECK on a deal's settlement model and institution (the models are
-- the table in src/model.c)
CREATE FUNCTION escrow.settlement_fits(settlement text, institution text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'escrow_settlement_fits'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
-- The kind of receivable a settled deal of a model has (verify_ledger())
CREATE FUNCTION escrow.settlement_receivable(settlement text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'escrow_settlement_receivable'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TABLE escrow.deals (
    id                bigint PRIMARY KEY,
    txn_no            text NOT NULL UNIQUE,
    buyer             text NOT NULL REFERENCES escrow.parties (party_no),
    merchant          text NOT NULL REFERENCES escrow.parties (party_no),
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL,
    payment_method    text NOT NULL CHECK (payment_method IN ('balance', 'credit', 'split', 'cash')),
    debit_account     bigint NOT NULL,
    credit_account    bigint NOT NULL,
    fee_account       bigint,
    fee_bps           integer NOT NULL,
    inspection_place  escrow.text_short,
    carrier           escrow.text_short,
    provider          escrow.text_short,
    inspector         escrow.text_short,
    tracking          escrow.text_short,
    stage             text NOT NULL,
    -- who pays the merchant: the buyer's frozen funds (escrow), a payment
    -- agency that bills the buyer afterwards (agency), or a credit
    -- institution that lends to the buyer and pre-pays the merchant
    -- (credit_finance)
    settlement        text NOT NULL DEFAULT 'escrow',
    institution       text REFERENCES escrow.parties (party_no),
    institution_account bigint,
    discount_bps      integer NOT NULL DEFAULT 0,
    repay_within      interval,
    prepay_transfer   bigint,
    ship_within       interval NOT NULL,
    inspection_window interval NOT NULL,
    cooling_off       interval NOT NULL,
    deadline          timestamptz,
    hold_id           bigint,
    capture_transfer  bigint,
    fee_transfer      bigint,
    held              bigint NOT NULL DEFAULT 0,
    captured          bigint NOT NULL DEFAULT 0,
    refunded          bigint NOT NULL DEFAULT 0,
    fee               bigint NOT NULL DEFAULT 0,
    auth_no           text,
    code_hmac         bytea,
    code_expires_at   timestamptz,
    code_attempts     integer NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    -- added in 0.2.0 (last, as ALTER TABLE ADD COLUMN puts them on upgrade)
    code_key_id       text,
    code_issued_at    timestamptz,
    -- the merchant's deadline terms, copied at open_deal (last: added by
    -- 0.2.0, and an upgraded table has them last too)
    deliver_within    interval NOT NULL,
    refund_within     interval NOT NULL,
    pay_within        interval NOT NULL,
    CHECK (buyer <> merchant),
    -- the models are the C table's (src/model.c): a new model needs no
    -- change here
    CONSTRAINT deals_settlement_check CHECK (escrow.settlement_fits(settlement, institution)),
    CHECK (held >= 0 AND captured >= 0 AND refunded >= 0 AND fee >= 0)
);
-- run_maintenance() finds due deals through this small partial index
-- (the stages whose deadline it enforces).
CREATE INDEX deals_due ON escrow.deals (deadline)
    WHERE stage IN ('funds_reserved', 'shipped', 'delivered', 'settled', 'returned');
CREATE INDEX deals_buyer ON escrow.deals (buyer);
CREATE INDEX deals_merchant ON escrow.deals (merchant);

COMMENT ON TABLE escrow.deals IS
    'Deals held in escrow: parties, amount, payment method, stage (see escrow.deal_transitions()), deadline of the current stage, money held/captured/refunded and the merchant fee';
COMMENT ON COLUMN escrow.deals.txn_no IS 'transaction number: EP + 10-digit id + Luhn check digit';
COMMENT ON COLUMN escrow.deals.auth_no IS 'transaction authentication number issued at reserve(), shown to both sides';
COMMENT ON COLUMN escrow.deals.code_hmac IS 'HMAC-SHA256 of the pending identity code (the code itself is never stored)';
COMMENT ON COLUMN escrow.deals.code_key_id IS 'id of the key of escrowpay.hmac_key_file under which code_hmac was made';
COMMENT ON COLUMN escrow.deals.code_issued_at IS 'when the pending identity code was issued (void if before the server last started)';
COMMENT ON COLUMN escrow.deals.code_attempts IS 'wrong identity codes committed (attempts rolled back are counted in shared memory, and carried here when a code is re-issued)';
COMMENT ON COLUMN escrow.deals.deadline IS 'ship by (funds_reserved), deliver by (shipped), inspect by (delivered), pay by (delivered, served first), return by (settled), refund by (returned); none at other stages (an invoiced agency deal waits for the invoice''s payment, due at receivables.due_at)';

CREATE TABLE escrow.deal_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deal       bigint NOT NULL REFERENCES escrow.deals (id),
    action     text NOT NULL,
    from_stage text,
    to_stage   text NOT NULL,
    actor      escrow.text_short NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    payload    jsonb NOT NULL DEFAULT '{}',
    parties    text[] NOT NULL
);
CREATE INDEX deal_events_deal ON escrow.deal_events (deal, id);
COMMENT ON TABLE escrow.deal_events IS
    'Outbox: one row per deal transition, written in the transition''s transaction, and the only record to act on; NOTIFY escrow_events (deal id as payload) at commit is only a wake-up, as any role may NOTIFY that channel';
COMMENT ON COLUMN escrow.deal_events.parties IS 'the deal''s buyer, merchant and institution (if any), copied with each event: what row-level security shows a party';

CREATE TABLE escrow.deal_sources (
    deal             bigint NOT NULL REFERENCES escrow.deals (id),
    account          bigint NOT NULL,
    position         integer NOT NULL,
    amount           bigint NOT NULL CHECK (amount > 0),
    hold_id          bigint,
    capture_transfer bigint,
    captured         bigint NOT NULL DEFAULT 0,
    refunded         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (deal, account)
);
COMMENT ON TABLE escrow.deal_sources IS
    'Sources of a deal paid from several accounts (set_payment_sources), in the buyer''s order (position: captured first, refunded last): amount, hold and capture of each; a deal paid from one account keeps these on its own row';

CREATE TABLE escrow.receivables (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deal       bigint NOT NULL UNIQUE REFERENCES escrow.deals (id),
    kind       text NOT NULL CHECK (kind IN ('loan', 'invoice')),
    debtor     text NOT NULL REFERENCES escrow.parties (party_no),
    creditor   text NOT NULL REFERENCES escrow.parties (party_no),
    pay_to     bigint NOT NULL,
    amount     bigint NOT NULL CHECK (amount > 0),
    paid       bigint NOT NULL DEFAULT 0,
    due_at     timestamptz NOT NULL,
    status     text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- what a dispute's resolution took off: the deal's amount less the
    -- merchant's share (amount is what the buyer still owes in all)
    written_down bigint NOT NULL DEFAULT 0 CHECK (written_down >= 0),
    CONSTRAINT receivables_paid_within CHECK (paid >= 0 AND paid <= amount)
);
CREATE INDEX receivables_open_due ON escrow.receivables (due_at) WHERE status = 'open';
COMMENT ON TABLE escrow.receivables IS
    'What a buyer owes after settlement: a loan to the credit institution (repaid into the buyer''s credit line with escrow.repay) or an invoice from the payment agency (paid to it with escrow.pay_invoice)';
COMMENT ON COLUMN escrow.receivables.pay_to IS 'the account payments go to';

SELECT pg_catalog.pg_extension_config_dump('escrow.deals', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.receivables', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.deal_sources', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.receivables_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.deal_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.deal_events', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.deal_events_id_seq', '');
