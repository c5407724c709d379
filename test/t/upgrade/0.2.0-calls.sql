-- test/t/upgrade/0.2.0-calls.sql -- one call of every function 0.2.0
-- declares, through its 0.2.0 declaration.  test/t/007_upgrade.pl runs it
-- on the 0.1.0 database (test/t/upgrade/0.1.0-dump.sql) once it is
-- upgraded to 0.2.0: the old deals, loans, invoices, terminal and parties
-- carry on, and every call must work (each is rolled back).  Once 0.2.0 is
-- released it is frozen with it, and runs before the upgrade to the next
-- version too, where a call may also be refused cleanly (55000, run ALTER
-- EXTENSION escrowpay UPDATE).  One row per call: function | SQLSTATE
-- (EPOK0: it worked) | the SQLSTATE expected instead | message | hint.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.probe(fn text, expect text, sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text;
BEGIN
  EXECUTE sql;
  RAISE SQLSTATE 'EPOK0';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
  RETURN concat_ws('|', fn, st, coalesce(expect, ''), replace(msg, '|', '/'), replace(coalesce(hint, ''), '|', '/'));
END $$;
CREATE FUNCTION pg_temp.a(text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT id FROM escrow.accounts WHERE owner = $1 $$;
-- the first escrow deal of U-S1 at a stage
CREATE FUNCTION pg_temp.d(text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT min(id) FROM escrow.deals WHERE merchant = 'U-S1' AND stage = $1 AND settlement = 'escrow'
       AND code_hmac IS NULL AND payment_method <> 'split' $$;
CREATE FUNCTION pg_temp.b(bigint) RETURNS text LANGUAGE sql AS
  $$ SELECT buyer FROM escrow.deals WHERE id = $1 $$;
CREATE FUNCTION pg_temp.k(text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT result FROM escrow.idempotency_keys WHERE key = $1 $$;

SELECT p FROM (VALUES
  (1, pg_temp.probe('entry_hash', NULL, $q$ SELECT escrow.entry_hash('\x00'::bytea, 1, 1, 1, 'deposit', 2, 3, 4, NULL, NULL) $q$)),
  (2, pg_temp.probe('journal_guard', '42501', $q$ UPDATE escrow.transfers SET amount = amount + 1 WHERE id = 1 $q$)),
  (3, pg_temp.probe('open_account', NULL, $q$ SELECT escrow.open_account('u-probe', 'USD') $q$)),
  (4, pg_temp.probe('deposit', NULL, $q$ SELECT escrow.deposit(pg_temp.a('u-wallet'), 100, 'u-probe-key') $q$)),
  (5, pg_temp.probe('withdraw', NULL, $q$ SELECT escrow.withdraw(pg_temp.a('u-wallet'), 100) $q$)),
  (6, pg_temp.probe('transfer', NULL, $q$ SELECT escrow.transfer(pg_temp.a('u-wallet'), pg_temp.a('u-other'), 100) $q$)),
  (7, pg_temp.probe('set_credit_limit', NULL, $q$ SELECT escrow.set_credit_limit(pg_temp.a('u-line'), 70000) $q$)),
  (8, pg_temp.probe('set_account_shards', NULL, $q$ SELECT escrow.set_account_shards(pg_temp.a('u-other'), 2) $q$)),
  (9, pg_temp.probe('hold', NULL, $q$ SELECT escrow.hold(pg_temp.a('u-wallet'), pg_temp.a('u-shop'), 100, interval '1 day') $q$)),
  (10, pg_temp.probe('capture', NULL, $q$ SELECT escrow.capture(pg_temp.k('u-key-hold'), 10) $q$)),
  (11, pg_temp.probe('release', NULL, $q$ SELECT escrow.release(pg_temp.k('u-key-hold')) $q$)),
  (12, pg_temp.probe('expire_holds', NULL, $q$ SELECT escrow.expire_holds(10) $q$)),
  (13, pg_temp.probe('hold_batch', NULL, $q$ SELECT escrow.hold_batch(ARRAY[pg_temp.a('u-wallet')], ARRAY[pg_temp.a('u-shop')], '{100}') $q$)),
  (14, pg_temp.probe('capture_batch', NULL, $q$ SELECT escrow.capture_batch(ARRAY[pg_temp.k('u-key-hold')], NULL) $q$)),
  (15, pg_temp.probe('refund', NULL, $q$ SELECT escrow.refund(pg_temp.k('u-key-transfer'), 10) $q$)),
  (16, pg_temp.probe('verify_ledger', NULL, $q$ SELECT count(*) FROM escrow.verify_ledger() $q$)),
  (17, pg_temp.probe('register_member', NULL, $q$ SELECT escrow.register_member('P-M', 'Probe buyer', 'p@probe.test', escrow.open_account('u-probe-buyer', 'USD')) $q$)),
  (18, pg_temp.probe('register_merchant', NULL, $q$ SELECT escrow.register_merchant('P-S', 'Probe shop', 'p@probe.test', escrow.open_account('u-probe-shop', 'USD')) $q$)),
  (19, pg_temp.probe('register_institution', NULL, $q$ SELECT escrow.register_institution('P-I', 'Probe bank', 'p@probe.test', escrow.open_account('u-probe-bank', 'USD')) $q$)),
  (20, pg_temp.probe('open_deal', NULL, $q$ SELECT escrow.open_deal('U-M1', 'U-S1', 100) $q$)),
  (21, pg_temp.probe('set_payment_sources', NULL, $q$ SELECT escrow.set_payment_sources(d.id, ARRAY[pg_temp.a('u-wallet')], ARRAY[d.amount], d.buyer)
        FROM escrow.deals d WHERE d.id = pg_temp.d('funds_reserved') $q$)),
  (22, pg_temp.probe('repay', NULL, $q$ SELECT escrow.repay(min(id), pg_temp.a('u-wallet'), 100) FROM escrow.receivables WHERE kind = 'loan' AND status = 'open' $q$)),
  (23, pg_temp.probe('pay_invoice', NULL, $q$ SELECT escrow.pay_invoice(min(id), pg_temp.a('u-wallet'), 100) FROM escrow.receivables WHERE kind = 'invoice' AND status = 'open' $q$)),
  (24, pg_temp.probe('issue_identity_code', NULL, $q$ SELECT escrow.issue_identity_code(pg_temp.d('order_received')) $q$)),
  -- the code pending since 0.1.0 was issued before this server started: void
  (25, pg_temp.probe('confirm_identity', 'EP008', $q$ SELECT escrow.confirm_identity(min(id), '00000000') FROM escrow.deals WHERE code_hmac IS NOT NULL $q$)),
  (26, pg_temp.probe('reserve', NULL, $q$ SELECT escrow.reserve(pg_temp.d('identity_confirmed'), pg_temp.b(pg_temp.d('identity_confirmed'))) $q$)),
  (27, pg_temp.probe('mark_shipped', NULL, $q$ SELECT escrow.mark_shipped(pg_temp.d('funds_reserved'), 'Yamato', 'probe', 'U-S1') $q$)),
  (28, pg_temp.probe('mark_delivered', NULL, $q$ SELECT escrow.mark_delivered(pg_temp.d('shipped'), 'U-S1') $q$)),
  (29, pg_temp.probe('confirm_inspection', NULL, $q$ SELECT escrow.confirm_inspection(pg_temp.d('delivered'), pg_temp.b(pg_temp.d('delivered'))) $q$)),
  (30, pg_temp.probe('cancel_deal', NULL, $q$ SELECT escrow.cancel_deal(pg_temp.d('order_received'), 'probe', 'U-S1') $q$)),
  (31, pg_temp.probe('reject_delivery', NULL, $q$ SELECT escrow.reject_delivery(pg_temp.d('delivered'), 'probe', pg_temp.b(pg_temp.d('delivered'))) $q$)),
  (32, pg_temp.probe('request_return', NULL, $q$ SELECT escrow.request_return(pg_temp.d('settled'), 'probe', pg_temp.b(pg_temp.d('settled'))) $q$)),
  (33, pg_temp.probe('confirm_return', NULL, $q$ SELECT escrow.confirm_return(pg_temp.d('returned'), 'U-S1') $q$)),
  (34, pg_temp.probe('open_dispute', NULL, $q$ SELECT escrow.open_dispute(pg_temp.d('shipped'), 'probe', 'U-S1') $q$)),
  (35, pg_temp.probe('resolve_dispute', NULL, $q$ SELECT escrow.resolve_dispute(id, amount - 100, 100) FROM escrow.deals WHERE id = pg_temp.d('disputed') $q$)),
  (36, pg_temp.probe('run_maintenance', NULL, $q$ SELECT * FROM escrow.run_maintenance(10) $q$)),
  (37, pg_temp.probe('deal_transitions', NULL, $q$ SELECT count(*) FROM escrow.deal_transitions() $q$)),
  (38, pg_temp.probe('state_machine_dot', NULL, $q$ SELECT escrow.state_machine_dot() $q$)),
  (39, pg_temp.probe('txn_no_valid', NULL, $q$ SELECT escrow.txn_no_valid(txn_no) FROM escrow.deals $q$)),
  (40, pg_temp.probe('current_party', NULL, $q$ SELECT escrow.current_party() $q$)),
  (41, pg_temp.probe('make_change', NULL, $q$ SELECT escrow.make_change(600, '{100,500}', '{5,1}') $q$)),
  (42, pg_temp.probe('register_terminal', NULL, $q$ SELECT escrow.register_terminal('P-T', 'Probe terminal', escrow.open_account('u-probe-till', 'USD'), '{100,500}') $q$)),
  (43, pg_temp.probe('load_terminal_cash', NULL, $q$ SELECT escrow.load_terminal_cash('U-T1', '{100}', '{1}') $q$)),
  (44, pg_temp.probe('unload_terminal_cash', NULL, $q$ SELECT escrow.unload_terminal_cash('U-T1', '{100}', '{1}') $q$)),
  (45, pg_temp.probe('pay_cash', NULL, $q$ SELECT * FROM escrow.pay_cash('U-T1', pg_temp.d('identity_confirmed'), '{1000,500}') $q$)),
  (46, pg_temp.probe('serve_first', NULL, $q$ SELECT escrow.serve_first(pg_temp.d('identity_confirmed'), 'U-S1') $q$)),
  (47, pg_temp.probe('link_external_account', NULL, $q$ SELECT escrow.link_external_account(pg_temp.a('u-other'), 'U-BANK', 'US00-PROBE') $q$)),
  (48, pg_temp.probe('close_settlement_batch', NULL, $q$ SELECT escrow.close_settlement_batch('U-BANK', now()) $q$)),
  (49, pg_temp.probe('settlement_export', NULL, $q$ SELECT * FROM escrow.settlement_export(1) $q$)),
  (50, pg_temp.probe('assign_account', NULL, $q$ SELECT escrow.assign_account(escrow.open_account('u-probe-2', 'USD'), 'U-M1') $q$)),
  (51, pg_temp.probe('authorise_account_use', NULL, $q$ SELECT escrow.authorise_account_use(pg_temp.a('u-wallet'), 'U-M2', 'pay_from', 'U-M1') $q$)),
  (52, pg_temp.probe('revoke_account_use', NULL, $q$ SELECT escrow.revoke_account_use(pg_temp.a('u-line'), 'U-M1', 'pay_from', 'U-K1') $q$)),
  (53, pg_temp.probe('limits', NULL, $q$ SELECT * FROM escrow.limits() $q$)),
  -- no old deal is unpaid (the upgrade gave the ones served first a payment deadline from now)
  (54, pg_temp.probe('write_off', 'EP007', $q$ SELECT escrow.write_off(pg_temp.d('identity_confirmed'), 'probe', 'U-S1') $q$)),
  (55, pg_temp.probe('apply_retention', NULL, $q$ SELECT * FROM escrow.apply_retention(10) $q$)),
  -- the first checkpoint seals every transfer 0.1.0 posted; a proof of the first one
  (56, pg_temp.probe('checkpoint', NULL, $q$ SELECT escrow.checkpoint() $q$)),
  (57, pg_temp.probe('inclusion_proof', NULL, $q$ WITH c AS (SELECT escrow.checkpoint() AS seq)
         SELECT escrow.inclusion_proof((SELECT min(id) FROM escrow.transfers)) FROM c $q$)),
  (58, pg_temp.probe('checkpoint_public_key', NULL, $q$ SELECT * FROM escrow.checkpoint_public_key() $q$)),
  -- balances of the old accounts as of any time, over the old transfers
  (59, pg_temp.probe('balance_at', NULL, $q$ SELECT escrow.balance_at(pg_temp.a('u-other'), now() - interval '1 hour') $q$)),
  (60, pg_temp.probe('statement', NULL, $q$ SELECT count(*) FROM escrow.statement(pg_temp.a('u-other'), '-infinity', now()) $q$)),
  (61, pg_temp.probe('account_legs', NULL, $q$ SELECT count(*) FROM escrow.account_legs(pg_temp.a('u-other'), '-infinity', 'infinity') $q$)),
  (62, pg_temp.probe('require_account', NULL, $q$ SELECT escrow.require_account(pg_temp.a('u-other'), now()) $q$)),
  (63, pg_temp.probe('fold_journal', NULL, $q$ SELECT escrow.fold_journal(1000) $q$)),
  -- one server: no Citus to distribute over (refused cleanly); the layout it would apply
  (64, pg_temp.probe('distribute', '0A000', $q$ SELECT * FROM escrow.distribute() $q$)),
  (65, pg_temp.probe('distribution', NULL, $q$ SELECT count(*) FROM escrow.distribution() $q$)),
  -- the CHECK on a deal's settlement model, over the old deals
  (66, pg_temp.probe('settlement_fits', NULL, $q$ SELECT bool_and(escrow.settlement_fits(settlement, institution)) FROM escrow.deals $q$)),
  (67, pg_temp.probe('settlement_receivable', NULL, $q$ SELECT count(escrow.settlement_receivable(settlement)) FROM escrow.deals $q$)),
  -- the old accounts keep their currency
  (68, pg_temp.probe('currencies_in_use', '23503', $q$ DELETE FROM escrow.currencies WHERE code = 'USD' $q$)),
  -- what each old deal may do now
  (69, pg_temp.probe('next_actions', NULL, $q$ SELECT count(escrow.next_actions(stage, settlement, held, captured,
         deadline <= now(), false)) FROM escrow.deals $q$)),
  -- the old terminal's cash account is the platform's now: the public calls refuse it
  (70, pg_temp.probe('transfer', 'EP007', $q$ SELECT escrow.transfer(cash_account, pg_temp.a('u-other'), 1)
         FROM escrow.terminals WHERE terminal_no = 'U-T1' $q$)),
  -- the checkpoints above anchored the old accounts' balances
  (71, pg_temp.probe('balance_anchor_legs', NULL, $q$ SELECT count(*) FROM escrow.balance_anchors
                                                      WHERE legs <= escrow.balance_anchor_legs() $q$))
) AS probes (n, p) ORDER BY n;
