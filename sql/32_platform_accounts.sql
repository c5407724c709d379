-- 32_platform_accounts: the platform's own accounts (accounts.platform: a
-- currency's funding account, an institution's clearing account, a cash
-- terminal's cash account) move only through the functions they serve.
-- The application tries every public call that names an account on a
-- terminal's cash account and on a clearing account: each is refused
-- (EP007) and changes nothing, so the cash in a terminal cannot drift from
-- its cash account and no money can be drawn from a clearing account (a
-- system account, which may go negative).  Then verify_ledger(): clean
-- after a terminal's whole life (loaded, paid at, paid out to a merchant,
-- returned, unloaded beyond its float), and reporting a terminal whose
-- cash and cash account disagree, as a superuser could make them.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
\i sql/include/tampered.sql

SELECT escrow.open_account('pa-buyer', 'USD') AS buyer, escrow.open_account('pa-shop', 'USD') AS shop,
       escrow.open_account('pa-fees', 'USD') AS fees, escrow.open_account('pa-till', 'USD') AS till,
       escrow.open_account('pa-bank', 'USD') AS bank, escrow.open_account('pa-later', 'USD') AS later,
       escrow.open_account('pa-linked', 'USD') AS linked \gset
SELECT id AS funding FROM escrow.accounts WHERE owner = 'escrow:funding' AND currency = 'USD' \gset
SELECT escrow.register_member('PB', 'Buyer', 'buyer@pa.test', :buyer),
       escrow.register_merchant('PS', 'Shop', 'shop@pa.test', :shop, fee_bps => 200, fee_account => :fees),
       escrow.register_institution('PBANK', 'Bank', 'ops@pa.test', :bank);
SELECT escrow.register_terminal('PT-1', 'Kiosk', :till, '{1,5,10,20,50,100}');
SELECT escrow.load_terminal_cash('PT-1', '{1,5,10,20,50,100}', '{10,10,10,10,10,10}') AS loaded;
-- the first link makes the bank's clearing account
SELECT escrow.link_external_account(:shop, 'PBANK', 'US00-SHOP');
SELECT clearing_account AS clearing FROM escrow.parties WHERE party_no = 'PBANK' \gset
SELECT escrow.deposit(:buyer, 100000) > 0 AS funded;
-- a hold placed for pa-later before it became a terminal's cash account
SELECT escrow.hold(:buyer, :later, 500) AS early_hold \gset
SELECT escrow.register_terminal('PT-2', 'Late kiosk', :later, '{1}');

-- Which accounts are the platform's: the funding and clearing accounts
-- and the two cash accounts, no other
SELECT a.owner, a.kind, a.platform FROM escrow.accounts a ORDER BY a.id;

-- =====================================================================
-- The application names them in the public calls: each refused (EP007,
-- the message naming what the account belongs to), nothing changed.
-- =====================================================================
SELECT pg_temp.fingerprint() AS before \gset
SET ROLE escrow_app;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  -- the cash account: in and out, both sides of a transfer and a hold
  (format($$SELECT escrow.deposit(%s, 100)$$, :'till')),
  (format($$SELECT escrow.withdraw(%s, 100)$$, :'till')),
  (format($$SELECT escrow.withdraw(%s, 100, 'pa-key-1')$$, :'till')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'till', :'shop')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'buyer', :'till')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'till', :'shop')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'buyer', :'till')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s, %s], ARRAY[%s, %s], '{1,1}')$$,
          :'buyer', :'buyer', :'shop', :'till')),
  (format($$SELECT escrow.hold_batch(ARRAY[%s], ARRAY[%s], '{1}')$$, :'till', :'shop')),
  -- the hold placed before the account became the terminal's: released,
  -- never captured into it
  (format($$SELECT escrow.capture(%s, 100)$$, :'early_hold')),
  (format($$SELECT escrow.capture_batch(ARRAY[%s])$$, :'early_hold')),
  -- the clearing account, a system account: it may go negative, so a
  -- transfer from it would create money
  (format($$SELECT escrow.transfer(%s, %s, 1000000)$$, :'clearing', :'buyer')),
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'buyer', :'clearing')),
  (format($$SELECT escrow.deposit(%s, 100)$$, :'clearing')),
  (format($$SELECT escrow.withdraw(%s, 100)$$, :'clearing')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'clearing', :'buyer')),
  (format($$SELECT escrow.hold(%s, %s, 100)$$, :'buyer', :'clearing')),
  -- the funding account keeps its own refusal
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'funding', :'buyer')),
  -- a terminal's cash account as a merchant's fee account
  (format($$SELECT escrow.register_merchant('PS-2', 'Other shop', 'o@pa.test', %s, fee_bps => 100, fee_account => %s)$$,
          :'linked', :'till'))) AS t(c);
RESET ROLE;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- the early hold is released: the buyer gets its 500 back
SET ROLE escrow_app;
SELECT escrow.release(:early_hold) AS released;
RESET ROLE;

-- escrow_admin is refused the same, and may not link a cash account for
-- settlement (a batch would post to it) nor make a linked account a
-- terminal's
SELECT pg_temp.fingerprint() AS before \gset
SET ROLE escrow_admin;
SELECT c AS call, pg_temp.error_of(c) AS error FROM (VALUES
  (format($$SELECT escrow.transfer(%s, %s, 100)$$, :'till', :'shop')),
  (format($$SELECT escrow.link_external_account(%s, 'PBANK', 'US00-TILL')$$, :'till')),
  (format($$SELECT escrow.link_external_account(%s, 'PBANK', 'US00-CLEARING')$$, :'clearing'))) AS t(c);
RESET ROLE;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SET ROLE escrow_admin;
SELECT escrow.link_external_account(:linked, 'PBANK', 'US00-LINKED');
RESET ROLE;
SELECT pg_temp.fingerprint() AS before \gset
SET ROLE escrow_admin;
SELECT pg_temp.error_of(format($$SELECT escrow.register_terminal('PT-3', 'Linked', %s, '{1}')$$, :'linked'));
RESET ROLE;
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- verify_ledger(): a terminal's cash against its cash account.  A deal
-- paid in cash, settled to the merchant, returned and refunded to the
-- cash account; a second deal paid and settled; then the whole machine
-- unloaded: the float is withdrawn, the cash paid out to the merchant
-- leaves with no e-money (unloaded beyond the float).
-- =====================================================================
SELECT escrow.open_deal('PB', 'PS', 330) AS d1 \gset
SELECT escrow.confirm_identity(:d1, escrow.issue_identity_code(:d1));
SELECT * FROM escrow.pay_cash('PT-1', :d1, '{100,100,100,50}');
SELECT escrow.mark_shipped(:d1, 'UPS', 'PA-1', 'PS'), escrow.mark_delivered(:d1, 'PS');
SELECT escrow.confirm_inspection(:d1, 'PB') > 0 AS settled;
SELECT escrow.request_return(:d1, 'wrong size', 'PB'), escrow.confirm_return(:d1, 'PS');
SELECT escrow.open_deal('PB', 'PS', 120) AS d2 \gset
SELECT escrow.confirm_identity(:d2, escrow.issue_identity_code(:d2));
SELECT * FROM escrow.pay_cash('PT-1', :d2, '{100,20}');
SELECT escrow.mark_shipped(:d2, 'UPS', 'PA-2', 'PS'), escrow.mark_delivered(:d2, 'PS');
SELECT escrow.confirm_inspection(:d2, 'PB') > 0 AS settled;
SELECT cash_value, account_balance, held_for_deals FROM escrow.terminal_inventory WHERE terminal_no = 'PT-1';
SELECT escrow.unload_terminal_cash('PT-1', array_agg(denomination ORDER BY denomination),
                                   array_agg(pieces::bigint ORDER BY denomination)) AS unloaded
  FROM escrow.terminal_cash WHERE terminal_no = 'PT-1' AND pieces > 0;
SELECT cash_value, account_balance, unloaded_beyond_float
  FROM escrow.terminal_inventory JOIN escrow.terminals USING (terminal_no) WHERE terminal_no = 'PT-1';
SELECT escrow.load_terminal_cash('PT-1', '{10}', '{7}') AS loaded;
-- clean
SELECT * FROM escrow.verify_ledger();

-- a superuser desyncs them: pieces added or taken out of the inventory
-- alone, the count of what was unloaded beyond the float changed, the
-- cash account unmarked and moved by a transfer, an account marked the
-- platform's that is none, the clearing account unmarked
SELECT * FROM pg_temp.tampered($$UPDATE escrow.terminal_cash SET pieces = pieces + 2
                                   WHERE terminal_no = 'PT-1' AND denomination = 10$$);
SELECT * FROM pg_temp.tampered($$UPDATE escrow.terminal_cash SET pieces = pieces - 1
                                   WHERE terminal_no = 'PT-1' AND denomination = 10$$);
SELECT * FROM pg_temp.tampered($$UPDATE escrow.terminals SET unloaded_beyond_float = unloaded_beyond_float + 5
                                   WHERE terminal_no = 'PT-1'$$);
SELECT * FROM pg_temp.tampered(format('UPDATE escrow.accounts SET platform = false WHERE id = %s', :'till'),
                               format('SELECT escrow.transfer(%s, %s, 30)', :'till', :'shop'));
SELECT * FROM pg_temp.tampered(format('UPDATE escrow.accounts SET platform = true WHERE id = %s', :'fees'),
                               format('UPDATE escrow.accounts SET platform = false WHERE id = %s', :'clearing'));
