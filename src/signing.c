/*-------------------------------------------------------------------------
 *
 * signing.c
 *	  The Ed25519 key that signs checkpoints (OpenSSL): loading it from
 *	  escrowpay.checkpoint_key_file (PEM, read at each call with keyfile.c's
 *	  checks), its id and public key, and the signed message of a
 *	  checkpoint,
 *
 *	  "escrowpay-checkpoint-v1" || 0x00 || seq(8) || tree_size(8) ||
 *	  last_transfer(8) || created_at(8) || root(32)
 *
 * signed and verified.
 *
 *-------------------------------------------------------------------------
 */
#include "signing.h"

#include <openssl/pem.h>

#include "keyfile.h"
#include "merkle.h"
#include "utils/builtins.h"

#define EP_CHECKPOINT_DOMAIN "escrowpay-checkpoint-v1"

/* Never prompt for a passphrase: an encrypted key is refused */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static void
key_id_of(const uint8 *pub, char *id)
{
	static const uint8 none = 0;
	EpHash		h;

	/* SHA-256 of the raw public key (the empty prefix keeps one helper) */
	ep_sha256_parts(&none, 0, pub, EP_ED25519_PUB_LEN, NULL, 0, h);
	hex_encode((const char *) h, EP_KEY_ID_BYTES, id);
	id[EP_KEY_ID_BYTES * 2] = '\0';
}

/*
 * Load the Ed25519 private key of escrowpay.checkpoint_key_file (PEM,
 * PKCS#8 as written by `openssl genpkey -algorithm ed25519`); 55000 when
 * the setting is empty or the file unusable.
 */
void
ep_signing_key_load(EpSigningKey *key)
{
	EpKeyFileKind kind;
	EpKeyFile	file;
	BIO		   *bio;
	size_t		publen = EP_ED25519_PUB_LEN;

	kind.setting = "escrowpay.checkpoint_key_file";
	kind.path = ep_checkpoint_key_file;
	kind.purpose = "Checkpoints are signed with the Ed25519 private key of that file.";
	kind.hint = "The file holds an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519), "
		"unencrypted, and is readable only by the server's operating-system user (mode 0600).";
	ep_key_file_read(&kind, &file);
	bio = BIO_new_mem_buf(file.buf, -1);
	key->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
	BIO_free(bio);
	if (key->pkey == NULL)
		ep_key_file_error(&kind, &file, "It holds no private key in PEM that can be read "
						  "without a passphrase.");
	if (EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
	{
		EVP_PKEY_free(key->pkey);
		ep_key_file_error(&kind, &file, "Its key is not an Ed25519 key.");
	}
	ep_key_file_free(&file);
	if (EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &publen) != 1 ||
		publen != EP_ED25519_PUB_LEN)
	{
		EVP_PKEY_free(key->pkey);
		elog(ERROR, "escrowpay: could not read the checkpoint key's public key");
	}
	key_id_of(key->pub, key->id);
}

/* The signed message of a checkpoint */
void
ep_checkpoint_message(StringInfo msg, int64 seq, int64 size, int64 last_transfer,
				   int64 created_us, const uint8 *root)
{
	initStringInfo(msg);
	appendBinaryStringInfo(msg, EP_CHECKPOINT_DOMAIN, sizeof(EP_CHECKPOINT_DOMAIN));	/* with NUL */
	ep_put_int64(msg, seq);
	ep_put_int64(msg, size);
	ep_put_int64(msg, last_transfer);
	ep_put_int64(msg, created_us);
	appendBinaryStringInfo(msg, (const char *) root, EP_SHA256_LEN);
}

/* Ed25519 signature of msg */
void
ep_sign_message(const EpSigningKey *key, const StringInfo msg, uint8 *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		siglen = EP_ED25519_SIG_LEN;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
		EVP_DigestSign(ctx, sig, &siglen, (const uint8 *) msg->data, msg->len) == 1 &&
		siglen == EP_ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not sign the checkpoint with Ed25519")));
}

/* Does sig verify over msg under the raw public key pub? */
bool
ep_signature_valid(const uint8 *pub, size_t publen, const StringInfo msg,
				const uint8 *sig, size_t siglen)
{
	EVP_PKEY   *pkey;
	EVP_MD_CTX *ctx;
	bool		ok;

	if (publen != EP_ED25519_PUB_LEN || siglen != EP_ED25519_SIG_LEN)
		return false;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, publen);
	ctx = EVP_MD_CTX_new();
	ok = pkey != NULL && ctx != NULL &&
		EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
		EVP_DigestVerify(ctx, sig, siglen, (const uint8 *) msg->data, msg->len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok;
}

/* The public key of key in PEM */
text *
ep_signing_key_pem(EpSigningKey *key)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	BUF_MEM    *mem;
	text	   *pem;

	if (bio == NULL || PEM_write_bio_PUBKEY(bio, key->pkey) != 1)
	{
		BIO_free(bio);
		ep_signing_key_free(key);
		elog(ERROR, "escrowpay: could not write the checkpoint public key");
	}
	BIO_get_mem_ptr(bio, &mem);
	pem = cstring_to_text_with_len(mem->data, mem->length);
	BIO_free(bio);
	return pem;
}

/* Free the key ep_signing_key_load() read */
void
ep_signing_key_free(EpSigningKey *key)
{
	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
}
