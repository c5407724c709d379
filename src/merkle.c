/*-------------------------------------------------------------------------
 *
 * merkle.c
 *	  The journal's transfers as the leaves of one growing Merkle tree,
 *	  hashed as in RFC 6962 (Certificate Transparency):
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
 * Every complete subtree of EP_CHUNK_LEAVES aligned leaves is stored
 * (escrow.checkpoint_chunks) and loaded by ep_load_chunks(), so that a
 * tree is known from its chunks' hashes and the leaves of at most two
 * chunks (EpTree).  Signed checkpoints and inclusion proofs over the tree
 * are checkpoint.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "merkle.h"

#include <openssl/evp.h>

#include "miscadmin.h"
#include "plan.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* ------------------------------------------------------------ hashing */

void
ep_sha256_parts(const uint8 *prefix, size_t plen, const uint8 *a, size_t alen,
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

	ep_sha256_parts(&one, 1, left, EP_SHA256_LEN, right, EP_SHA256_LEN, out);
}

void
ep_put_int64(StringInfo buf, int64 v)
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
void
ep_leaf_hash(const EpLeafData *l, uint8 *out)
{
	static const uint8 zero = 0x00;
	StringInfoData buf;

	initStringInfo(&buf);
	ep_put_int64(&buf, l->id);
	put_short_text(&buf, l->kind);
	ep_put_int64(&buf, l->debit);
	ep_put_int64(&buf, l->credit);
	ep_put_int64(&buf, l->amount);
	put_short_text(&buf, l->currency);
	ep_put_int64(&buf, l->hold_id);
	ep_put_int64(&buf, l->refund_of);
	ep_put_int64(&buf, l->created_us);
	ep_sha256_parts(&zero, 1, (const uint8 *) buf.data, buf.len, NULL, 0, out);
	pfree(buf.data);
}

/*
 * The currencies of the rows of the leaf statement last run, when it was
 * the EP_LEAF_COLUMNS_SHARDED one (ep_leaf_currencies()); NULL otherwise
 */
static const char **leaf_currency = NULL;

/* An account's currency, as ep_leaf_currencies() reads them */
typedef struct EpAccountCurrency
{
	int64		account;		/* hash key */
	char		currency[4];
} EpAccountCurrency;

/*
 * Call after each leaf statement, sharded saying whether it was the
 * EP_LEAF_COLUMNS_SHARDED one.  Then: the currency of each row's debit
 * account, read in one statement by id (Citus sends it only to the shards
 * holding them), '' for an account that is gone, as EP_LEAF_COLUMNS says.
 * SPI_tuptable and SPI_processed are the leaf rows again on return.
 */
void
ep_leaf_currencies(bool sharded)
{
	static EpPlan currency_of = EP_PLAN("SELECT id, currency FROM escrow.accounts WHERE id = ANY ($1)",
										INT8ARRAYOID);
	SPITupleTable *rows = SPI_tuptable;
	uint64		n = SPI_processed,
				found,
				i;
	Datum	   *ids;
	Datum		v[1];
	HTAB	   *map;

	leaf_currency = NULL;
	if (!sharded || n == 0)
		return;
	ids = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		ids[i] = Int64GetDatum(ep_int64(i, 3));
	v[0] = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	found = ep_exec(&currency_of, v, NULL, 0);
	map = ep_id_map("escrowpay leaf currencies", found, sizeof(EpAccountCurrency));
	for (i = 0; i < found; i++)
	{
		int64		id = ep_int64(i, 1);
		EpAccountCurrency *e = hash_search(map, &id, HASH_ENTER, NULL);

		strlcpy(e->currency, ep_text(i, 2), sizeof(e->currency));
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_tuptable = rows;
	SPI_processed = n;
	leaf_currency = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		int64		id = ep_int64(i, 3);
		EpAccountCurrency *e = hash_search(map, &id, HASH_FIND, NULL);

		leaf_currency[i] = e ? e->currency : "";
	}
}

/* Row i of a EP_LEAF_COLUMNS result (after ep_leaf_currencies()) */
void
ep_leaf_of_row(uint64 i, EpLeafData *l)
{
	bool		isnull;

	l->id = ep_int64(i, 1);
	l->kind = ep_text(i, 2);
	l->debit = ep_int64(i, 3);
	l->credit = ep_int64(i, 4);
	l->amount = ep_int64(i, 5);
	l->currency = leaf_currency ? leaf_currency[i] : ep_text(i, 6);
	l->hold_id = ep_int64(i, 7);
	l->refund_of = ep_int64(i, 8);
	l->created_us = DatumGetTimestampTz(ep_datum(i, 9, &isnull)) + EP_UNIX_EPOCH_OFFSET_US;
}

/* ------------------------------------------------------------ the tree */

void
ep_tree_init(EpTree *t)
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

int64
ep_tree_size(const EpTree *t)
{
	return t->tail_start + t->ntail;
}

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
void
ep_tree_add_leaf(EpTree *t, int64 transfer, const uint8 *leaf)
{
	EpHash		chunk;

	if (t->ntail == 0)
		t->tail_first = transfer;
	memcpy(t->tail[t->ntail++], leaf, EP_SHA256_LEN);
	if (t->ntail < EP_CHUNK_LEAVES)
		return;
	ep_mth(t, t->tail_start, t->tail_start + EP_CHUNK_LEAVES, chunk);
	tree_add_chunk(t, chunk, t->tail_first, transfer);
	t->tail_start += EP_CHUNK_LEAVES;
	t->ntail = 0;
}

const uint8 *
ep_tree_leaf(const EpTree *t, int64 i)
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
void
ep_mth(const EpTree *t, int64 lo, int64 hi, uint8 *out)
{
	int64		n = hi - lo;
	int64		k;
	EpHash		left;
	EpHash		right;

	check_stack_depth();
	if (n == 1)
	{
		memcpy(out, ep_tree_leaf(t, lo), EP_SHA256_LEN);
		return;
	}
	if (n == EP_CHUNK_LEAVES && lo % EP_CHUNK_LEAVES == 0 &&
		lo / EP_CHUNK_LEAVES < t->nchunks)
	{
		memcpy(out, t->chunks[lo / EP_CHUNK_LEAVES], EP_SHA256_LEN);
		return;
	}
	k = split_point(n);
	ep_mth(t, lo, lo + k, left);
	ep_mth(t, lo + k, hi, right);
	node_hash(left, right, out);
}

/* RFC 6962 PATH(m, leaves [lo, hi)), appended leaf to root */
void
ep_audit_path(const EpTree *t, int64 m, int64 lo, int64 hi, List **path)
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
		ep_audit_path(t, m, lo, lo + k, path);
		ep_mth(t, lo + k, hi, sibling);
	}
	else
	{
		ep_audit_path(t, m, lo + k, hi, path);
		ep_mth(t, lo, lo + k, sibling);
	}
	*path = lappend(*path, sibling);
}

/* ------------------------------------------------------------ the journal's leaves */

/* A bytea column of row i, copied into out when it has exactly len bytes */
bool
ep_bytea_col(uint64 i, int col, uint8 *out, size_t len)
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
int64
ep_load_chunks(EpTree *t, int64 n_chunks_max)
{
	static EpPlan plan = EP_PLAN("SELECT chunk, last_transfer, hash, first_transfer FROM escrow.checkpoint_chunks "
		" WHERE chunk < $1 ORDER BY chunk", INT8OID);
	Datum		v[1] = {Int64GetDatum(n_chunks_max)};
	uint64		n = ep_exec(&plan, v, NULL, 0);
	uint64		i;
	int64		last = 0;

	for (i = 0; i < n; i++)
	{
		EpHash		h;

		if (ep_int64(i, 1) != (int64) i || !ep_bytea_col(i, 3, h, EP_SHA256_LEN))
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

/*
 * Whether the leaf cursor open_leaf_cursor() opened last reads
 * EP_LEAF_RANGE_SQL_SHARDED
 */
static bool leaf_cursor_sharded = false;

/* Open a cursor over the leaves of transfers after..upto */
static Portal
open_leaf_cursor(int64 after, int64 upto, bool read_only)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		v[2] = {Int64GetDatum(after), Int64GetDatum(upto)};
	Portal		p;

	leaf_cursor_sharded = ep_distributed();
	p = SPI_cursor_open_with_args(NULL,
								  leaf_cursor_sharded ? EP_LEAF_RANGE_SQL_SHARDED : EP_LEAF_RANGE_SQL,
								  2, types, v, NULL, read_only, 0);

	if (p == NULL)
		elog(ERROR, "escrowpay: could not open the leaf cursor");
	return p;
}

/* Load the leaves of transfers after..upto (at most one chunk) into win */
void
ep_load_window(EpTree *t, int64 first_leaf, int64 after, int64 upto)
{
	Portal		portal = open_leaf_cursor(after, upto, false);
	uint64		i;

	SPI_cursor_fetch(portal, true, EP_CHUNK_LEAVES);
	ep_leaf_currencies(leaf_cursor_sharded);
	t->win_start = first_leaf;
	t->nwin = SPI_processed;
	for (i = 0; i < SPI_processed; i++)
	{
		EpLeafData l;

		ep_leaf_of_row(i, &l);
		ep_leaf_hash(&l, t->win[i]);
	}
	SPI_cursor_close(portal);
}

/*
 * Call fn for every transfer after..upto, in id order, in batches whose
 * memory is freed as it goes (the journal may be large).  fn must not
 * run SPI statements.
 */
void
ep_for_each_leaf(int64 after, int64 upto, bool read_only, EpLeafFn fn, void *arg)
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
		ep_leaf_currencies(leaf_cursor_sharded);
		for (i = 0; i < SPI_processed; i++)
		{
			EpLeafData l;
			EpHash		leaf;

			CHECK_FOR_INTERRUPTS();
			ep_leaf_of_row(i, &l);
			ep_leaf_hash(&l, leaf);
			fn(&l, leaf, arg);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(batch);
}
