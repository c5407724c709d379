/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Signed checkpoints of the journal (docs/audit.md).
 *
 * The journal's transfers, in id order, are the leaves of one growing
 * Merkle tree hashed as in RFC 6962 (Certificate Transparency):
 *
 *	  leaf = SHA-256(0x00 || canonical bytes of the transfer)
 *	  node = SHA-256(0x01 || left || right)
 *
 * the tree of n leaves splitting at the largest power of two below n.
 * The canonical bytes (version 1) are computed from what the transfer
 * says, never from a hash the ledger keeps: id, kind, debit and credit
 * account, amount, currency, hold, refunded transfer and time:
 *
 *	  id(8) || len(kind)(1) || kind || debit(8) || credit(8) || amount(8) ||
 *	  len(currency)(1) || currency || hold_id(8) || refund_of(8) ||
 *	  created_at(8)
 *
 * integers big-endian, a missing hold or refunded transfer 0, the time in
 * microseconds since 1970-01-01 UTC.  The refunded total, the one column a
 * posted transfer may still change, is not part of it.
 *
 * escrow.checkpoint() seals every transfer up to a point: it waits until
 * every transaction that may still insert a transfer with an id up to
 * the sequence's current value has ended (a transfer id is taken from
 * escrow.transfer_id_seq, which hands out each value once and caches
 * none), so that no transfer can appear below the checkpoint later.  Its
 * row in escrow.checkpoints keeps the tree size, the last transfer
 * covered, the root, and the Ed25519 signature (OpenSSL) of
 *
 *	  "escrowpay-checkpoint-v1" || 0x00 || seq(8) || tree_size(8) ||
 *	  last_transfer(8) || created_at(8) || root(32)
 *
 * by the private key in escrowpay.checkpoint_key_file (PEM, read at each
 * call with keyfile.c's checks), with the public key and its id.  Each
 * checkpoint covers the transfers after the previous one, and its tree
 * all transfers so far, so a proof against the latest checkpoint proves
 * a transfer in the whole log.
 *
 * Every complete subtree of EP_CHUNK_LEAVES aligned leaves is stored
 * (escrow.checkpoint_chunks), so a checkpoint hashes only the new
 * transfers and the incomplete last chunk, and an inclusion proof reads
 * one chunk of transfers and the chunks' hashes: no part of it scans the
 * journal.  verify_ledger() alone recomputes everything.
 *
 *-------------------------------------------------------------------------
 */
#include "checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "keyfile.h"
#include "lib/stringinfo.h"
#include "limits.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "plan.h"
#include "port/pg_bswap.h"
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

#define EP_SHA256_LEN 32
#define EP_ED25519_PUB_LEN 32
#define EP_ED25519_SIG_LEN 64
#define EP_KEY_ID_BYTES 8		/* key id: first 8 bytes of SHA-256(public key), hex */
#define EP_CHECKPOINT_DOMAIN "escrowpay-checkpoint-v1"

typedef uint8 EpHash[EP_SHA256_LEN];

/* microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch) */
#define EP_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * The leaf columns of a transfer, in canonical order; $1 < id <= $2.
 * LEFT JOIN: verify_ledger() reads transfers whose account is gone too.
 */
#define LEAF_COLUMNS \
	"SELECT t.id, t.kind::text, t.debit_account, t.credit_account, t.amount::bigint, " \
	"       coalesce(a.currency, ''), coalesce(t.hold_id, 0), coalesce(t.refund_of, 0), " \
	"       t.created_at " \
	"  FROM escrow.transfers t LEFT JOIN escrow.accounts a ON a.id = t.debit_account "
#define LEAF_RANGE_SQL LEAF_COLUMNS "WHERE t.id > $1 AND t.id <= $2 ORDER BY t.id"

/* One transfer as a leaf */
typedef struct EpLeafData
{
	int64		id;
	const char *kind;
	int64		debit;
	int64		credit;
	int64		amount;
	const char *currency;
	int64		hold_id;
	int64		refund_of;
	int64		created_us;		/* since 1970-01-01 UTC */
} EpLeafData;

/*
 * What is known of a tree: the hashes of its complete chunks, and the
 * leaf hashes of at most two chunks (the incomplete last one, and, for a
 * proof, the chunk of the leaf proven).
 */
typedef struct EpTree
{
	int64		nchunks;
	int64		chunk_cap;
	EpHash	   *chunks;
	int64	   *chunk_first;	/* first and last transfer of each chunk */
	int64	   *chunk_last;
	int64		tail_start;		/* first leaf of tail[] */
	int			ntail;
	int64		tail_first;		/* transfer of tail[0] */
	EpHash	   *tail;			/* EP_CHUNK_LEAVES slots */
	int64		win_start;		/* first leaf of win[]; -1: none */
	int			nwin;
	EpHash	   *win;
} EpTree;

/* The checkpoint signing key */
typedef struct EpSigningKey
{
	EVP_PKEY   *pkey;
	uint8		pub[EP_ED25519_PUB_LEN];
	char		id[EP_KEY_ID_BYTES * 2 + 1];
} EpSigningKey;

/* ------------------------------------------------------------ hashing */

static void
sha256_parts(const uint8 *prefix, size_t plen, const uint8 *a, size_t alen,
			 const uint8 *b, size_t blen, uint8 *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = EP_SHA256_LEN;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, prefix, plen) == 1 &&
		(alen == 0 || EVP_DigestUpdate(ctx, a, alen) == 1) &&
		(blen == 0 || EVP_DigestUpdate(ctx, b, blen) == 1) &&
		EVP_DigestFinal_ex(ctx, out, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || len != EP_SHA256_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256")));
}

static void
node_hash(const uint8 *left, const uint8 *right, uint8 *out)
{
	static const uint8 one = 0x01;

	sha256_parts(&one, 1, left, EP_SHA256_LEN, right, EP_SHA256_LEN, out);
}

static void
put_int64(StringInfo buf, int64 v)
{
	uint64		be = pg_hton64((uint64) v);

	appendBinaryStringInfo(buf, (const char *) &be, sizeof(be));
}

static void
put_short_text(StringInfo buf, const char *s)
{
	size_t		len = strlen(s);
	uint8		l = (uint8) Min(len, 255);

	appendBinaryStringInfo(buf, (const char *) &l, 1);
	appendBinaryStringInfo(buf, s, l);
}

/* leaf = SHA-256(0x00 || canonical bytes) */
static void
leaf_hash(const EpLeafData *l, uint8 *out)
{
	static const uint8 zero = 0x00;
	StringInfoData buf;

	initStringInfo(&buf);
	put_int64(&buf, l->id);
	put_short_text(&buf, l->kind);
	put_int64(&buf, l->debit);
	put_int64(&buf, l->credit);
	put_int64(&buf, l->amount);
	put_short_text(&buf, l->currency);
	put_int64(&buf, l->hold_id);
	put_int64(&buf, l->refund_of);
	put_int64(&buf, l->created_us);
	sha256_parts(&zero, 1, (const uint8 *) buf.data, buf.len, NULL, 0, out);
	pfree(buf.data);
}

/* Row i of a LEAF_COLUMNS result */
static void
leaf_of_row(uint64 i, EpLeafData *l)
{
	bool		isnull;

	l->id = ep_int64(i, 1);
	l->kind = ep_text(i, 2);
	l->debit = ep_int64(i, 3);
	l->credit = ep_int64(i, 4);
	l->amount = ep_int64(i, 5);
	l->currency = ep_text(i, 6);
	l->hold_id = ep_int64(i, 7);
	l->refund_of = ep_int64(i, 8);
	l->created_us = DatumGetTimestampTz(ep_datum(i, 9, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;
}

/* ------------------------------------------------------------ the tree */

static void
tree_init(EpTree *t)
{
	memset(t, 0, sizeof(*t));
	t->chunk_cap = 64;
	t->chunks = palloc(sizeof(EpHash) * t->chunk_cap);
	t->chunk_first = palloc(sizeof(int64) * t->chunk_cap);
	t->chunk_last = palloc(sizeof(int64) * t->chunk_cap);
	t->tail = palloc(sizeof(EpHash) * EP_CHUNK_LEAVES);
	t->win = palloc(sizeof(EpHash) * EP_CHUNK_LEAVES);
	t->win_start = -1;
}

static int64
tree_size(const EpTree *t)
{
	return t->tail_start + t->ntail;
}

/* MTH of a chunk's leaves */
static void mth(const EpTree *t, int64 lo, int64 hi, uint8 *out);

/* Append a complete chunk: its hash and its first and last transfer */
static void
tree_add_chunk(EpTree *t, const uint8 *hash, int64 first, int64 last)
{
	if (t->nchunks == t->chunk_cap)
	{
		t->chunk_cap *= 2;
		t->chunks = repalloc_huge(t->chunks, sizeof(EpHash) * t->chunk_cap);
		t->chunk_first = repalloc_huge(t->chunk_first, sizeof(int64) * t->chunk_cap);
		t->chunk_last = repalloc_huge(t->chunk_last, sizeof(int64) * t->chunk_cap);
	}
	memcpy(t->chunks[t->nchunks], hash, EP_SHA256_LEN);
	t->chunk_first[t->nchunks] = first;
	t->chunk_last[t->nchunks] = last;
	t->nchunks++;
}

/*
 * Append the leaf of a transfer.  When it completes a chunk, the chunk's
 * hash moves to chunks[] and the tail starts afresh.
 */
static void
tree_add_leaf(EpTree *t, int64 transfer, const uint8 *leaf)
{
	EpHash		chunk;

	if (t->ntail == 0)
		t->tail_first = transfer;
	memcpy(t->tail[t->ntail++], leaf, EP_SHA256_LEN);
	if (t->ntail < EP_CHUNK_LEAVES)
		return;
	mth(t, t->tail_start, t->tail_start + EP_CHUNK_LEAVES, chunk);
	tree_add_chunk(t, chunk, t->tail_first, transfer);
	t->tail_start += EP_CHUNK_LEAVES;
	t->ntail = 0;
}

static const uint8 *
tree_leaf(const EpTree *t, int64 i)
{
	if (i >= t->tail_start && i < t->tail_start + t->ntail)
		return t->tail[i - t->tail_start];
	if (t->win_start >= 0 && i >= t->win_start && i < t->win_start + t->nwin)
		return t->win[i - t->win_start];
	elog(ERROR, "escrowpay: Merkle leaf " INT64_FORMAT " is not loaded", i);
	return NULL;				/* keep compiler quiet */
}

/* largest power of two below n (n >= 2) */
static int64
split_point(int64 n)
{
	int64		k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

/* RFC 6962 MTH of leaves [lo, hi) */
static void
mth(const EpTree *t, int64 lo, int64 hi, uint8 *out)
{
	int64		n = hi - lo;
	int64		k;
	EpHash		left;
	EpHash		right;

	check_stack_depth();
	if (n == 1)
	{
		memcpy(out, tree_leaf(t, lo), EP_SHA256_LEN);
		return;
	}
	if (n == EP_CHUNK_LEAVES && lo % EP_CHUNK_LEAVES == 0 &&
		lo / EP_CHUNK_LEAVES < t->nchunks)
	{
		memcpy(out, t->chunks[lo / EP_CHUNK_LEAVES], EP_SHA256_LEN);
		return;
	}
	k = split_point(n);
	mth(t, lo, lo + k, left);
	mth(t, lo + k, hi, right);
	node_hash(left, right, out);
}

/* RFC 6962 PATH(m, leaves [lo, hi)), appended leaf to root */
static void
audit_path(const EpTree *t, int64 m, int64 lo, int64 hi, List **path)
{
	int64		n = hi - lo;
	int64		k;
	uint8	   *sibling;

	if (n == 1)
		return;
	k = split_point(n);
	sibling = palloc(EP_SHA256_LEN);
	if (m < lo + k)
	{
		audit_path(t, m, lo, lo + k, path);
		mth(t, lo + k, hi, sibling);
	}
	else
	{
		audit_path(t, m, lo + k, hi, path);
		mth(t, lo, lo + k, sibling);
	}
	*path = lappend(*path, sibling);
}

/* ------------------------------------------------------------ keys */

/* Never prompt for a passphrase: an encrypted key is refused */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static void
key_id_of(const uint8 *pub, char *id)
{
	static const uint8 none = 0;
	EpHash		h;

	/* SHA-256 of the raw public key (the empty prefix keeps one helper) */
	sha256_parts(&none, 0, pub, EP_ED25519_PUB_LEN, NULL, 0, h);
	hex_encode((const char *) h, EP_KEY_ID_BYTES, id);
	id[EP_KEY_ID_BYTES * 2] = '\0';
}

/*
 * Load the Ed25519 private key of escrowpay.checkpoint_key_file (PEM,
 * PKCS#8 as written by `openssl genpkey -algorithm ed25519`); 55000 when
 * the setting is empty or the file unusable.
 */
static void
signing_key_load(EpSigningKey *key)
{
	EpKeyFileKind kind;
	EpKeyFile	file;
	BIO		   *bio;
	size_t		publen = EP_ED25519_PUB_LEN;

	kind.setting = "escrowpay.checkpoint_key_file";
	kind.path = ep_checkpoint_key_file;
	kind.purpose = "Checkpoints are signed with the Ed25519 private key of that file.";
	kind.hint = "The file holds an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519), "
		"unencrypted, and is readable only by the server's operating-system user (mode 0600).";
	ep_key_file_read(&kind, &file);
	bio = BIO_new_mem_buf(file.buf, -1);
	key->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (key->pkey == NULL)
		ep_key_file_error(&kind, &file, "It holds no private key in PEM that can be read "
						  "without a passphrase.");
	if (EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
	{
		EVP_PKEY_free(key->pkey);
		ep_key_file_error(&kind, &file, "Its key is not an Ed25519 key.");
	}
	ep_key_file_free(&file);
	if (EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &publen) != 1 ||
		publen != EP_ED25519_PUB_LEN)
	{
		EVP_PKEY_free(key->pkey);
		elog(ERROR, "escrowpay: could not read the checkpoint key's public key");
	}
	key_id_of(key->pub, key->id);
}

/* The signed message of a checkpoint */
static void
checkpoint_message(StringInfo msg, int64 seq, int64 size, int64 last_transfer,
				   int64 created_us, const uint8 *root)
{
	initStringInfo(msg);
	appendBinaryStringInfo(msg, EP_CHECKPOINT_DOMAIN, sizeof(EP_CHECKPOINT_DOMAIN));	/* with NUL */
	put_int64(msg, seq);
	put_int64(msg, size);
	put_int64(msg, last_transfer);
	put_int64(msg, created_us);
	appendBinaryStringInfo(msg, (const char *) root, EP_SHA256_LEN);
}

/* Ed25519 signature of msg */
static void
sign_message(const EpSigningKey *key, const StringInfo msg, uint8 *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		siglen = EP_ED25519_SIG_LEN;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (const uint8 *) msg->data, msg->len) == 1 &&
		siglen == EP_ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the checkpoint with Ed25519")));
}

/* Does sig verify over msg under the raw public key pub? */
static bool
signature_valid(const uint8 *pub, size_t publen, const StringInfo msg,
				const uint8 *sig, size_t siglen)
{
	EVP_PKEY   *pkey;
	EVP_MD_CTX *ctx;
	bool		ok;

	if (publen != EP_ED25519_PUB_LEN || siglen != EP_ED25519_SIG_LEN)
		return false;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
	ctx = EVP_MD_CTX_new();
	ok = pkey != NULL && ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const uint8 *) msg->data, msg->len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

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

/* A bytea column of row i, copied into out when it has exactly len bytes */
static bool
bytea_col(uint64 i, int col, uint8 *out, size_t len)
{
	bool		isnull;
	Datum		d = ep_datum(i, col, &isnull);
	bytea	   *b;

	if (isnull)
		return false;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != len)
		return false;
	memcpy(out, VARDATA_ANY(b), len);
	return true;
}

/*
 * Load the stored chunks below n_chunks_max into t (chunk numbers must run
 * 0, 1, ...); returns the last transfer of the last one (0 when none).
 */
static int64
load_chunks(EpTree *t, int64 n_chunks_max)
{
	static EpPlan plan = {NULL,
		"SELECT chunk, last_transfer, hash, first_transfer FROM escrow.checkpoint_chunks "
		" WHERE chunk < $1 ORDER BY chunk", 1, {INT8OID}};
	Datum		v[1] = {Int64GetDatum(n_chunks_max)};
	uint64		n = ep_exec(&plan, v, NULL, 0);
	uint64		i;
	int64		last = 0;

	for (i = 0; i < n; i++)
	{
		EpHash		h;

		if (ep_int64(i, 1) != (int64) i || !bytea_col(i, 3, h, EP_SHA256_LEN))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("escrow.checkpoint_chunks is damaged at chunk " UINT64_FORMAT, i),
					 errhint("Run escrow.verify_ledger().")));
		last = ep_int64(i, 2);
		tree_add_chunk(t, h, ep_int64(i, 4), last);
	}
	t->tail_start = t->nchunks * EP_CHUNK_LEAVES;
	return last;
}

/* Open a cursor over the leaves of transfers after..upto */
static Portal
open_leaf_cursor(int64 after, int64 upto, bool read_only)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		v[2] = {Int64GetDatum(after), Int64GetDatum(upto)};
	Portal		p = SPI_cursor_open_with_args(NULL, LEAF_RANGE_SQL, 2, types, v, NULL,
											  read_only, 0);

	if (p == NULL)
		elog(ERROR, "escrowpay: could not open the leaf cursor");
	return p;
}

/* Called for each transfer of for_each_leaf(), in id order, with its leaf hash */
typedef void (*EpLeafFn) (const EpLeafData *l, const uint8 *leaf, void *arg);

/*
 * Call fn for every transfer after..upto, in id order, in batches whose
 * memory is freed as it goes (the journal may be large).  fn must not
 * run SPI statements.
 */
static void
for_each_leaf(int64 after, int64 upto, bool read_only, EpLeafFn fn, void *arg)
{
	Portal		portal = open_leaf_cursor(after, upto, read_only);
	MemoryContext batch = AllocSetContextCreate(CurrentMemoryContext, "escrowpay leaves",
												ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		MemoryContext old;
		uint64		i;

		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(batch);
		for (i = 0; i < SPI_processed; i++)
		{
			EpLeafData l;
			EpHash		leaf;

			CHECK_FOR_INTERRUPTS();
			leaf_of_row(i, &l);
			leaf_hash(&l, leaf);
			fn(&l, leaf, arg);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch);
}

/* for_each_leaf() callback: append to a tree */
static void
add_to_tree(const EpLeafData *l, const uint8 *leaf, void *arg)
{
	tree_add_leaf((EpTree *) arg, l->id, leaf);
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
	static EpPlan first_after = {NULL,
		"SELECT min(id) FROM escrow.transfers WHERE id > $1 AND id <= $2", 2, {INT8OID, INT8OID}};
	static EpPlan insert_chunk = {NULL,
		"INSERT INTO escrow.checkpoint_chunks (chunk, first_transfer, last_transfer, hash) "
		"VALUES ($1, $2, $3, $4)", 4, {INT8OID, INT8OID, INT8OID, BYTEAOID}};
	static EpPlan insert_checkpoint = {NULL,
		"INSERT INTO escrow.checkpoints (seq, first_transfer, last_transfer, tree_size, root, "
		"       signature, key_id, public_key, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9,
		{INT8OID, INT8OID, INT8OID, INT8OID, BYTEAOID, BYTEAOID, TEXTOID, BYTEAOID, TIMESTAMPTZOID}};

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("escrow.checkpoint() must run at the READ COMMITTED isolation level"),
				 errdetail("It waits for the transactions posting transfers to end, "
						   "then reads what they committed.")));
	signing_key_load(&key);

	SPI_connect();
	/* one checkpoint at a time; never queue (two would wait for each other) */
	if (!ConditionalLockRelationOid(checkpoints_relid(), ExclusiveLock))
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("another checkpoint is being made"),
				 errhint("Try again when it is done.")));

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
		EVP_PKEY_free(key.pkey);
		PG_RETURN_NULL();
	}

	/* the stored chunks, then the transfers after them; store new chunks */
	tree_init(&t);
	after = load_chunks(&t, PG_INT64_MAX / EP_CHUNK_LEAVES);
	stored = t.nchunks;
	for_each_leaf(after, upto, false, add_to_tree, &t);
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

	size = tree_size(&t);
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
		EVP_PKEY_free(key.pkey);
		PG_RETURN_NULL();
	}

	mth(&t, 0, size, root);
	now = GetCurrentTimestamp();
	created_us = now + EP_UNIX_EPOCH_OFFSET_US;
	checkpoint_message(&msg, prev_seq + 1, size, upto, created_us, root);
	sign_message(&key, &msg, sig);
	EVP_PKEY_free(key.pkey);
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

/* Load the leaves of transfers after..upto (at most one chunk) into win */
static void
load_window(EpTree *t, int64 first_leaf, int64 after, int64 upto)
{
	Portal		portal = open_leaf_cursor(after, upto, false);
	uint64		i;

	SPI_cursor_fetch(portal, true, EP_CHUNK_LEAVES);
	t->win_start = first_leaf;
	t->nwin = SPI_processed;
	for (i = 0; i < SPI_processed; i++)
	{
		EpLeafData l;

		leaf_of_row(i, &l);
		leaf_hash(&l, t->win[i]);
	}
	SPI_cursor_close(portal);
}

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
	static EpPlan latest = {NULL,
		"SELECT seq, tree_size, last_transfer, root, signature, key_id, public_key, created_at "
		"  FROM escrow.checkpoints ORDER BY seq DESC LIMIT 1", 0, {0}};
	static EpPlan one = {NULL, LEAF_COLUMNS "WHERE t.id = $1", 1, {INT8OID}};
	static EpPlan chunk_of = {NULL,
		"SELECT chunk, first_transfer FROM escrow.checkpoint_chunks "
		" WHERE last_transfer >= $1 ORDER BY chunk LIMIT 1", 1, {INT8OID}};
	static EpPlan rank = {NULL,
		"SELECT count(*) FROM escrow.transfers WHERE id > $1 AND id < $2", 2, {INT8OID, INT8OID}};

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("transfer_id must not be NULL")));
	transfer = PG_GETARG_INT64(0);

	caller = CurrentMemoryContext;
	SPI_connect();
	if (ep_exec(&latest, NULL, NULL, 1) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("there is no checkpoint yet"),
				 errhint("escrow.checkpoint() makes one; the maintenance worker runs it every "
						 "escrowpay.checkpoint_interval seconds.")));
	seq = ep_int64(0, 1);
	size = ep_int64(0, 2);
	upto = ep_int64(0, 3);
	if (!bytea_col(0, 4, root, EP_SHA256_LEN) || !bytea_col(0, 5, sig, EP_ED25519_SIG_LEN) ||
		!bytea_col(0, 7, pub, EP_ED25519_PUB_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("checkpoint " INT64_FORMAT " is damaged", seq),
				 errhint("Run escrow.verify_ledger().")));
	key_id = ep_text(0, 6);
	created_us = DatumGetTimestampTz(ep_datum(0, 8, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;

	{
		Datum		v[1] = {Int64GetDatum(transfer)};

		if (ep_exec(&one, v, NULL, 1) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("transfer " INT64_FORMAT " does not exist", transfer)));
	}
	leaf_of_row(0, &l);
	if (transfer > upto)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("transfer " INT64_FORMAT " is not sealed in a checkpoint yet", transfer),
				 errdetail("The latest checkpoint, " INT64_FORMAT ", covers transfers up to "
						   INT64_FORMAT ".", seq, upto),
				 errhint("escrow.checkpoint() seals it; the maintenance worker runs it every "
						 "escrowpay.checkpoint_interval seconds.")));
	leaf_hash(&l, leaf);

	/* the chunks, the tail, and the chunk of the transfer */
	tree_init(&t);
	chunk_after = load_chunks(&t, size / EP_CHUNK_LEAVES);
	load_window(&t, t.tail_start, chunk_after, upto);
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
				load_window(&t, chunk * EP_CHUNK_LEAVES, first - 1, upto);
			else
				chunk = -1;
		}
		v[0] = Int64GetDatum(chunk >= 0 ? first - 1 : chunk_after);
		v[1] = Int64GetDatum(transfer);
		ep_exec(&rank, v, NULL, 1);
		index = (chunk >= 0 ? chunk * EP_CHUNK_LEAVES : t.tail_start) + ep_int64(0, 1);
	}
	if (tree_size(&t) != size || index >= size ||
		memcmp(tree_leaf(&t, index), leaf, EP_SHA256_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the journal no longer matches checkpoint " INT64_FORMAT, seq),
				 errdetail("The checkpoint sealed " INT64_FORMAT " transfers; "
						   INT64_FORMAT " are there now.", size, tree_size(&t)),
				 errhint("Run escrow.verify_ledger().")));
	mth(&t, 0, size, again);
	if (memcmp(again, root, EP_SHA256_LEN) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the journal no longer matches checkpoint " INT64_FORMAT, seq),
				 errdetail("The root recomputed from the journal differs from the signed one."),
				 errhint("Run escrow.verify_ledger().")));
	audit_path(&t, index, 0, size, &path);

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
	BIO		   *bio;
	BUF_MEM    *mem;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "escrowpay: checkpoint_public_key must return a row");
	signing_key_load(&key);
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PUBKEY(bio, key.pkey) != 1)
	{
		BIO_free(bio);
		EVP_PKEY_free(key.pkey);
		elog(ERROR, "escrowpay: could not write the checkpoint public key");
	}
	EVP_PKEY_free(key.pkey);
	BIO_get_mem_ptr(bio, &mem);
	values[0] = CStringGetTextDatum(key.id);
	values[1] = PointerGetDatum(cstring_to_text_with_len(mem->data, mem->length));
	BIO_free(bio);
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

	if (tree_size(t) != c->size)
	{
		ep_verify_emit(ts, desc, "checkpoint_size",
					   psprintf("checkpoint " INT64_FORMAT " sealed " INT64_FORMAT
								" transfers up to " INT64_FORMAT "; the journal has "
								INT64_FORMAT, c->seq, c->size, c->last_transfer,
								tree_size(t)));
		return;
	}
	if (c->size > 0)
		mth(t, 0, c->size, root);
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

/* for_each_leaf() callback of verify: close checkpoints, compare chunks */
static void
verify_leaf(const EpLeafData *l, const uint8 *leaf, void *arg)
{
	EpVerifyState *v = (EpVerifyState *) arg;
	int64		c = v->t.nchunks;

	while (v->next < v->ncp && l->id > v->cps[v->next].last_transfer)
		close_checkpoint(v->ts, v->desc, &v->t, &v->cps[v->next++]);
	tree_add_leaf(&v->t, l->id, leaf);
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
		c->root_ok = bytea_col(i, 4, c->root, EP_SHA256_LEN);
		created_us = DatumGetTimestampTz(ep_datum(i, 7, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;
		if (c->seq != (int64) i + 1 ||
			(i > 0 && (c->size <= v.cps[i - 1].size ||
					   c->last_transfer <= v.cps[i - 1].last_transfer ||
					   ep_int64(i, 8) <= v.cps[i - 1].last_transfer)))
			ep_verify_emit(ts, desc, "checkpoint_sequence",
						   psprintf("checkpoint " INT64_FORMAT " (" INT64_FORMAT " transfers up to "
									INT64_FORMAT ") does not follow the one before it",
									c->seq, c->size, c->last_transfer));
		checkpoint_message(&msg, c->seq, c->size, c->last_transfer, created_us, c->root);
		if (!c->root_ok || !bytea_col(i, 5, sig, EP_ED25519_SIG_LEN) ||
			!bytea_col(i, 6, pub, EP_ED25519_PUB_LEN) ||
			!signature_valid(pub, EP_ED25519_PUB_LEN, &msg, sig, EP_ED25519_SIG_LEN))
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
		v.stored_ok[i] = ep_int64(i, 1) == (int64) i && bytea_col(i, 2, v.stored[i], EP_SHA256_LEN);
		if (!v.stored_ok[i])
			ep_verify_emit(ts, desc, "checkpoint_chunk",
						   psprintf("stored chunk row " UINT64_FORMAT " is chunk " INT64_FORMAT
									" or its hash is not 32 bytes", i, ep_int64(i, 1)));
	}
	if (v.ncp == 0 && v.nstored == 0)
		return;

	tree_init(&v.t);
	if (v.ncp > 0)
		for_each_leaf(0, v.cps[v.ncp - 1].last_transfer, true, verify_leaf, &v);
	while (v.next < v.ncp)
		close_checkpoint(ts, desc, &v.t, &v.cps[v.next++]);
	if (v.nstored > v.t.nchunks)
		ep_verify_emit(ts, desc, "checkpoint_chunk",
					   psprintf(INT64_FORMAT " chunks are stored; the sealed journal fills "
								INT64_FORMAT, v.nstored, v.t.nchunks));
}
