-- 90_security.sql: privileges.  Nobody but the owner writes tables; all
-- writes go through the SECURITY DEFINER functions; EXECUTE is granted per
-- role instead of to PUBLIC.

REVOKE ALL ON ALL TABLES IN SCHEMA escrow FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA escrow FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA escrow FROM PUBLIC;

GRANT USAGE ON SCHEMA escrow TO escrow_admin, escrow_app, escrow_auditor;

-- Reading: the views, for every role.
GRANT SELECT ON escrow.balances, escrow.open_holds, escrow.journal
    TO escrow_admin, escrow_app, escrow_auditor;
GRANT SELECT ON escrow.currencies TO escrow_admin, escrow_app, escrow_auditor;

-- The application moves money.
GRANT EXECUTE ON FUNCTION
    escrow.open_account(text, text, text, bigint),
    escrow.deposit(bigint, bigint, text),
    escrow.withdraw(bigint, bigint, text),
    escrow.transfer(bigint, bigint, bigint, text),
    escrow.hold(bigint, bigint, bigint, interval, text),
    escrow.capture(bigint, bigint, text, boolean),
    escrow.release(bigint, text),
    escrow.refund(bigint, bigint, text),
    escrow.hold_batch(bigint[], bigint[], bigint[], interval, text),
    escrow.capture_batch(bigint[], bigint[], text, boolean)
    TO escrow_app, escrow_admin;

-- Administration: credit lines and sweeping expired holds.
GRANT EXECUTE ON FUNCTION
    escrow.set_credit_limit(bigint, bigint),
    escrow.set_account_shards(bigint, integer),
    escrow.fold_journal(integer),
    escrow.expire_holds(integer)
    TO escrow_admin;

-- Audit.
GRANT EXECUTE ON FUNCTION escrow.verify_ledger() TO escrow_admin, escrow_auditor;

-- Signed checkpoints: the administration (and the maintenance worker) makes
-- them; proofs and the public key for everyone who reads the journal.
GRANT EXECUTE ON FUNCTION escrow.checkpoint() TO escrow_admin;
GRANT EXECUTE ON FUNCTION
    escrow.inclusion_proof(bigint),
    escrow.checkpoint_public_key()
    TO escrow_admin, escrow_app, escrow_auditor;
GRANT SELECT ON escrow.checkpoints TO escrow_admin, escrow_app, escrow_auditor;

-- Balances as of any time: for every role that reads balances.  The
-- anchors they start from hold every account's balances: the
-- administration's and the auditor's to read.
GRANT SELECT ON escrow.balance_anchors, escrow.open_balance_anchors TO escrow_admin, escrow_auditor;
GRANT EXECUTE ON FUNCTION
    escrow.balance_at(bigint, timestamptz),
    escrow.statement(bigint, timestamptz, timestamptz)
    TO escrow_admin, escrow_app, escrow_auditor;
