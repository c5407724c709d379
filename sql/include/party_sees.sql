-- sql/include/party_sees.sql (included with \i by 13_deal_rls as a
-- party's login role): who the session is, and what it sees of the deals,
-- their events, the merchant payouts and the stage funnel.
SELECT escrow.current_party();
SELECT deal, txn_no, buyer, merchant, amount, stage, held, captured, fee FROM escrow.deal_progress ORDER BY deal;
SELECT deal, action, actor FROM escrow.deal_events ORDER BY id;
SELECT merchant, currency, settled, fees, refunds, net FROM escrow.merchant_payouts;
SELECT stage, deals, amount FROM escrow.stage_funnel ORDER BY stage;
