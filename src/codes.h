/*-------------------------------------------------------------------------
 *
 * codes.h
 *	  Secret codes (OpenSSL CSPRNG) and their HMAC-SHA256.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_CODES_H
#define EP_CODES_H

#include "escrowpay.h"

#define EP_HMAC_LEN 32

/* GUCs, defined in escrowpay.c */
extern char *ep_hmac_key;
extern int	ep_max_code_attempts;
extern int	ep_code_ttl;

extern char *ep_random_digits(int n);
extern void ep_code_hmac(int64 deal, const char *code, uint8 *out);
extern bool ep_hmac_equal(const uint8 *a, const uint8 *b);

#endif							/* EP_CODES_H */
