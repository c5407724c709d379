/*-------------------------------------------------------------------------
 *
 * maintenance.h
 *	  The optional background worker that runs escrowpay's periodic work
 *	  (deal deadlines, hold expiry, retention, ...), one task per line of
 *	  the table in maintenance.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_MAINTENANCE_H
#define EP_MAINTENANCE_H

#include "escrowpay.h"

extern int	ep_maintenance_interval;
extern char *ep_maintenance_database;

extern void ep_maintenance_define_gucs(void);
extern void ep_register_maintenance_worker(void);
extern PGDLLEXPORT void escrowpay_maintenance_main(Datum arg);

#endif							/* EP_MAINTENANCE_H */
