-- test/pgtap/include/settle_deal.sql (included with \ir by
-- 03_deals_security.sql): deal :deal of buyer SEC-B1 with merchant SEC-M
-- taken from order_received to settled, one call per step (the identity
-- code issued inside the confirming call), as the current role under the
-- current search_path.  Sets <prefix>confirmed, <prefix>auth_len (the
-- length of the authentication number) and <prefix>capture.
SELECT escrow.confirm_identity(:deal, escrow.issue_identity_code(:deal)) AS confirmed \gset :prefix
SELECT length(escrow.reserve(:deal, 'SEC-B1')) AS auth_len \gset :prefix
SELECT escrow.mark_shipped(:deal, 'DHL', 'SP-' || :deal, 'SEC-M') \gset
SELECT escrow.mark_delivered(:deal, 'SEC-M') \gset
SELECT escrow.confirm_inspection(:deal, 'SEC-B1') AS capture \gset :prefix
