#include "lib/base/buf.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int
bc_buf_add(bc_buf *b, const void *p, size_t n, bc_err *err)
{
	size_t max = b->max ? b->max : BC_BUF_DEFAULT_MAX;
	size_t need, ncap;
	char *nd;

	if (n > max || b->len > max - n)
		return bc_err_set(err, BC_ETOOBIG, "buffer limit of %zu bytes exceeded", max);
	need = b->len + n + 1;
	if (need > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < need)
			ncap *= 2;
		nd = realloc(b->data, ncap);
		if (nd == NULL)
			return bc_err_sys(err, "growing buffer to %zu bytes", ncap);
		b->data = nd;
		b->cap = ncap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

const char *
bc_buf_cstr(bc_buf *b)
{
	return b->data ? b->data : "";
}

void
bc_buf_consume(bc_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

void
bc_buf_reset(bc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
bc_buf_free(bc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
bc_buf_read(bc_buf *b, FILE *f, bc_err *err)
{
	char chunk[8192];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (bc_buf_add(b, chunk, n, err) < 0)
			return -1;
	return 0;
}
