/*-------------------------------------------------------------------------
 *
 * codes.c
 *	  Secret codes for identity confirmation, and transaction numbers.
 *
 * Codes come from OpenSSL's CSPRNG (RAND_bytes) as decimal digits without
 * modulo bias.  Only HMAC-SHA256(escrowpay.hmac_key, deal id || ':' ||
 * code) is stored; the key is a superuser-only setting, so neither the
 * application role nor a reader of the tables can recompute a code.
 * Comparison is constant-time (CRYPTO_memcmp).
 *
 *-------------------------------------------------------------------------
 */
#include "codes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* n random decimal digits */
char *
ep_random_digits(int n)
{
	char	   *out = palloc(n + 1);
	int			i = 0;

	while (i < n)
	{
		unsigned char buf[32];
		size_t		j;

		if (RAND_bytes(buf, sizeof(buf)) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate random bytes")));
		for (j = 0; j < sizeof(buf) && i < n; j++)
			if (buf[j] < 250)	/* 250 = 25 * 10: no modulo bias */
				out[i++] = '0' + buf[j] % 10;
	}
	out[n] = '\0';
	return out;
}

/* HMAC-SHA256 of a deal's code under escrowpay.hmac_key */
void
ep_code_hmac(int64 deal, const char *code, uint8 *out)
{
	char	   *msg;
	unsigned int len = EP_HMAC_LEN;

	if (ep_hmac_key == NULL || strlen(ep_hmac_key) < 16)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("escrowpay.hmac_key is not set or shorter than 16 characters"),
				 errdetail("Identity codes are stored only as HMAC-SHA256 under that key."),
				 errhint("A superuser sets escrowpay.hmac_key (at least 16 characters) in postgresql.conf or with ALTER SYSTEM.")));
	msg = psprintf("%lld:%s", (long long) deal, code);
	if (HMAC(EVP_sha256(), ep_hmac_key, strlen(ep_hmac_key),
			 (const unsigned char *) msg, strlen(msg), out, &len) == NULL ||
		len != EP_HMAC_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute HMAC-SHA256")));
	explicit_bzero(msg, strlen(msg));
}

/* Constant-time comparison of two HMACs */
bool
ep_hmac_equal(const uint8 *a, const uint8 *b)
{
	return CRYPTO_memcmp(a, b, EP_HMAC_LEN) == 0;
}
