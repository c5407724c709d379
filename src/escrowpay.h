/*-------------------------------------------------------------------------
 *
 * escrowpay.h
 *	  Declarations shared by every part of escrowpay: the extension's own
 *	  SQLSTATEs (class EP), and the names of the ledger's relations.
 *
 * Each concern has its own header next to its .c file; this one holds only
 * what all of them need.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ESCROWPAY_H
#define ESCROWPAY_H

#include "postgres.h"

/* The extension's own error class "EP" (see docs/reference.md) */
#define ERRCODE_EP_INSUFFICIENT_FUNDS	MAKE_SQLSTATE('E','P','0','0','1')
#define ERRCODE_EP_HOLD_NOT_OPEN		MAKE_SQLSTATE('E','P','0','0','2')
#define ERRCODE_EP_EXCEEDS_HOLD			MAKE_SQLSTATE('E','P','0','0','3')
#define ERRCODE_EP_CURRENCY_MISMATCH	MAKE_SQLSTATE('E','P','0','0','4')
#define ERRCODE_EP_IDEMPOTENCY_CONFLICT MAKE_SQLSTATE('E','P','0','0','5')
#define ERRCODE_EP_EXCEEDS_CAPTURED		MAKE_SQLSTATE('E','P','0','0','6')
#define ERRCODE_EP_WRONG_DEAL_STATE		MAKE_SQLSTATE('E','P','0','0','7')
#define ERRCODE_EP_BAD_CODE				MAKE_SQLSTATE('E','P','0','0','8')

/* Schema that holds every escrowpay object (fixed: the extension is not relocatable) */
#define EP_SCHEMA "escrow"

/* Owner name reserved for each currency's funding system account */
#define EP_FUNDING_OWNER "escrow:funding"

#endif							/* ESCROWPAY_H */
