#include "lib/locks/mounts.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t
bc_lock_root_users(const json_t *containers, const char *lockdir)
{
	size_t n = 0, i, k, len = strlen(lockdir);
	json_t *c, *m;

	while (len > 1 && lockdir[len - 1] == '/')
		len--;
	json_array_foreach(containers, i, c)
	{
		bool uses = false;
		json_array_foreach(json_object_get(c, "Mounts"), k, m)
		{
			const char *src = json_string_value(json_object_get(m, "Source"));
			if (src != NULL && strncmp(src, lockdir, len) == 0 &&
			    (src[len] == '/' || src[len] == '\0'))
				uses = true;
		}
		n += uses;
	}
	return n;
}

/* Copy a field (wlen bytes, printable: the kernel escapes the rest) into
 * out (n bytes). */
static bool
word(const char *s, size_t wlen, char *out, size_t n)
{
	if (wlen == 0 || wlen >= n)
		return false;
	for (size_t i = 0; i < wlen; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] == 0x7f)
			return false;
	memcpy(out, s, wlen);
	out[wlen] = '\0';
	return true;
}

int
bc_mountinfo_find(const char *mountinfo, size_t len, const char *mountpoint, char *dev,
		  size_t ndev, char *root, size_t nroot)
{
	const char *p = mountinfo, *end = mountinfo + len;
	int found = -1;

	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER */
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *f[5], *q = p;
		size_t fl[5];
		int nf = 0;
		if (eol == NULL)
			eol = end;
		while (nf < 5 && q < eol) {
			const char *sp = memchr(q, ' ', (size_t)(eol - q));
			if (sp == NULL)
				sp = eol;
			f[nf] = q;
			fl[nf++] = (size_t)(sp - q);
			q = sp + 1;
		}
		/* a later line is mounted over an earlier one: the last counts */
		if (nf == 5 && fl[4] == strlen(mountpoint) && memcmp(f[4], mountpoint, fl[4]) == 0)
			found = word(f[2], fl[2], dev, ndev) && word(f[3], fl[3], root, nroot) ? 0
												: -1;
		p = eol + 1;
	}
	return found;
}
