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

/* |balance| of a deposit or credit account, its held amount and credit limit: 10^16 */
#define EP_MAX_BALANCE		INT64CONST(10000000000000000)

/* |balance| of a system account (funding, clearing and other system accounts): 10^17 */
#define EP_MAX_SYSTEM_BALANCE INT64CONST(100000000000000000)

/*
 * A leg that touches no account row when posted (a credit, a system
 * account's debit: ledger.c) is checked against the bound only through the
 * folded balance: it posts that way only when it is at most 10^12 and the
 * folded balance is within half the bound; otherwise it is posted under the
 * account's lock after folding, against the exact balance.  The legs
 * waiting between two folds would have to add up to half the bound
 * (5 * 10^15: five thousand of the largest such legs, on one account) to
 * carry a balance past it.
 */
#define EP_UNCHECKED_MAX	INT64CONST(1000000000000)
#define EP_UNCHECKED_MAX_SQL "1000000000000"

/* Elements of array arguments */
#define EP_MAX_BATCH		10000	/* hold_batch, capture_batch */
#define EP_MAX_SOURCES		16		/* set_payment_sources */
#define EP_MAX_DENOMINATIONS 64		/* a terminal's denominations, and counts */
#define EP_MAX_TENDERED		10000	/* pieces tendered in one pay_cash */

/* The same bounds as SQL literals, for the one-statement postings */
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
