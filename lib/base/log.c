#include "lib/base/log.h"

#include "lib/base/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written once in main() before anything else runs; read-only afterwards. */
static const char *prog = "balena-compose";

void
bc_log_init(const char *progname)
{
	prog = progname;
}

static void
vout(int with_errno, const char *func, const char *fmt, va_list ap)
{
	int saved = errno;
	char line[1024];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "%s: %s: ", prog, func);
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (with_errno > 0) {
		n = strlen(line);
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved));
	}
	/* one line of ours: what came from outside in it made visible (an
	 * app's or the cloud's CR, LF or escape never forges or hides one) */
	bc_visible_in_place(line, sizeof(line), false);
	fprintf(stderr, "%s\n", line);
	errno = saved;
}

void
bc_vlog(int with_errno, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(with_errno, func, fmt, ap);
	va_end(ap);
}

void
bc_vfatal(int with_errno, const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(with_errno, func, fmt, ap);
	va_end(ap);
	exit(111);
}
