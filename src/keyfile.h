/*-------------------------------------------------------------------------
 *
 * keyfile.h
 *	  Files of secrets named by a superuser-only setting (the keys of
 *	  identity codes, the key that signs checkpoints): read whole, and
 *	  refused unless only the server's operating-system user may access
 *	  them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_KEYFILE_H
#define EP_KEYFILE_H

#include "escrowpay.h"

/* Largest key file read */
#define EP_KEY_FILE_MAX (64 * 1024)

/* What a key file is for, for its messages */
typedef struct EpKeyFileKind
{
	const char *setting;		/* e.g. "escrowpay.hmac_key_file" */
	const char *path;			/* the setting's value (NULL or "": not set) */
	const char *purpose;		/* errdetail when the setting is not set */
	const char *hint;			/* what the file holds (errhint) */
} EpKeyFileKind;

/* A key file's text: NUL-terminated, wiped by ep_key_file_free */
typedef struct EpKeyFile
{
	char	   *buf;
	size_t		len;			/* bytes allocated (the text and its NUL) */
} EpKeyFile;

extern void ep_key_file_read(const EpKeyFileKind *kind, EpKeyFile *file);
extern void ep_key_file_error(const EpKeyFileKind *kind, EpKeyFile *file,
							  const char *detail) pg_attribute_noreturn();
extern void ep_key_file_free(EpKeyFile *file);

#endif							/* EP_KEYFILE_H */
