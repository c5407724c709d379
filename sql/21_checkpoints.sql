-- 21_checkpoints: signed checkpoints of the journal.  checkpoint() seals
-- the transfers posted since the last one (NULL when there are none);
-- inclusion_proof() gives the audit path of a transfer against the latest
-- checkpoint, whose leaf hash is the documented canonical encoding
-- (recomputed here in SQL); the refusals; who may call what; and
-- verify_ledger() finding an edit the hash chains cannot see (a
-- transfer's time), a transfer removed, and a checkpoint altered.  The
-- cluster's key is random, so roots and signatures are shown only by
-- their length; their values are checked offline by test/t/009.
\set SHOW_CONTEXT never
\set VERBOSITY terse
\i sql/include/fresh_extension.sql

-- nothing to seal, nothing to prove
SELECT escrow.checkpoint() IS NULL AS nothing_sealed;
SELECT escrow.inclusion_proof(1);

SELECT escrow.open_account('ck-buyer', 'USD') AS buyer \gset
SELECT escrow.open_account('ck-shop', 'USD') AS shop \gset
SELECT escrow.deposit(:buyer, 10000) AS dep \gset
SELECT escrow.transfer(:buyer, :shop, 1500) AS tr \gset
SELECT escrow.hold(:buyer, :shop, 2000) AS h \gset
SELECT escrow.capture(:h, 700) AS cap \gset
SELECT escrow.refund(:cap, 200) AS ref \gset

-- the first checkpoint seals all four transfers (a hold is none); a
-- second one finds nothing new
SELECT escrow.checkpoint() AS first_checkpoint;
SELECT escrow.checkpoint() IS NULL AS nothing_new;
SELECT seq, first_transfer = :dep AS from_first, last_transfer >= :ref AS to_last, tree_size,
       length(root) AS root_bytes, length(signature) AS signature_bytes,
       length(public_key) AS public_key_bytes,
       key_id = (SELECT key_id FROM escrow.checkpoint_public_key()) AS key_is_current
  FROM escrow.checkpoints ORDER BY seq;
SELECT public_key LIKE E'-----BEGIN PUBLIC KEY-----\n%' AS pem, length(key_id)
  FROM escrow.checkpoint_public_key();

-- a transfer after it is not sealed yet; then it is, by checkpoint 2
SELECT escrow.transfer(:shop, :buyer, 100) AS late \gset
SELECT escrow.inclusion_proof(:late);
SELECT escrow.checkpoint() AS second_checkpoint;
SELECT seq, first_transfer = :late AS covers_late, last_transfer = :late AS up_to_late, tree_size
  FROM escrow.checkpoints ORDER BY seq;

-- proofs: the leaf index is the rank of the transfer in id order, the
-- path has the length the tree of 5 leaves gives it (3 for the four
-- leaves of the left subtree, 1 for the last), and the proof is against
-- the latest checkpoint
SELECT t.id = :dep AS dep, t.id = :tr AS tr, t.id = :cap AS cap, t.id = :late AS late,
       p->'leaf_index' AS leaf_index, jsonb_array_length(p->'audit_path') AS path_length,
       p->'checkpoint'->'seq' AS checkpoint, p->'checkpoint'->'tree_size' AS tree_size,
       p->'transfer'->>'kind' AS kind, p->'transfer'->'amount' AS amount,
       p->'transfer'->>'currency' AS currency
  FROM escrow.transfers t, escrow.inclusion_proof(t.id) p
 ORDER BY t.id;
-- the proof's accounts and references are the transfer's
SELECT count(*) AS proofs_matching_their_transfer
  FROM escrow.transfers t, escrow.inclusion_proof(t.id) p
 WHERE (p->'transfer'->>'debit_account')::bigint = t.debit_account
   AND (p->'transfer'->>'credit_account')::bigint = t.credit_account
   AND (p->'transfer'->>'hold_id')::bigint = coalesce(t.hold_id, 0)
   AND (p->'transfer'->>'refund_of')::bigint = coalesce(t.refund_of, 0)
   AND (p->'transfer'->>'created_at_us')::numeric
       = extract(epoch FROM t.created_at) * 1000000;

-- the leaf hash is SHA-256(0x00 || canonical bytes), the canonical bytes
-- being id, kind, debit, credit, amount, currency, hold, refunded transfer
-- and time (docs/audit.md), recomputed here from the transfer's row
SELECT count(*) AS leaves_recomputed_in_sql
  FROM escrow.transfers t
  JOIN escrow.accounts a ON a.id = t.debit_account
 CROSS JOIN LATERAL escrow.inclusion_proof(t.id) p
 WHERE p->>'leaf_hash' = encode(sha256(
         '\x00'::bytea || int8send(t.id)
         || set_byte('\x00'::bytea, 0, octet_length(t.kind::text)) || convert_to(t.kind::text, 'UTF8')
         || int8send(t.debit_account) || int8send(t.credit_account) || int8send(t.amount)
         || set_byte('\x00'::bytea, 0, octet_length(a.currency)) || convert_to(a.currency, 'UTF8')
         || int8send(coalesce(t.hold_id, 0)) || int8send(coalesce(t.refund_of, 0))
         || int8send((extract(epoch FROM t.created_at) * 1000000)::bigint)), 'hex');

-- refusals
SELECT escrow.inclusion_proof(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT escrow.inclusion_proof(-1);
\echo :LAST_ERROR_SQLSTATE
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT escrow.checkpoint();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- transfer ids cached by sessions: a session holding cached ids could post
-- a transfer below the checkpoint afterwards, so checkpoint() refuses
-- while the sequence caches more than one value
\i sql/include/error_of.sql
ALTER SEQUENCE escrow.transfer_id_seq CACHE 20;
SELECT pg_temp.error_of('SELECT escrow.checkpoint()') AS cached_ids;
ALTER SEQUENCE escrow.transfer_id_seq CACHE 1;

-- privileges: the administration makes checkpoints; the application and
-- the auditor read proofs, the public key and the checkpoints
SET ROLE escrow_app;
SELECT escrow.checkpoint();
SELECT (escrow.inclusion_proof(:tr))->'leaf_index' AS app_reads_proofs;
SELECT count(*) AS app_reads_checkpoints FROM escrow.checkpoints;
SELECT count(*) FROM escrow.checkpoint_chunks;
RESET ROLE;
SET ROLE escrow_auditor;
SELECT escrow.checkpoint();
SELECT (escrow.inclusion_proof(:tr))->'leaf_index' AS auditor_reads_proofs;
SELECT length(key_id) FROM escrow.checkpoint_public_key();
RESET ROLE;
SET ROLE escrow_admin;
SELECT escrow.transfer(:buyer, :shop, 1) > 0 AS moved;
SELECT escrow.checkpoint() AS admin_checkpoint;
RESET ROLE;
SELECT * FROM escrow.verify_ledger();

-- Tampering by a superuser behind the functions' back, each rolled back.
-- 1. a transfer's time changed: no hash chain covers it, the checkpoints do
BEGIN;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
UPDATE escrow.transfers SET created_at = created_at - interval '1 day' WHERE id = :tr;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
SELECT escrow.inclusion_proof(:dep);
ROLLBACK;
-- 2. the late transfer and its entries removed: the last checkpoint sealed
--    one more transfer than the journal holds
BEGIN;
ALTER TABLE escrow.transfers DISABLE TRIGGER USER;
ALTER TABLE escrow.entries DISABLE TRIGGER USER;
DELETE FROM escrow.entries WHERE transfer_id = :late;
DELETE FROM escrow.transfers WHERE id = :late;
SELECT * FROM escrow.verify_ledger() WHERE problem LIKE 'checkpoint%' ORDER BY problem, detail;
ROLLBACK;
-- 3. a checkpoint's own row altered (its time, then its root): the
--    signature no longer verifies, and the root no longer matches
BEGIN;
UPDATE escrow.checkpoints SET created_at = created_at + interval '1 hour' WHERE seq = 1;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
BEGIN;
UPDATE escrow.checkpoints SET root = sha256(root) WHERE seq = 2;
SELECT * FROM escrow.verify_ledger() ORDER BY problem, detail;
ROLLBACK;
SELECT * FROM escrow.verify_ledger();
