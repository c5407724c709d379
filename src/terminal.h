/*-------------------------------------------------------------------------
 *
 * terminal.h
 *	  Cash terminals: the till, cash payments of deals, pay later.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_TERMINAL_H
#define EP_TERMINAL_H

#include "escrowpay.h"
#include "fmgr.h"

/* SQL-callable */
extern Datum escrow_register_terminal(PG_FUNCTION_ARGS);
extern Datum escrow_load_terminal_cash(PG_FUNCTION_ARGS);
extern Datum escrow_unload_terminal_cash(PG_FUNCTION_ARGS);
extern Datum escrow_pay_cash(PG_FUNCTION_ARGS);
extern Datum escrow_serve_first(PG_FUNCTION_ARGS);

#endif							/* EP_TERMINAL_H */
