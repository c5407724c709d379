-- 82_deal_api.sql: the deal lifecycle (lifecycle.c, deal.c, deal_open.c,
-- deal_steps.c, deal_maintenance.c, the model_*.c, maintenance.c).
-- Stage checks come from the transition table in lifecycle.c; see
-- escrow.deal_transitions() and escrow.state_machine_dot().

CREATE FUNCTION escrow.register_member(member_no text, name text, contact text,
                                       account bigint, login_role name DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_register_member'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.register_member(text, text, text, bigint, name) IS
    'Register a buyer: member number, name, private contact, the deposit account (balance) or credit line (credit) deals freeze, optional login role';

CREATE FUNCTION escrow.register_merchant(merchant_no text, name text, contact text,
                                         settlement_account bigint,
                                         inspection_window interval DEFAULT '3 days',
                                         cooling_off interval DEFAULT '8 days',
                                         fee_bps integer DEFAULT 0,
                                         fee_account bigint DEFAULT NULL,
                                         login_role name DEFAULT NULL,
                                         deliver_within interval DEFAULT '14 days',
                                         refund_within interval DEFAULT '14 days',
                                         pay_within interval DEFAULT '7 days')
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_register_merchant'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.register_merchant(text, text, text, bigint, interval, interval, integer, bigint, name, interval, interval, interval) IS
    'Register a merchant (franchise contract): settlement account, inspection window, cooling-off period, fee in basis points to fee_account, and the deadlines run_maintenance enforces: delivery after shipping, confirming a return, payment of a deal served first';

CREATE FUNCTION escrow.register_institution(institution_no text, name text, contact text,
                                            account bigint, discount_bps integer DEFAULT 0,
                                            repay_within interval DEFAULT '30 days',
                                            login_role name DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_register_institution'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.register_institution(text, text, text, bigint, integer, interval, name) IS
    'Register a credit institution or payment agency: the deposit account its money moves through, its receivables discount (credit finance) and repayment term';

CREATE FUNCTION escrow.open_deal(buyer text, merchant text, amount bigint,
                                 inspection_place text DEFAULT NULL,
                                 carrier text DEFAULT NULL, provider text DEFAULT NULL,
                                 inspector text DEFAULT NULL,
                                 ship_within interval DEFAULT '7 days',
                                 idempotency_key text DEFAULT NULL,
                                 settlement text DEFAULT 'escrow',
                                 institution text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_open_deal'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.open_deal(text, text, bigint, text, text, text, text, interval, text, text, text) IS
    'Open a deal (provisional agreement) at order_received; settlement escrow (the buyer''s funds are frozen), agency or credit_finance (the institution pays the merchant); returns the deal id';

CREATE FUNCTION escrow.set_payment_sources(deal bigint, accounts bigint[], amounts bigint[],
                                           actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_set_payment_sources'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.set_payment_sources(bigint, bigint[], bigint[], text) IS
    'The buyer pays an escrow deal from several accounts (or changes its account) before settlement: current holds released and new ones placed atomically';

CREATE FUNCTION escrow.repay(loan bigint, from_account bigint, amount bigint DEFAULT NULL,
                             idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_repay'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.repay(bigint, bigint, bigint, text) IS
    'Repay (part of; NULL: all outstanding) a credit-finance loan into the buyer''s credit line; returns the transfer id';

CREATE FUNCTION escrow.pay_invoice(invoice bigint, from_account bigint, amount bigint DEFAULT NULL,
                                   idempotency_key text DEFAULT NULL)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_pay_invoice'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.pay_invoice(bigint, bigint, bigint, text) IS
    'Pay (part of; NULL: all outstanding) a payment agency''s invoice; returns the transfer id';

CREATE FUNCTION escrow.issue_identity_code(deal bigint)
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_issue_identity_code'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.issue_identity_code(bigint) IS
    'A one-time 8-digit code (OpenSSL CSPRNG) for the buyer; stored only as HMAC-SHA256 under the first key of escrowpay.hmac_key_file, with the key id';

CREATE FUNCTION escrow.confirm_identity(deal bigint, code text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'escrow_confirm_identity'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.confirm_identity(bigint, text) IS
    'true: code right, deal identity_confirmed; false: wrong code (counted, also if rolled back); EP008 when none is pending, it expired, it is void (issued before the server started, or its key left the key file) or the attempts are used up';

CREATE FUNCTION escrow.reserve(deal bigint, actor text)
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_reserve'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.reserve(bigint, text) IS
    'Freeze the deal amount on the buyer''s balance or credit line (EP001 if it does not cover it); returns the transaction authentication number';

CREATE FUNCTION escrow.mark_shipped(deal bigint, carrier text, tracking text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_mark_shipped'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.mark_shipped(bigint, text, text, text) IS
    'The merchant has shipped (carrier, tracking number)';

CREATE FUNCTION escrow.mark_delivered(deal bigint, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_mark_delivered'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.mark_delivered(bigint, text) IS
    'Delivered (reported by the merchant or the designated inspector); starts the inspection window';

CREATE FUNCTION escrow.confirm_inspection(deal bigint, actor text)
    RETURNS bigint AS 'MODULE_PATHNAME', 'escrow_confirm_inspection'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.confirm_inspection(bigint, text) IS
    'The buyer or inspector confirms receipt: the hold is captured to the merchant, the fee to the fee account; returns the capture transfer';

CREATE FUNCTION escrow.cancel_deal(deal bigint, reason text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_cancel_deal'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.cancel_deal(bigint, text, text) IS
    'Cancel before shipping: the hold (if any) is released, no money moves';

CREATE FUNCTION escrow.reject_delivery(deal bigint, reason text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_reject_delivery'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.reject_delivery(bigint, text, text) IS
    'Within the inspection window (wrong item): deal returned; the hold is released when the merchant confirms the return';

CREATE FUNCTION escrow.request_return(deal bigint, reason text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_request_return'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.request_return(bigint, text, text) IS
    'Within cooling-off after settlement: deal returned; refunded when the merchant confirms the return';

CREATE FUNCTION escrow.confirm_return(deal bigint, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_confirm_return'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.confirm_return(bigint, text) IS
    'The merchant has the goods back: release the hold, or refund the capture and the fee; deal refunded';

CREATE FUNCTION escrow.open_dispute(deal bigint, reason text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_open_dispute'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.open_dispute(bigint, text, text) IS
    'Buyer or merchant disputes the deal (after shipping, any settlement model; a return only before its refund deadline); money stays where it is until resolve_dispute';

CREATE FUNCTION escrow.write_off(deal bigint, reason text, actor text)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_write_off'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.write_off(bigint, text, text) IS
    'The merchant writes off an unpaid deal it served first (payment deadline passed): deal written_off, no money moves';

CREATE FUNCTION escrow.resolve_dispute(deal bigint, buyer_share bigint, merchant_share bigint)
    RETURNS void AS 'MODULE_PATHNAME', 'escrow_resolve_dispute'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.resolve_dispute(bigint, bigint, bigint) IS
    'escrow_admin splits the deal amount exactly between buyer and merchant (the fee follows the merchant''s share; financed deals: the pre-payment, payout, loan or invoice too)';

CREATE FUNCTION escrow.run_maintenance(max_deals integer DEFAULT 100)
    RETURNS TABLE (action text, deals integer) AS 'MODULE_PATHNAME', 'escrow_run_maintenance'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.run_maintenance(integer) IS
    'Enforce deal deadlines (bounded, SKIP LOCKED): expire unshipped reserved deals, auto-accept delivered deals past the inspection window, complete settled deals past cooling-off, escalate undelivered shipments to a dispute, mark unpaid deals served first, confirm returns the merchant left unconfirmed';

CREATE FUNCTION escrow.deal_transitions()
    RETURNS TABLE (action text, from_stage text, to_stage text, actors text, money text,
                   settlements text)
    AS 'MODULE_PATHNAME', 'escrow_deal_transitions'
    LANGUAGE C IMMUTABLE PARALLEL SAFE ROWS 40;
COMMENT ON FUNCTION escrow.deal_transitions() IS
    'The deal lifecycle''s transition table (the one in lifecycle.c that every check uses)';

CREATE FUNCTION escrow.next_actions(stage text, settlement text, held bigint, captured bigint,
                                    overdue boolean, receivable_open boolean)
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_next_actions'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION escrow.next_actions(text, text, bigint, bigint, boolean, boolean) IS
    'The steps a deal may take now, with who may take each (what their checks accept; a system step: the one run_maintenance() takes at the deadline), from the transition table: escrow.deal_progress.next_actions';

CREATE FUNCTION escrow.state_machine_dot()
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_state_machine_dot'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION escrow.state_machine_dot() IS
    'The deal lifecycle as a Graphviz digraph, generated from the transition table';

CREATE FUNCTION escrow.txn_no_valid(txn_no text)
    RETURNS boolean AS 'MODULE_PATHNAME', 'escrow_txn_no_valid'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION escrow.txn_no_valid(text) IS
    'Whether a transaction number is well formed and its Luhn check digit right';

CREATE FUNCTION escrow.current_party()
    RETURNS text AS 'MODULE_PATHNAME', 'escrow_current_party'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.current_party() IS
    'The party whose login role is calling, or NULL; used by the row-level security policies';
