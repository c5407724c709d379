-- 88_transfer_owners.sql: who a transfer belongs to.  Every transfer a
-- deal (captures of its holds, fees, pre-payments, payouts, the refunds it
-- makes), a receivable (invoice payments and loan repayments, and invoice
-- payments sent back), a cash terminal (cash loaded, paid in, unloaded) or
-- a settlement batch posts is recorded here in the posting's transaction,
-- and moves only through its owner: escrow.refund() refuses it (EP007).
-- Transfers of the public API (deposit, withdraw, transfer, capture of a
-- hold of its own, refund) have no row.  verify_ledger() checks the rows
-- against the journal, the holds, the batches and the receivables.

CREATE TABLE escrow.transfer_owners (
    transfer_id bigint PRIMARY KEY,
    deal        bigint REFERENCES escrow.deals (id),
    receivable  bigint REFERENCES escrow.receivables (id),
    terminal    text REFERENCES escrow.terminals (terminal_no),
    batch       bigint REFERENCES escrow.settlement_batches (id),
    CONSTRAINT transfer_owners_one_owner
        CHECK (num_nonnulls(deal, receivable, terminal, batch) = 1)
);
CREATE INDEX transfer_owners_receivable ON escrow.transfer_owners (receivable)
    WHERE receivable IS NOT NULL;
COMMENT ON TABLE escrow.transfer_owners IS
    'The owner of each transfer a deal, a receivable, a cash terminal or a settlement batch posted (exactly one of the four columns); such a transfer moves only through its owner, and escrow.refund() refuses it';

SELECT pg_catalog.pg_extension_config_dump('escrow.transfer_owners', '');

GRANT SELECT ON escrow.transfer_owners TO escrow_admin, escrow_auditor;
