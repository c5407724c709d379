/*-------------------------------------------------------------------------
 *
 * keyfile.c
 *	  Files of secrets named by a superuser-only setting (keyfile.h).
 *
 * The file is read at each use, so a new file takes effect at once, and
 * refused (55000) when the setting is empty, when it cannot be read, when
 * it is not a regular file, when group or others have any access to it, or
 * when it is larger than EP_KEY_FILE_MAX or holds a NUL byte.  Whatever
 * was read of it is wiped before an error is raised and when the caller
 * is done with it.
 *
 *-------------------------------------------------------------------------
 */
#include "keyfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"

/* Refuse the key file (55000), wiping what was read of it first */
void
ep_key_file_error(const EpKeyFileKind *kind, EpKeyFile *file, const char *detail)
{
	if (file->buf != NULL)
		explicit_bzero(file->buf, file->len);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot use %s \"%s\"", kind->setting, kind->path),
			 errdetail_internal("%s", detail),
			 errhint("%s", kind->hint)));
}

/*
 * Read the file of a key-file setting into file->buf, checking that it is
 * set, a regular file, accessible only to its owner, and not too large.
 */
void
ep_key_file_read(const EpKeyFileKind *kind, EpKeyFile *file)
{
	struct stat st;
	int			fd;
	ssize_t		got;

	file->buf = NULL;
	file->len = 0;
	if (kind->path == NULL || kind->path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not set", kind->setting),
				 errdetail("%s", kind->purpose),
				 errhint("A superuser sets %s in postgresql.conf "
						 "(or with ALTER SYSTEM) and reloads the configuration.",
						 kind->setting)));
	fd = OpenTransientFile(kind->path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ep_key_file_error(kind, file, psprintf("It could not be opened: %m."));
	if (fstat(fd, &st) != 0)
	{
		char	   *detail = psprintf("It could not be examined: %m.");

		CloseTransientFile(fd);
		ep_key_file_error(kind, file, detail);
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) ||
		st.st_size > EP_KEY_FILE_MAX)
	{
		CloseTransientFile(fd);
		if (!S_ISREG(st.st_mode))
			ep_key_file_error(kind, file, "It is not a regular file.");
		if (st.st_mode & (S_IRWXG | S_IRWXO))
			ep_key_file_error(kind, file,
							  psprintf("It has group or world access (mode %04o); "
									   "only its owner may have access (mode 0600).",
									   (unsigned) (st.st_mode & 07777)));
		ep_key_file_error(kind, file, psprintf("It is larger than %d bytes.", EP_KEY_FILE_MAX));
	}
	file->len = st.st_size + 1;
	file->buf = palloc(file->len);
	got = read(fd, file->buf, st.st_size);
	CloseTransientFile(fd);
	if (got != st.st_size)
		ep_key_file_error(kind, file, "It could not be read whole.");
	file->buf[got] = '\0';
	if (strlen(file->buf) != (size_t) got)
		ep_key_file_error(kind, file, "It holds a NUL byte.");
}

/* Wipe and free a key file's text */
void
ep_key_file_free(EpKeyFile *file)
{
	if (file->buf == NULL)
		return;
	explicit_bzero(file->buf, file->len);
	pfree(file->buf);
	file->buf = NULL;
	file->len = 0;
}
