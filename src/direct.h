/*-------------------------------------------------------------------------
 *
 * direct.h
 *	  Writing single rows of the ledger's tables straight into their heaps,
 *	  without the executor, where the result is provably what the SQL
 *	  statement would do (and falling back to the statement otherwise).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_DIRECT_H
#define EP_DIRECT_H

#include "escrowpay.h"

#include "executor/executor.h"
#include "nodes/nodes.h"
#include "utils/relcache.h"

struct EpDirectCache;

/* One table opened for writing directly (ep_direct_open) */
typedef struct EpDirect
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	struct EpDirectCache *cache;	/* the table's cached expressions */
	TupleTableSlot *row;		/* the row to write (virtual) */
	Relation	pkey;			/* its primary key, one bigint column */
} EpDirect;

/*
 * What an update sets (ep_direct_update): decides on row, the (latest)
 * version of the row to update, whether it qualifies, and if so the new
 * values of the columns set (values[], isnull[]: NULL, false on entry)
 */
typedef bool (*EpDirectSet) (TupleTableSlot *row, void *arg, Datum *values, bool *isnull);

extern bool ep_direct_writable(Relation rel, CmdType cmd);
extern void ep_direct_begin(void);
extern void ep_direct_end(void);
extern bool ep_direct_open(EpDirect *d, const char *table, CmdType cmd);
extern void ep_direct_close(EpDirect *d);
extern bool ep_direct_columns(EpDirect *d, int n, const char *const *names, const Oid *types,
							  AttrNumber *atts);
extern TupleTableSlot *ep_direct_fetch(EpDirect *d, int64 id);
extern TupleTableSlot *ep_direct_lock(EpDirect *d, int64 id);
extern void ep_direct_fill(EpDirect *d, TupleTableSlot *slot, const Datum *values,
						   const bool *isnull, const bool *given);
extern void ep_direct_insert(EpDirect *d, int n, const AttrNumber *atts,
							 const Datum *values, const bool *isnull);
extern bool ep_direct_update(EpDirect *d, TupleTableSlot *row, int n,
							 const AttrNumber *columns, EpDirectSet set, void *arg);

#endif							/* EP_DIRECT_H */
