/*-------------------------------------------------------------------------
 *
 * maintenance.c
 *	  A background worker, started when escrowpay is in
 *	  shared_preload_libraries, that calls escrow.run_maintenance() every
 *	  escrowpay.maintenance_interval seconds in
 *	  escrowpay.maintenance_database (expiry of unshipped deals, auto-accept
 *	  after the inspection window, completion after cooling-off).  With the
 *	  interval at 0 it only sleeps (without a database connection until it
 *	  is first turned on); pg_cron calling run_maintenance() is the
 *	  alternative.
 *
 *-------------------------------------------------------------------------
 */
#include "maintenance.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

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

/* One round: run_maintenance() if the extension is installed */
static void
maintenance_round(void)
{
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "escrow.run_maintenance()");

	rc = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'escrowpay'",
					 true, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		rc = SPI_execute("SELECT sum(deals) FROM escrow.run_maintenance(100)", false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "escrowpay maintenance: run_maintenance() failed: %s",
				 SPI_result_code_string(rc));
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

void
escrowpay_maintenance_main(Datum arg)
{
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
		long		timeout = (ep_maintenance_interval > 0 ? ep_maintenance_interval : 60) * 1000L;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			char	   *database = pstrdup(ep_maintenance_database);

			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			/* another database: exit, the postmaster restarts us there */
			if (strcmp(database, ep_maintenance_database) != 0)
				proc_exit(1);
		}
		if (ep_maintenance_interval > 0)
			maintenance_round();
	}
}
