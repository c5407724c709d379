-- 18_account_owners: every account a deal touches belongs to a party.
-- Registering a party makes it the owner of the account it registers
-- with; escrow.assign_account() gives an account to a party (never one
-- another party owns, nor a terminal's or a merchant's fee account).  A
-- deal takes money only from its buyer's own accounts (reserve,
-- set_payment_sources, credit finance's line, repay and pay_invoice) and
-- pays only into its merchant's (reserve, pay_cash), unless the owner
-- authorised the party (escrow.authorise_account_use, revoked with
-- escrow.revoke_account_use; who and when recorded).  Refusals are 42501
-- with a detail naming the account and the parties, and change nothing;
-- a revoked authorisation stops new holds but not one already placed.
\set SHOW_CONTEXT never
\i sql/include/fresh_extension.sql

-- Everything a refused call could have touched
\i sql/include/fingerprint.sql
\i sql/include/error_of.sql
-- The id of account <owner>
CREATE FUNCTION pg_temp.a(text) RETURNS bigint LANGUAGE sql AS $$
  SELECT id FROM escrow.accounts WHERE owner = $1
$$;
-- Who owns what, by account name
CREATE FUNCTION pg_temp.owners() RETURNS TABLE (account text, party text, by_role boolean)
LANGUAGE sql AS $$
  SELECT a.owner, o.party, o.assigned_by = current_user
    FROM escrow.account_owners o JOIN escrow.accounts a ON a.id = o.account ORDER BY a.id
$$;
-- A deal brought to identity_confirmed
CREATE FUNCTION pg_temp.confirmed(buyer text, merchant text, amount bigint,
                                  settlement text DEFAULT 'escrow', institution text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE d bigint;
BEGIN
  d := escrow.open_deal(buyer, merchant, amount, settlement => settlement, institution => institution);
  PERFORM escrow.confirm_identity(d, escrow.issue_identity_code(d));
  RETURN d;
END $$;

-- Members A and B with a wallet each, C a company (a member) with a
-- corporate account, merchants S and T, a payment agency AGY; A also has a
-- credit line, and one account (stray) belongs to nobody.
SELECT escrow.open_account('a-wallet', 'USD') AS a_wallet, escrow.open_account('b-wallet', 'USD') AS b_wallet,
       escrow.open_account('c-corp', 'USD') AS c_corp, escrow.open_account('a-line', 'USD', 'credit', 5000) AS a_line,
       escrow.open_account('s-shop', 'USD') AS s_shop, escrow.open_account('t-shop', 'USD') AS t_shop,
       escrow.open_account('agency', 'USD') AS agency, escrow.open_account('stray', 'USD') AS stray,
       escrow.open_account('till', 'USD') AS till \gset
SELECT escrow.deposit(id, 10000) > 0 AS funded FROM escrow.accounts
 WHERE owner IN ('a-wallet', 'b-wallet', 'c-corp', 'agency', 'stray') ORDER BY id;
SELECT escrow.register_member('A', 'Alice', 'a@example.test', :a_wallet),
       escrow.register_member('B', 'Bob', 'b@example.test', :b_wallet),
       escrow.register_member('C', 'Corp', 'c@example.test', :c_corp),
       escrow.register_merchant('S', 'Shop S', 's@example.test', :s_shop),
       escrow.register_merchant('T', 'Shop T', 't@example.test', :t_shop),
       escrow.register_institution('AGY', 'Agency', 'agy@example.test', :agency);
SELECT escrow.register_terminal('TILL', 'Till', :till, '{100,500,1000}');
-- registering made each party the owner of its account
SELECT * FROM pg_temp.owners();

-- =====================================================================
-- Owners: at registration and by assign_account
-- =====================================================================
SELECT pg_temp.fingerprint() AS before \gset
-- another party's account is not registered with
SELECT escrow.register_member('X', 'Mallory', 'x@example.test', :b_wallet);
SELECT escrow.register_merchant('X', 'Mallory', 'x@example.test', :s_shop);
SELECT escrow.register_institution('X', 'Mallory', 'x@example.test', :c_corp);
-- assign_account refusals: owned by another party, not a party's kind of
-- account, unknown party, a terminal's cash account, NULL
SELECT escrow.assign_account(:b_wallet, 'A');
SELECT escrow.assign_account(999999, 'A');
SELECT escrow.assign_account(1, 'A');                   -- the USD funding account
SELECT escrow.assign_account(:stray, 'NOBODY');
SELECT escrow.assign_account(:till, 'A');
SELECT escrow.assign_account(NULL, 'A');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- A's credit line becomes A's; again is a no-op; then nobody else's
SELECT escrow.assign_account(:a_line, 'A');
SELECT escrow.assign_account(:a_line, 'A');
SELECT escrow.assign_account(:a_line, 'B');
SELECT * FROM pg_temp.owners();

-- =====================================================================
-- Paying with someone else's account
-- =====================================================================
SELECT pg_temp.confirmed('A', 'S', 3000) AS d1 \gset
SELECT pg_temp.fingerprint() AS before \gset
-- B's wallet, alone or beside A's own, a stray account nobody owns, a
-- company account C has not authorised A to use
SELECT escrow.set_payment_sources(:d1, ARRAY[:b_wallet]::bigint[], '{3000}', 'A');
SELECT escrow.set_payment_sources(:d1, ARRAY[:a_wallet, :b_wallet]::bigint[], '{1000,2000}', 'A');
SELECT escrow.set_payment_sources(:d1, ARRAY[:stray]::bigint[], '{3000}', 'A');
SELECT escrow.set_payment_sources(:d1, ARRAY[:c_corp, :a_line]::bigint[], '{1000,2000}', 'A');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
-- A's own wallet and credit line
SELECT escrow.set_payment_sources(:d1, ARRAY[:a_line, :a_wallet]::bigint[], '{1000,2000}', 'A');
SELECT escrow.reserve(:d1, 'A') ~ '^[0-9]{10}$' AS reserved;
-- once reserved, the same refusals; the holds stay on A's accounts
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.set_payment_sources(:d1, ARRAY[:b_wallet]::bigint[], '{3000}', 'A');
SELECT escrow.set_payment_sources(:d1, ARRAY[:a_wallet, :stray]::bigint[], '{1000,2000}', 'A');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT a.owner, h.amount, h.status FROM escrow.holds h JOIN escrow.accounts a ON a.id = h.debit_account
 WHERE h.deal = :d1 ORDER BY h.id;

-- =====================================================================
-- A company account: C authorises A to pay from it
-- =====================================================================
SELECT pg_temp.fingerprint() AS before \gset
-- refusals: only the owner authorises (actor A, or B, is not C), not to
-- itself, an unknown purpose or party, an account nobody owns
SELECT escrow.authorise_account_use(:c_corp, 'A', 'pay_from', 'A');
SELECT escrow.authorise_account_use(:c_corp, 'A', 'pay_from', 'B');
SELECT escrow.authorise_account_use(:c_corp, 'C', 'pay_from', 'C');
SELECT escrow.authorise_account_use(:c_corp, 'A', 'withdraw', 'C');
SELECT escrow.authorise_account_use(:c_corp, 'NOBODY', 'pay_from', 'C');
SELECT escrow.authorise_account_use(:stray, 'A', 'pay_from', 'A');
SELECT escrow.authorise_account_use(NULL, 'A', 'pay_from', 'C');
SELECT escrow.revoke_account_use(:c_corp, 'A', 'pay_from', 'C');   -- none yet
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.authorise_account_use(:c_corp, 'A', 'pay_from', 'C') AS auth1 \gset
-- authorising again returns the same authorisation
SELECT escrow.authorise_account_use(:c_corp, 'A', 'pay_from', 'C') = :auth1 AS same;
-- now A's deal takes 2000 from the company account
SELECT escrow.set_payment_sources(:d1, ARRAY[:a_wallet, :c_corp]::bigint[], '{1000,2000}', 'A');
SELECT a.owner, h.amount, h.status FROM escrow.holds h JOIN escrow.accounts a ON a.id = h.debit_account
 WHERE h.deal = :d1 AND h.status = 'open' ORDER BY h.id;
-- the authorisation is for A alone: B still may not
SELECT pg_temp.confirmed('B', 'S', 500) AS d2 \gset
SELECT escrow.set_payment_sources(:d2, ARRAY[:c_corp]::bigint[], '{500}', 'B');
-- C revokes it (only C may): A's next deal may no longer use the account,
-- the hold already placed stays and is captured at settlement
SELECT escrow.revoke_account_use(:c_corp, 'A', 'pay_from', 'A');
SELECT escrow.revoke_account_use(:c_corp, 'A', 'pay_from', 'C') = :auth1 AS revoked;
SELECT escrow.revoke_account_use(:c_corp, 'A', 'pay_from', 'C');   -- already revoked
SELECT pg_temp.confirmed('A', 'S', 700) AS d3 \gset
SELECT escrow.set_payment_sources(:d3, ARRAY[:c_corp]::bigint[], '{700}', 'A');
SELECT escrow.mark_shipped(:d1, 'DHL', 'T1', 'S'), escrow.mark_delivered(:d1, 'S');
SELECT escrow.confirm_inspection(:d1, 'A') AS capture \gset
SELECT stage FROM escrow.deals WHERE id = :d1;
SELECT a.owner, h.amount, h.captured, h.status FROM escrow.holds h
  JOIN escrow.accounts a ON a.id = h.debit_account WHERE h.deal = :d1 AND h.status <> 'released' ORDER BY h.id;
-- the record: who authorised whom, when, and who revoked it
SELECT a.owner AS account, z.owner, z.party, z.purpose, z.granted_by = current_user AS granted_by_me,
       z.granted_at IS NOT NULL AS granted, z.revoked_by = current_user AS revoked_by_me,
       z.revoked_at >= z.granted_at AS revoked_after
  FROM escrow.account_authorisations z JOIN escrow.accounts a ON a.id = z.account ORDER BY z.id;
-- authorised again later: a new authorisation
SELECT escrow.authorise_account_use(:c_corp, 'A', 'pay_from', 'C') > :auth1 AS new_authorisation;
SELECT escrow.set_payment_sources(:d3, ARRAY[:c_corp]::bigint[], '{700}', 'A');

-- =====================================================================
-- Paying into an account: the merchant's own, or authorised
-- =====================================================================
-- A database from before owners were kept may have two merchants sharing
-- a settlement account; here T's account is given to S behind the
-- functions' backs, as such an upgrade would leave it.
UPDATE escrow.account_owners SET party = 'S' WHERE account = :t_shop;
SELECT pg_temp.confirmed('A', 'T', 400) AS d4 \gset
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.reserve(:d4, 'A');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.authorise_account_use(:t_shop, 'T', 'pay_into', 'S') > 0 AS authorised;
SELECT escrow.reserve(:d4, 'A') ~ '^[0-9]{10}$' AS reserved;
-- a pay_from authorisation is not one to pay into, and the other way round
SELECT escrow.revoke_account_use(:t_shop, 'T', 'pay_into', 'S') > 0 AS revoked;
SELECT escrow.authorise_account_use(:t_shop, 'T', 'pay_from', 'S') > 0 AS authorised;
SELECT pg_temp.confirmed('A', 'T', 300) AS d5 \gset
SELECT escrow.reserve(:d5, 'A');
-- paying cash at a terminal pays into the merchant's account too
SELECT escrow.pay_cash('TILL', :d5, '{100,100,100}');
UPDATE escrow.account_owners SET party = 'T' WHERE account = :t_shop;
SELECT count(*) AS change_pieces FROM escrow.pay_cash('TILL', :d5, '{100,100,100}');

-- =====================================================================
-- Credit finance and the agency: the buyer's line, invoices, loans
-- =====================================================================
SELECT pg_temp.confirmed('A', 'S', 1000, 'agency', 'AGY') AS d6 \gset
SELECT escrow.reserve(:d6, 'A') ~ '^[0-9]{10}$' AS reserved;
SELECT escrow.mark_shipped(:d6, 'DHL', 'T6', 'S'), escrow.mark_delivered(:d6, 'S');
SELECT escrow.confirm_inspection(:d6, 'A') > 0 AS settled;
SELECT id AS invoice FROM escrow.receivables WHERE deal = :d6 \gset
SELECT pg_temp.fingerprint() AS before \gset
-- A's invoice paid from B's wallet, or from the stray account
SELECT escrow.pay_invoice(:invoice, :b_wallet, 100);
SELECT escrow.pay_invoice(:invoice, :stray, 100);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
SELECT escrow.pay_invoice(:invoice, :a_wallet, 100) > 0 AS paid;
-- credit finance freezes the buyer's credit line for the institution: K
-- is a member paying by credit line; its line handed to B (as an upgraded
-- database might have it) is refused
SELECT escrow.open_account('k-line', 'USD', 'credit', 5000) AS k_line, escrow.open_account('bank', 'USD') AS bank \gset
SELECT escrow.deposit(:bank, 10000) > 0 AS funded;
SELECT escrow.register_member('K', 'Kim', 'k@example.test', :k_line),
       escrow.register_institution('BANK', 'Bank', 'bank@example.test', :bank, 100);
SELECT pg_temp.confirmed('K', 'S', 2000, 'credit_finance', 'BANK') AS d7 \gset
UPDATE escrow.account_owners SET party = 'B' WHERE account = :k_line;
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.reserve(:d7, 'K');
SELECT pg_temp.fingerprint() = :'before' AS unchanged;
UPDATE escrow.account_owners SET party = 'K' WHERE account = :k_line;
SELECT escrow.reserve(:d7, 'K') ~ '^[0-9]{10}$' AS reserved;
SELECT escrow.mark_shipped(:d7, 'DHL', 'T7', 'S'), escrow.mark_delivered(:d7, 'S');
SELECT escrow.confirm_inspection(:d7, 'K') > 0 AS settled;
SELECT id AS loan FROM escrow.receivables WHERE deal = :d7 \gset
SELECT escrow.repay(:loan, :b_wallet, 500);
SELECT escrow.open_account('k-wallet', 'USD') AS k_wallet \gset
SELECT escrow.assign_account(:k_wallet, 'K'), escrow.deposit(:k_wallet, 1000) > 0 AS funded;
SELECT escrow.repay(:loan, :k_wallet, 500) > 0 AS repaid;

-- =====================================================================
-- A merchant's fee account collects for the platform: no party gets it
-- =====================================================================
SELECT escrow.open_account('f-shop', 'USD') AS f_shop, escrow.open_account('fees', 'USD') AS fees \gset
SELECT escrow.register_merchant('F', 'Shop F', 'f@example.test', :f_shop, fee_bps => 100, fee_account => :fees);
SELECT pg_temp.fingerprint() AS before \gset
SELECT escrow.assign_account(:fees, 'A');
SELECT escrow.register_member('Y', 'Yves', 'y@example.test', :fees);
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- =====================================================================
-- The ledger API is not deal-scoped: escrow_app moves money between any
-- accounts with hold, transfer, ... (the application's own bookkeeping)
-- =====================================================================
SELECT escrow.transfer(:b_wallet, :a_wallet, 1) > 0 AS transferred;

SELECT * FROM escrow.verify_ledger();
