/*-------------------------------------------------------------------------
 *
 * anchors.h
 *	  Balance anchors (65_balance_history.sql): each account's balance after
 *	  every escrow.balance_anchor_legs() legs of the sealed transfers, stored
 *	  by escrow.checkpoint(), which balance_at() and statement() start from.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_ANCHORS_H
#define EP_ANCHORS_H

#include "escrowpay.h"

/*
 * Store the anchors of the transfers after transfer `after` up to `upto`,
 * once every transaction that could still post below `upto` has ended
 * (escrow.checkpoint()).  Needs an SPI connection.
 */
extern void ep_store_balance_anchors(int64 after, int64 upto);

#endif							/* EP_ANCHORS_H */
