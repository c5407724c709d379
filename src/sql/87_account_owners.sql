-- 87_account_owners.sql: which party owns an account, and which other
-- parties its owner lets deals pay from it or into it (party.c).  A deal
-- takes money only from its buyer's own accounts and pays only into its
-- merchant's, unless the owner authorised the party here.

CREATE TABLE escrow.account_owners (
    account     bigint PRIMARY KEY,
    party       text NOT NULL REFERENCES escrow.parties (party_no),
    assigned_by name NOT NULL,
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_owners_party ON escrow.account_owners (party);
COMMENT ON TABLE escrow.account_owners IS
    'The party owning each deposit account or credit line a deal may use: set when the party registers with it or by escrow.assign_account(); assigned_by is the database role that did it';

CREATE TABLE escrow.account_authorisations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account     bigint NOT NULL,
    owner       text NOT NULL REFERENCES escrow.parties (party_no),
    party       text NOT NULL REFERENCES escrow.parties (party_no),
    purpose     text NOT NULL CHECK (purpose IN ('pay_from', 'pay_into')),
    granted_by  name NOT NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    revoked_by  name,
    revoked_at  timestamptz,
    CHECK (owner <> party),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
-- one authorisation in force per account, party and purpose; revoked ones stay as the record
CREATE UNIQUE INDEX account_authorisations_in_force
    ON escrow.account_authorisations (account, party, purpose) WHERE revoked_at IS NULL;
COMMENT ON TABLE escrow.account_authorisations IS
    'The owner of an account lets another party''s deals pay from it (pay_from) or into it (pay_into): granted by escrow.authorise_account_use(), revoked by escrow.revoke_account_use(); granted_by and revoked_by are the database roles that called';

SELECT pg_catalog.pg_extension_config_dump('escrow.account_owners', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.account_authorisations', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.account_authorisations_id_seq', '');

CREATE FUNCTION escrow.assign_account(account bigint, party text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_assign_account'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.assign_account(bigint, text) IS
    'Make a registered party the owner of a deposit account or credit line (22023 if another party owns it or a terminal uses it)';

CREATE FUNCTION escrow.authorise_account_use(account bigint, party text, purpose text, actor text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_authorise_account_use'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.authorise_account_use(bigint, text, text, text) IS
    'The owner (actor) lets another party''s deals pay from (pay_from) or into (pay_into) its account; returns the authorisation id';

CREATE FUNCTION escrow.revoke_account_use(account bigint, party text, purpose text, actor text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_revoke_account_use'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.revoke_account_use(bigint, text, text, text) IS
    'The owner (actor) withdraws an authorisation in force; holds already placed stay, new ones are refused; returns its id';

-- Parties read their own rows: the accounts they own, the authorisations
-- they gave or were given.
ALTER TABLE escrow.account_owners ENABLE ROW LEVEL SECURITY;
ALTER TABLE escrow.account_authorisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_owners_platform ON escrow.account_owners FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY account_owners_own ON escrow.account_owners FOR SELECT
    TO escrow_party USING (party = (SELECT escrow.current_party()));
CREATE POLICY account_authorisations_platform ON escrow.account_authorisations FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY account_authorisations_own ON escrow.account_authorisations FOR SELECT
    TO escrow_party USING ((SELECT escrow.current_party()) IN (owner, party));
GRANT SELECT ON escrow.account_owners, escrow.account_authorisations
    TO escrow_admin, escrow_app, escrow_auditor, escrow_party;

GRANT EXECUTE ON FUNCTION
    escrow.assign_account(bigint, text),
    escrow.authorise_account_use(bigint, text, text, text),
    escrow.revoke_account_use(bigint, text, text, text)
    TO escrow_app, escrow_admin;
