/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Signed checkpoints of the journal (docs/audit.md): escrow.checkpoint(),
 *	  escrow.inclusion_proof(), escrow.checkpoint_public_key(), and their
 *	  check by verify_ledger().
 *
 * The journal's transfers, in id order, are the leaves of one growing
 * Merkle tree (merkle.c, RFC 6962 hashing); a checkpoint's root is signed
 * with Ed25519 (signing.c).
 *
 * escrow.checkpoint() seals every transfer up to a point: it waits until
 * every transaction that may still insert a transfer with an id up to
 * the sequence's current value has ended (a transfer id is taken from
 * escrow.transfer_id_seq, which hands out each value once and caches
 * none: a checkpoint is refused while the sequence caches more than one
 * value), so that no transfer can appear below the checkpoint later.  Its
 * row in escrow.checkpoints keeps the tree size, the last transfer
 * covered, the root, the signature, and the public key and its id.  Each
 * checkpoint covers the transfers after the previous one, and its tree
 * all transfers so far, so a proof against the latest checkpoint proves
 * a transfer in the whole log.  It also stores the balance anchors of the
 * transfers it seals (anchors.c), which balance_at() starts from.
 *
 * A checkpoint hashes only the new transfers and the incomplete last
 * chunk of the tree, and an inclusion proof reads one chunk of transfers
 * and the chunks' hashes: no part of it scans the journal.
 * verify_ledger() alone recomputes everything.
 *
 *-------------------------------------------------------------------------
 */
#include "checkpoint.h"
#include "anchors.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "funcapi.h"
#include "limits.h"
#include "merkle.h"
#include "money.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "plan.h"
#include "signing.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(escrow_checkpoint);
PG_FUNCTION_INFO_V1(escrow_inclusion_proof);
PG_FUNCTION_INFO_V1(escrow_checkpoint_public_key);

/* ------------------------------------------------------------ SQL helpers */

static bytea *
bytea_of(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

static char *
hex_of(const uint8 *data, size_t len)
{
	char	   *s = palloc(len * 2 + 1);

	hex_encode((const char *) data, len, s);
	s[len * 2] = '\0';
	return s;
}

/* ep_for_each_leaf() callback: append to a tree */
static void
add_to_tree(const EpLeafData *l, const uint8 *leaf, void *arg)
{
	ep_tree_add_leaf((EpTree *) arg, l->id, leaf);
}

/* Key of the table lock that serialises checkpoints */
static Oid
checkpoints_relid(void)
{
	return RangeVarGetRelid(makeRangeVar(EP_SCHEMA, "checkpoints", -1), NoLock, false);
}

/*
 * Wait until every transaction of this database that was running when
 * called has ended (as CREATE INDEX CONCURRENTLY does): a transaction that
 * took a transfer id before the call has then committed or aborted.
 * Honours lock_timeout and statement_timeout.
 */
static void
wait_for_running_transactions(void)
{
	int			n;
	VirtualTransactionId *vx = GetCurrentVirtualXIDs(InvalidTransactionId, false, false,
													 PROC_IS_AUTOVACUUM | PROC_IN_VACUUM,
													 &n);
	int			i;

	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		(void) VirtualXactLock(vx[i], true);
	}
}

/* ------------------------------------------------------------ checkpoint() */

/*
 * escrow.checkpoint() RETURNS bigint
 *
 * Seal every transfer posted so far in a new signed checkpoint and return
 * its number; NULL when no transfer was posted since the last one.
 */
Datum
escrow_checkpoint(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpSigningKey key;
	EpTree		t;
	int64		upto;
	int64		prev_seq = 0;
	int64		prev_size = 0;
	int64		prev_last = 0;
	int64		after;
	int64		stored;
	int64		c;
	int64		first_new = 0;
	int64		size;
	int64		created_us;
	TimestampTz now;
	EpHash		root;
	uint8		sig[EP_ED25519_SIG_LEN];
	StringInfoData msg;
	static EpPlan first_after = EP_PLAN("SELECT min(id) FROM escrow.transfers WHERE id > $1 AND id <= $2",
		INT8OID, INT8OID);
	static EpPlan insert_chunk = EP_PLAN("INSERT INTO escrow.checkpoint_chunks (chunk, first_transfer, last_transfer, hash) "
		"VALUES ($1, $2, $3, $4)", INT8OID, INT8OID, INT8OID, BYTEAOID);
	static EpPlan insert_checkpoint = EP_PLAN("INSERT INTO escrow.checkpoints (seq, first_transfer, last_transfer, tree_size, root, "
		"       signature, key_id, public_key, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		INT8OID, INT8OID, INT8OID, INT8OID, BYTEAOID, BYTEAOID, TEXTOID, BYTEAOID, TIMESTAMPTZOID);

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("escrow.checkpoint() must run at the READ COMMITTED isolation level"),
				 errdetail("It waits for the transactions posting transfers to end, "
						   "then reads what they committed.")));
	ep_signing_key_load(&key);

	SPI_connect();
	/* one checkpoint at a time; never queue (two would wait for each other) */
	if (!ConditionalLockRelationOid(checkpoints_relid(), ExclusiveLock))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("another checkpoint is being made"),
				 errhint("Try again when it is done.")));

	/*
	 * Sealing the ids handed out so far is safe only if no session holds
	 * ids of the sequence in its cache, to post transfers with later
	 */
	if (ep_execute("SELECT seqcache FROM pg_catalog.pg_sequence "
				   " WHERE seqrelid = 'escrow.transfer_id_seq'::pg_catalog.regclass",
				   false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "escrowpay: could not read escrow.transfer_id_seq's definition");
	if (ep_int64(0, 1) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("escrow.transfer_id_seq caches %lld values", (long long) ep_int64(0, 1)),
				 errdetail("A checkpoint seals every transfer id handed out so far; a session "
						   "holding cached ids could post a transfer below it afterwards."),
				 errhint("Run ALTER SEQUENCE escrow.transfer_id_seq CACHE 1, then end the "
						 "sessions that posted transfers meanwhile (or restart the server) "
						 "before the next checkpoint.")));

	/* every id up to upto was handed out; wait for their transactions */
	if (ep_execute("SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
				   "  FROM escrow.transfer_id_seq", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "escrowpay: could not read escrow.transfer_id_seq");
	upto = ep_int64(0, 1);
	wait_for_running_transactions();

	if (ep_execute("SELECT seq, tree_size, last_transfer FROM escrow.checkpoints "
				   " ORDER BY seq DESC LIMIT 1", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "escrowpay: could not read escrow.checkpoints");
	if (SPI_processed == 1)
	{
		prev_seq = ep_int64(0, 1);
		prev_size = ep_int64(0, 2);
		prev_last = ep_int64(0, 3);
	}
	if (upto <= prev_last)
	{
		SPI_finish();
		ep_signing_key_free(&key);
		PG_RETURN_NULL();
	}

	/* the stored chunks, then the transfers after them; store new chunks */
	ep_tree_init(&t);
	after = ep_load_chunks(&t, PG_INT64_MAX / EP_CHUNK_LEAVES);
	stored = t.nchunks;
	ep_for_each_leaf(after, upto, false, add_to_tree, &t);
	for (c = stored; c < t.nchunks; c++)
	{
		Datum		v[4];

		v[0] = Int64GetDatum(c);
		v[1] = Int64GetDatum(t.chunk_first[c]);
		v[2] = Int64GetDatum(t.chunk_last[c]);
		v[3] = PointerGetDatum(bytea_of(t.chunks[c], EP_SHA256_LEN));
		ep_exec(&insert_chunk, v, NULL, 0);
	}
	{
		Datum		v[2] = {Int64GetDatum(prev_last), Int64GetDatum(upto)};

		if (ep_exec(&first_after, v, NULL, 1) == 1)
			(void) ep_get_int64(0, 1, &first_new);
	}

	size = ep_tree_size(&t);
	if (size < prev_size)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the journal holds fewer transfers than checkpoint " INT64_FORMAT " sealed",
						prev_seq),
				 errdetail("The checkpoint sealed " INT64_FORMAT " transfers; "
						   INT64_FORMAT " are left.", prev_size, size),
				 errhint("Run escrow.verify_ledger().")));
	if (size == prev_size)
	{
		SPI_finish();
		ep_signing_key_free(&key);
		PG_RETURN_NULL();
	}

	/* each account's balance as of the new transfers (anchors.c) */
	ep_store_balance_anchors(prev_last, upto);

	ep_mth(&t, 0, size, root);
	now = GetCurrentTimestamp();
	created_us = now + EP_UNIX_EPOCH_OFFSET_US;
	ep_checkpoint_message(&msg, prev_seq + 1, size, upto, created_us, root);
	ep_sign_message(&key, &msg, sig);
	ep_signing_key_free(&key);
	{
		Datum		v[9];

		v[0] = Int64GetDatum(prev_seq + 1);
		v[1] = Int64GetDatum(first_new);
		v[2] = Int64GetDatum(upto);
		v[3] = Int64GetDatum(size);
		v[4] = PointerGetDatum(bytea_of(root, EP_SHA256_LEN));
		v[5] = PointerGetDatum(bytea_of(sig, EP_ED25519_SIG_LEN));
		v[6] = CStringGetTextDatum(key.id);
		v[7] = PointerGetDatum(bytea_of(key.pub, EP_ED25519_PUB_LEN));
		v[8] = TimestampTzGetDatum(now);
		ep_exec(&insert_checkpoint, v, NULL, 0);
	}
	SPI_finish();
	PG_RETURN_INT64(prev_seq + 1);
}

/* ------------------------------------------------------------ proofs */

static void
json_leaf(StringInfo j, const EpLeafData *l)
{
	appendStringInfo(j, "{\"id\": " INT64_FORMAT ", \"kind\": ", l->id);
	escape_json(j, l->kind);
	appendStringInfo(j, ", \"debit_account\": " INT64_FORMAT ", \"credit_account\": " INT64_FORMAT
					 ", \"amount\": " INT64_FORMAT ", \"currency\": ",
					 l->debit, l->credit, l->amount);
	escape_json(j, l->currency);
	appendStringInfo(j, ", \"hold_id\": " INT64_FORMAT ", \"refund_of\": " INT64_FORMAT
					 ", \"created_at_us\": " INT64_FORMAT "}",
					 l->hold_id, l->refund_of, l->created_us);
}

/*
 * escrow.inclusion_proof(transfer_id bigint) RETURNS jsonb
 *
 * The audit path of a transfer against the latest checkpoint, with the
 * checkpoint and the transfer's leaf fields (docs/audit.md).
 */
Datum
escrow_inclusion_proof(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	int64		transfer;
	int64		seq;
	int64		size;
	int64		upto;
	int64		created_us;
	EpHash		root;
	EpHash		again;
	EpHash		leaf;
	uint8		sig[EP_ED25519_SIG_LEN];
	uint8		pub[EP_ED25519_PUB_LEN];
	char	   *key_id;
	EpLeafData	l;
	EpTree		t;
	int64		chunk_after;
	int64		index;
	List	   *path = NIL;
	ListCell   *lc;
	StringInfoData j;
	bool		isnull;
	MemoryContext caller;
	MemoryContext old;
	static EpPlan latest = EP_PLAN_NOARGS("SELECT seq, tree_size, last_transfer, root, signature, key_id, public_key, created_at "
		"  FROM escrow.checkpoints ORDER BY seq DESC LIMIT 1");
	static EpPlan one = EP_PLAN(EP_LEAF_COLUMNS "WHERE t.id = $1", INT8OID);
	static EpPlan one_sharded = EP_PLAN(EP_LEAF_COLUMNS_SHARDED "WHERE t.id = $1", INT8OID);
	bool		sharded;
	static EpPlan chunk_of = EP_PLAN("SELECT chunk, first_transfer FROM escrow.checkpoint_chunks "
		" WHERE last_transfer >= $1 ORDER BY chunk LIMIT 1", INT8OID);
	static EpPlan rank = EP_PLAN("SELECT count(*) FROM escrow.transfers WHERE id > $1 AND id < $2",
		INT8OID, INT8OID);

	transfer = ep_arg_id(fcinfo, 0, "transfer_id");

	caller = CurrentMemoryContext;
	SPI_connect();
	ep_exec_one(&latest, NULL, NULL,
			errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			errmsg("there is no checkpoint yet"),
			errhint("escrow.checkpoint() makes one; the maintenance worker runs it every "
					 "escrowpay.checkpoint_interval seconds."));
	seq = ep_int64(0, 1);
	size = ep_int64(0, 2);
	upto = ep_int64(0, 3);
	if (!ep_bytea_col(0, 4, root, EP_SHA256_LEN) || !ep_bytea_col(0, 5, sig, EP_ED25519_SIG_LEN) ||
		!ep_bytea_col(0, 7, pub, EP_ED25519_PUB_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("checkpoint " INT64_FORMAT " is damaged", seq),
				 errhint("Run escrow.verify_ledger().")));
	key_id = ep_text(0, 6);
	created_us = DatumGetTimestampTz(ep_datum(0, 8, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;

	sharded = ep_distributed();
	ep_exec_id(sharded ? &one_sharded : &one, transfer, "transfer");
	ep_leaf_currencies(sharded);
	ep_leaf_of_row(0, &l);
	if (transfer > upto)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("transfer " INT64_FORMAT " is not sealed in a checkpoint yet", transfer),
				 errdetail("The latest checkpoint, " INT64_FORMAT ", covers transfers up to "
						   INT64_FORMAT ".", seq, upto),
				 errhint("escrow.checkpoint() seals it; the maintenance worker runs it every "
						 "escrowpay.checkpoint_interval seconds.")));
	ep_leaf_hash(&l, leaf);

	/* the chunks, the tail, and the chunk of the transfer */
	ep_tree_init(&t);
	chunk_after = ep_load_chunks(&t, size / EP_CHUNK_LEAVES);
	ep_load_window(&t, t.tail_start, chunk_after, upto);
	memcpy(t.tail, t.win, sizeof(EpHash) * t.nwin);
	t.ntail = t.nwin;
	t.win_start = -1;
	{
		Datum		v[2];
		int64		chunk = -1;
		int64		first = 0;

		v[0] = Int64GetDatum(transfer);
		if (ep_exec(&chunk_of, v, NULL, 1) == 1)
		{
			chunk = ep_int64(0, 1);
			first = ep_int64(0, 2);
			if (chunk < t.nchunks)
				ep_load_window(&t, chunk * EP_CHUNK_LEAVES, first - 1, upto);
			else
				chunk = -1;
		}
		v[0] = Int64GetDatum(chunk >= 0 ? first - 1 : chunk_after);
		v[1] = Int64GetDatum(transfer);
		ep_exec(&rank, v, NULL, 1);
		index = (chunk >= 0 ? chunk * EP_CHUNK_LEAVES : t.tail_start) + ep_int64(0, 1);
	}
	if (ep_tree_size(&t) != size || index >= size ||
		memcmp(ep_tree_leaf(&t, index), leaf, EP_SHA256_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the journal no longer matches checkpoint " INT64_FORMAT, seq),
				 errdetail("The checkpoint sealed " INT64_FORMAT " transfers; "
						   INT64_FORMAT " are there now.", size, ep_tree_size(&t)),
				 errhint("Run escrow.verify_ledger().")));
	ep_mth(&t, 0, size, again);
	if (memcmp(again, root, EP_SHA256_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the journal no longer matches checkpoint " INT64_FORMAT, seq),
				 errdetail("The root recomputed from the journal differs from the signed one."),
				 errhint("Run escrow.verify_ledger().")));
	ep_audit_path(&t, index, 0, size, &path);

	/* the result outlives SPI's memory (StringInfo grows in its context) */
	old = MemoryContextSwitchTo(caller);
	initStringInfo(&j);
	MemoryContextSwitchTo(old);
	appendStringInfo(&j, "{\"version\": 1, \"leaf_index\": " INT64_FORMAT ", \"leaf_hash\": \"%s\", "
					 "\"transfer\": ", index, hex_of(leaf, EP_SHA256_LEN));
	json_leaf(&j, &l);
	appendStringInfoString(&j, ", \"audit_path\": [");
	foreach(lc, path)
		appendStringInfo(&j, "%s\"%s\"", foreach_current_index(lc) ? ", " : "",
						 hex_of(lfirst(lc), EP_SHA256_LEN));
	appendStringInfo(&j, "], \"checkpoint\": {\"seq\": " INT64_FORMAT ", \"tree_size\": " INT64_FORMAT
					 ", \"last_transfer\": " INT64_FORMAT ", \"created_at_us\": " INT64_FORMAT
					 ", \"root\": \"%s\", \"signature\": \"%s\", \"key_id\": ",
					 seq, size, upto, created_us, hex_of(root, EP_SHA256_LEN),
					 hex_of(sig, EP_ED25519_SIG_LEN));
	escape_json(&j, key_id);
	appendStringInfo(&j, ", \"public_key\": \"%s\"}}", hex_of(pub, EP_ED25519_PUB_LEN));
	SPI_finish();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(j.data)));
}

/*
 * escrow.checkpoint_public_key(OUT key_id text, OUT public_key text)
 *
 * The public key of escrowpay.checkpoint_key_file, in PEM, and its id.
 */
Datum
escrow_checkpoint_public_key(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	EpSigningKey key;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "escrowpay: checkpoint_public_key must return a row");
	ep_signing_key_load(&key);
	values[1] = PointerGetDatum(ep_signing_key_pem(&key));
	ep_signing_key_free(&key);
	values[0] = CStringGetTextDatum(key.id);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* ------------------------------------------------------------ verify */

typedef struct EpStoredCheckpoint
{
	int64		seq;
	int64		size;
	int64		last_transfer;
	bool		root_ok;		/* root is 32 bytes */
	EpHash		root;
} EpStoredCheckpoint;

/* Compare the tree built so far with a checkpoint's size and root */
static void
close_checkpoint(Tuplestorestate *ts, TupleDesc desc, const EpTree *t,
				 const EpStoredCheckpoint *c)
{
	EpHash		root;

	if (ep_tree_size(t) != c->size)
	{
		ep_verify_emit(ts, desc, "checkpoint_size",
					   psprintf("checkpoint " INT64_FORMAT " sealed " INT64_FORMAT
								" transfers up to " INT64_FORMAT "; the journal has "
								INT64_FORMAT, c->seq, c->size, c->last_transfer,
								ep_tree_size(t)));
		return;
	}
	if (c->size > 0)
		ep_mth(t, 0, c->size, root);
	if (!c->root_ok || c->size == 0 || memcmp(root, c->root, EP_SHA256_LEN) != 0)
		ep_verify_emit(ts, desc, "checkpoint_root",
					   psprintf("checkpoint " INT64_FORMAT ": the root recomputed from the "
								"journal's " INT64_FORMAT " transfers differs from the signed one",
								c->seq, c->size));
}

/* What verify_leaf() compares the journal with */
typedef struct EpVerifyState
{
	Tuplestorestate *ts;
	TupleDesc	desc;
	EpTree		t;				/* recomputed from the journal */
	EpStoredCheckpoint *cps;
	int64		ncp;
	int64		next;			/* the next checkpoint to close */
	EpHash	   *stored;			/* stored chunk hashes, by chunk number */
	bool	   *stored_ok;
	int64		nstored;
} EpVerifyState;

/* ep_for_each_leaf() callback of verify: close checkpoints, compare chunks */
static void
verify_leaf(const EpLeafData *l, const uint8 *leaf, void *arg)
{
	EpVerifyState *v = (EpVerifyState *) arg;
	int64		c = v->t.nchunks;

	while (v->next < v->ncp && l->id > v->cps[v->next].last_transfer)
		close_checkpoint(v->ts, v->desc, &v->t, &v->cps[v->next++]);
	ep_tree_add_leaf(&v->t, l->id, leaf);
	if (v->t.nchunks > c &&
		(c >= v->nstored || !v->stored_ok[c] ||
		 memcmp(v->stored[c], v->t.chunks[c], EP_SHA256_LEN) != 0))
		ep_verify_emit(v->ts, v->desc, "checkpoint_chunk",
					   psprintf("chunk " INT64_FORMAT " (transfers " INT64_FORMAT " to " INT64_FORMAT
								"): %s", c, v->t.chunk_first[c], v->t.chunk_last[c],
								c >= v->nstored ? "not stored"
								: "the stored hash differs from the journal's"));
}

/*
 * The checkpoints against the journal: their numbering, their signatures
 * (under the public key each keeps), every stored chunk, and each root.
 */
void
ep_verify_checkpoints(Tuplestorestate *ts, TupleDesc desc)
{
	EpVerifyState v;
	uint64		i;

	memset(&v, 0, sizeof(v));
	v.ts = ts;
	v.desc = desc;
	if (ep_execute("SELECT seq, tree_size, last_transfer, root, signature, public_key, "
				   "       created_at, first_transfer "
				   "  FROM escrow.checkpoints ORDER BY seq", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "escrowpay: could not read escrow.checkpoints");
	v.ncp = SPI_processed;
	v.cps = palloc0(sizeof(EpStoredCheckpoint) * (v.ncp + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		EpStoredCheckpoint *c = &v.cps[i];
		StringInfoData msg;
		uint8		sig[EP_ED25519_SIG_LEN];
		uint8		pub[EP_ED25519_PUB_LEN];
		bool		isnull;
		int64		created_us;

		c->seq = ep_int64(i, 1);
		c->size = ep_int64(i, 2);
		c->last_transfer = ep_int64(i, 3);
		c->root_ok = ep_bytea_col(i, 4, c->root, EP_SHA256_LEN);
		created_us = DatumGetTimestampTz(ep_datum(i, 7, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;
		if (c->seq != (int64) i + 1 ||
			(i > 0 && (c->size <= v.cps[i - 1].size ||
					   c->last_transfer <= v.cps[i - 1].last_transfer ||
					   ep_int64(i, 8) <= v.cps[i - 1].last_transfer)))
			ep_verify_emit(ts, desc, "checkpoint_sequence",
						   psprintf("checkpoint " INT64_FORMAT " (" INT64_FORMAT " transfers up to "
									INT64_FORMAT ") does not follow the one before it",
									c->seq, c->size, c->last_transfer));
		ep_checkpoint_message(&msg, c->seq, c->size, c->last_transfer, created_us, c->root);
		if (!c->root_ok || !ep_bytea_col(i, 5, sig, EP_ED25519_SIG_LEN) ||
			!ep_bytea_col(i, 6, pub, EP_ED25519_PUB_LEN) ||
			!ep_signature_valid(pub, EP_ED25519_PUB_LEN, &msg, sig, EP_ED25519_SIG_LEN))
			ep_verify_emit(ts, desc, "checkpoint_signature",
						   psprintf("checkpoint " INT64_FORMAT ": the signature does not verify "
									"under its public key", c->seq));
	}

	/* the stored chunks, by number, to compare with the recomputed ones */
	if (ep_execute("SELECT chunk, hash FROM escrow.checkpoint_chunks ORDER BY chunk",
				   true, 0) != SPI_OK_SELECT)
		elog(ERROR, "escrowpay: could not read escrow.checkpoint_chunks");
	v.nstored = SPI_processed;
	v.stored = palloc0(sizeof(EpHash) * (v.nstored + 1));
	v.stored_ok = palloc0(sizeof(bool) * (v.nstored + 1));
	for (i = 0; i < SPI_processed; i++)
	{
		v.stored_ok[i] = ep_int64(i, 1) == (int64) i && ep_bytea_col(i, 2, v.stored[i], EP_SHA256_LEN);
		if (!v.stored_ok[i])
			ep_verify_emit(ts, desc, "checkpoint_chunk",
						   psprintf("stored chunk row " UINT64_FORMAT " is chunk " INT64_FORMAT
									" or its hash is not 32 bytes", i, ep_int64(i, 1)));
	}
	if (v.ncp == 0 && v.nstored == 0)
		return;

	ep_tree_init(&v.t);
	if (v.ncp > 0)
		ep_for_each_leaf(0, v.cps[v.ncp - 1].last_transfer, true, verify_leaf, &v);
	while (v.next < v.ncp)
		close_checkpoint(ts, desc, &v.t, &v.cps[v.next++]);
	if (v.nstored > v.t.nchunks)
		ep_verify_emit(ts, desc, "checkpoint_chunk",
					   psprintf(INT64_FORMAT " chunks are stored; the sealed journal fills "
								INT64_FORMAT, v.nstored, v.t.nchunks));
}
