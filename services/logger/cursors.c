/* The containers followed and how far each has gone: the follower table,
 * each stream's cursor (what is delivered: to the cloud, or to the buffer
 * with no cloud), and the cursor file kept in the state directory. Below
 * everything else of the logger: it calls none of its other files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/clock.h"
#include "lib/base/fsutil.h"
#include "lib/base/log.h"
#include "logger.h"

/* the follower whose id (whole: the full id, else the short one) is id */
static struct follower *
find(struct lg *g, const char *id, bool whole)
{
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (g->f[i].used && strcmp(whole ? g->f[i].id : g->f[i].short_id, id) == 0)
			return &g->f[i];
	return NULL;
}

struct follower *
lg_follower(struct lg *g, const char *short_id)
{
	return find(g, short_id, false);
}

struct follower *
lg_follower_by_id(struct lg *g, const char *id)
{
	return find(g, id, true);
}

struct follower *
lg_follower_add(struct lg *g, const char *id)
{
	for (size_t i = 0; i < LG_MAX_FOLLOW; i++)
		if (!g->f[i].used) {
			struct follower *f = &g->f[i];
			memset(f, 0, sizeof(*f));
			f->used = true;
			snprintf(f->id, sizeof(f->id), "%s", id);
			snprintf(f->short_id, sizeof(f->short_id), "%.12s", id);
			return f;
		}
	return NULL;
}

void
lg_cursor_done(struct lg *g, struct follower *f, bool is_stderr, int64_t ts_ns, uint32_t nth)
{
	bc_logcursor *c = &f->done[is_stderr];

	if (!bc_logcursor_is_new(c, ts_ns, nth))
		return;
	bc_logcursor_advance(c, ts_ns, nth);
	g->dirty = true;
}

void
lg_save_cursors(struct lg *g)
{
	json_t *doc = json_object();
	bc_err err = {0};

	for (size_t i = 0; i < LG_MAX_FOLLOW; i++) {
		struct follower *f = &g->f[i];
		char ts[2][32];
		if (!f->used || (f->done[0].ts_ns == 0 && f->done[1].ts_ns == 0))
			continue;
		for (int k = 0; k < 2; k++)
			snprintf(ts[k], sizeof(ts[k]), "%" PRId64, f->done[k].ts_ns);
		json_object_set_new(doc, f->id,
				    json_pack("{s:{s:s, s:I}, s:{s:s, s:I}}", "out", "ts", ts[0],
					      "n", (json_int_t)f->done[0].n, "err", "ts", ts[1],
					      "n", (json_int_t)f->done[1].n));
	}
	if (bc_write_json_replace(g->cursor_file, doc, 0600, &err) < 0)
		log_warnx("log cursors: %s", err.msg);
	json_decref(doc);
	g->dirty = false;
	g->saved_at = bc_mono_ms();
}

void
lg_load_cursors(struct lg *g)
{
	json_error_t je;
	json_t *doc = bc_read_json(g->cursor_file, JSON_REJECT_DUPLICATES, 1 << 20, &je);
	const char *id;
	json_t *v;

	if (doc == NULL) {
		if (strstr(je.text, "No such file") == NULL)
			log_warnx("log cursors '%s': %s (starting without them)", g->cursor_file,
				  je.text);
		return;
	}
	g->had_cursors = true;
	json_object_foreach(doc, id, v)
	{
		bc_logcursor c[2];
		struct follower *f;
		if (bc_logcursor_entry(id, v, c) < 0 || (f = lg_follower_add(g, id)) == NULL)
			continue; /* a bad entry: that container is read from its start */
		memcpy(f->done, c, sizeof(c));
		memcpy(f->read, c, sizeof(c));
	}
	json_decref(doc);
}
