/*-------------------------------------------------------------------------
 *
 * party.h
 *	  A party's login role and accounts; the calling party.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_PARTY_H
#define EP_PARTY_H

#include "escrowpay.h"
#include "plan.h"
#include "fmgr.h"

extern char *ep_login_role_unfit(Oid roleid);
extern bool ep_login_role_fit(Oid roleid);
extern void ep_check_login_role(const char *login_role);
extern void ep_assign_account_owner(int64 account, const char *party);
extern void ep_refuse_terminal_account(int64 account);
extern void ep_require_account_use(int64 account, const char *party, bool pay_into);
extern void ep_require_known_actor(const char *actor);
extern void ep_require_party_kind(EpPlan *lookup, const char *party, const char *kind);

/* SQL-callable */
extern Datum escrow_assign_account(PG_FUNCTION_ARGS);
extern Datum escrow_authorise_account_use(PG_FUNCTION_ARGS);
extern Datum escrow_revoke_account_use(PG_FUNCTION_ARGS);
extern Datum escrow_current_party(PG_FUNCTION_ARGS);

#endif							/* EP_PARTY_H */
