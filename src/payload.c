/*-------------------------------------------------------------------------
 *
 * payload.c
 *	  The bottom of the deal side: reading SQL arguments, building the JSON
 *	  payloads of deal events and fee arithmetic.  Everything above (the settlement models, the
 *	  lifecycle steps) calls down into this file; it calls nothing of theirs.
 *
 *-------------------------------------------------------------------------
 */
#include "payload.h"

#include "hold.h"
#include "money.h"
#include "utils/builtins.h"
#include "utils/json.h"

/*
 * A required text argument (22023 when NULL or empty; EP_CHECK_ARGS has
 * refused it already when longer than its limit)
 */
char *
ep_arg_text(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *s;

	ep_arg_required(fcinfo, argno, what);
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what),
				 errhint("See escrow.limits() for the longest value it takes.")));
	return s;
}

/* An optional text argument: NULL stays NULL */
char *
ep_arg_opt_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A positive interval argument, or its default when NULL is not allowed */
Interval *
ep_arg_interval(FunctionCallInfo fcinfo, int argno, const char *what)
{
	Interval   *i;

	ep_arg_required(fcinfo, argno, what);
	i = PG_GETARG_INTERVAL_P(argno);
	(void) ep_now_plus(i, what);	/* refuses a non-positive interval */
	return i;
}

/* Append "key": value pairs to a JSON object under construction */
void
ep_json_int(StringInfo s, const char *key, int64 v)
{
	appendStringInfo(s, "%s\"%s\": %lld", s->len > 1 ? ", " : "", key, (long long) v);
}

void
ep_json_str(StringInfo s, const char *key, const char *v)
{
	if (v == NULL)
		return;
	appendStringInfo(s, "%s\"%s\": ", s->len > 1 ? ", " : "", key);
	escape_json(s, v);
}

void
ep_json_begin(StringInfo s)
{
	initStringInfo(s);
	appendStringInfoChar(s, '{');
}

char *
ep_json_end(StringInfo s)
{
	appendStringInfoChar(s, '}');
	return s->data;
}

/* floor(amount * bps / 10000) without overflow */
int64
ep_fee_of(int64 amount, int32 bps)
{
	return (amount / 10000) * bps + (amount % 10000) * bps / 10000;
}
