-- 86_settlement.sql: two-stage settlement (settlement.c).
-- Primary payments move in real time between internal accounts; the
-- secondary settlement with an outside institution runs in batches that
-- net each linked account's position since the last batch.

CREATE TABLE escrow.settlement_links (
    account      bigint PRIMARY KEY,
    institution  text NOT NULL REFERENCES escrow.parties (party_no),
    external_ref escrow.text_short NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE escrow.settlement_links IS
    'Accounts settled with an outside institution: the party''s account there (external_ref)';

CREATE TABLE escrow.settlement_batches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution text NOT NULL REFERENCES escrow.parties (party_no),
    cutoff      timestamptz NOT NULL,
    clearing    bigint NOT NULL,
    lines       integer NOT NULL,
    paid_out    bigint NOT NULL,
    collected   bigint NOT NULL,
    closed_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution, cutoff)
);
COMMENT ON TABLE escrow.settlement_batches IS
    'Closed settlement batches: one per institution and cutoff, closed once';

CREATE TABLE escrow.settlement_lines (
    batch        bigint NOT NULL REFERENCES escrow.settlement_batches (id),
    account      bigint NOT NULL,
    external_ref text NOT NULL,
    position     numeric NOT NULL,
    settled      bigint NOT NULL,
    transfer_id  bigint,
    PRIMARY KEY (batch, account)
);
CREATE INDEX settlement_lines_account ON escrow.settlement_lines (account);
COMMENT ON TABLE escrow.settlement_lines IS
    'Per batch and account: the net position (credits positive) and what was settled (paid out to, or collected from, the outside account); any difference carries to the next batch';

SELECT pg_catalog.pg_extension_config_dump('escrow.settlement_links', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.settlement_batches', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.settlement_batches_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.settlement_lines', '');

CREATE FUNCTION escrow.link_external_account(account bigint, institution text, external_ref text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_link_external_account'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.link_external_account(bigint, text, text) IS
    'Settle an account with an outside institution in batches (external_ref: the party''s account there)';

CREATE FUNCTION escrow.close_settlement_batch(institution text, cutoff timestamptz DEFAULT now())
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_close_settlement_batch'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.close_settlement_batch(text, timestamptz) IS
    'Net every linked account''s position up to cutoff since the last batch and post it against the institution''s clearing account, atomically; the same cutoff again returns the same batch';

CREATE FUNCTION escrow.settlement_export(batch bigint)
    RETURNS TABLE (line integer, external_ref text, account bigint, amount bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT (row_number() OVER (ORDER BY l.account))::integer, l.external_ref,
               l.account, l.settled
          FROM escrow.settlement_lines l
         WHERE l.batch = settlement_export.batch AND l.settled <> 0
        UNION ALL
        SELECT 0, 'clearing:' || b.institution, b.clearing, b.collected - b.paid_out
          FROM escrow.settlement_batches b
         WHERE b.id = settlement_export.batch
         ORDER BY 1
    $$;
COMMENT ON FUNCTION escrow.settlement_export(bigint) IS
    'A batch as lines for the outside institution (positive: pay the party, negative: collect), with the clearing line (line 0) that makes it sum to zero; COPY (SELECT * FROM escrow.settlement_export(n)) TO STDOUT WITH CSV HEADER';

GRANT SELECT ON escrow.settlement_batches, escrow.settlement_lines
    TO escrow_admin, escrow_auditor;
GRANT EXECUTE ON FUNCTION
    escrow.link_external_account(bigint, text, text),
    escrow.close_settlement_batch(text, timestamptz),
    escrow.settlement_export(bigint)
    TO escrow_admin;
GRANT EXECUTE ON FUNCTION escrow.settlement_export(bigint) TO escrow_auditor;
