#include "lib/base/err.h"

#include "lib/base/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* An error's words are shown to people: what came from the cloud, an app
 * or Docker in them is made visible, never a control (bc_visible). */
static void
visible(bc_err *err)
{
	bc_visible_in_place(err->msg, sizeof(err->msg), false);
}

static void
vfill(bc_err *err, const char *fmt, va_list ap)
{
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	visible(err);
}

int
bc_err_set(bc_err *err, enum bc_errcode code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	err->errno_ = 0;
	err->status = 0;
	va_start(ap, fmt);
	vfill(err, fmt, ap);
	va_end(ap);
	return -1;
}

int
bc_err_sys(bc_err *err, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = BC_ESYS;
	err->errno_ = saved;
	err->status = 0;
	va_start(ap, fmt);
	vfill(err, fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int
bc_err_wrap(bc_err *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, olen, cap = sizeof(err->msg) - 1;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix) + 2; /* "prefix: " */
	if (plen > cap)
		plen = cap;
	olen = strlen(err->msg);
	if (olen > cap - plen)
		olen = cap - plen;
	memmove(err->msg + plen, err->msg, olen);
	memcpy(err->msg, prefix, plen - 2);
	memcpy(err->msg + plen - 2, ": ", 2);
	err->msg[plen + olen] = '\0';
	visible(err);
	return -1;
}

void
bc_err_clear(bc_err *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

const char *
bc_errcode_name(enum bc_errcode code)
{
	switch (code) {
	case BC_EOK:
		return "ok";
	case BC_ESYS:
		return "system";
	case BC_EINVAL:
		return "invalid";
	case BC_EPROTO:
		return "protocol";
	case BC_EHTTP:
		return "http";
	case BC_ENOTFOUND:
		return "not-found";
	case BC_ETOOBIG:
		return "too-big";
	case BC_ETIMEOUT:
		return "timeout";
	case BC_ESTOPPED:
		return "stopped";
	case BC_ELOCKED:
		return "locked";
	}
	return "unknown";
}
