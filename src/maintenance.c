/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *	  A background worker, started when escrowpay is in
 *	  shared_preload_libraries, that runs all of escrowpay's periodic work
 *	  in escrowpay.maintenance_database: every
 *	  escrowpay.maintenance_interval seconds it runs each task of the table
 *	  below that is due.  With the interval at 0 it only sleeps (without a
 *	  database connection until it is first turned on); pg_cron calling
 *	  the same functions is the alternative.
 *
 * Each task is one line of `tasks`: a name, one SQL statement that takes
 * the batch size as $1 and returns one row whose first column counts what
 * it did, the defaults of its two settings and their description.  Every
 * task gets the settings escrowpay.<name>_interval (seconds between runs;
 * 0: every round, -1: never) and escrowpay.<name>_batch ($1), defined by
 * ep_maintenance_define_gucs() from this table.  A task that did a full
 * batch runs again at once (more is due); the others wait for their next
 * regular round, so that a busy task does not make the rest run back to
 * back.
 *
 * A redoable task (the fold) only moves what is already committed into
 * another form, deterministically, and a crash that loses a run loses
 * nothing its next run does not redo.  Its transactions therefore commit
 * without waiting for their WAL to reach the disk (synchronous_commit off:
 * any later durable commit flushes them first, WAL being written in
 * order, so nothing durable ever depends on a lost run), so that a run
 * releases the account rows it locked at once, and queues for no flush
 * beside the postings.  And it plans its statements with index scans only
 * (enable_seqscan off): escrow.unfolded is a queue, nearly empty whenever
 * it is analyzed, so a plan made from its statistics reads it whole for
 * every account it looks for once legs accumulate.  Without JIT: the one
 * scan of the queue no index serves (the fold's search for the oldest
 * applied legs, journal.c) costs, with enable_seqscan off, far above
 * jit_above_cost, and compiling it took a second per statement.
 *
 * Each task runs in a transaction of its own: one that fails is rolled
 * back, logged as a WARNING and recorded, and the other tasks go on.  The
 * outcome of every run is kept in escrow.maintenance_runs (last start,
 * end and success, rows handled, last error, counts) in the task's own
 * transaction, or, after a failure, in a transaction of its own: what
 * escrow.metrics reports as the worker's lag.
 *
 *-------------------------------------------------------------------------
 */
#include "maintenance.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

typedef struct MaintenanceTask
{
	const char *name;			/* also names its settings */
	const char *sql;			/* $1: the batch; first column: rows handled */
	int			interval;		/* default, then the setting's value (s) */
	int			batch;			/* default, then the setting's value */
	const char *description;
	bool		redoable;		/* see below */
	TimestampTz next_run;		/* 0: due at the next round */
} MaintenanceTask;

/*
 * The periodic work, in the order of a round.  Add a task with one line.
 */
static MaintenanceTask tasks[] = {
	{"deal_deadlines", "SELECT sum(deals) FILTER (WHERE action <> 'failed') FROM escrow.run_maintenance($1)",
	0, 100, "deal deadlines (escrow.run_maintenance)", false},
	{"expire_holds", "SELECT escrow.expire_holds($1)",
	0, 1000, "sweeping expired holds (escrow.expire_holds)", false},
	{"retention", "SELECT sum(deleted) FROM escrow.apply_retention($1)",
	3600, 10000, "retention of idempotency keys and deal events (escrow.apply_retention)", false},
	{"fold", "SELECT escrow.fold_journal($1)",
	0, 50, "folding the journal legs waiting in escrow.unfolded into the entries and balances of up to this many accounts (escrow.fold_journal)", true},
	/* nothing without a key; else the transfers sealed ($1 only gates) */
	{"checkpoint", "WITH c AS (SELECT escrow.checkpoint() AS seq WHERE $1 > 0 AND "
		"           pg_catalog.current_setting('escrowpay.checkpoint_key_file') <> '') "
		"SELECT coalesce((SELECT n.tree_size - coalesce(p.tree_size, 0) FROM c "
		"                   JOIN escrow.checkpoints n ON n.seq = c.seq "
		"                   LEFT JOIN escrow.checkpoints p ON p.seq = c.seq - 1), 0)",
	60, 1000000, "signed checkpoints of the journal (escrow.checkpoint)", false},
};

#define TASK_COUNT lengthof(tasks)

/*
 * Define escrowpay.<task>_interval and escrowpay.<task>_batch for every
 * task (called by _PG_init in every process, so SHOW works everywhere).
 */
void
ep_maintenance_define_gucs(void)
{
	int			i;

	for (i = 0; i < TASK_COUNT; i++)
	{
		MaintenanceTask *t = &tasks[i];
		char		name[NAMEDATALEN * 2];

		snprintf(name, sizeof(name), "escrowpay.%s_interval", t->name);
		DefineCustomIntVariable(name,
								"Seconds between runs of a background worker task (0: every round, -1: never).",
								t->description, &t->interval, t->interval, -1, 7 * 86400,
								PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
		snprintf(name, sizeof(name), "escrowpay.%s_batch", t->name);
		DefineCustomIntVariable(name,
								"Most rows a background worker task handles per run.",
								t->description, &t->batch, t->batch, 1, 1000000,
								PGC_SIGHUP, 0, NULL, NULL, NULL);
	}
}

void
ep_register_maintenance_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "escrowpay");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "escrowpay_maintenance_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "escrowpay maintenance");
	snprintf(worker.bgw_type, BGW_MAXLEN, "escrowpay maintenance");
	RegisterBackgroundWorker(&worker);
}

/*
 * Start a transaction with SPI and a snapshot, reporting what runs; for a
 * redoable task with the settings above, for this transaction only
 */
static void
begin_work(const char *activity, bool redoable)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/* the tasks skip locked rows: READ COMMITTED whatever the default */
	XactIsoLevel = XACT_READ_COMMITTED;
	if (redoable)
	{
		(void) set_config_option("synchronous_commit", "off", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		(void) set_config_option("enable_seqscan", "off", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		(void) set_config_option("jit", "off", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	}
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

static void
end_work(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Whether this database has the extension, and a schema that records runs
 * (a database still at 0.1.0, before ALTER EXTENSION UPDATE, has not).
 */
static bool
extension_ready(bool *records)
{
	bool		installed;

	begin_work("escrowpay maintenance: checking the extension", false);
	installed = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'escrowpay'",
							true, 1) == SPI_OK_SELECT && SPI_processed == 1;
	*records = SPI_execute("SELECT 1 WHERE pg_catalog.to_regclass('escrow.maintenance_runs') IS NOT NULL",
						   true, 1) == SPI_OK_SELECT && SPI_processed == 1;
	end_work();
	return installed;
}

/* Record a run of task in escrow.maintenance_runs (error NULL: success) */
static void
record_run(const MaintenanceTask *t, TimestampTz started, int64 processed, const char *error)
{
	Oid			types[4] = {TEXTOID, TIMESTAMPTZOID, INT8OID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', error ? 'n' : ' ', error ? ' ' : 'n'};
	int			rc;

	values[0] = CStringGetTextDatum(t->name);
	values[1] = TimestampTzGetDatum(started);
	values[2] = Int64GetDatum(processed);
	values[3] = error ? CStringGetTextDatum(error) : (Datum) 0;
	rc = SPI_execute_with_args(
		"INSERT INTO escrow.maintenance_runs AS r "
		"  (task, last_start, last_end, last_success, last_processed, last_error, runs, failures) "
		"VALUES ($1, $2, pg_catalog.clock_timestamp(), "
		"        CASE WHEN $4 IS NULL THEN pg_catalog.clock_timestamp() END, $3, $4, 1, "
		"        CASE WHEN $4 IS NULL THEN 0 ELSE 1 END) "
		"ON CONFLICT (task) DO UPDATE SET "
		"  last_start = EXCLUDED.last_start, last_end = EXCLUDED.last_end, "
		"  last_success = coalesce(EXCLUDED.last_success, r.last_success), "
		"  last_processed = coalesce(EXCLUDED.last_processed, r.last_processed), "
		"  last_error = EXCLUDED.last_error, runs = r.runs + 1, "
		"  failures = r.failures + EXCLUDED.failures",
		4, types, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "escrowpay maintenance: recording a run failed: %s",
			 SPI_result_code_string(rc));
}

/*
 * Run one task in a transaction of its own; returns the rows it handled,
 * or -1 when it failed (rolled back, logged and recorded).
 */
static int64
run_task(MaintenanceTask *t, bool records)
{
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz started = GetCurrentTimestamp();
	volatile int64 processed = 0;
	ErrorData  *volatile edata = NULL;

	PG_TRY();
	{
		Oid			types[1] = {INT4OID};
		Datum		values[1] = {Int32GetDatum(t->batch)};
		char	   *count;

		begin_work(t->sql, t->redoable);
		if (SPI_execute_with_args(t->sql, 1, types, values, NULL, false, 0) != SPI_OK_SELECT
			|| SPI_processed != 1)
			elog(ERROR, "returned no row");
		count = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		processed = count ? strtoll(count, NULL, 10) : 0;
		if (records)
			record_run(t, started, processed, NULL);
		end_work();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	if (edata == NULL)
		return processed;

	ereport(WARNING,
			(errmsg("escrowpay maintenance task %s failed: %s", t->name, edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 errhint("The other tasks go on; this one is retried at its next run.")));
	if (records)
	{
		PG_TRY();
		{
			begin_work("escrowpay maintenance: recording a failure", false);
			record_run(t, started, 0, edata->message);
			end_work();
		}
		PG_CATCH();
		{
			/* nothing more to do than log it: the next run records again */
			MemoryContextSwitchTo(cxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
		}
		PG_END_TRY();
	}
	pgstat_report_activity(STATE_IDLE, NULL);
	FreeErrorData(edata);
	return -1;
}

/*
 * One round: every task that is due.  Returns true when a task did a full
 * batch, so that more is due at once.
 */
static bool
maintenance_round(void)
{
	bool		records;
	bool		more = false;
	int			i;

	if (!extension_ready(&records))
		return false;
	for (i = 0; i < TASK_COUNT; i++)
	{
		MaintenanceTask *t = &tasks[i];
		TimestampTz now = GetCurrentTimestamp();
		int64		processed;

		if (t->interval < 0 || now < t->next_run)
			continue;
		CHECK_FOR_INTERRUPTS();
		processed = run_task(t, records);
		/*
		 * Every round at most (interval 0: the next regular round, not a
		 * round that runs at once because another task had more to do).
		 */
		t->next_run = TimestampTzPlusMilliseconds(now, (t->interval > 0 ? t->interval :
														ep_maintenance_interval) * 1000L);
		if (processed >= t->batch)
		{
			t->next_run = 0;
			more = true;
		}
	}
	return more;
}

void
escrowpay_maintenance_main(Datum arg)
{
	bool		more = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/*
	 * Off (interval 0, the default): wait without connecting until a reload
	 * turns it on.  escrowpay is preloaded on every server that issues
	 * identity codes, and a connection would keep the database busy for
	 * CREATE DATABASE ... TEMPLATE and DROP DATABASE.
	 */
	while (ep_maintenance_interval <= 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
	BackgroundWorkerInitializeConnection(ep_maintenance_database, NULL, 0);

	for (;;)
	{
		long		timeout = more ? 0L :
			(ep_maintenance_interval > 0 ? ep_maintenance_interval : 60) * 1000L;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			char	   *database = pstrdup(ep_maintenance_database);
			int			i;

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* another database: exit, the postmaster restarts us there */
			if (strcmp(database, ep_maintenance_database) != 0)
				proc_exit(1);
			pfree(database);
			/* intervals may have changed: every task is due again */
			for (i = 0; i < TASK_COUNT; i++)
				tasks[i].next_run = 0;
		}
		more = ep_maintenance_interval > 0 && maintenance_round();
	}
}
