/*-------------------------------------------------------------------------
 *
 * registration.h
 *	  escrow.register_member/merchant/institution().
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_REGISTRATION_H
#define EP_REGISTRATION_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_register_member(PG_FUNCTION_ARGS);
extern Datum escrow_register_merchant(PG_FUNCTION_ARGS);
extern Datum escrow_register_institution(PG_FUNCTION_ARGS);

#endif							/* EP_REGISTRATION_H */
