#include "lib/docker/ustar.h"

#include "lib/base/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* v in octal, zero-padded, NUL-terminated, in the n bytes at f */
static void
octal(char *f, size_t n, unsigned long long v)
{
	snprintf(f, n, "%0*llo", (int)(n - 1), v);
}

static int
header(bc_buf *out, const char *path, unsigned mode, unsigned long long uid,
       unsigned long long gid, size_t size, bc_err *err)
{
	unsigned char h[512];
	unsigned sum = 0;
	int at = bc_tar_name_split(path);

	memset(h, 0, sizeof(h));
	if (at == -2)
		return bc_err_set(err, BC_EINVAL, "files: '%.80s' is too long for a tar name", path);
	if (at >= 0) {
		memcpy(h + 345, path, (size_t)at);			   /* prefix */
		memcpy(h, path + at + 1, strlen(path) - (size_t)at - 1); /* name */
	} else {
		memcpy(h, path, strlen(path));
	}
	octal((char *)h + 100, 8, mode & 07777);
	octal((char *)h + 108, 8, uid);
	octal((char *)h + 116, 8, gid);
	octal((char *)h + 124, 12, size);
	octal((char *)h + 136, 12, (unsigned long long)time(NULL));
	h[156] = '0'; /* a regular file */
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8); /* the checksum counts itself as spaces */
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	return bc_buf_add(out, h, sizeof(h), err);
}

int
bc_tar_files(const json_t *files, bc_buf *out, bc_err *err)
{
	static const char zeros[1024];
	const json_t *f;
	size_t i;

	json_array_foreach(files, i, f)
	{
		const char *target = json_string_value(json_object_get(f, "target"));
		const char *content = json_string_value(json_object_get(f, "content"));
		size_t len = json_string_length(json_object_get(f, "content"));
		const char *uid = json_string_value(json_object_get(f, "uid"));
		const char *gid = json_string_value(json_object_get(f, "gid"));
		const json_t *mode = json_object_get(f, "mode");

		if (target == NULL || target[0] != '/' || content == NULL)
			return bc_err_set(err, BC_EINVAL,
					  "files[%zu]: needs an absolute target and content", i);
		if (header(out, target + 1, mode ? (unsigned)json_integer_value(mode) : 0444,
			   uid ? strtoull(uid, NULL, 10) : 0, gid ? strtoull(gid, NULL, 10) : 0,
			   len, err) < 0 ||
		    bc_buf_add(out, content, len, err) < 0 ||
		    bc_buf_add(out, zeros, (512 - len % 512) % 512, err) < 0)
			return -1;
	}
	return bc_buf_add(out, zeros, sizeof(zeros), err); /* the end: two empty blocks */
}
