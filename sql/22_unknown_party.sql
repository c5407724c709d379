-- 22_unknown_party: who is refused how.  An actor that is neither a
-- registered party nor named on the deal (its buyer, merchant or
-- inspector) is unknown: P0002, as for any unknown party.  A known party
-- (or the deal's inspector, or "system") that may not take the step: 42501.
-- A role granted none of escrowpay's roles is refused by PostgreSQL at the
-- schema, with escrowpay's hint naming the role to grant.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql

SELECT escrow.open_account('up-buyer', 'USD') AS buyer, escrow.open_account('up-shop', 'USD') AS shop,
       escrow.open_account('up-other', 'USD') AS other \gset
SELECT escrow.deposit(:buyer, 10000) > 0 AS funded;
SELECT escrow.register_member('UP-B', 'Buyer', 'b@example.org', :buyer);
SELECT escrow.register_merchant('UP-S', 'Shop', 's@example.org', :shop);
SELECT escrow.register_merchant('UP-S2', 'Other shop', 's2@example.org', :other);
SELECT escrow.open_deal('UP-B', 'UP-S', 100, inspector => 'insp') AS deal \gset

-- unknown actors: P0002
SELECT escrow.cancel_deal(:deal, 'who am I', 'nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.confirm_identity(:deal, escrow.issue_identity_code(:deal));
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.reserve(%s, 'UP-X')$$, :'deal')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s], '{100}', 'nobody')$$, :'deal', :'buyer')),
  (format($$SELECT escrow.authorise_account_use(%s, 'UP-S2', 'pay_from', 'nobody')$$, :'buyer')),
  -- known, but not allowed: 42501
  (format($$SELECT escrow.reserve(%s, 'UP-S2')$$, :'deal')),
  (format($$SELECT escrow.reserve(%s, 'insp')$$, :'deal')),
  (format($$SELECT escrow.cancel_deal(%s, 'pretending', 'system')$$, :'deal')),
  (format($$SELECT escrow.set_payment_sources(%s, ARRAY[%s], '{100}', 'UP-S')$$, :'deal', :'buyer')),
  (format($$SELECT escrow.authorise_account_use(%s, 'UP-S2', 'pay_from', 'UP-S')$$, :'buyer'))) AS t(c);
-- nothing changed: the deal is where it was, no authorisation given
SELECT stage FROM escrow.deals WHERE id = :deal;
SELECT count(*) AS authorisations FROM escrow.account_authorisations;

-- a role with no escrowpay role: PostgreSQL refuses at the schema, with
-- escrowpay's hint (escrowpay is preloaded)
CREATE ROLE up_nobody;
SET ROLE up_nobody;
SELECT escrow.open_deal('UP-B', 'UP-S', 100);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM escrow.balances;
RESET ROLE;
-- a hint is added to that refusal only: a party's login calling a
-- function of the application gets PostgreSQL's message alone
CREATE ROLE up_party IN ROLE escrow_party;
SET ROLE up_party;
SELECT escrow.open_deal('UP-B', 'UP-S', 100);
SELECT * FROM nosuchschema.t;
RESET ROLE;
DROP ROLE up_nobody;
DROP ROLE up_party;
