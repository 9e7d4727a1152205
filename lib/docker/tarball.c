#include "lib/docker/tarball.h"

#include "lib/base/fsutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* --- writing into a bounded buffer ---------------------------------------------- */

struct sink {
	bc_buf *out;
	bc_err *err;
	bool full;
};

static la_ssize_t
sink_write(struct archive *a, void *ud, const void *p, size_t n)
{
	struct sink *s = ud;
	(void)a;
	if (bc_buf_add(s->out, p, n, NULL) < 0) {
		s->full = true;
		return -1;
	}
	return (la_ssize_t)n;
}

static struct archive *
tar_open(struct sink *s, bc_err *err)
{
	struct archive *a = archive_write_new();

	if (a == NULL) {
		bc_err_sys(err, "tar");
		return NULL;
	}
	/* pax: long names and sizes, as the docker CLI writes */
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, s, NULL, sink_write, NULL) != ARCHIVE_OK) {
		bc_err_set(err, BC_ESYS, "tar: %s", archive_error_string(a));
		archive_write_free(a);
		return NULL;
	}
	return a;
}

/* The archive's error, or "larger than N bytes" when the buffer was full. */
static int
tar_fail(struct archive *a, struct sink *s, const char *what)
{
	if (s->full)
		return bc_err_set(s->err, BC_ETOOBIG, "%s: larger than %zu bytes", what,
				  s->out->max ? s->out->max : BC_BUF_DEFAULT_MAX);
	return bc_err_set(s->err, BC_ESYS, "%s: %s", what, archive_error_string(a));
}

static int
tar_close(struct archive *a, struct sink *s, const char *what, int rc)
{
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = tar_fail(a, s, what);
	archive_write_free(a);
	return rc;
}

/* --- .dockerignore ------------------------------------------------------------- */

struct rule {
	char *pat;
	bool exception;
};

struct bc_ignore {
	struct rule *v;
	size_t n;
};

/* The pattern's '[...]' at p: its length (through ']'), or 0 if unclosed. */
static size_t
class_len(const char *p)
{
	size_t i = 1;
	if (p[i] == '!' || p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	for (; p[i]; i++) {
		if (p[i] == '\\' && p[i + 1])
			i++;
		else if (p[i] == ']')
			return i + 1;
	}
	return 0;
}

/* As the docker CLI's patternmatcher: "**" any path (a "**" not at the end
 * eats the '/' after it and matches zero or more whole directories), '*'
 * and '?' within one name, [classes], '\' escapes. */
static bool
glob(const char *p, const char *s, long *budget)
{
	if (--*budget <= 0)
		return false; /* a pattern that would take too long matches nothing */
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '/')
				p++;
			if (*p == '\0')
				return true;
			if (glob(p, s, budget))
				return true;
			for (; *s; s++)
				if (*s == '/' && glob(p, s + 1, budget))
					return true;
			return false;
		}
		if (*p == '*') {
			for (;; s++) {
				if (glob(p + 1, s, budget))
					return true;
				if (*s == '\0' || *s == '/')
					return false;
			}
		}
		if (*s == '\0')
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
		} else if (*p == '[') {
			size_t n = class_len(p);
			char cls[256], one[2] = {*s, '\0'};
			if (n == 0 || n >= sizeof(cls))
				return false;
			memcpy(cls, p, n);
			cls[n] = '\0';
			if (cls[1] == '^')
				cls[1] = '!';
			if (*s == '/' || fnmatch(cls, one, 0) != 0)
				return false;
			p += n - 1;
		} else if (*p == '\\' && p[1]) {
			if (*++p != *s)
				return false;
		} else if (*p != *s) {
			return false;
		}
		p++;
		s++;
	}
	return *s == '\0';
}

bc_ignore *
bc_ignore_parse(const char *text, size_t len, const char *source, bc_err *err)
{
	bc_ignore *ig = calloc(1, sizeof(*ig));
	size_t ln = 0;

	if (ig == NULL) {
		bc_err_sys(err, "%s", source);
		return NULL;
	}
	for (size_t at = 0; at < len;) {
		size_t end = at;
		char line[4096], *p;
		size_t n;
		bool exc = false;

		while (end < len && text[end] != '\n')
			end++;
		ln++;
		n = end - at;
		if (n >= sizeof(line)) {
			bc_err_set(err, BC_ETOOBIG, "%s:%zu: a pattern longer than %zu bytes", source,
				   ln, sizeof(line) - 1);
			goto fail;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		at = end + 1;
		if (memchr(line, '\0', n) != NULL) {
			bc_err_set(err, BC_EINVAL, "%s:%zu: a NUL byte", source, ln);
			goto fail;
		}
		p = line;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		for (n = strlen(p); n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
					     p[n - 1] == '\r');)
			p[--n] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*p == '!') {
			exc = true;
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0') {
				bc_err_set(err, BC_EINVAL, "%s:%zu: '!' with no pattern", source, ln);
				goto fail;
			}
		}
		bc_path_clean(p);
		if (p[0] == '/' && p[1] != '\0')
			p++;
		for (const char *q = p; *q; q++)
			if (*q == '[' && class_len(q) == 0) {
				bc_err_set(err, BC_EINVAL, "%s:%zu: '%.200s': unclosed '['", source,
					   ln, p);
				goto fail;
			}
		if (ig->n >= 10000) {
			bc_err_set(err, BC_ETOOBIG, "%s: more than 10000 patterns", source);
			goto fail;
		}
		{
			struct rule *v = realloc(ig->v, (ig->n + 1) * sizeof(*v));
			if (v == NULL || (v[ig->n].pat = strdup(p)) == NULL) {
				if (v != NULL)
					ig->v = v;
				bc_err_sys(err, "%s", source);
				goto fail;
			}
			ig->v = v;
			ig->v[ig->n++].exception = exc;
		}
	}
	return ig;
fail:
	bc_ignore_free(ig);
	return NULL;
}

int
bc_ignore_match(const bc_ignore *ig, const char *path)
{
	bool matched = false;

	for (size_t i = 0; ig != NULL && i < ig->n; i++) {
		const struct rule *r = &ig->v[i];
		bool m;
		if (r->exception != matched)
			continue;
		long budget = 100000;
		m = glob(r->pat, path, &budget);
		/* or one of the path's parent directories */
		for (const char *q = strchr(path, '/'); !m && q != NULL; q = strchr(q + 1, '/')) {
			char parent[4096];
			if ((size_t)(q - path) >= sizeof(parent))
				break;
			memcpy(parent, path, (size_t)(q - path));
			parent[q - path] = '\0';
			budget = 100000;
			m = glob(r->pat, parent, &budget);
		}
		if (m)
			matched = !r->exception;
	}
	return matched;
}

bool
bc_ignore_has_exceptions(const bc_ignore *ig)
{
	for (size_t i = 0; ig != NULL && i < ig->n; i++)
		if (ig->v[i].exception)
			return true;
	return false;
}

void
bc_ignore_free(bc_ignore *ig)
{
	if (ig == NULL)
		return;
	for (size_t i = 0; i < ig->n; i++)
		free(ig->v[i].pat);
	free(ig->v);
	free(ig);
}

/* --- a build's context ------------------------------------------------------------ */

struct walk {
	struct archive *a, *disk;
	struct sink *s;
	const bc_ignore *ig;
	bool exceptions;
	const char *root;
	const char *dockerfile; /* relative, cleaned */
	size_t entries;
	bc_err *err;
};

/* one entry: rel is its name in the tar, full its path */
static int
add_entry(struct walk *w, const char *full, const char *rel, const struct stat *st)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0, fd = -1;

	if (e == NULL)
		return bc_err_sys(w->err, "tar");
	if (++w->entries > BC_TAR_MAX_ENTRIES) {
		archive_entry_free(e);
		return bc_err_set(w->err, BC_ETOOBIG, "build context '%s': more than %d entries",
				  w->root, BC_TAR_MAX_ENTRIES);
	}
	if (S_ISREG(st->st_mode) && (fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		archive_entry_free(e);
		return bc_err_sys(w->err, "build context: open '%s'", full);
	}
	archive_entry_copy_sourcepath(e, full);
	if (archive_read_disk_entry_from_file(w->disk, e, fd, st) != ARCHIVE_OK) {
		rc = bc_err_set(w->err, BC_ESYS, "build context: '%s': %s", full,
				archive_error_string(w->disk));
		goto out;
	}
	archive_entry_set_pathname(e, rel);
	/* owned by root, as the docker CLI sends a context */
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, NULL);
	archive_entry_set_gname(e, NULL);
	archive_entry_set_atime(e, 0, 0);
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	archive_entry_xattr_clear(e);
	archive_entry_acl_clear(e);
	if (archive_write_header(w->a, e) != ARCHIVE_OK) {
		rc = tar_fail(w->a, w->s, "build context");
		goto out;
	}
	if (fd >= 0) {
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (archive_write_data(w->a, buf, (size_t)n) != n) {
				rc = tar_fail(w->a, w->s, "build context");
				goto out;
			}
		if (n < 0)
			rc = bc_err_sys(w->err, "build context: read '%s'", full);
	}
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(e);
	return rc;
}

static bool
always_sent(const struct walk *w, const char *rel)
{
	return strcmp(rel, ".dockerignore") == 0 || strcmp(rel, w->dockerfile) == 0;
}

static int
walk_dir(struct walk *w, const char *full, const char *rel, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > BC_TAR_MAX_DEPTH)
		return bc_err_set(w->err, BC_ETOOBIG,
				  "build context '%s': directories more than %d deep", w->root,
				  BC_TAR_MAX_DEPTH);
	if ((d = opendir(full)) == NULL)
		return bc_err_sys(w->err, "build context: open '%s'", full);
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		char cfull[4096], crel[4096];
		struct stat st;
		bool excluded;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(cfull, sizeof(cfull), "%s/%s", full, de->d_name) >=
			sizeof(cfull) ||
		    (size_t)snprintf(crel, sizeof(crel), "%s%s%s", rel, rel[0] ? "/" : "",
				     de->d_name) >= sizeof(crel)) {
			rc = bc_err_set(w->err, BC_ETOOBIG, "build context: a path too long in '%s'",
					full);
			break;
		}
		if (lstat(cfull, &st) < 0) {
			rc = bc_err_sys(w->err, "build context: '%s'", cfull);
			break;
		}
		excluded = bc_ignore_match(w->ig, crel) && !always_sent(w, crel);
		if (S_ISDIR(st.st_mode)) {
			if (!excluded)
				rc = add_entry(w, cfull, crel, &st);
			/* an excluded directory may hold files included again */
			if (rc == 0 && (!excluded || w->exceptions))
				rc = walk_dir(w, cfull, crel, depth + 1);
		} else if (!excluded && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
			rc = add_entry(w, cfull, crel, &st);
		}
	}
	if (rc == 0 && errno != 0)
		rc = bc_err_sys(w->err, "build context: read '%s'", full);
	closedir(d);
	return rc;
}

int
bc_tar_context(const char *dir, const char *dockerfile, bc_buf *out, bc_err *err)
{
	return bc_tar_context_with(dir, dockerfile, NULL, NULL, out, err);
}

/* one file of text, named name, owned by root, 0644 */
static int
add_text(struct walk *w, const char *name, const char *text)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = strlen(text);
	int rc = 0;

	if (e == NULL)
		return bc_err_sys(w->err, "tar");
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK ||
	    (len > 0 && archive_write_data(w->a, text, len) != (la_ssize_t)len))
		rc = tar_fail(w->a, w->s, "build context");
	archive_entry_free(e);
	return rc;
}

int
bc_tar_context_with(const char *dir, const char *dockerfile, const char *name, const char *text,
		    bc_buf *out, bc_err *err)
{
	struct sink s = {out, err, false};
	struct walk w = {.s = &s, .root = dir, .err = err};
	char path[4096], df[4096];
	bc_ignore *ig = NULL;
	struct stat st;
	int rc = -1;

	if (stat(dir, &st) < 0)
		return bc_err_sys(err, "build context '%s'", dir);
	if (!S_ISDIR(st.st_mode))
		return bc_err_set(err, BC_EINVAL, "build context '%s' is not a directory", dir);
	snprintf(df, sizeof(df), "%s", dockerfile ? dockerfile : "Dockerfile");
	bc_path_clean(df);
	w.dockerfile = df;
	snprintf(path, sizeof(path), "%s/.dockerignore", dir);
	{
		bc_buf rules = {.max = 1 << 20};
		FILE *f = fopen(path, "re");
		if (f == NULL && errno != ENOENT)
			return bc_err_sys(err, "open '%s'", path);
		if (f != NULL) {
			int read = bc_buf_read(&rules, f, err);
			fclose(f);
			if (read < 0) {
				bc_buf_free(&rules);
				return bc_err_wrap(err, "%s", path);
			}
			ig = bc_ignore_parse(bc_buf_cstr(&rules), rules.len, path, err);
			bc_buf_free(&rules);
			if (ig == NULL)
				return -1;
		}
	}
	w.ig = ig;
	w.exceptions = bc_ignore_has_exceptions(ig);
	if ((w.disk = archive_read_disk_new()) == NULL) {
		bc_ignore_free(ig);
		return bc_err_sys(err, "tar");
	}
	/* symlinks are stored, never followed */
	archive_read_disk_set_symlink_physical(w.disk);
	if ((w.a = tar_open(&s, err)) != NULL) {
		rc = walk_dir(&w, dir, "", 0);
		if (rc == 0 && name != NULL && text != NULL)
			rc = add_text(&w, name, text);
		rc = tar_close(w.a, &s, "build context", rc);
	}
	archive_read_free(w.disk);
	bc_ignore_free(ig);
	return rc;
}
