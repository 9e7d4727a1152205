/* What the CLI prints is text for people: stdout and stderr go through a
 * filter that makes every control visible (bc_visible, LF kept), so an
 * app's log line, a cloud's target key or an error quoting either never
 * moves the cursor, retitles the window or forges a line of its own.
 * The CLI's own escapes (colours, the progress bars) go around it
 * (cli_raw). --json output passes unchanged: JSON escapes its controls. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/text.h"
#include "lib/base/buf.h"
#include "cli.h"

struct term {
	int fd;
	unsigned char carry[4]; /* a UTF-8 sequence cut by stdio's buffer */
	size_t n_carry;
};

static struct term out_term = {.fd = STDOUT_FILENO}, err_term = {.fd = STDERR_FILENO};
static FILE *raw_out, *raw_err;

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* How many bytes at the end of p (n bytes) start a UTF-8 sequence that is
 * not complete yet (at most 3): kept for the next write. */
static size_t
cut_tail(const unsigned char *p, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = p[n - back];
		size_t need = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if ((c & 0xc0) == 0x80)
			continue; /* a continuation: look further back */
		return need > back ? back : 0;
	}
	return 0;
}

static ssize_t
term_write(void *cookie, const char *buf, size_t size)
{
	struct term *t = cookie;
	char in[4096 + 4], out[4 * 4096 + 64];
	size_t done = 0;

	while (done < size) {
		size_t take = size - done > 4096 ? 4096 : size - done, n, keep;
		memcpy(in, t->carry, t->n_carry);
		memcpy(in + t->n_carry, buf + done, take);
		n = t->n_carry + take;
		keep = cut_tail((const unsigned char *)in, n);
		t->n_carry = keep;
		memcpy(t->carry, in + n - keep, keep);
		n -= keep;
		if (write_all(t->fd, out, bc_visible(in, n, out, sizeof(out), true)) < 0)
			return done > 0 ? (ssize_t)done : -1;
		done += take;
	}
	return (ssize_t)size;
}

static int
term_close(void *cookie)
{
	struct term *t = cookie;
	char out[64];

	if (t->n_carry > 0) /* a sequence that never ended: shown as bytes */
		write_all(t->fd, out,
			  bc_visible((const char *)t->carry, t->n_carry, out, sizeof(out), true));
	t->n_carry = 0;
	return 0;
}

void
cli_term_init(void)
{
	cookie_io_functions_t io = {.write = term_write, .close = term_close};
	FILE *o = fopencookie(&out_term, "w", io), *e = fopencookie(&err_term, "w", io);

	if (o == NULL || e == NULL)
		return; /* out of memory: printed as it is */
	raw_out = stdout;
	raw_err = stderr;
	setvbuf(o, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
	setvbuf(e, NULL, _IOLBF, BUFSIZ);
	stdout = o;
	stderr = e;
}

void
cli_raw(FILE *f, const char *s)
{
	FILE *raw = f == stdout ? raw_out : f == stderr ? raw_err : NULL;

	fflush(f);
	if (raw == NULL) {
		fputs(s, f);
		return;
	}
	write_all(fileno(raw), s, strlen(s));
}
