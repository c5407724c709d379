/*-------------------------------------------------------------------------
 *
 * money.h
 *	  Amounts in minor units: argument checks and overflow-checked sums.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_MONEY_H
#define EP_MONEY_H

#include "escrowpay.h"
#include "fmgr.h"
#include "limits.h"

extern int64 ep_arg_amount(FunctionCallInfo fcinfo, int argno, const char *what);
extern int64 ep_arg_opt_amount(FunctionCallInfo fcinfo, int argno, const char *what,
								bool *given);
extern void ep_check_amount(int64 amount, const char *what);
extern void ep_arg_required(FunctionCallInfo fcinfo, int argno, const char *what);
extern int32 ep_arg_positive(FunctionCallInfo fcinfo, int argno, const char *what);
extern int64 ep_arg_id(FunctionCallInfo fcinfo, int argno, const char *what);
extern char *ep_arg_key(FunctionCallInfo fcinfo, int argno);
extern int64 ep_checked(int64 a, char op, int64 b, const char *what);

/* a + b, a - b, a * b: 22003 on overflow, naming what */
#define ep_add(a, b, what) ep_checked((a), '+', (b), (what))
#define ep_sub(a, b, what) ep_checked((a), '-', (b), (what))
#define ep_mul(a, b, what) ep_checked((a), '*', (b), (what))

#endif							/* EP_MONEY_H */
