-- 13_deal_rls: members' and merchants' login roles (members of escrow_party)
-- see only their own deals, through row-level security on escrow.deals and
-- escrow.deal_events and the security_invoker views; they cannot read the
-- parties, the code HMACs, the ledger, nor move money; no view shows a
-- contact.  Roles are cluster-wide: dropped first in case a run left them.
\set SHOW_CONTEXT never
\set party_roles 'party_m1, party_s1, party_x'
\i sql/include/fresh_extension.sql
\i sql/include/error_of.sql
\i sql/include/party_roles.sql
\i sql/include/deal_at.sql

SELECT escrow.open_account('rls-m1', 'USD') AS m1 \gset
SELECT escrow.open_account('rls-m2', 'USD') AS m2 \gset
SELECT escrow.open_account('rls-x', 'USD') AS x \gset
SELECT escrow.deposit(:m1, 10000) > 0 AND escrow.deposit(:m2, 10000) > 0 AS funded;
SELECT escrow.register_member('M1', 'Member one', 'm1@private.test', :m1, 'party_m1');
SELECT escrow.register_member('M2', 'Member two', 'm2@private.test', :m2);
SELECT escrow.register_member('X', 'No deals', 'x@private.test', :x, 'party_x');
SELECT escrow.register_merchant('S1', 'Shop one', 's1@private.test', escrow.open_account('rls-s1', 'USD'),
                                fee_bps => 250, fee_account => escrow.open_account('rls-fees', 'USD'),
                                login_role => 'party_s1');
SELECT escrow.register_merchant('S2', 'Shop two', 's2@private.test', escrow.open_account('rls-s2', 'USD'));
-- a login role belongs to one party only
SELECT escrow.register_member('M3', 'Member three', 'm3@private.test', :m2, 'party_m1');
\echo :LAST_ERROR_SQLSTATE

SELECT pg_temp.deal_at('M1', 'S1', 1000, 'settled') AS d1 \gset
SELECT pg_temp.deal_at('M2', 'S1', 2000, 'funds_reserved') AS d2 \gset
SELECT pg_temp.deal_at('M1', 'S2', 3000, 'order_received') AS d3 \gset
SELECT pg_temp.deal_at('M2', 'S2', 4000, 'settled') AS d4 \gset
SELECT escrow.issue_identity_code(:d3) IS NOT NULL AS code_pending;
-- the platform sees every deal
SELECT deal, buyer, merchant, stage FROM escrow.deal_progress ORDER BY deal;
SELECT escrow.current_party() IS NULL AS no_party;

-- Each party's login role sees its own deals only
SET ROLE party_m1;
\i sql/include/party_sees.sql
SELECT id, buyer, merchant, stage FROM escrow.deals ORDER BY id;
SELECT count(*) AS others FROM escrow.deals WHERE buyer <> 'M1';
RESET ROLE;

SET ROLE party_s1;
\i sql/include/party_sees.sql
RESET ROLE;

SET ROLE party_x;
SELECT escrow.current_party();
SELECT count(*) AS deals FROM escrow.deal_progress;
SELECT count(*) AS events FROM escrow.deal_events;
SELECT count(*) AS payouts FROM escrow.merchant_payouts;
SELECT count(*) AS stages FROM escrow.stage_funnel;
SELECT count(*) AS deals FROM escrow.deals;
-- what every party may use
SELECT count(*) > 0 AS transitions_readable FROM escrow.deal_transitions();
SELECT escrow.state_machine_dot() LIKE 'digraph escrowpay_deal {%' AS dot;
SELECT escrow.txn_no_valid('EP00000000018') AS valid;

-- ... and what it may not: the parties (contacts), the code HMACs, the
-- ledger, the hold aging, money and lifecycle functions, the HMAC key
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  ($$SELECT party_no FROM escrow.parties$$),
  ($$SELECT contact FROM escrow.parties$$),
  ($$SELECT code_hmac FROM escrow.deals$$),
  ($$SELECT code_attempts, code_expires_at FROM escrow.deals$$),
  ($$SELECT * FROM escrow.deals$$),
  ($$SELECT count(*) FROM escrow.balances$$),
  ($$SELECT count(*) FROM escrow.accounts$$),
  ($$SELECT count(*) FROM escrow.hold_aging$$),
  (format($$SELECT escrow.deposit(%s, 100)$$, :'x')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'m1', :'x')),
  ($$SELECT escrow.open_deal('X', 'S1', 100)$$),
  (format($$SELECT escrow.reserve(%s, 'M2')$$, :'d2')),
  (format($$SELECT escrow.cancel_deal(%s, 'mine now', 'M2')$$, :'d2')),
  (format($$SELECT escrow.issue_identity_code(%s)$$, :'d3')),
  (format($$SELECT escrow.register_member('X2', 'N', 'c', %s, 'party_x')$$, :'x')),
  ($$SELECT * FROM escrow.run_maintenance()$$),
  ($$SELECT * FROM escrow.verify_ledger()$$),
  ($$SHOW escrowpay.hmac_key_file$$),
  ($$SET escrowpay.hmac_key_file = '/tmp/party-chosen-keys'$$),
  ($$UPDATE escrow.deals SET stage = 'completed'$$),
  ($$INSERT INTO escrow.deal_events (deal, action, to_stage, actor) VALUES (1, 'forged', 'completed', 'X')$$)) AS t(c);
RESET ROLE;
SELECT stage, count(*) FROM escrow.deals GROUP BY stage ORDER BY stage;

-- No view shows a contact
SELECT c.table_name, c.column_name
  FROM information_schema.columns c
  JOIN information_schema.views v USING (table_schema, table_name)
 WHERE c.table_schema = 'escrow' AND c.column_name LIKE '%contact%';
SELECT viewname FROM pg_views WHERE schemaname = 'escrow' AND definition LIKE '%contact%';
-- (the table has one, so the checks above would find it)
SELECT count(*) AS contact_columns FROM information_schema.columns
 WHERE table_schema = 'escrow' AND table_name = 'parties' AND column_name LIKE '%contact%';

SELECT * FROM escrow.verify_ledger();
-- the login roles are cluster-wide: leave none behind
DROP ROLE party_m1;
DROP ROLE party_s1;
DROP ROLE party_x;
