-- 04_party_login_roles.sql: which roles may be a party's login role.
--
--   * register_member / register_merchant / register_institution refuse
--     (22023, an errdetail saying why, nothing registered) a login role that
--     is: missing, not LOGIN, a superuser, BYPASSRLS, CREATEROLE, one of
--     escrowpay's roles (escrow_party, escrow_app, escrow_admin,
--     escrow_auditor), a member of escrow_app / escrow_admin /
--     escrow_auditor / pg_read_all_data / pg_write_all_data (directly or
--     through another role), a member of the owner of escrowpay's tables,
--     granted to another role, or already another party's login role;
--   * a fit LOGIN role is accepted, one party per role;
--   * at use time current_party() no longer resolves a role that has since
--     become unfit (ALTER ROLE ... SUPERUSER / BYPASSRLS / NOLOGIN /
--     CREATEROLE, GRANT escrow_app TO it, GRANT it TO another role), so row-level
--     security shows it no deals; undoing the change restores it.
--
-- Run by pg_prove as the superuser postgres; everything is rolled back
-- (roles created here too).

\ir include/begin.sql
SELECT plan(36);

-- roles (rolled back with everything else)
CREATE ROLE tap_lr_ok LOGIN IN ROLE escrow_party;
CREATE ROLE tap_lr_ok2 LOGIN IN ROLE escrow_party;
CREATE ROLE tap_lr_peer LOGIN;                       -- to be granted tap_lr_ok later
CREATE ROLE tap_lr_nologin NOLOGIN IN ROLE escrow_party;
CREATE ROLE tap_lr_super LOGIN SUPERUSER;
CREATE ROLE tap_lr_bypass LOGIN BYPASSRLS IN ROLE escrow_party;
CREATE ROLE tap_lr_creator LOGIN CREATEROLE IN ROLE escrow_party;
CREATE ROLE tap_lr_app LOGIN IN ROLE escrow_party, escrow_app;
CREATE ROLE tap_lr_group NOLOGIN IN ROLE escrow_admin;
CREATE ROLE tap_lr_indirect LOGIN NOINHERIT IN ROLE escrow_party, tap_lr_group;
CREATE ROLE tap_lr_auditor LOGIN IN ROLE escrow_party, escrow_auditor;
CREATE ROLE tap_lr_readall LOGIN IN ROLE escrow_party, pg_read_all_data;
CREATE ROLE tap_lr_shared LOGIN IN ROLE escrow_party;
CREATE ROLE tap_lr_sharer LOGIN IN ROLE tap_lr_shared;
CREATE ROLE tap_lr_owner_member LOGIN IN ROLE escrow_party;
GRANT postgres TO tap_lr_owner_member;

SET ROLE escrow_app;
SELECT escrow.open_account('lr-b', 'EUR') AS acc_b, escrow.open_account('lr-b2', 'EUR') AS acc_b2,
       escrow.open_account('lr-m', 'EUR') AS acc_m, escrow.open_account('lr-i', 'EUR') AS acc_i \gset
RESET ROLE;

-------------------------------------------------------- refused login roles
SET ROLE escrow_app;
SELECT is(pg_temp.refusal(format(
  $$SELECT escrow.register_member('LR-X', 'X', 'x@example.org', %s, %L)$$, :acc_b, r)),
  '22023: ' || d, 'register_member refuses login role ' || r)
  FROM (VALUES
    ('no_such_role_lr', 'Role "no_such_role_lr" does not exist.'),
    ('escrow_party', 'Role "escrow_party" is escrowpay''s role escrow_party.'),
    ('escrow_app', 'Role "escrow_app" is escrowpay''s role escrow_app.'),
    ('escrow_admin', 'Role "escrow_admin" is escrowpay''s role escrow_admin.'),
    ('escrow_auditor', 'Role "escrow_auditor" is escrowpay''s role escrow_auditor.'),
    ('postgres', 'Role "postgres" is a superuser.'),
    ('tap_lr_super', 'Role "tap_lr_super" is a superuser.'),
    ('tap_lr_nologin', 'Role "tap_lr_nologin" cannot log in.'),
    ('tap_lr_bypass', 'Role "tap_lr_bypass" has BYPASSRLS: row-level security would not limit it.'),
    ('tap_lr_creator', 'Role "tap_lr_creator" has CREATEROLE: it could grant itself escrowpay''s roles.'),
    ('tap_lr_app', 'Role "tap_lr_app" is a member of escrow_app.'),
    ('tap_lr_indirect', 'Role "tap_lr_indirect" is a member of escrow_admin.'),
    ('tap_lr_auditor', 'Role "tap_lr_auditor" is a member of escrow_auditor.'),
    ('tap_lr_readall', 'Role "tap_lr_readall" is a member of pg_read_all_data.'),
    ('tap_lr_owner_member', 'Role "tap_lr_owner_member" is a member of postgres, the owner of escrowpay''s tables.'),
    ('tap_lr_shared', 'Role "tap_lr_shared" is granted to role "tap_lr_sharer", which could act as the party.')
  ) v(r, d);
SELECT is(pg_temp.refusal(format(
  $$SELECT escrow.register_merchant('LR-X', 'X', 'x@example.org', %s, login_role => 'escrow_party')$$, :acc_m)),
  '22023: Role "escrow_party" is escrowpay''s role escrow_party.',
  'register_merchant refuses escrow_party as a login role');
SELECT is(pg_temp.refusal(format(
  $$SELECT escrow.register_institution('LR-X', 'X', 'x@example.org', %s, login_role => 'tap_lr_app')$$, :acc_i)),
  '22023: Role "tap_lr_app" is a member of escrow_app.',
  'register_institution refuses a member of escrow_app as a login role');
SELECT is((SELECT count(*) FROM escrow.parties WHERE party_no = 'LR-X'), 0::bigint,
  'no refused registration left a party behind');

-------------------------------------------------------- a fit role, once
SELECT is(escrow.register_member('LR-B', 'Buyer', 'b@example.org', :acc_b, 'tap_lr_ok'), 'LR-B',
  'a LOGIN role of its own, member of escrow_party only, is accepted');
SELECT is(pg_temp.refusal(format(
  $$SELECT escrow.register_member('LR-B2', 'X', 'x@example.org', %s, 'tap_lr_ok')$$, :acc_b2)),
  '22023: Each party has a login role of its own.',
  'the same role for a second party is refused');
SELECT escrow.register_member('LR-B2', 'Buyer two', 'b2@example.org', :acc_b2, 'tap_lr_ok2') \gset
SELECT escrow.register_merchant('LR-M', 'Shop', 'm@example.org', :acc_m) \gset
SELECT escrow.open_deal('LR-B', 'LR-M', 100) AS d1 \gset
SELECT escrow.open_deal('LR-B2', 'LR-M', 200) AS d2 \gset
RESET ROLE;

-------------------------------------------------------- use-time checks
-- as the party: current_party() and the deals row-level security shows
CREATE FUNCTION pg_temp.as_party() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(escrow.current_party(), 'NULL') || ' sees ' ||
         coalesce((SELECT string_agg(buyer, ',' ORDER BY id) FROM escrow.deals), 'no deals')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.as_party() TO PUBLIC;

SET ROLE tap_lr_ok;
SELECT is(pg_temp.as_party(), 'LR-B sees LR-B', 'the party''s login role sees its own deal');
RESET ROLE;

ALTER ROLE tap_lr_ok SUPERUSER;
SET ROLE tap_lr_ok;
SELECT is(escrow.current_party(), NULL, 'made superuser: current_party() no longer resolves it');
RESET ROLE;
ALTER ROLE tap_lr_ok NOSUPERUSER;

ALTER ROLE tap_lr_ok BYPASSRLS;
SET ROLE tap_lr_ok;
SELECT is(escrow.current_party(), NULL, 'given BYPASSRLS: current_party() no longer resolves it');
RESET ROLE;
ALTER ROLE tap_lr_ok NOBYPASSRLS;

ALTER ROLE tap_lr_ok NOLOGIN;
SET ROLE tap_lr_ok;
SELECT is(pg_temp.as_party(), 'NULL sees no deals', 'made NOLOGIN: no party, no deals');
RESET ROLE;
ALTER ROLE tap_lr_ok LOGIN;

ALTER ROLE tap_lr_ok CREATEROLE;
SET ROLE tap_lr_ok;
SELECT is(pg_temp.as_party(), 'NULL sees no deals', 'given CREATEROLE: no party, no deals');
RESET ROLE;
ALTER ROLE tap_lr_ok NOCREATEROLE;

GRANT tap_lr_group TO tap_lr_ok;
SET ROLE tap_lr_ok;
SELECT is(escrow.current_party(), NULL,
  'granted a group that is a member of escrow_admin: current_party() no longer resolves it');
RESET ROLE;
REVOKE tap_lr_group FROM tap_lr_ok;

-- the escrow_party attack: a role every party can SET ROLE to
GRANT tap_lr_ok TO tap_lr_peer;
SET ROLE tap_lr_peer;
SET ROLE tap_lr_ok;
SELECT is(pg_temp.as_party(), 'NULL sees no deals',
  'granted to another role: whoever becomes it sees no party and no deals');
RESET ROLE;
REVOKE tap_lr_ok FROM tap_lr_peer;

SET ROLE tap_lr_ok;
SELECT is(pg_temp.as_party(), 'LR-B sees LR-B', 'every change undone: the party and its deal again');
RESET ROLE;
SET ROLE tap_lr_ok2;
SELECT is(pg_temp.as_party(), 'LR-B2 sees LR-B2', 'another party sees only its own deal');
RESET ROLE;

-------------------------------------------- accounts: owners, authorisations
-- a party reads the accounts it owns and the authorisations it gave or
-- was given, nobody else's; it cannot call the functions that change them
CREATE ROLE tap_lr_third LOGIN IN ROLE escrow_party;
SET ROLE escrow_app;
SELECT escrow.register_member('LR-C', 'Third', 'c@example.org',
                              escrow.open_account('lr-c', 'EUR'), 'tap_lr_third') \gset
SELECT escrow.authorise_account_use(:acc_b2, 'LR-B', 'pay_from', 'LR-B2') AS auth \gset
RESET ROLE;
SET ROLE tap_lr_ok;
SELECT is((SELECT string_agg(party || ':' || (account = :acc_b), ',') FROM escrow.account_owners),
  'LR-B:true', 'a party''s login role sees only the accounts it owns');
SELECT is((SELECT string_agg(owner || '>' || party || ':' || purpose, ',') FROM escrow.account_authorisations),
  'LR-B2>LR-B:pay_from', 'the party authorised sees the authorisation');
SELECT is(pg_temp.refusal(format($$SELECT escrow.authorise_account_use(%s, 'LR-C', 'pay_from', 'LR-B')$$, :acc_b)),
  '42501: ', 'a party''s login role cannot call authorise_account_use itself');
RESET ROLE;
SET ROLE tap_lr_ok2;
SELECT is((SELECT count(*) FROM escrow.account_authorisations WHERE id = :auth), 1::bigint,
  'the owner who authorised sees it');
RESET ROLE;
SET ROLE tap_lr_third;
SELECT is((SELECT count(*) FROM escrow.account_authorisations), 0::bigint,
  'a third party sees no authorisation it has no part in');
RESET ROLE;

-- a 0.1.0 database may hold a login role registered before these checks
-- (escrow_party itself): current_party() refuses to resolve it
UPDATE escrow.parties SET login_role = 'escrow_party' WHERE party_no = 'LR-M';
SET ROLE tap_lr_ok2;
SET ROLE escrow_party;
SELECT is(pg_temp.as_party(), 'NULL sees no deals',
  'escrow_party registered as a login role (old data): SET ROLE escrow_party sees no deals');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
