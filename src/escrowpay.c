/*-------------------------------------------------------------------------
 *
 * escrowpay.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init, which defines the
 *	  escrowpay.* settings, reserves the prefix so that misspelt settings
 *	  are reported, and registers the maintenance worker when the library
 *	  is in shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#include "escrowpay.h"

#include "codes.h"
#include "fmgr.h"
#include "maintenance.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Settings.  GUC variables are process-global by nature; these are read by
 * codes.c and maintenance.c.
 */
char	   *ep_hmac_key = NULL;
int			ep_max_code_attempts = 5;
int			ep_code_ttl = 900;
int			ep_maintenance_interval = 0;
char	   *ep_maintenance_database = NULL;

void
_PG_init(void)
{
	DefineCustomStringVariable("escrowpay.hmac_key",
							   "Key of the HMAC-SHA256 under which identity codes are stored.",
							   "Superuser-only; at least 16 characters.",
							   &ep_hmac_key, NULL, PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.max_code_attempts",
							"Wrong identity codes allowed before a deal's code locks.",
							NULL, &ep_max_code_attempts, 5, 1, 100, PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.code_ttl",
							"Seconds an identity code stays valid.",
							NULL, &ep_code_ttl, 900, 10, 7 * 24 * 3600, PGC_SUSET,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.maintenance_interval",
							"Seconds between run_maintenance() calls by the background worker (0: off).",
							"Only used when escrowpay is in shared_preload_libraries.",
							&ep_maintenance_interval, 0, 0, 86400, PGC_SIGHUP,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("escrowpay.maintenance_database",
							   "Database in which the background worker runs run_maintenance().",
							   "The worker reconnects when it changes.",
							   &ep_maintenance_database, "postgres", PGC_SIGHUP,
							   0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("escrowpay");

	if (process_shared_preload_libraries_in_progress)
		ep_register_maintenance_worker();
}
