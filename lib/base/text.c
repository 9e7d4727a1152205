/* Terminal-safe text: see text.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/text.h"

void
bc_tame(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			p[0] = p[1] = '?', p++;
	}
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), 0 when
 * it is not one (overlong forms, surrogates, past U+10FFFF included). */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* The visible form of the sequence at p into esc (a literal, or an escape);
 * *used gets how many input bytes it stands for. */
static size_t
visible_one(const unsigned char *p, size_t n, bool keep_lf, char esc[8], size_t *used)
{
	size_t len = utf8_len(p, n);

	*used = len ? len : 1;
	if (len == 0)
		return (size_t)snprintf(esc, 8, "\\x%02x", p[0]);
	if (len == 1) {
		if (p[0] == '\t' || (p[0] == '\n' && keep_lf) || (p[0] >= 0x20 && p[0] < 0x7f)) {
			esc[0] = (char)p[0];
			return 1;
		}
		if (p[0] == '\n')
			return (size_t)snprintf(esc, 8, "\\n");
		if (p[0] == '\r')
			return (size_t)snprintf(esc, 8, "\\r");
		if (p[0] == 0x1b)
			return (size_t)snprintf(esc, 8, "\\e");
		return (size_t)snprintf(esc, 8, "\\x%02x", p[0]);
	}
	if (len == 2 && p[0] == 0xc2 && p[1] <= 0x9f) /* a C1 control */
		return (size_t)snprintf(esc, 8, "\\u00%02x", p[1]);
	memcpy(esc, p, len);
	return len;
}

size_t
bc_visible(const char *in, size_t n, char *out, size_t outn, bool keep_lf)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0, used;
	char esc[8];

	while (n > 0) {
		size_t k = visible_one(p, n, keep_lf, esc, &used);
		if (o + k >= outn)
			break;
		memcpy(out + o, esc, k);
		o += k;
		p += used;
		n -= used;
	}
	out[o] = '\0';
	return o;
}

bool
bc_visible_needed(const char *in, size_t n, bool keep_lf)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t used;
	char esc[8];

	while (n > 0) {
		size_t k = visible_one(p, n, keep_lf, esc, &used);
		if (k != used || memcmp(esc, p, k) != 0)
			return true;
		p += used;
		n -= used;
	}
	return false;
}

void
bc_visible_in_place(char *s, size_t size, bool keep_lf)
{
	char v[1024];
	size_t n = strlen(s);

	if (size > sizeof(v))
		size = sizeof(v);
	if (!bc_visible_needed(s, n, keep_lf))
		return;
	bc_visible(s, n, v, size, keep_lf);
	memcpy(s, v, strlen(v) + 1);
}

void
bc_status_line(char *out, size_t n, const char *fmt, const char *what)
{
	char when[32];
	time_t t = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(out, n, "%s ", when);
	snprintf(out + strlen(out), n - strlen(out), fmt, what);
	bc_tame(out); /* the cloud's words among them */
}

char *
bc_pct_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int
bc_tar_name_split(const char *path)
{
	size_t n = strlen(path);

	if (n <= 100)
		return -1;
	for (size_t i = n > 101 ? n - 101 : 0; i < n && i <= 155; i++)
		if (path[i] == '/' && n - i - 1 <= 100 && n - i - 1 > 0)
			return (int)i;
	return -2;
}

bool
bc_tar_name_fits(const char *path)
{
	if (path[0] == '/')
		path++;
	return *path != '\0' && bc_tar_name_split(path) != -2;
}
