/*-------------------------------------------------------------------------
 *
 * account.h
 *	  The account API (open_account, deposit, withdraw, transfer, credit
 *	  lines) and who may use its administrative side.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_ACCOUNT_H
#define EP_ACCOUNT_H

#include "escrowpay.h"
#include "fmgr.h"

extern bool ep_caller_is_admin(void);

extern Datum escrow_open_account(PG_FUNCTION_ARGS);
extern Datum escrow_deposit(PG_FUNCTION_ARGS);
extern Datum escrow_withdraw(PG_FUNCTION_ARGS);
extern Datum escrow_transfer(PG_FUNCTION_ARGS);
extern Datum escrow_set_credit_limit(PG_FUNCTION_ARGS);
extern Datum escrow_set_account_shards(PG_FUNCTION_ARGS);

#endif							/* EP_ACCOUNT_H */
