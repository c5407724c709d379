/*-------------------------------------------------------------------------
 *
 * hints.c
 *	  Hints escrowpay adds to errors PostgreSQL raises on its behalf.
 *
 * A role that was granted none of escrowpay's roles cannot even look into
 * schema escrow: PostgreSQL refuses the call with "permission denied for
 * schema escrow" (42501) before any escrowpay code runs, so no function
 * can explain it.  An emit_log_hook, installed by _PG_init (so in every
 * backend when escrowpay is in shared_preload_libraries, as it should
 * be), adds the hint to grant the role escrow_app (or another escrowpay
 * role) to that error, and to no other.  The hook looks only at the
 * error's fields (no catalog access: it runs while the error is being
 * reported), and only when the error has no hint of its own.
 *
 * PostgreSQL calls the hook before it writes the error to the server log
 * and sends it to the client, and promises only that a hook may suppress
 * the log line; filling in a missing hint is outside that promise.  It
 * holds in PostgreSQL 15 (the hint reaches both), and the regress test
 * 22_unknown_party fails if it ever stops holding.  The hook runs only for
 * errors that reach the server log (log_min_messages at error or below).
 *
 *-------------------------------------------------------------------------
 */
#include "hints.h"

#include "utils/elog.h"
#include "utils/memutils.h"

static emit_log_hook_type prev_emit_log_hook = NULL;

#define EP_SCHEMA "escrow"

/* Whether text names the schema escrow as a word of its own */
static bool
names_schema(const char *text)
{
	const char *p = text;
	size_t		len = strlen(EP_SCHEMA);

	while ((p = strstr(p, EP_SCHEMA)) != NULL)
	{
		char		before = p == text ? ' ' : p[-1];
		char		after = p[len];

		if (!(isalnum((unsigned char) before) || before == '_') &&
			!(isalnum((unsigned char) after) || after == '_' || after == '$'))
			return true;
		p += len;
	}
	return false;
}

static void
ep_emit_log(ErrorData *edata)
{
	if (edata->elevel >= ERROR &&
		edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		edata->hint == NULL &&
		edata->message_id != NULL && edata->message != NULL &&
		strcmp(edata->message_id, "permission denied for schema %s") == 0 &&
		names_schema(edata->message))
	{
		MemoryContext old = MemoryContextSwitchTo(edata->assoc_context ?
												  edata->assoc_context : ErrorContext);

		edata->hint = pstrdup("An application's role needs escrow_app (GRANT escrow_app TO the role); "
							  "escrow_auditor reads and audits, escrow_admin administers, and a "
							  "member's or merchant's own login is a member of escrow_party.");
		MemoryContextSwitchTo(old);
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* Install the hook; called by _PG_init */
void
ep_hints_init(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = ep_emit_log;
}
