/*-------------------------------------------------------------------------
 *
 * escrowpay.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init, which reserves the
 *	  "escrowpay." GUC prefix so that misspelt settings are reported.
 *
 *-------------------------------------------------------------------------
 */
#include "escrowpay.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	MarkGUCPrefixReserved("escrowpay");
}
