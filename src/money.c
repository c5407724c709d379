/*-------------------------------------------------------------------------
 *
 * money.c
 *	  Amounts are bigint minor units (cents, yen, fils).  This file checks
 *	  amount and id arguments and does every sum with overflow detection, so
 *	  that a bad value is refused with a specific SQLSTATE before anything
 *	  is written.
 *
 *-------------------------------------------------------------------------
 */
#include "money.h"

#include "common/int.h"
#include "utils/builtins.h"

/* Longest idempotency key accepted, in bytes */
#define EP_MAX_KEY_LEN 200

/*
 * A positive amount argument.  NULL, zero and negative amounts are refused
 * with invalid_parameter_value.
 */
int64
ep_arg_amount(FunctionCallInfo fcinfo, int argno, const char *what)
{
	int64		amount;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NULL", what),
				 errhint("Pass a positive amount in minor units of the currency.")));
	amount = PG_GETARG_INT64(argno);
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be positive", what),
				 errdetail("Got %lld.", (long long) amount),
				 errhint("Amounts are positive integers in minor units of the currency.")));
	ep_check_amount(amount, what);
	return amount;
}

/*
 * An optional amount argument (DEFAULT NULL: all of it): *given says
 * whether there is one; a given amount is checked as ep_arg_amount does.
 */
int64
ep_arg_opt_amount(FunctionCallInfo fcinfo, int argno, const char *what, bool *given)
{
	*given = !PG_ARGISNULL(argno);
	return *given ? ep_arg_amount(fcinfo, argno, what) : 0;
}

/* An amount computed or taken from an array: at most EP_MAX_AMOUNT (22023) */
void
ep_check_amount(int64 amount, const char *what)
{
	if (amount > EP_MAX_AMOUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s exceeds the largest amount escrowpay accepts", what),
				 errdetail("Got %lld; the limit is %lld minor units.", (long long) amount,
						   (long long) EP_MAX_AMOUNT)));
}

/* Refuse (22023) a NULL argument argno, named what */
void
ep_arg_required(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NULL", what)));
}

/* A positive integer argument, such as a batch size (22023) */
int32
ep_arg_positive(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno) || PG_GETARG_INT32(argno) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a positive integer", what)));
	return PG_GETARG_INT32(argno);
}

/* A non-NULL id argument (account, hold, transfer) */
int64
ep_arg_id(FunctionCallInfo fcinfo, int argno, const char *what)
{
	ep_arg_required(fcinfo, argno, what);
	return PG_GETARG_INT64(argno);
}

/*
 * An optional idempotency key: NULL means none; otherwise 1 to
 * EP_MAX_KEY_LEN bytes.
 */
char *
ep_arg_key(FunctionCallInfo fcinfo, int argno)
{
	char	   *key;
	size_t		len;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	key = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(key);
	if (len == 0 || len > EP_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency key must be 1 to %d bytes long", EP_MAX_KEY_LEN),
				 errdetail("Got a key of %zu bytes.", len)));
	return key;
}

/*
 * a op b for op '+', '-' or '*' (ep_add, ep_sub, ep_mul), refusing with
 * numeric_value_out_of_range on overflow; what names the figure
 */
int64
ep_checked(int64 a, char op, int64 b, const char *what)
{
	int64		r;
	bool		overflow;

	if (op == '+')
		overflow = pg_add_s64_overflow(a, b, &r);
	else if (op == '-')
		overflow = pg_sub_s64_overflow(a, b, &r);
	else
		overflow = pg_mul_s64_overflow(a, b, &r);
	if (overflow)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s would overflow bigint", what),
				 errdetail("%lld %c %lld is out of range.", (long long) a, op, (long long) b)));
	return r;
}
