/*-------------------------------------------------------------------------
 *
 * deal_steps.h
 *	  The lifecycle steps, and the step bodies maintenance and terminals share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_DEAL_STEPS_H
#define EP_DEAL_STEPS_H

#include "deal.h"
#include "fmgr.h"

/* The money side of a step and its commit, shared by the callers of a step */
extern void ep_deal_settle(EpDeal *deal, const char *actor, EpStep *step);
extern void ep_deal_release_step(EpDeal *deal, const char *actor, const char *reason,
								 EpStep *step);
extern void ep_deal_note_step(EpDeal *deal, const char *actor, const char *reason,
							  const char *deadline, EpStep *step);
extern void ep_deal_return_step(EpDeal *deal, const char *actor, EpStep *step);

/* SQL-callable */
extern Datum escrow_reserve(PG_FUNCTION_ARGS);
extern Datum escrow_mark_shipped(PG_FUNCTION_ARGS);
extern Datum escrow_mark_delivered(PG_FUNCTION_ARGS);
extern Datum escrow_confirm_inspection(PG_FUNCTION_ARGS);
extern Datum escrow_cancel_deal(PG_FUNCTION_ARGS);
extern Datum escrow_reject_delivery(PG_FUNCTION_ARGS);
extern Datum escrow_request_return(PG_FUNCTION_ARGS);
extern Datum escrow_confirm_return(PG_FUNCTION_ARGS);
extern Datum escrow_open_dispute(PG_FUNCTION_ARGS);
extern Datum escrow_resolve_dispute(PG_FUNCTION_ARGS);
extern Datum escrow_write_off(PG_FUNCTION_ARGS);

#endif							/* EP_DEAL_STEPS_H */
