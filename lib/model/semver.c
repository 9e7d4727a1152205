/* node's semver 7.x, default options (semver.h). A range is read the way
 * that package reads it: white space squeezed, split on "||", a hyphen
 * range rewritten, operators joined to their versions, then each word
 * rewritten (caret, tilde, x-range, star, >=0.0.0) into plain comparators
 * ("op version"), which are parsed last; a word that is none of these
 * makes the range invalid. The rewriting is done on text, as semver does
 * it, so what it accepts and what it means stay the same. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/model/semver.h"

#define MAX_SAFE 9007199254740991ULL /* JavaScript's Number.MAX_SAFE_INTEGER */
#define MAX_COMPS 32		     /* comparators in one set */

enum op { OP_ANY, OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };

typedef struct comp {
	enum op op;
	bc_semver v;
} comp;

/* --- versions ------------------------------------------------------------ */

/* A number without a leading zero, at most MAX_SAFE: its length, or 0. */
static size_t
number(const char *s, size_t n, uint64_t *out)
{
	size_t i = 0;
	uint64_t v = 0;

	while (i < n && isdigit((unsigned char)s[i])) {
		if (v > (MAX_SAFE - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		i++;
	}
	if (i == 0 || (i > 1 && s[0] == '0'))
		return 0;
	*out = v;
	return i;
}

/* Dot-separated identifiers of [0-9A-Za-z-]+ (pre: a numeric one has no
 * leading zero): the length of the list, or 0 when it is not one. */
static size_t
idents(const char *s, size_t n, bool pre)
{
	size_t i = 0;

	for (;;) {
		size_t st = i;
		bool digits = true;
		while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '-')) {
			if (!isdigit((unsigned char)s[i]))
				digits = false;
			i++;
		}
		if (i == st || (pre && digits && i - st > 1 && s[st] == '0'))
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

/* [v]M.m.p[-pre][+build], all of s[0..n). */
static bool
full(const char *s, size_t n, bc_semver *v)
{
	size_t i = 0, k;

	if (n > 0 && s[0] == 'v')
		i++;
	if ((k = number(s + i, n - i, &v->major)) == 0 || (i += k) >= n || s[i++] != '.' ||
	    (k = number(s + i, n - i, &v->minor)) == 0 || (i += k) >= n || s[i++] != '.' ||
	    (k = number(s + i, n - i, &v->patch)) == 0)
		return false;
	i += k;
	v->pre[0] = '\0';
	if (i < n && s[i] == '-') {
		i++;
		if ((k = idents(s + i, n - i, true)) == 0 || k >= sizeof(v->pre))
			return false;
		memcpy(v->pre, s + i, k);
		v->pre[k] = '\0';
		i += k;
	}
	if (i < n && s[i] == '+') {
		i++;
		if ((k = idents(s + i, n - i, false)) == 0)
			return false;
		i += k;
	}
	return i == n;
}

bool
bc_semver_parse(const char *s, bc_semver *v)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return n <= BC_SEMVER_MAX && full(s, n, v);
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* semver's compareIdentifiers: numbers by value, below words, words by
 * their bytes */
static int
ident_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	bool ad = all_digits(a, an), bd = all_digits(b, bn);
	int c;

	if (ad && bd) {
		while (an > 1 && *a == '0')
			a++, an--;
		while (bn > 1 && *b == '0')
			b++, bn--;
		if (an != bn)
			return an < bn ? -1 : 1;
		return memcmp(a, b, an);
	}
	if (ad != bd)
		return ad ? -1 : 1;
	c = memcmp(a, b, an < bn ? an : bn);
	return c != 0 ? c : an == bn ? 0 : an < bn ? -1 : 1;
}

int
bc_semver_cmp(const bc_semver *a, const bc_semver *b)
{
	const char *p = a->pre, *q = b->pre;

	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	if (!*p || !*q) /* a release is above its prereleases */
		return !*p && !*q ? 0 : !*p ? 1 : -1;
	for (;;) {
		size_t pn = strcspn(p, "."), qn = strcspn(q, ".");
		int c = ident_cmp(p, pn, q, qn);
		if (c != 0)
			return c < 0 ? -1 : 1;
		p += pn;
		q += qn;
		if (!*p || !*q)
			return !*p && !*q ? 0 : !*p ? -1 : 1;
		p++, q++;
	}
}

/* --- x-ranges: [v=\s]*X[.X[.X[-pre][+build]]], X a number, x, X or * ------ */

typedef struct xr {
	const char *part[3]; /* NULL: absent (an X) */
	size_t len[3];
	const char *pre; /* NULL: none */
	size_t pre_len;
} xr;

static bool
is_x(const xr *x, int i)
{
	return x->part[i] == NULL ||
	       (x->len[i] == 1 &&
		(x->part[i][0] == 'x' || x->part[i][0] == 'X' || x->part[i][0] == '*'));
}

/* One X: a number (no leading zero), x, X or *: its length, or 0. */
static size_t
xid(const char *s, size_t n)
{
	uint64_t v;

	if (n > 0 && (s[0] == 'x' || s[0] == 'X' || s[0] == '*'))
		return 1;
	return number(s, n, &v);
}

/* All of s[0..n) as an x-range, or false. */
static bool
xrange(const char *s, size_t n, xr *x)
{
	size_t i = 0, k;

	memset(x, 0, sizeof(*x));
	while (i < n && (s[i] == 'v' || s[i] == '=' || s[i] == ' '))
		i++;
	for (int p = 0; p < 3; p++) {
		if (p > 0) {
			if (i >= n || s[i] != '.')
				break;
			i++;
		}
		if ((k = xid(s + i, n - i)) == 0)
			return false;
		x->part[p] = s + i;
		x->len[p] = k;
		i += k;
	}
	if (x->part[2] != NULL && i < n && s[i] == '-') {
		if ((k = idents(s + i + 1, n - i - 1, true)) == 0)
			return false;
		x->pre = s + i + 1;
		x->pre_len = k;
		i += 1 + k;
	}
	if (x->part[2] != NULL && i < n && s[i] == '+') {
		if ((k = idents(s + i + 1, n - i - 1, false)) == 0)
			return false;
		i += 1 + k;
	}
	return i == n;
}

/* The value of part i plus one (as JavaScript's +X + 1 gives it), in
 * decimal: an X that is a number here. */
static void
plus1(const xr *x, int i, char *out, size_t n)
{
	uint64_t v = 0;

	(void)number(x->part[i], x->len[i], &v);
	snprintf(out, n, "%llu", (unsigned long long)v + 1);
}

#define P(x, i) (int)(x)->len[i], (x)->part[i]

/* --- the rewriting: each appends to out (a space-separated word list) ---- */

typedef struct words {
	char s[4 * BC_SEMVER_RANGE_MAX];
	size_t len;
	bool full;
} words;

static void add(words *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
add(words *w, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (w->len > 0 && w->len < sizeof(w->s) - 1)
		w->s[w->len++] = ' ';
	va_start(ap, fmt);
	k = vsnprintf(w->s + w->len, sizeof(w->s) - w->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(w->s) - w->len)
		w->full = true;
	else
		w->len += (size_t)k;
}

static void
caret(words *w, const xr *x)
{
	char a[32], b[32];
	bool zM = x->len[0] == 1 && x->part[0][0] == '0';
	bool zm = x->part[1] != NULL && x->len[1] == 1 && x->part[1][0] == '0';

	if (is_x(x, 0))
		add(w, "%s", "");
	else if (is_x(x, 1))
		plus1(x, 0, a, sizeof(a)), add(w, ">=%.*s.0.0 <%s.0.0-0", P(x, 0), a);
	else if (is_x(x, 2)) {
		if (zM)
			plus1(x, 1, b, sizeof(b)),
			    add(w, ">=%.*s.%.*s.0 <%.*s.%s.0-0", P(x, 0), P(x, 1), P(x, 0), b);
		else
			plus1(x, 0, a, sizeof(a)),
			    add(w, ">=%.*s.%.*s.0 <%s.0.0-0", P(x, 0), P(x, 1), a);
	} else {
		char pre[BC_SEMVER_MAX + 2] = "";
		if (x->pre != NULL)
			snprintf(pre, sizeof(pre), "-%.*s", (int)x->pre_len, x->pre);
		if (zM && zm)
			plus1(x, 2, b, sizeof(b)),
			    add(w, ">=%.*s.%.*s.%.*s%s <%.*s.%.*s.%s-0", P(x, 0), P(x, 1), P(x, 2),
				pre, P(x, 0), P(x, 1), b);
		else if (zM)
			plus1(x, 1, b, sizeof(b)), add(w, ">=%.*s.%.*s.%.*s%s <%.*s.%s.0-0",
						       P(x, 0), P(x, 1), P(x, 2), pre, P(x, 0), b);
		else
			plus1(x, 0, a, sizeof(a)), add(w, ">=%.*s.%.*s.%.*s%s <%s.0.0-0", P(x, 0),
						       P(x, 1), P(x, 2), pre, a);
	}
}

static void
tilde(words *w, const xr *x)
{
	char a[32];

	if (is_x(x, 0))
		add(w, "%s", "");
	else if (is_x(x, 1))
		plus1(x, 0, a, sizeof(a)), add(w, ">=%.*s.0.0 <%s.0.0-0", P(x, 0), a);
	else {
		plus1(x, 1, a, sizeof(a));
		if (is_x(x, 2))
			add(w, ">=%.*s.%.*s.0 <%.*s.%s.0-0", P(x, 0), P(x, 1), P(x, 0), a);
		else if (x->pre != NULL)
			add(w, ">=%.*s.%.*s.%.*s-%.*s <%.*s.%s.0-0", P(x, 0), P(x, 1), P(x, 2),
			    (int)x->pre_len, x->pre, P(x, 0), a);
		else
			add(w, ">=%.*s.%.*s.%.*s <%.*s.%s.0-0", P(x, 0), P(x, 1), P(x, 2), P(x, 0),
			    a);
	}
}

/* An operator (<, >, <=, >=, = or none) and an x-range; the word itself
 * when it is a plain comparator already. */
static void
xcomp(words *w, const char *word, size_t wn, const char *gtlt, const xr *x)
{
	bool xM = is_x(x, 0), xm = xM || is_x(x, 1), xp = xm || is_x(x, 2);
	char op[3];
	char a[32];

	/* an X before a number ("*.1", "1.x.3"): left as it is, not a
	 * comparator (semver's invalidXRangeOrder) */
	if ((xM && !is_x(x, 1)) || (is_x(x, 1) && x->part[2] != NULL && !is_x(x, 2))) {
		add(w, "%.*s", (int)wn, word);
		return;
	}
	snprintf(op, sizeof(op), "%s", gtlt);
	if (strcmp(op, "=") == 0 && xp)
		op[0] = '\0';
	if (xM) {
		add(w, "%s", strcmp(op, ">") == 0 || strcmp(op, "<") == 0 ? "<0.0.0-0" : "*");
	} else if (op[0] && xp) {
		char M[32], m[32];
		snprintf(M, sizeof(M), "%.*s", P(x, 0));
		snprintf(m, sizeof(m), "%.*s", xm ? 1 : (int)x->len[1], xm ? "0" : x->part[1]);
		if (strcmp(op, ">") == 0) {
			snprintf(op, sizeof(op), ">=");
			if (xm)
				plus1(x, 0, M, sizeof(M));
			else
				plus1(x, 1, m, sizeof(m));
		} else if (strcmp(op, "<=") == 0) {
			snprintf(op, sizeof(op), "<");
			if (xm)
				plus1(x, 0, M, sizeof(M));
			else
				plus1(x, 1, m, sizeof(m));
		}
		add(w, "%s%s.%s.0%s", op, M, m, strcmp(op, "<") == 0 ? "-0" : "");
	} else if (xm) {
		plus1(x, 0, a, sizeof(a));
		add(w, ">=%.*s.0.0 <%s.0.0-0", P(x, 0), a);
	} else if (xp) {
		plus1(x, 1, a, sizeof(a));
		add(w, ">=%.*s.%.*s.0 <%.*s.%s.0-0", P(x, 0), P(x, 1), P(x, 0), a);
	} else {
		add(w, "%.*s", (int)wn, word);
	}
}

/* The leading operator of a word: its length (gtlt gets it). */
static size_t
lead_op(const char *s, size_t n, char gtlt[3])
{
	size_t i = 0;

	if (i < n && (s[i] == '<' || s[i] == '>'))
		i++;
	if (i < n && s[i] == '=')
		i++;
	memcpy(gtlt, s, i);
	gtlt[i] = '\0';
	return i;
}

/* semver's STAR: the first "[<>]=?\s*\*" of the word goes (stars) */
static void
stars(char *s)
{
	char *st = strchr(s, '*'), *b;

	if (st == NULL)
		return;
	b = st;
	while (b > s && b[-1] == ' ')
		b--;
	if (b > s && b[-1] == '=')
		b--;
	if (b > s && (b[-1] == '<' || b[-1] == '>'))
		b--;
	memmove(b, st + 1, strlen(st + 1) + 1);
}

/* One word of a set, rewritten (parseComparator: carets, tildes,
 * x-ranges, stars); each step reads the words the last one made. */
static void
rewrite(words *out, const char *word, size_t wn)
{
	words a = {0}, b = {0};
	xr x;
	char gtlt[3];
	size_t k;

	/* caret */
	if (wn > 0 && word[0] == '^' && xrange(word + 1, wn - 1, &x))
		caret(&a, &x);
	else
		add(&a, "%.*s", (int)wn, word);
	/* tilde, on each word of that */
	for (char *p = a.s, *e; p < a.s + a.len; p = e + 1) {
		const char *q;
		e = p + strcspn(p, " ");
		q = p;
		if (e > p && *q == '~') {
			q++;
			if (q < e && *q == '>')
				q++;
			if (xrange(q, (size_t)(e - q), &x)) {
				tilde(&b, &x);
				continue;
			}
		}
		add(&b, "%.*s", (int)(e - p), p);
	}
	/* x-ranges, then stars, on each word */
	for (char *p = b.s, *e; p < b.s + b.len; p = e + 1) {
		words c = {0};
		e = p + strcspn(p, " ");
		k = lead_op(p, (size_t)(e - p), gtlt);
		while (p + k < e && p[k] == ' ')
			k++;
		if (xrange(p + k, (size_t)(e - p - k), &x))
			xcomp(&c, p, (size_t)(e - p), gtlt, &x);
		else
			add(&c, "%.*s", (int)(e - p), p);
		stars(c.s);
		add(out, "%s", c.s);
		out->full |= c.full;
	}
	out->full |= a.full || b.full;
}

/* A comparator: "" (any), or [<|>][=] and a whole version. */
static bool
comparator(const char *s, size_t n, comp *c)
{
	char gtlt[3];
	size_t i = lead_op(s, n, gtlt);

	if (n == 0) {
		c->op = OP_ANY;
		return true;
	}
	while (i < n && s[i] == ' ')
		i++;
	if (!full(s + i, n - i, &c->v))
		return false;
	c->op = !strcmp(gtlt, "<")    ? OP_LT
		: !strcmp(gtlt, "<=") ? OP_LE
		: !strcmp(gtlt, ">")  ? OP_GT
		: !strcmp(gtlt, ">=") ? OP_GE
				      : OP_EQ;
	/* >=0.0.0 is any (semver's replaceGTE0) */
	if (c->op == OP_GE && c->v.major == 0 && c->v.minor == 0 && c->v.patch == 0 && !c->v.pre[0])
		c->op = OP_ANY;
	return true;
}

typedef struct set {
	comp c[MAX_COMPS];
	size_t n;
} set;

/* s: one set's text, its white space squeezed and trimmed. */
static bool
parse_set(const char *s, size_t n, set *st)
{
	char t[BC_SEMVER_RANGE_MAX + 1], t2[BC_SEMVER_RANGE_MAX + 1];
	words w = {0};
	size_t tn = 0;

	st->n = 0;
	/* build metadata goes, wherever it is ("+" and identifiers) */
	{
		size_t o = 0;
		for (size_t i = 0; i < n;) {
			size_t k = s[i] == '+' ? idents(s + i + 1, n - i - 1, false) : 0;
			if (k > 0) {
				i += 1 + k;
				continue;
			}
			t[o++] = s[i++];
		}
		t[o] = '\0';
		s = t;
		n = o;
	}
	/* a hyphen range: "A - B", both x-ranges */
	{
		const char *sp1 = memchr(s, ' ', n);
		xr f, to;
		if (sp1 != NULL && (size_t)(sp1 - s) + 3 <= n && sp1[1] == '-' && sp1[2] == ' ' &&
		    xrange(s, (size_t)(sp1 - s), &f) &&
		    xrange(sp1 + 3, n - (size_t)(sp1 + 3 - s), &to)) {
			char a[32], from[BC_SEMVER_RANGE_MAX + 4], upto[BC_SEMVER_RANGE_MAX + 4];
			int fl = (int)(sp1 - s), tl = (int)(n - (size_t)(sp1 + 3 - s));
			if (is_x(&f, 0))
				from[0] = '\0';
			else if (is_x(&f, 1))
				snprintf(from, sizeof(from), ">=%.*s.0.0", P(&f, 0));
			else if (is_x(&f, 2))
				snprintf(from, sizeof(from), ">=%.*s.%.*s.0", P(&f, 0), P(&f, 1));
			else
				snprintf(from, sizeof(from), ">=%.*s", fl, s);
			if (is_x(&to, 0))
				upto[0] = '\0';
			else if (is_x(&to, 1))
				plus1(&to, 0, a, sizeof(a)),
				    snprintf(upto, sizeof(upto), "<%s.0.0-0", a);
			else if (is_x(&to, 2))
				plus1(&to, 1, a, sizeof(a)),
				    snprintf(upto, sizeof(upto), "<%.*s.%s.0-0", P(&to, 0), a);
			else if (to.pre != NULL)
				snprintf(upto, sizeof(upto), "<=%.*s.%.*s.%.*s-%.*s", P(&to, 0),
					 P(&to, 1), P(&to, 2), (int)to.pre_len, to.pre);
			else
				snprintf(upto, sizeof(upto), "<=%.*s", tl, sp1 + 3);
			tn = (size_t)snprintf(t2, sizeof(t2), "%s%s%s", from,
					      *from && *upto ? " " : "", upto);
			if (tn >= sizeof(t2))
				return false;
			s = t2;
			n = tn;
		}
	}
	/* operators joined to their versions ("> 1.2" is ">1.2", "~ 1" is "~1",
	 * "~> 1" is "~1"), then each word rewritten */
	for (size_t i = 0; i < n;) {
		char word[BC_SEMVER_RANGE_MAX + 1];
		size_t wn = 0, e = i;
		while (e < n && s[e] != ' ')
			e++;
		memcpy(word, s + i, e - i);
		wn = e - i;
		word[wn] = '\0';
		if (e < n && (!strcmp(word, "<") || !strcmp(word, ">") || !strcmp(word, "<=") ||
			      !strcmp(word, ">=") || !strcmp(word, "=") || !strcmp(word, "~") ||
			      !strcmp(word, "~>") || !strcmp(word, "^"))) {
			size_t e2 = e + 1;
			if (!strcmp(word, "~>"))
				wn = 1;
			while (e2 < n && s[e2] != ' ')
				e2++;
			memcpy(word + wn, s + e + 1, e2 - e - 1);
			wn += e2 - e - 1;
			word[wn] = '\0';
			e = e2;
		}
		rewrite(&w, word, wn);
		i = e + 1;
	}
	if (n == 0)
		rewrite(&w, "", 0);
	if (w.full)
		return false;
	/* the comparators: an empty word is any */
	{
		const char *p = w.s, *end = w.s + w.len;
		bool any_word = w.len == 0;
		for (;;) {
			const char *e = p;
			while (e < end && *e != ' ')
				e++;
			if (e > p || any_word) {
				if (st->n == MAX_COMPS ||
				    !comparator(p, (size_t)(e - p), &st->c[st->n]))
					return false;
				st->n++;
			}
			if (e >= end)
				break;
			p = e + 1;
		}
		if (st->n == 0) { /* only empty words: any */
			st->c[0].op = OP_ANY;
			st->n = 1;
		}
	}
	return true;
}

/* The range's text squeezed (white space to one space, trimmed) into t. */
static bool
squeeze(const char *r, char *t, size_t cap)
{
	size_t n = 0;

	for (const char *p = r; *p; p++) {
		if (isspace((unsigned char)*p)) {
			if (n > 0 && t[n - 1] != ' ')
				t[n++] = ' ';
		} else
			t[n++] = *p;
		if (n == cap - 1)
			return false;
	}
	if (n > 0 && t[n - 1] == ' ')
		n--;
	t[n] = '\0';
	return true;
}

/* The set that starts at *p (its text up to "||" or the end), parsed;
 * *p moves past it (NULL after the last). */
static bool
next_set(const char **p, set *st)
{
	const char *bar = strstr(*p, "||"), *q = *p;
	size_t len = bar != NULL ? (size_t)(bar - *p) : strlen(*p);

	while (len > 0 && *q == ' ')
		q++, len--;
	while (len > 0 && q[len - 1] == ' ')
		len--;
	*p = bar != NULL ? bar + 2 : NULL;
	return parse_set(q, len, st);
}

static bool
any_set(const set *st)
{
	return st->n == 1 && st->c[0].op == OP_ANY;
}

bool
bc_semver_range_valid(const char *r)
{
	char t[BC_SEMVER_RANGE_MAX + 1];
	set st;

	if (!squeeze(r, t, sizeof(t)))
		return false;
	for (const char *p = t; p != NULL;)
		if (!next_set(&p, &st))
			return false;
	return true;
}
static bool
test(const comp *c, const bc_semver *v)
{
	int d;

	if (c->op == OP_ANY)
		return true;
	d = bc_semver_cmp(v, &c->v);
	switch (c->op) {
	case OP_EQ:
		return d == 0;
	case OP_LT:
		return d < 0;
	case OP_LE:
		return d <= 0;
	case OP_GT:
		return d > 0;
	case OP_GE:
		return d >= 0;
	default:
		return true;
	}
}

static bool
test_set(const set *s, const bc_semver *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!test(&s->c[i], v))
			return false;
	if (!v->pre[0])
		return true;
	/* a prerelease only where a comparator of its major.minor.patch has one */
	for (size_t i = 0; i < s->n; i++) {
		const bc_semver *a = &s->c[i].v;
		if (s->c[i].op != OP_ANY && a->pre[0] && a->major == v->major &&
		    a->minor == v->minor && a->patch == v->patch)
			return true;
	}
	return false;
}

bool
bc_semver_satisfies(const bc_semver *v, const char *r)
{
	char t[BC_SEMVER_RANGE_MAX + 1];
	size_t nsets = 0;
	bool any = false;
	set st;

	/* all of it must be valid; more than one set and one of them any:
	 * that set alone (semver keeps just it) */
	if (!squeeze(r, t, sizeof(t)))
		return false;
	for (const char *p = t; p != NULL; nsets++) {
		if (!next_set(&p, &st))
			return false;
		any |= any_set(&st);
	}
	if (nsets > 1 && any)
		return !v->pre[0];
	for (const char *p = t; p != NULL;)
		if (next_set(&p, &st) && test_set(&st, v))
			return true;
	return false;
}
