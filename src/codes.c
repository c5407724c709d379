/*-------------------------------------------------------------------------
 *
 * codes.c
 *	  Secret codes for identity confirmation, and transaction numbers.
 *
 * Codes come from OpenSSL's CSPRNG (RAND_bytes) as decimal digits without
 * modulo bias.  Only HMAC-SHA256(key, deal id || ':' || code) is stored,
 * with the id of the key.  The keys live in the file named by
 * escrowpay.hmac_key_file (a superuser-only, server-wide setting), which
 * the server reads at each call and refuses when group or others may
 * access it; no setting holds a key, so neither the application role nor
 * a reader of the tables or the catalogs can recompute a code.
 * Comparison is constant-time (CRYPTO_memcmp).
 *
 *-------------------------------------------------------------------------
 */
#include "codes.h"
#include "keyfile.h"

#include <ctype.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "fmgr.h"
#include "limits.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_txn_no_valid);

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

/* characters of a key id */
#define EP_KEY_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

/* escrowpay.hmac_key_file, for keyfile.c's messages */
static EpKeyFileKind
hmac_key_file_kind(void)
{
	EpKeyFileKind kind;

	kind.setting = "escrowpay.hmac_key_file";
	kind.path = ep_hmac_key_file;
	kind.purpose = "Identity codes are stored only as HMAC-SHA256 under a key of that file.";
	kind.hint = psprintf("The file holds lines \"<key id> <secret>\" (an id of 1 to %d letters, "
						 "digits, \"_\" or \"-\"; a secret of at least %d characters) and is "
						 "readable only by the server's operating-system user (mode 0600).",
						 EP_KEY_ID_MAX, EP_KEY_SECRET_MIN);
	return kind;
}

/*
 * Read and check escrowpay.hmac_key_file (keyfile.c: set, a regular file
 * without group or world access), of lines "<key id> <secret>" (blank
 * lines and # comments allowed), at least one key, no id twice.  Read at
 * each call, so a new file takes effect at once.  55000 when it is not
 * set or not usable.
 */
EpHmacKeys *
ep_hmac_keys_load(void)
{
	EpHmacKeys *k = palloc0(sizeof(EpHmacKeys));
	EpKeyFileKind kind = hmac_key_file_kind();
	char	   *line;
	char	   *next;
	int			lineno = 0;
	int			lines = 1;

	ep_key_file_read(&kind, &k->file);
	for (line = k->file.buf; *line; line++)
		lines += (*line == '\n');
	k->keys = palloc0(sizeof(EpHmacKey) * lines);
	for (line = k->file.buf; line != NULL; line = next)
	{
		char	   *end;
		char	   *secret;
		size_t		idlen;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		while (end > line && isspace((unsigned char) end[-1]))
			*--end = '\0';
		while (isspace((unsigned char) *line))
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		idlen = strspn(line, EP_KEY_ID_CHARS);
		if (idlen == 0 || idlen > EP_KEY_ID_MAX || (line[idlen] != ' ' && line[idlen] != '\t'))
			ep_key_file_error(&kind, &k->file, psprintf("Line %d does not start with a key id of 1 to %d letters, "
									   "digits, \"_\" or \"-\" followed by a space or tab "
									   "and the secret.", lineno, EP_KEY_ID_MAX));
		line[idlen] = '\0';
		secret = line + idlen + 1;
		while (*secret == ' ' || *secret == '\t')
			secret++;
		if (secret[strcspn(secret, " \t")] != '\0')
			ep_key_file_error(&kind, &k->file, psprintf("Line %d (key \"%s\"): the secret is one word, "
									   "and nothing follows it.", lineno, line));
		if (strlen(secret) < EP_KEY_SECRET_MIN)
			ep_key_file_error(&kind, &k->file, psprintf("Line %d (key \"%s\"): the secret is shorter than %d "
									   "characters.", lineno, line, EP_KEY_SECRET_MIN));
		if (ep_hmac_key_find(k, line) != NULL)
			ep_key_file_error(&kind, &k->file, psprintf("Line %d: key id \"%s\" appears twice.", lineno, line));
		strlcpy(k->keys[k->n].id, line, sizeof(k->keys[k->n].id));
		k->keys[k->n].secret = secret;
		k->n++;
	}
	if (k->n == 0)
		ep_key_file_error(&kind, &k->file, "It holds no key.");
	return k;
}

/* The key of an id, or NULL */
const EpHmacKey *
ep_hmac_key_find(const EpHmacKeys *keys, const char *id)
{
	int			i;

	for (i = 0; i < keys->n; i++)
		if (strcmp(keys->keys[i].id, id) == 0)
			return &keys->keys[i];
	return NULL;
}

/* Wipe the secrets and free the keys */
void
ep_hmac_keys_free(EpHmacKeys *keys)
{
	ep_key_file_free(&keys->file);
	pfree(keys->keys);
	pfree(keys);
}

/* HMAC-SHA256 of a deal's code under a key */
void
ep_code_hmac(const EpHmacKey *key, int64 deal, const char *code, uint8 *out)
{
	char	   *msg;
	unsigned int len = EP_HMAC_LEN;

	msg = psprintf("%lld:%s", (long long) deal, code);
	if (HMAC(EVP_sha256(), key->secret, strlen(key->secret),
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

/* ---------------------------------------------------------------------
 * Transaction numbers
 * ---------------------------------------------------------------------
 */

/* Luhn check digit of a string of digits */
static int
luhn_digit(const char *digits)
{
	int			sum = 0;
	int			len = strlen(digits);
	int			i;

	for (i = 0; i < len; i++)
	{
		int			d = digits[len - 1 - i] - '0';

		if (i % 2 == 0)
		{
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return (10 - sum % 10) % 10;
}

/* Transaction number of deal id: EP, 10 digits, Luhn check digit */
char *
ep_txn_no_of(int64 id)
{
	char	   *digits = psprintf("%010lld", (long long) id);

	return psprintf("EP%s%d", digits, luhn_digit(digits));
}

/*
 * escrow.txn_no_valid(txn_no text) RETURNS boolean
 *
 * Whether a transaction number is well formed and its check digit right
 * (catches a mistyped digit or two swapped neighbours).
 */
Datum
escrow_txn_no_valid(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *digits;
	size_t		i;

	if (strlen(s) != 13 || strncmp(s, "EP", 2) != 0)
		PG_RETURN_BOOL(false);
	for (i = 2; i < 13; i++)
		if (s[i] < '0' || s[i] > '9')
			PG_RETURN_BOOL(false);
	digits = pnstrdup(s + 2, 10);
	PG_RETURN_BOOL(luhn_digit(digits) == s[12] - '0');
}

