/*-------------------------------------------------------------------------
 *
 * signing.h
 *	  The Ed25519 key that signs checkpoints, and the signed message of a
 *	  checkpoint.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_SIGNING_H
#define EP_SIGNING_H

#include <openssl/evp.h>

#include "escrowpay.h"
#include "lib/stringinfo.h"

#define EP_ED25519_PUB_LEN 32
#define EP_ED25519_SIG_LEN 64
#define EP_KEY_ID_BYTES 8		/* key id: first 8 bytes of SHA-256(public key), hex */

/* GUC, defined in escrowpay.c */
extern char *ep_checkpoint_key_file;

/* The checkpoint signing key */
typedef struct EpSigningKey
{
	EVP_PKEY   *pkey;
	uint8		pub[EP_ED25519_PUB_LEN];
	char		id[EP_KEY_ID_BYTES * 2 + 1];
} EpSigningKey;

extern void ep_signing_key_load(EpSigningKey *key);
extern void ep_signing_key_free(EpSigningKey *key);
extern text *ep_signing_key_pem(EpSigningKey *key);
extern void ep_checkpoint_message(StringInfo msg, int64 seq, int64 size, int64 last_transfer,
								  int64 created_us, const uint8 *root);
extern void ep_sign_message(const EpSigningKey *key, const StringInfo msg, uint8 *sig);
extern bool ep_signature_valid(const uint8 *pub, size_t publen, const StringInfo msg,
							   const uint8 *sig, size_t siglen);

#endif							/* EP_SIGNING_H */
