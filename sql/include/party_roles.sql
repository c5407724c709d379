-- sql/include/party_roles.sql (included with \i after fresh_extension.sql
-- by the regress files whose parties log in): the login roles named in
-- psql variable party_roles (\set party_roles 'a, b'), members of
-- escrow_party.  Roles are cluster-wide: those a run left are dropped first.
SET client_min_messages = warning;
SELECT 'DROP ROLE IF EXISTS ' || :'party_roles' \gexec
RESET client_min_messages;
SELECT format('CREATE ROLE %I LOGIN IN ROLE escrow_party', r)
  FROM regexp_split_to_table(:'party_roles', ',\s*') r \gexec
