/*-------------------------------------------------------------------------
 *
 * codes.h
 *	  Secret codes (OpenSSL CSPRNG) and their HMAC-SHA256; transaction
 *	  numbers (EP, 10 digits, a Luhn check digit).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_CODES_H
#define EP_CODES_H

#include "escrowpay.h"
#include "keyfile.h"

#define EP_HMAC_LEN 32
#define EP_KEY_ID_MAX 16		/* characters of a key id */
#define EP_KEY_SECRET_MIN 32	/* characters of a secret, at least */

/* GUCs, defined in escrowpay.c */
extern char *ep_hmac_key_file;
extern int	ep_max_code_attempts;
extern int	ep_code_ttl;

/* One key of escrowpay.hmac_key_file */
typedef struct EpHmacKey
{
	char		id[EP_KEY_ID_MAX + 1];
	const char *secret;			/* points into EpHmacKeys.file */
} EpHmacKey;

/* The keys of the file, in its order: the first signs new codes */
typedef struct EpHmacKeys
{
	int			n;
	EpHmacKey  *keys;
	EpKeyFile	file;			/* the file's text, wiped by ep_hmac_keys_free */
} EpHmacKeys;

extern char *ep_random_digits(int n);
extern EpHmacKeys *ep_hmac_keys_load(void);
extern const EpHmacKey *ep_hmac_key_find(const EpHmacKeys *keys, const char *id);
extern void ep_hmac_keys_free(EpHmacKeys *keys);
extern void ep_code_hmac(const EpHmacKey *key, int64 deal, const char *code, uint8 *out);
extern bool ep_hmac_equal(const uint8 *a, const uint8 *b);
extern char *ep_txn_no_of(int64 id);

#endif							/* EP_CODES_H */
