/*-------------------------------------------------------------------------
 *
 * merkle.h
 *	  The journal's transfers as the leaves of a Merkle tree hashed as in
 *	  RFC 6962, stored by complete chunks of EP_CHUNK_LEAVES leaves.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_MERKLE_H
#define EP_MERKLE_H

#include "escrowpay.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/* Leaves per stored subtree (escrow.checkpoint_chunks): a power of two */
#define EP_CHUNK_LEAVES 1024

#define EP_SHA256_LEN 32

typedef uint8 EpHash[EP_SHA256_LEN];

/* microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch) */
#define EP_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * The leaf columns of a transfer, in canonical order; $1 < id <= $2.
 * LEFT JOIN: verify_ledger() reads transfers whose account is gone too.
 */
#define EP_LEAF_COLUMNS \
	"SELECT t.id, t.kind::text, t.debit_account, t.credit_account, t.amount::bigint, " \
	"       coalesce(a.currency, ''), coalesce(t.hold_id, 0), coalesce(t.refund_of, 0), " \
	"       t.created_at " \
	"  FROM escrow.transfers t LEFT JOIN escrow.accounts a ON a.id = t.debit_account "
#define EP_LEAF_RANGE_SQL EP_LEAF_COLUMNS "WHERE t.id > $1 AND t.id <= $2 ORDER BY t.id"

/*
 * The same on a Citus cluster, where transfers and accounts are not
 * co-located and Citus can join them only by repartitioning both tables
 * (no outer join at all): the transfers alone, the currency of each debit
 * account read by id afterwards (ep_leaf_currencies()).
 */
#define EP_LEAF_COLUMNS_SHARDED \
	"SELECT t.id, t.kind::text, t.debit_account, t.credit_account, t.amount::bigint, " \
	"       NULL::text, coalesce(t.hold_id, 0), coalesce(t.refund_of, 0), " \
	"       t.created_at " \
	"  FROM escrow.transfers t "
#define EP_LEAF_RANGE_SQL_SHARDED \
	EP_LEAF_COLUMNS_SHARDED "WHERE t.id > $1 AND t.id <= $2 ORDER BY t.id"

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

/* Called for each transfer of ep_for_each_leaf(), in id order, with its leaf hash */
typedef void (*EpLeafFn) (const EpLeafData *l, const uint8 *leaf, void *arg);

extern void ep_sha256_parts(const uint8 *prefix, size_t plen, const uint8 *a, size_t alen,
							const uint8 *b, size_t blen, uint8 *out);
extern void ep_put_int64(StringInfo buf, int64 v);
extern void ep_leaf_hash(const EpLeafData *l, uint8 *out);
extern void ep_leaf_currencies(bool sharded);
extern void ep_leaf_of_row(uint64 i, EpLeafData *l);

extern void ep_tree_init(EpTree *t);
extern int64 ep_tree_size(const EpTree *t);
extern void ep_tree_add_leaf(EpTree *t, int64 transfer, const uint8 *leaf);
extern const uint8 *ep_tree_leaf(const EpTree *t, int64 i);
extern void ep_mth(const EpTree *t, int64 lo, int64 hi, uint8 *out);
extern void ep_audit_path(const EpTree *t, int64 m, int64 lo, int64 hi, List **path);

extern bool ep_bytea_col(uint64 i, int col, uint8 *out, size_t len);
extern int64 ep_load_chunks(EpTree *t, int64 n_chunks_max);
extern void ep_load_window(EpTree *t, int64 first_leaf, int64 after, int64 upto);
extern void ep_for_each_leaf(int64 after, int64 upto, bool read_only, EpLeafFn fn, void *arg);

#endif							/* EP_MERKLE_H */
