/*-------------------------------------------------------------------------
 *
 * limits.h
 *	  Upper bounds on every value escrowpay accepts or keeps: amounts,
 *	  balances, held amounts, credit limits, the length of text arguments
 *	  and the number of elements of array arguments (docs/reference.md,
 *	  "Limits").  They are chosen so that no sum any function or view
 *	  computes can leave bigint.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_LIMITS_H
#define EP_LIMITS_H

#include "escrowpay.h"
#include "fmgr.h"

/* One amount argument (deposit, hold, deal amount, share, denomination, ...): 10^15 */
#define EP_MAX_AMOUNT		INT64CONST(1000000000000000)

/*
 * |posted| of one balance row of a deposit or credit account (the account
 * row, and each of its balance shards), an account's held amount and its
 * credit limit: 10^16.
 */
#define EP_MAX_BALANCE		INT64CONST(10000000000000000)

/*
 * |posted| of one balance row of a system account (funding, clearing and
 * other system accounts, and each of their shards): 10^17.  With at most
 * 64 shards an account's balance stays within 65 * 10^17 = 6.5 * 10^18.
 */
#define EP_MAX_SYSTEM_BALANCE INT64CONST(100000000000000000)

/* Elements of array arguments */
#define EP_MAX_BATCH		10000	/* hold_batch, capture_batch */
#define EP_MAX_SOURCES		16		/* set_payment_sources */
#define EP_MAX_DENOMINATIONS 64		/* a terminal's denominations, and counts */
#define EP_MAX_TENDERED		10000	/* pieces tendered in one pay_cash */

/* The same bounds as SQL literals, for the guarded statements */
#define EP_MAX_BALANCE_SQL "10000000000000000"
#define EP_MAX_SYSTEM_BALANCE_SQL "100000000000000000"

/*
 * Refuses (22023, before anything else is done) every text argument longer
 * than its limit and every array argument with more elements than its
 * limit, for the calling SQL function (limits looked up by argument name
 * in limits.c).  Returns 0, so that it can initialise the first variable
 * a function declares: EP_CHECK_ARGS must be the first declaration of
 * every SQL-callable function of escrowpay.
 */
extern int	ep_check_args(FunctionCallInfo fcinfo);

#define EP_CHECK_ARGS \
	int			ep_args_checked pg_attribute_unused() = ep_check_args(fcinfo)

/* 22003 unless posted + delta stays within the bound of a balance row */
extern void ep_check_balance(int64 account, bool system, int64 posted, int64 delta);

/* 22003 unless held + amount stays within EP_MAX_BALANCE */
extern void ep_check_held(int64 account, int64 held, int64 amount);

#endif							/* EP_LIMITS_H */
