-- 84_deal_security.sql: who reads and runs the deal lifecycle.  Members'
-- and merchants' login roles (members of escrow_party) read their own deals
-- only, through row-level security; the platform roles read all.
--
-- The policies call escrow.current_party() (SECURITY DEFINER, a lookup)
-- as a scalar subquery, (SELECT escrow.current_party()): PostgreSQL runs it
-- once per query as an InitPlan, and the comparison with the party columns
-- becomes an index condition (deals_buyer, deals_merchant,
-- deals_institution, receivables_debtor, receivables_creditor), so a
-- party's query costs about what the application's does (bench/rls.sh).
-- Called bare, it would run once per row, and force a full scan.
--
-- An event carries its deal's parties (deal_events.parties, written with
-- the event; a deal's parties never change), so the outbox's policy is the
-- same kind of indexed condition (deal_events_parties, GIN, without a pending list
-- so that plans do not depend on when vacuum last ran): a party's
-- count of its events reads its events only, and one deal's events cost an
-- index probe, not the party's whole list of deals.  deal_sources (a few
-- rows per split-payment deal, rarely read by a party) takes the party's
-- deal ids as one array, ARRAY(SELECT id FROM escrow.deals) (row-level
-- security applies to that subquery too), an InitPlan looked up in its
-- deal index: a query on it costs the party's list of deals, never a full
-- scan.

CREATE INDEX deals_institution ON escrow.deals (institution) WHERE institution IS NOT NULL;
CREATE INDEX receivables_debtor ON escrow.receivables (debtor);
CREATE INDEX receivables_creditor ON escrow.receivables (creditor);
CREATE INDEX deal_events_parties ON escrow.deal_events USING gin (parties) WITH (fastupdate = off);

ALTER TABLE escrow.deals ENABLE ROW LEVEL SECURITY;
ALTER TABLE escrow.deal_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE escrow.receivables ENABLE ROW LEVEL SECURITY;

CREATE POLICY receivables_platform ON escrow.receivables FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY receivables_own ON escrow.receivables FOR SELECT
    TO escrow_party USING ((SELECT escrow.current_party()) IN (debtor, creditor));
GRANT SELECT ON escrow.receivables TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
GRANT SELECT ON escrow.receivables_due, escrow.overdue_receivables
    TO escrow_admin, escrow_app, escrow_auditor, escrow_party;

CREATE POLICY deals_platform ON escrow.deals FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY deals_own ON escrow.deals FOR SELECT
    TO escrow_party USING ((SELECT escrow.current_party()) IN (buyer, merchant, institution));
CREATE POLICY deal_events_platform ON escrow.deal_events FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY deal_events_own ON escrow.deal_events FOR SELECT
    TO escrow_party USING (parties @> ARRAY[(SELECT escrow.current_party())]);

-- Every column but the code's HMAC and its bookkeeping.
GRANT SELECT (id, txn_no, buyer, merchant, amount, currency, payment_method,
              settlement, institution, institution_account, discount_bps, repay_within,
              prepay_transfer,
              debit_account, credit_account, fee_account, fee_bps, inspection_place,
              carrier, provider, inspector, tracking, stage, ship_within,
              inspection_window, cooling_off, deliver_within, refund_within, pay_within, deadline, hold_id, capture_transfer,
              fee_transfer, held, captured, refunded, fee, auth_no, created_at, updated_at)
    ON escrow.deals TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
ALTER TABLE escrow.deal_sources ENABLE ROW LEVEL SECURITY;
CREATE POLICY deal_sources_platform ON escrow.deal_sources FOR SELECT
    TO escrow_admin, escrow_app, escrow_auditor USING (true);
CREATE POLICY deal_sources_own ON escrow.deal_sources FOR SELECT
    TO escrow_party USING (deal = ANY (ARRAY(SELECT d.id FROM escrow.deals d)));
GRANT SELECT ON escrow.deal_sources TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
GRANT SELECT ON escrow.deal_events TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
GRANT SELECT ON escrow.parties TO escrow_admin, escrow_app;

GRANT SELECT ON escrow.deal_progress, escrow.stage_funnel, escrow.merchant_payouts
    TO escrow_admin, escrow_app, escrow_auditor, escrow_party;
GRANT SELECT ON escrow.hold_aging TO escrow_admin, escrow_app, escrow_auditor;

GRANT USAGE ON SCHEMA escrow TO escrow_party;
GRANT EXECUTE ON FUNCTION
    escrow.deal_transitions(), escrow.state_machine_dot(), escrow.txn_no_valid(text),
    escrow.current_party(), escrow.next_actions(text, text, bigint, bigint, boolean, boolean)
    TO escrow_admin, escrow_app, escrow_auditor, escrow_party;

GRANT EXECUTE ON FUNCTION
    escrow.register_member(text, text, text, bigint, name),
    escrow.register_merchant(text, text, text, bigint, interval, interval, integer, bigint, name,
                             interval, interval, interval),
    escrow.register_institution(text, text, text, bigint, integer, interval, name),
    escrow.open_deal(text, text, bigint, text, text, text, text, interval, text, text, text),
    escrow.repay(bigint, bigint, bigint, text),
    escrow.set_payment_sources(bigint, bigint[], bigint[], text),
    escrow.pay_invoice(bigint, bigint, bigint, text),
    escrow.issue_identity_code(bigint),
    escrow.confirm_identity(bigint, text),
    escrow.reserve(bigint, text),
    escrow.mark_shipped(bigint, text, text, text),
    escrow.mark_delivered(bigint, text),
    escrow.confirm_inspection(bigint, text),
    escrow.cancel_deal(bigint, text, text),
    escrow.reject_delivery(bigint, text, text),
    escrow.request_return(bigint, text, text),
    escrow.confirm_return(bigint, text),
    escrow.open_dispute(bigint, text, text),
    escrow.write_off(bigint, text, text)
    TO escrow_app, escrow_admin;

GRANT EXECUTE ON FUNCTION
    escrow.resolve_dispute(bigint, bigint, bigint),
    escrow.run_maintenance(integer)
    TO escrow_admin;
