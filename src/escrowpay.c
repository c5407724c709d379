/*-------------------------------------------------------------------------
 *
 * escrowpay.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init, which defines the
 *	  escrowpay.* settings, reserves the prefix so that misspelt settings
 *	  are reported (and settings that no longer exist, such as the former
 *	  escrowpay.hmac_key, are discarded with a warning), and, when the
 *	  library is in shared_preload_libraries, sets up the shared memory
 *	  that counts attempts at identity codes and registers the maintenance
 *	  worker.  It also installs the hook that adds escrowpay's hint to
 *	  PostgreSQL's refusal of a role without escrowpay's roles (hints.c).
 *
 *-------------------------------------------------------------------------
 */
#include "escrowpay.h"

#include "attempts.h"
#include "signing.h"
#include "codes.h"
#include "fmgr.h"
#include "hints.h"
#include "maintenance.h"
#include "miscadmin.h"
#include "retention.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Settings.  GUC variables are process-global by nature; these are read by
 * codes.c, attempts.c, signing.c and maintenance.c.
 */
char	   *ep_hmac_key_file = NULL;
int			ep_max_code_attempts = 5;
int			ep_code_attempt_slots = 50000;
int			ep_code_ttl = 900;
int			ep_maintenance_interval = 0;
char	   *ep_maintenance_database = NULL;
char	   *ep_checkpoint_key_file = NULL;

void
_PG_init(void)
{
	DefineCustomStringVariable("escrowpay.hmac_key_file",
							   "File of the keys of the HMAC-SHA256 under which identity codes are stored.",
							   "Lines \"<key id> <secret>\"; the first key signs new codes. "
							   "The file must not be accessible to group or others.",
							   &ep_hmac_key_file, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("escrowpay.checkpoint_key_file",
							   "File of the Ed25519 private key (PEM) that signs checkpoints of the journal.",
							   "The file must not be accessible to group or others.",
							   &ep_checkpoint_key_file, "", PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.max_code_attempts",
							"Wrong identity codes allowed before a deal's code locks.",
							NULL, &ep_max_code_attempts, 5, 1, 100, PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.code_ttl",
							"Seconds an identity code stays valid.",
							NULL, &ep_code_ttl, 900, 10, 7 * 24 * 3600, PGC_SUSET,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("escrowpay.maintenance_interval",
							"Seconds between the background worker's rounds of periodic work (0: off).",
							"Only used when escrowpay is in shared_preload_libraries.",
							&ep_maintenance_interval, 0, 0, 86400, PGC_SIGHUP,
							GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomStringVariable("escrowpay.maintenance_database",
							   "Database in which the background worker does the periodic work.",
							   "The worker reconnects when it changes.",
							   &ep_maintenance_database, "postgres", PGC_SIGHUP,
							   0, NULL, NULL, NULL);
	ep_maintenance_define_gucs();
	ep_retention_define_gucs();
	/* a PGC_POSTMASTER setting can only be defined while preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("escrowpay.code_attempt_slots",
								"Deals whose attempts at identity codes shared memory can count at once.",
								"Sizes shared memory at server start.",
								&ep_code_attempt_slots, 50000, 100, 10000000, PGC_POSTMASTER,
								0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("escrowpay");
	ep_hints_init();

	if (process_shared_preload_libraries_in_progress)
	{
		ep_attempts_init();
		ep_register_maintenance_worker();
	}
}
