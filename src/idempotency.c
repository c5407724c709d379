/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Idempotency keys: the same key with the same request returns the
 *	  first result and changes nothing; the same key with another request
 *	  is refused with EP005.
 *
 * A call claims its key before it moves money, by inserting the key with a
 * canonical text of the request (operation and arguments).  The insert
 * waits for a concurrent transaction holding the same key, so exactly one
 * of two racing calls does the work; if the first one rolls back, the key
 * is free again.  Keys live in escrow.idempotency_keys in the same
 * transaction as the money they guard.
 *
 *-------------------------------------------------------------------------
 */
#include "idempotency.h"

#include "hold.h"
#include "lib/stringinfo.h"
#include "plan.h"
#include "utils/builtins.h"

/*
 * Insert key for request; when it exists already, check the request is the
 * same (EP005 otherwise) and leave its row (request, result, results) in
 * SPI_tuptable.  Returns true when the key was used before.
 */
static bool
claim_key(const char *key, const char *request, bool has_result, int64 result)
{
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.idempotency_keys (key, request, result) "
		"VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING", TEXTOID, TEXTOID, INT8OID);
	static EpPlan lookup = EP_PLAN("SELECT request, result, results FROM escrow.idempotency_keys WHERE key = $1",
		TEXTOID);
	Datum		values[3];
	char		nulls[3] = {' ', ' ', has_result ? ' ' : 'n'};
	char	   *first;

	values[0] = CStringGetTextDatum(key);
	values[1] = CStringGetTextDatum(request);
	values[2] = Int64GetDatum(result);
	if (ep_exec(&insert, values, nulls, 0) == 1)
		return false;

	if (ep_exec(&lookup, values, nulls, 1) != 1)
		elog(ERROR, "escrowpay: idempotency key \"%s\" vanished", key);
	first = ep_text(0, 1);
	if (strcmp(first, request) != 0)
	{
		/* name only the first operation: its arguments may be another party's */
		int			oplen = strcspn(first, "(");

		ereport(ERROR,
				(errcode(ERRCODE_EP_IDEMPOTENCY_CONFLICT),
				 errmsg("idempotency key \"%s\" was already used with different arguments", key),
				 errdetail("The key was first used for %.*s; this request is %s.",
						   oplen, first, request),
				 errhint("Use a new key for a new operation.")));
	}
	return true;
}

/*
 * Claim key for request.  When the call's result is already known (a
 * preallocated transfer or hold id), pass it so that no later update is
 * needed.  Returns true, with *prior set, when the key was used before for
 * the same request: the caller must return *prior and do nothing else.
 */
bool
ep_idem_claim(const char *key, const char *request, bool has_result,
			  int64 result, int64 *prior)
{
	if (!claim_key(key, request, has_result, result))
		return false;
	if (!ep_get_int64(0, 2, prior))
		elog(ERROR, "escrowpay: idempotency key \"%s\" has no result", key);
	return true;
}

/*
 * Claim key for a batch call, whose result is an array recorded later with
 * ep_idem_record_batch().  Returns true, with *prior set to that array
 * (copied out of SPI's memory), when the key was used before.
 */
bool
ep_idem_claim_batch(const char *key, const char *request, Datum *prior)
{
	bool		isnull;

	if (!claim_key(key, request, false, 0))
		return false;
	*prior = ep_datum(0, 3, &isnull);
	if (isnull)
		elog(ERROR, "escrowpay: idempotency key \"%s\" has no result", key);
	*prior = SPI_datumTransfer(*prior, false, -1);
	return true;
}

/* Store the result of a call whose result was not known when it claimed */
/*
 * Has key already been used, with exactly this request?  Then *prior gets
 * its result.  Only reads (a call in flight with the same key is not
 * seen: ep_idem_claim() waits for it); lets a caller replay a finished
 * call before checks that a first call must pass.
 */
bool
ep_idem_replay(const char *key, const char *request, int64 *prior)
{
	static EpPlan lookup = EP_PLAN("SELECT result FROM escrow.idempotency_keys WHERE key = $1 AND request = $2",
		TEXTOID, TEXTOID);
	Datum		values[2];

	values[0] = CStringGetTextDatum(key);
	values[1] = CStringGetTextDatum(request);
	if (ep_exec(&lookup, values, NULL, 1) != 1)
		return false;
	return ep_get_int64(0, 1, prior);
}

/*
 * Store the result of the call that claimed key without one: a bigint
 * (column result) or, for a batch call, a bigint[] (column results)
 */
static void
record(const char *key, Datum result, bool batch)
{
	static EpPlan update_result = EP_PLAN("UPDATE escrow.idempotency_keys SET result = $2 "
		"WHERE key = $1", TEXTOID, INT8OID);
	static EpPlan update_results = EP_PLAN("UPDATE escrow.idempotency_keys SET results = $2 "
		"WHERE key = $1", TEXTOID, INT8ARRAYOID);
	Datum		values[2];

	values[0] = CStringGetTextDatum(key);
	values[1] = result;
	ep_exec(batch ? &update_results : &update_result, values, NULL, 0);
}

void
ep_idem_record(const char *key, int64 result)
{
	record(key, Int64GetDatum(result), false);
}

/* Store the bigint[] result of a batch call */
void
ep_idem_record_batch(const char *key, Datum results)
{
	record(key, results, true);
}

/*
 * A free-text argument as idempotency requests compare it: length-prefixed,
 * so that no two different argument lists read alike ("NULL" for none).
 */
char *
ep_request_text(const char *s)
{
	return s ? psprintf("%zu:%s", strlen(s), s) : "NULL";
}

/*
 * The canonical request of a call, "name(arg,arg,...)", built from the
 * call's own arguments, one character of spec per argument in order:
 *
 *	  i  bigint, as a number
 *	  t  free text, length-prefixed (ep_request_text)
 *	  r  text from a fixed set of names, as it is
 *	  v  interval, as its fields (ep_interval_key)
 *	  -  not part of the request (the idempotency key itself)
 *
 * A NULL argument reads "NULL".  The texts are those the calls have always
 * claimed their keys with, so keys claimed before still replay.
 */
char *
ep_idem_request(FunctionCallInfo fcinfo, const char *name, const char *spec)
{
	StringInfoData s;
	int			argno;
	bool		first = true;

	initStringInfo(&s);
	appendStringInfo(&s, "%s(", name);
	for (argno = 0; spec[argno] != '\0'; argno++)
	{
		char		kind = spec[argno];

		if (kind == '-')
			continue;
		if (!first)
			appendStringInfoChar(&s, ',');
		first = false;
		if (PG_ARGISNULL(argno))
		{
			appendStringInfoString(&s, "NULL");
			continue;
		}
		switch (kind)
		{
			case 'i':
				appendStringInfo(&s, "%lld", (long long) PG_GETARG_INT64(argno));
				break;
			case 't':
				appendStringInfoString(&s, ep_request_text(text_to_cstring(PG_GETARG_TEXT_PP(argno))));
				break;
			case 'r':
				appendStringInfoString(&s, text_to_cstring(PG_GETARG_TEXT_PP(argno)));
				break;
			case 'v':
				appendStringInfoString(&s, ep_interval_key(PG_GETARG_INTERVAL_P(argno)));
				break;
			default:
				elog(ERROR, "escrowpay: unknown request argument kind '%c'", kind);
		}
	}
	appendStringInfoChar(&s, ')');
	return s.data;
}

/*
 * The prologue of a call that takes an idempotency key: when key is set,
 * claim it for the call's request (ep_idem_request) with the call's result
 * known in advance.  Returns true, with *prior set, when the key was used
 * before for the same request: the caller must return *prior.
 */
bool
ep_idem_claim_call(FunctionCallInfo fcinfo, const char *key, const char *name,
				   const char *spec, int64 result, int64 *prior)
{
	return key != NULL &&
		ep_idem_claim(key, ep_idem_request(fcinfo, name, spec), true, result, prior);
}
