/*-------------------------------------------------------------------------
 *
 * direct.c
 *	  Writing single rows of the ledger's tables straight into their heaps,
 *	  without the executor, where the result is provably what the SQL
 *	  statement would do.
 *
 * A one-row statement from a cached plan spends most of its CPU starting
 * the executor (its nodes, its indexes) and re-reading the table's CHECKs
 * from their stored text; the row work itself is a fraction of it.  The
 * functions here do what the executor's INSERT and UPDATE do for one row
 * of a plain table: the row's defaults and domain checks, the table's
 * CHECK and NOT NULL constraints (ExecConstraints, with the CHECKs planned
 * once per backend and kept until the table, a type or a function
 * changes), the heap write (WAL, statistics, predicate locks and conflict
 * checks of serializable transactions are the heap's), the index entries
 * with their unique checks (none for a HOT update), and, for an update of
 * a row a concurrent transaction changed, what UPDATE does: a READ
 * COMMITTED transaction waits for it, locks the row's latest version and
 * decides again on that version (EvalPlanQual), a REPEATABLE READ or
 * SERIALIZABLE one fails with 40001.  Rows are found through the primary
 * key with an index scan under the statement's snapshot, as the plan
 * would.
 *
 * Everything else falls back to the SQL statement, decided per call
 * (ep_direct_writable()): a partitioned table or a partition, any trigger
 * on the event (foreign keys and deferred unique checks are triggers too),
 * row-level security that applies to the caller or is forced, stored
 * generated columns,
 * a read-only or parallel transaction, missing privileges, an executor
 * permission hook.  A caller brackets its writes with ep_direct_begin()
 * and ep_direct_end(), which take the snapshot and advance the command
 * counter as SPI does around a statement.
 *
 *-------------------------------------------------------------------------
 */
#include "direct.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/*
 * What the executor would plan again for every statement, kept per table:
 * its CHECKs and its columns' defaults, planned, and domain_check()'s cache
 * of each domain column.  Rebuilt after any change of the table, of a type
 * (a domain's constraints) or of a function (invalidate()).
 */
typedef struct EpDirectCache
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;
	ExprState **checks;			/* ri_ConstraintExprs: one per CHECK */
	int			natts;
	Oid		   *basetype;		/* per column: its type, or a domain's base */
	bool	   *domain;			/* per column: a domain */
	ExprState **defaults;		/* per column: its default (NULL: none) */
	void	  **domain_extra;	/* per column: domain_check()'s cache */
} EpDirectCache;

static HTAB *caches = NULL;

/* Invalidations seen (cache_of() tells whether one came while it built) */
static uint64 invalidations = 0;

/* Forget every table's expressions (a type or a function changed) */
static void
invalidate_all(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS seq;
	EpDirectCache *c;

	invalidations++;
	hash_seq_init(&seq, caches);
	while ((c = hash_seq_search(&seq)) != NULL)
		c->valid = false;
}

/* Forget table relid's expressions (InvalidOid: every table's) */
static void
invalidate(Datum arg, Oid relid)
{
	EpDirectCache *c;

	if (!OidIsValid(relid))
	{
		invalidate_all(arg, 0, 0);
		return;
	}
	invalidations++;
	c = hash_search(caches, &relid, HASH_FIND, NULL);
	if (c != NULL)
		c->valid = false;
}

/*
 * The cached expressions of rel (locked), built when missing or stale.
 * The entry is marked valid only once it is built and no invalidation
 * arrived meanwhile: an error while it is built (a CHECK that fails when
 * it is planned) leaves it stale, to be built again by the next call, and
 * an invalidation that arrived while it was built, for the next call to
 * see (this one uses what it built, as a statement would).
 */
static EpDirectCache *
cache_of(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	EpDirectCache *c;
	MemoryContext old;
	uint64		seen;
	bool		found;
	int			i;

	if (caches == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(EpDirectCache);
		caches = hash_create("escrowpay direct writes", 8, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, invalidate_all, (Datum) 0);
		CacheRegisterSyscacheCallback(CONSTROID, invalidate_all, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, invalidate_all, (Datum) 0);
	}
	c = hash_search(caches, &relid, HASH_ENTER, &found);
	if (!found)
	{
		c->cxt = NULL;
		c->valid = false;
	}
	if (c->valid)
		return c;

	if (c->cxt == NULL)
		c->cxt = AllocSetContextCreate(TopMemoryContext, "escrowpay direct writes",
									   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(c->cxt);
	seen = invalidations;
	old = MemoryContextSwitchTo(c->cxt);
	c->checks = NULL;
	if (desc->constr && desc->constr->num_check > 0)
	{
		c->checks = palloc(sizeof(ExprState *) * desc->constr->num_check);
		for (i = 0; i < desc->constr->num_check; i++)
			c->checks[i] = ExecInitExpr(expression_planner(stringToNode(desc->constr->check[i].ccbin)),
										NULL);
	}
	c->natts = desc->natts;
	c->basetype = palloc0(sizeof(Oid) * desc->natts);
	c->domain = palloc0(sizeof(bool) * desc->natts);
	c->defaults = palloc0(sizeof(ExprState *) * desc->natts);
	c->domain_extra = palloc0(sizeof(void *) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *def;

		if (att->attisdropped)
			continue;
		c->basetype[i] = getBaseType(att->atttypid);
		c->domain[i] = c->basetype[i] != att->atttypid;
		def = build_column_default(rel, i + 1);
		if (def != NULL)
			c->defaults[i] = ExecInitExpr(expression_planner((Expr *) def), NULL);
	}
	MemoryContextSwitchTo(old);
	c->valid = invalidations == seen;
	return c;
}

/*
 * Whether a one-row cmd (CMD_INSERT or CMD_UPDATE) on rel, locked, may be
 * written directly: rel is a plain table (no partition), with no trigger
 * on the event, no row-level security applying to the current user nor
 * forced, no
 * stored generated column, the current user holds the privileges the
 * statement needs, and the transaction may write in parallel-free mode.
 * Raises what the statement would for a table published without replica
 * identity.  False: the caller runs the statement, so that all of that
 * applies.
 */
bool
ep_direct_writable(Relation rel, CmdType cmd)
{
	TriggerDesc *t = rel->trigdesc;
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	bool		insert = cmd == CMD_INSERT;

	Assert(cmd == CMD_INSERT || cmd == CMD_UPDATE);
	if (XactReadOnly || IsInParallelMode() || ExecutorCheckPerms_hook != NULL)
		return false;
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relispartition)
		return false;
	if (t && (insert ?
			  (t->trig_insert_before_row || t->trig_insert_after_row ||
			   t->trig_insert_instead_row || t->trig_insert_before_statement ||
			   t->trig_insert_after_statement || t->trig_insert_new_table) :
			  (t->trig_update_before_row || t->trig_update_after_row ||
			   t->trig_update_instead_row || t->trig_update_before_statement ||
			   t->trig_update_after_statement || t->trig_update_old_table ||
			   t->trig_update_new_table)))
		return false;
	if (desc->constr && desc->constr->has_generated_stored)
		return false;
	/* forced row security too, even where the current user bypasses it */
	if (rel->rd_rel->relforcerowsecurity ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	/* pg_class_aclcheck() grants when any of the modes is held: one each */
	if (pg_class_aclcheck(relid, GetUserId(), insert ? ACL_INSERT : ACL_UPDATE) != ACLCHECK_OK ||
		(!insert && pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK))
		return false;
	CheckCmdReplicaIdentity(rel, cmd);
	return true;
}

/*
 * Start a direct write as SPI starts a statement: advance the command
 * counter, so that the write sees what the call did before, and push the
 * statement's snapshot (a new one in READ COMMITTED, the transaction's
 * otherwise).
 */
void
ep_direct_begin(void)
{
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/* End it: what it wrote is seen by the statements after it */
void
ep_direct_end(void)
{
	PopActiveSnapshot();
	CommandCounterIncrement();
}

/*
 * Open escrow.<table> for a direct cmd (CMD_INSERT, or CMD_UPDATE of rows
 * found by their primary key, one bigint column), taking the lock the
 * statement takes (RowExclusiveLock, kept to the end of the transaction)
 * and opening its indexes.  False, with the lock taken and nothing else
 * open, when the table may not be written directly (ep_direct_writable()),
 * or an update's table has no such key.
 */
bool
ep_direct_open(EpDirect *d, const char *table, CmdType cmd)
{
	Oid			relid = get_relname_relid(table, get_namespace_oid(EP_SCHEMA, false));
	int			i;

	memset(d, 0, sizeof(*d));
	if (!OidIsValid(relid))
		return false;
	d->rel = table_open(relid, RowExclusiveLock);
	if (!ep_direct_writable(d->rel, cmd))
	{
		table_close(d->rel, NoLock);
		return false;
	}
	d->cache = cache_of(d->rel);
	d->estate = CreateExecutorState();
	d->rri = makeNode(ResultRelInfo);
	/* no range table entry: ExecConstraints' messages show the whole row */
	InitResultRelInfo(d->rri, d->rel, 0, NULL, 0);
	ExecOpenIndices(d->rri, false);
	d->rri->ri_ConstraintExprs = d->cache->checks;
	d->row = ExecInitExtraTupleSlot(d->estate, RelationGetDescr(d->rel), &TTSOpsVirtual);
	for (i = 0; i < d->rri->ri_NumIndices; i++)
	{
		Relation	index = d->rri->ri_IndexRelationDescs[i];

		if (RelationGetRelid(index) == d->rel->rd_pkindex &&
			index->rd_rel->relam == BTREE_AM_OID &&
			index->rd_index->indnatts == 1 &&
			index->rd_opcintype[0] == INT8OID)
			d->pkey = index;
	}
	if (cmd == CMD_UPDATE && d->pkey == NULL)
	{
		ep_direct_close(d);
		return false;
	}
	return true;
}

/* Close what ep_direct_open() opened (the lock stays) */
void
ep_direct_close(EpDirect *d)
{
	ExecCloseIndices(d->rri);
	ExecResetTupleTable(d->estate->es_tupleTable, false);
	FreeExecutorState(d->estate);
	table_close(d->rel, NoLock);
}

/*
 * The number of d's column name when its type (a domain's base type) is
 * basetype and, for text, it compares bytewise as the C code does (the
 * database's collation, or C); 0 otherwise: the caller falls back to SQL.
 */
static AttrNumber
column_of(EpDirect *d, const char *name, Oid basetype)
{
	TupleDesc	desc = RelationGetDescr(d->rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0)
			continue;
		if (d->cache->basetype[i] != basetype)
			return 0;
		if (basetype == TEXTOID && att->attcollation != DEFAULT_COLLATION_OID &&
			att->attcollation != C_COLLATION_OID)
			return 0;
		return i + 1;
	}
	return 0;
}

/*
 * The numbers of d's columns names[0..n) into atts[], each of the type
 * (a domain's base type) types[i] and, for text, comparing bytewise as the
 * C code does (the database's collation, or C); false when one is not: the
 * caller falls back to SQL
 */
bool
ep_direct_columns(EpDirect *d, int n, const char *const *names, const Oid *types,
				  AttrNumber *atts)
{
	int			i;

	for (i = 0; i < n; i++)
		if ((atts[i] = column_of(d, names[i], types[i])) == InvalidAttrNumber)
			return false;
	return true;
}

/*
 * The row of d whose primary key is id, as an index scan of the key under
 * the active snapshot finds it (NULL: none); it stays pinned in its slot
 * until ep_direct_close()
 */
TupleTableSlot *
ep_direct_fetch(EpDirect *d, int64 id)
{
	TupleTableSlot *slot = ExecInitExtraTupleSlot(d->estate, RelationGetDescr(d->rel),
												  table_slot_callbacks(d->rel));
	IndexScanDesc scan;
	ScanKeyData key;
	bool		found;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	scan = index_beginscan(d->rel, d->pkey, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found ? slot : NULL;
}

/*
 * Check column i's value (isnull: NULL) against its domain, as the
 * statement's coercion to the column's type does
 */
static void
check_domain(EpDirect *d, int i, Datum value, bool isnull)
{
	if (d->cache->domain[i])
		domain_check(value, isnull, TupleDescAttr(RelationGetDescr(d->rel), i)->atttypid,
					 &d->cache->domain_extra[i], d->cache->cxt);
}

/*
 * Fill slot (virtual, of d's row type) with a row to insert into d as
 * INSERT INTO <table> (<the given columns>) VALUES (...) makes it:
 * values[i]/isnull[i] for column i + 1 where given[i], its default (or
 * NULL) elsewhere, domains checked, then the table's constraints
 * (ExecConstraints).  A default's value lives in d's per-row memory until
 * the row is written.
 */
void
ep_direct_fill(EpDirect *d, TupleTableSlot *slot, const Datum *values, const bool *isnull,
			   const bool *given)
{
	TupleDesc	desc = RelationGetDescr(d->rel);
	ExprContext *econtext = GetPerTupleExprContext(d->estate);
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < desc->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
		if (TupleDescAttr(desc, i)->attisdropped)
			continue;
		if (given[i])
		{
			slot->tts_values[i] = values[i];
			slot->tts_isnull[i] = isnull[i];
		}
		else if (d->cache->defaults[i] != NULL)
		{
			slot->tts_values[i] = ExecEvalExprSwitchContext(d->cache->defaults[i], econtext,
															&slot->tts_isnull[i]);
			continue;			/* a default is coerced to its column's type */
		}
		check_domain(d, i, slot->tts_values[i], slot->tts_isnull[i]);
	}
	ExecStoreVirtualTuple(slot);
	if (desc->constr)
		ExecConstraints(d->rri, slot, d->estate);
}

/*
 * Insert into d a row with values[i] (isnull[i]: NULL) in column atts[i]
 * (ep_direct_columns()), i < n, as INSERT INTO <table> (<those columns>)
 * VALUES (...) does (ep_direct_fill()): the heap, then every index
 * (unique checks included)
 */
void
ep_direct_insert(EpDirect *d, int n, const AttrNumber *atts, const Datum *values,
				 const bool *isnull)
{
	int			natts = RelationGetDescr(d->rel)->natts;
	Datum	   *row = palloc0(sizeof(Datum) * natts);
	bool	   *nulls = palloc0(sizeof(bool) * natts);
	bool	   *given = palloc0(sizeof(bool) * natts);
	int			i;

	for (i = 0; i < n; i++)
	{
		row[atts[i] - 1] = values[i];
		nulls[atts[i] - 1] = isnull[i];
		given[atts[i] - 1] = true;
	}
	ep_direct_fill(d, d->row, row, nulls, given);
	table_tuple_insert(d->rel, d->row, GetCurrentCommandId(true), 0, NULL);
	if (d->rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(d->rri, d->row, d->estate, false, false, NULL, NIL));
	ResetPerTupleExprContext(d->estate);
	pfree(row);
	pfree(nulls);
	pfree(given);
}

/* UPDATE's refusal of a row this command already changed (ExecUpdate) */
static void
self_modified(const TM_FailureData *tmfd, CommandId cid)
{
	if (tmfd->cmax != cid)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
				 errmsg("tuple to be updated was already modified by an operation triggered by the current command"),
				 errhint("Consider using an AFTER trigger instead of a BEFORE trigger to propagate changes to other rows.")));
}

/*
 * UPDATE's refusal, in REPEATABLE READ or SERIALIZABLE, of a row a
 * concurrent transaction changed (what: update or delete) after the
 * snapshot
 */
static void
serialization_failure(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent %s", what)));
}

/*
 * Update row (found by ep_direct_fetch()) as UPDATE <table> SET
 * <columns[0]> = ..., <columns[1]> = ... WHERE <key> = ... AND
 * <qualification> does: set() decides whether the row qualifies and fills
 * in the new values of the n columns.  When a concurrent transaction
 * changed the row after the snapshot: in READ COMMITTED wait for it, lock
 * the row's latest version and decide again on it (EvalPlanQual's
 * recheck; the other rows the decision used stay as the snapshot saw
 * them, as for UPDATE ... FROM), in REPEATABLE READ or SERIALIZABLE raise
 * 40001.  Returns whether it updated the row (false: the row, or its
 * latest version, did not qualify, or was deleted).
 */
bool
ep_direct_update(EpDirect *d, TupleTableSlot *row, int n, const AttrNumber *columns,
				 EpDirectSet set, void *arg)
{
	TupleDesc	desc = RelationGetDescr(d->rel);
	ItemPointerData tid = row->tts_tid;
	CommandId	cid = GetCurrentCommandId(true);
	Snapshot	snapshot = GetActiveSnapshot();
	Datum	   *values = palloc(sizeof(Datum) * n);
	bool	   *isnull = palloc(sizeof(bool) * n);

	for (;;)
	{
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		bool		update_indexes;
		TM_Result	result;
		int			i;

		memset(isnull, false, sizeof(bool) * n);
		if (!set(row, arg, values, isnull))
			return false;
		ExecClearTuple(d->row);
		slot_getallattrs(row);
		memcpy(d->row->tts_values, row->tts_values, sizeof(Datum) * desc->natts);
		memcpy(d->row->tts_isnull, row->tts_isnull, sizeof(bool) * desc->natts);
		for (i = 0; i < n; i++)
		{
			check_domain(d, columns[i] - 1, values[i], isnull[i]);
			d->row->tts_values[columns[i] - 1] = values[i];
			d->row->tts_isnull[columns[i] - 1] = isnull[i];
		}
		ExecStoreVirtualTuple(d->row);
		if (desc->constr)
			ExecConstraints(d->rri, d->row, d->estate);

		result = table_tuple_update(d->rel, &tid, d->row, cid, snapshot, InvalidSnapshot,
									true, &tmfd, &lockmode, &update_indexes);
		switch (result)
		{
			case TM_Ok:
				if (update_indexes && d->rri->ri_NumIndices > 0)
					list_free(ExecInsertIndexTuples(d->rri, d->row, d->estate, true, false,
													NULL, NIL));
				ResetPerTupleExprContext(d->estate);
				return true;
			case TM_SelfModified:
				self_modified(&tmfd, cid);
				return false;
			case TM_Updated:
				if (IsolationUsesXactSnapshot())
					serialization_failure("update");
				/* the latest version, locked, into row; tid follows it */
				result = table_tuple_lock(d->rel, &tid, snapshot, row, cid, lockmode,
										  LockWaitBlock, TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
										  &tmfd);
				if (result == TM_Ok)
					continue;
				if (result == TM_SelfModified)
					self_modified(&tmfd, cid);
				else if (result != TM_Deleted)
					elog(ERROR, "escrowpay: unexpected table_tuple_lock status: %u", result);
				return false;
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					serialization_failure("delete");
				return false;
			default:
				elog(ERROR, "escrowpay: unexpected table_tuple_update status: %u", result);
		}
	}
}

/*
 * The row of d whose primary key is id, locked as SELECT ... FOR UPDATE
 * locks it (ExecLockRows): waiting for a transaction that changes it; in
 * READ COMMITTED then its latest version, in REPEATABLE READ or
 * SERIALIZABLE 40001 if it changed after the snapshot.  NULL when there is
 * none (or it was deleted, or changed by a later command of this
 * transaction, which the statement skips too).
 */
TupleTableSlot *
ep_direct_lock(EpDirect *d, int64 id)
{
	TupleTableSlot *row = ep_direct_fetch(d, id);
	ItemPointerData tid;
	TM_FailureData tmfd;
	TM_Result	result;

	if (row == NULL)
		return NULL;
	tid = row->tts_tid;
	result = table_tuple_lock(d->rel, &tid, GetActiveSnapshot(), row, GetCurrentCommandId(true),
							  LockTupleExclusive, LockWaitBlock,
							  IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
							  &tmfd);
	switch (result)
	{
		case TM_Ok:
			return row;
		case TM_SelfModified:
			return NULL;
		case TM_Updated:
		case TM_Deleted:
			/* ExecLockRows says "update" for both */
			if (IsolationUsesXactSnapshot())
				serialization_failure("update");
			if (result == TM_Deleted)
				return NULL;
			/* FALLTHROUGH */
		default:
			elog(ERROR, "escrowpay: unexpected table_tuple_lock status: %u", result);
	}
	return NULL;
}
