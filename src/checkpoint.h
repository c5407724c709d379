/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Signed checkpoints of the journal: a Merkle tree (RFC 6962 hashing)
 *	  over every transfer, its root signed with Ed25519, inclusion proofs
 *	  for an outside auditor, and their check by verify_ledger().
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_CHECKPOINT_H
#define EP_CHECKPOINT_H

#include "escrowpay.h"
#include "access/tupdesc.h"
#include "utils/tuplestore.h"

/* GUCs, defined in escrowpay.c */
extern char *ep_checkpoint_key_file;

/* Leaves per stored subtree (escrow.checkpoint_chunks): a power of two */
#define EP_CHUNK_LEAVES 1024

/*
 * verify_ledger(): recompute every leaf, stored subtree and checkpoint
 * root from the journal, and check each checkpoint's signature; one
 * (problem, detail) row per mismatch.  Needs an SPI connection.
 */
extern void ep_verify_checkpoints(Tuplestorestate *ts, TupleDesc desc);

#endif							/* EP_CHECKPOINT_H */
