-- scripts/demo.sql -- the escrowpay demo, run by scripts/demo.sh in database
-- escrow_demo where the extension is already created.  Placeholder.
SELECT 'demo placeholder';
