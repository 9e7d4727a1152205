/* libFuzzer: compose files that include and extend each other. The input
 * is several files: the first is /fuzz/docker-compose.yml, each line
 * "#file NAME" starts the next, /fuzz/NAME; include and extends read them
 * from memory (bc_compose_opts.read), so graphs of any shape (cycles,
 * chains, files missing) reach lib/compose's merge, then lib/target. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/model/compose.h"
#include "lib/model/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct vfs {
	const char *data;
	size_t size;
};

static const char *
vars(void *ud, const char *name)
{
	(void)ud;
	return strcmp(name, "TAG") == 0 ? "v1" : NULL;
}

/* The text of file name: after its "#file NAME" line, to the next one. */
static int
vread(void *ud, const char *path, bc_buf *out, bc_err *err)
{
	const struct vfs *v = ud;
	char marker[300];
	const char *at, *end;

	if (strncmp(path, "/fuzz/", 6) != 0 || strlen(path) > 200)
		return bc_err_set(err, BC_ENOTFOUND, "no file '%s'", path);
	snprintf(marker, sizeof(marker), "#file %s\n", path + 6);
	at = memmem(v->data, v->size, marker, strlen(marker));
	if (at == NULL)
		return bc_err_set(err, BC_ENOTFOUND, "no file '%s'", path);
	at += strlen(marker);
	end = memmem(at, v->size - (size_t)(at - v->data), "#file ", 6);
	return bc_buf_add(out, at, end ? (size_t)(end - at) : v->size - (size_t)(at - v->data),
			  err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfs v = {(const char *)data, size};
	bc_compose_opts o = {.project = "fuzz", .lookup = vars, .read = vread, .ud = &v};
	const char *first_end = memmem(data, size, "#file ", 6);
	size_t n = first_end ? (size_t)(first_end - (const char *)data) : size;
	json_t *doc = bc_compose_parse((const char *)data, n, "/fuzz/docker-compose.yml", "/fuzz",
				       &o, NULL);
	bc_state st;

	if (doc != NULL && bc_target_parse(doc, NULL, &st, NULL) == 0)
		bc_state_free(&st);
	json_decref(doc);
	return 0;
}
