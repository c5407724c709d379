-- 64_checkpoints.sql: signed checkpoints of the journal (checkpoint.c,
-- docs/audit.md).  Every transfer, in id order, is a leaf of one growing
-- Merkle tree (RFC 6962 hashing); escrow.checkpoint() seals the transfers
-- posted since the last checkpoint and signs the root of the tree over all
-- transfers so far with the Ed25519 key of escrowpay.checkpoint_key_file.
-- escrow.inclusion_proof() gives an outside auditor the audit path of one
-- transfer, which scripts/escrowpay-verify checks with only the public key.

CREATE TABLE escrow.checkpoints (
    seq            bigint PRIMARY KEY,
    first_transfer bigint NOT NULL,
    last_transfer  bigint NOT NULL,
    tree_size      bigint NOT NULL,
    root           bytea NOT NULL,
    signature      bytea NOT NULL,
    key_id         text NOT NULL,
    public_key     bytea NOT NULL,
    created_at     timestamptz NOT NULL
);
COMMENT ON TABLE escrow.checkpoints IS
    'Signed checkpoints: checkpoint seq seals the transfers first_transfer..last_transfer; its Merkle tree (RFC 6962) covers every transfer up to last_transfer, tree_size leaves in id order, and signature is the Ed25519 signature of its root (docs/audit.md)';
COMMENT ON COLUMN escrow.checkpoints.key_id IS
    'The first 16 hex digits of SHA-256 of the raw public key';
COMMENT ON COLUMN escrow.checkpoints.public_key IS
    'The raw 32-byte Ed25519 public key the checkpoint was signed with (an auditor trusts the key it was given, not this copy)';

CREATE TABLE escrow.checkpoint_chunks (
    chunk          bigint PRIMARY KEY,
    first_transfer bigint NOT NULL,
    last_transfer  bigint NOT NULL,
    hash           bytea NOT NULL
);
CREATE UNIQUE INDEX checkpoint_chunks_last_transfer ON escrow.checkpoint_chunks (last_transfer);
COMMENT ON TABLE escrow.checkpoint_chunks IS
    'The Merkle hash of each complete run of 1024 leaves (leaves 1024*chunk ..), transfers first_transfer..last_transfer: what checkpoint() and inclusion_proof() need instead of rehashing the journal';

SELECT pg_catalog.pg_extension_config_dump('escrow.checkpoints', '');
SELECT pg_catalog.pg_extension_config_dump('escrow.checkpoint_chunks', '');

CREATE FUNCTION escrow.checkpoint()
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'escrow_checkpoint'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.checkpoint() IS
    'Seal the transfers posted since the last checkpoint in a new signed checkpoint; returns its seq, NULL when there was nothing new';

CREATE FUNCTION escrow.inclusion_proof(transfer_id bigint)
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'escrow_inclusion_proof'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.inclusion_proof(bigint) IS
    'The audit path of a transfer against the latest checkpoint, with the checkpoint and the transfer (check it with scripts/escrowpay-verify)';

CREATE FUNCTION escrow.checkpoint_public_key(OUT key_id text, OUT public_key text)
    AS 'MODULE_PATHNAME', 'escrow_checkpoint_public_key'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION escrow.checkpoint_public_key() IS
    'The public key (PEM) of escrowpay.checkpoint_key_file, which signs new checkpoints, and its id';
