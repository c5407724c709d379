/*-------------------------------------------------------------------------
 *
 * attempts.c
 *	  Attempts at identity codes, counted in shared memory, where no
 *	  rollback of the caller's transaction can undo them.
 *
 * escrow.confirm_identity() counts an attempt here before it compares the
 * code, so a caller that rolls back its transaction or a savepoint after a
 * wrong guess has still spent the attempt.  The count of a deal is the
 * larger of this one and the deal's code_attempts column (written in the
 * caller's transaction, so it keeps committed attempts across restarts).
 *
 * The table is a fixed-size shared hash keyed by (database, deal id),
 * escrowpay.code_attempt_slots entries, under one LWLock.  An entry also
 * holds the deal's created_at, which tells a deal from a later one given
 * the same id (after DROP and CREATE EXTENSION), and the expiry of the
 * latest code it counted attempts against.  When the table is full, the
 * entries whose code has expired are dropped (their attempts can no longer
 * be spent on that code; issue_identity_code carries a deal's count into
 * code_attempts when it issues the next one); if none has, the attempt is
 * refused (53400) rather than counted nowhere.
 *
 * Shared memory is lost when the server stops or restarts after a crash,
 * and a standby's is not the primary's: counting starts with the first
 * identity-code call a server answers (ep_attempts_require), which on a
 * promoted standby comes after the promotion (a standby cannot issue or
 * confirm a code), and codes issued before that (ep_attempts_epoch) are
 * void.  So neither a restart nor a failover hands out fresh guesses.
 * Only a library in shared_preload_libraries can have the table; without
 * it, identity codes are refused (ep_attempts_require).
 *
 *-------------------------------------------------------------------------
 */
#include "attempts.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

typedef struct EpAttemptKey
{
	int64		deal;
	Oid			database;
} EpAttemptKey;

typedef struct EpAttemptEntry
{
	EpAttemptKey key;
	TimestampTz deal_created;	/* the deal's created_at */
	TimestampTz code_expires;	/* the entry matters until then */
	int32		count;			/* attempts counted */
} EpAttemptEntry;

typedef struct EpAttemptState
{
	LWLock	   *lock;
	TimestampTz epoch;			/* when counting started: the first call
								 * after start-up; 0 until then */
} EpAttemptState;

/* set in the postmaster by the startup hook, inherited by every backend */
static EpAttemptState *ep_state = NULL;
static HTAB *ep_table = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
ep_attempts_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(add_size(MAXALIGN(sizeof(EpAttemptState)),
									hash_estimate_size(ep_code_attempt_slots,
													   sizeof(EpAttemptEntry))));
	RequestNamedLWLockTranche("escrowpay", 1);
}

static void
ep_attempts_shmem_startup(void)
{
	HASHCTL		info;
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ep_state = ShmemInitStruct("escrowpay code attempts state",
							   sizeof(EpAttemptState), &found);
	if (!found)
	{
		ep_state->lock = &(GetNamedLWLockTranche("escrowpay"))->lock;
		ep_state->epoch = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(EpAttemptKey);
	info.entrysize = sizeof(EpAttemptEntry);
	ep_table = ShmemInitHash("escrowpay code attempts",
							 ep_code_attempt_slots, ep_code_attempt_slots,
							 &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);
}

/* Install the hooks; called by _PG_init while preloading */
void
ep_attempts_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ep_attempts_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ep_attempts_shmem_startup;
}

/*
 * Refuse (55000) unless the table exists: the library was preloaded.  The
 * first call since the server started starts the epoch; a standby refuses
 * (25006), so on a promoted standby the epoch starts after the promotion.
 */
void
ep_attempts_require(void)
{
	if (ep_state == NULL || ep_table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("identity codes need escrowpay in shared_preload_libraries"),
				 errdetail("Attempts at identity codes are counted in shared memory, "
						   "which only a preloaded library can set up."),
				 errhint("Add escrowpay to shared_preload_libraries in postgresql.conf "
						 "and restart the server.")));
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("identity codes cannot be issued or confirmed on a standby"),
				 errdetail("The server is in recovery; attempts are counted on the primary."),
				 errhint("Call the primary.")));
	if (ep_state->epoch == 0)
	{
		LWLockAcquire(ep_state->lock, LW_EXCLUSIVE);
		if (ep_state->epoch == 0)
			ep_state->epoch = GetCurrentTimestamp();
		LWLockRelease(ep_state->lock);
	}
}

/* When counting started (see ep_attempts_require): codes issued before are void */
TimestampTz
ep_attempts_epoch(void)
{
	ep_attempts_require();
	return ep_state->epoch;
}

static void
make_key(EpAttemptKey *key, int64 deal)
{
	memset(key, 0, sizeof(*key));	/* HASH_BLOBS hashes the padding too */
	key->deal = deal;
	key->database = MyDatabaseId;
}

/*
 * Take the table's lock in mode and find the entry of a deal, or NULL; an
 * entry of an earlier deal with this id is no entry of it (and is dropped
 * under the exclusive lock).  *key is the deal's key.
 */
static EpAttemptEntry *
lock_entry(EpAttemptKey *key, int64 deal, TimestampTz created, LWLockMode mode)
{
	EpAttemptEntry *e;

	ep_attempts_require();
	make_key(key, deal);
	LWLockAcquire(ep_state->lock, mode);
	e = hash_search(ep_table, key, HASH_FIND, NULL);
	if (e != NULL && e->deal_created != created)
	{
		if (mode == LW_EXCLUSIVE)
			hash_search(ep_table, key, HASH_REMOVE, NULL);
		e = NULL;
	}
	return e;
}

/* Drop the entries whose code has expired; the caller holds the lock */
static void
drop_expired(void)
{
	HASH_SEQ_STATUS seq;
	EpAttemptEntry *e;
	TimestampTz now = GetCurrentTimestamp();

	hash_seq_init(&seq, ep_table);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->code_expires < now)
			hash_search(ep_table, &e->key, HASH_REMOVE, NULL);
}

/*
 * Count one attempt at the code of a deal, before it is compared.
 * floor is the deal's code_attempts.  Returns false, counting nothing, when
 * max(count, floor) has reached limit; otherwise counts the attempt and
 * returns true.  *count is max(count, floor) before the attempt.
 */
bool
ep_attempt_take(int64 deal, TimestampTz created, TimestampTz expires,
				int floor, int limit, int *count)
{
	EpAttemptKey key;
	EpAttemptEntry *e;
	bool		found;

	e = lock_entry(&key, deal, created, LW_EXCLUSIVE);
	*count = Max(e ? e->count : 0, floor);
	if (*count >= limit)
	{
		LWLockRelease(ep_state->lock);
		return false;
	}
	if (e == NULL)
	{
		if (hash_get_num_entries(ep_table) >= ep_code_attempt_slots)
			drop_expired();
		if (hash_get_num_entries(ep_table) < ep_code_attempt_slots)
			e = hash_search(ep_table, &key, HASH_ENTER_NULL, &found);
		if (e == NULL)
		{
			LWLockRelease(ep_state->lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("no room to count attempts at identity codes"),
					 errdetail("All %d entries of escrowpay.code_attempt_slots hold deals "
							   "whose code has not expired.", ep_code_attempt_slots),
					 errhint("Try again when codes have expired, or raise "
							 "escrowpay.code_attempt_slots and restart the server.")));
		}
		e->deal_created = created;
		e->code_expires = expires;
		e->count = 0;
	}
	e->count = *count + 1;
	e->code_expires = Max(e->code_expires, expires);
	LWLockRelease(ep_state->lock);
	return true;
}

/*
 * The attempt counted by ep_attempt_take() was the right code: it is no
 * wrong attempt, so the count goes back to count (dropping the entry when
 * floor, the deal's code_attempts, holds as much).
 */
void
ep_attempt_right(int64 deal, TimestampTz created, int count, int floor)
{
	EpAttemptKey key;
	EpAttemptEntry *e;

	e = lock_entry(&key, deal, created, LW_EXCLUSIVE);
	if (e != NULL)
	{
		if (count <= floor)
			hash_search(ep_table, &key, HASH_REMOVE, NULL);
		else
			e->count = count;
	}
	LWLockRelease(ep_state->lock);
}

/* Attempts counted for a deal (0 without an entry) */
int
ep_attempt_count(int64 deal, TimestampTz created)
{
	EpAttemptKey key;
	EpAttemptEntry *e;
	int			count;

	e = lock_entry(&key, deal, created, LW_SHARED);
	count = e != NULL ? e->count : 0;
	LWLockRelease(ep_state->lock);
	return count;
}
