/* lib/docker/tarball: tar bodies (files made in a container, a build's
 * context) read back with libarchive; .dockerignore as the docker CLI
 * reads it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/fsutil.h"
#include "lib/docker/build.h"
#include "lib/docker/tarball.h"
#include "lib/docker/ustar.h"
#include "lib/base/text.h"

/* The tar's entries as "name mode uid:gid size [link]" lines, sorted by
 * the order they came in; contents of regular files into contents (name
 * -> text). */
static char *
listing(const bc_buf *tar, json_t *contents)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bc_buf out = {0};

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char line[600];
		const char *ln = archive_entry_symlink(e);
		snprintf(line, sizeof(line), "%s %o %lld:%lld %lld%s%s\n", archive_entry_pathname(e),
			 (unsigned)archive_entry_perm(e), (long long)archive_entry_uid(e),
			 (long long)archive_entry_gid(e), (long long)archive_entry_size(e),
			 ln ? " -> " : "", ln ? ln : "");
		bc_buf_add(&out, line, strlen(line), NULL);
		if (contents != NULL && archive_entry_filetype(e) == AE_IFREG) {
			char buf[4096];
			la_ssize_t n = archive_read_data(a, buf, sizeof(buf) - 1);
			assert_true(n >= 0);
			buf[n] = '\0';
			json_object_set_new(contents, archive_entry_pathname(e), json_string(buf));
		}
	}
	archive_read_free(a);
	{
		char *text = strdup(bc_buf_cstr(&out));
		bc_buf_free(&out);
		return text;
	}
}

static void
test_files(void **state)
{
	bc_buf tar = {0};
	bc_err err = {0};
	json_t *files = json_pack("[{s:s, s:s, s:i, s:s, s:s}, {s:s, s:s}]", "target",
				  "/run/secrets/tok", "content", "s3cret", "mode", 0400, "uid",
				  "7", "gid", "8", "target", "/motd", "content", "");
	json_t *contents = json_object();
	char *l;
	(void)state;
	assert_int_equal(bc_tar_files(files, &tar, &err), 0);
	assert_int_equal(tar.len % 512, 0);
	l = listing(&tar, contents);
	assert_string_equal(l, "run/secrets/tok 400 7:8 6\nmotd 444 0:0 0\n");
	assert_string_equal(json_string_value(json_object_get(contents, "run/secrets/tok")),
			    "s3cret");
	free(l);
	bc_buf_free(&tar);
	/* bounded: the buffer's limit is the tar's */
	tar.max = 1024;
	json_object_set_new(json_array_get(files, 0), "content", json_string(
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789012345678901234567890123456789"));
	assert_int_equal(bc_tar_files(files, &tar, &err), -1);
	assert_non_null(strstr(err.msg, "buffer limit of 1024 bytes exceeded"));
	bc_buf_free(&tar);
	json_decref(files);
	json_decref(contents);

	/* a long name goes in the header's prefix and name, read back whole
	 * by libarchive; one that cannot is said */
	{
		char dir[200], path[400], want[420];
		memset(dir, 'd', 150);
		dir[150] = '\0';
		snprintf(path, sizeof(path), "/%s/%s", dir, "file-of-sixty-characters-in-its-name-xxxxxxxxxxxxxxxxxxxxx");
		snprintf(want, sizeof(want), "%s 444 0:0 2\n", path + 1);
		assert_true(bc_tar_name_fits(path));
		tar.max = 0; /* the default bound again */
		files = json_pack("[{s:s, s:s}]", "target", path, "content", "hi");
		contents = json_object();
		assert_int_equal(bc_tar_files(files, &tar, &err), 0);
		l = listing(&tar, contents);
		assert_string_equal(l, want);
		free(l);
		bc_buf_free(&tar);
		json_decref(files);
		json_decref(contents);
		memset(dir, 'd', 160);
		dir[160] = '\0';
		snprintf(path, sizeof(path), "/%s/%s", dir, "sixty");
		assert_false(bc_tar_name_fits(path));
		files = json_pack("[{s:s, s:s}]", "target", path, "content", "hi");
		assert_int_equal(bc_tar_files(files, &tar, &err), -1);
		assert_non_null(strstr(err.msg, "is too long for a tar name"));
		bc_buf_free(&tar);
		json_decref(files);
		assert_true(bc_tar_name_fits("/short"));
		assert_false(bc_tar_name_fits("/"));
	}
}

static bc_ignore *
rules(const char *text)
{
	bc_err err = {0};
	bc_ignore *ig = bc_ignore_parse(text, strlen(text), ".dockerignore", &err);
	if (ig == NULL)
		fail_msg("%s", err.msg);
	return ig;
}

/* The docker CLI's patternmatcher's verdicts (moby/patternmatcher's
 * tests and docs' examples). */
static void
test_ignore(void **state)
{
	bc_ignore *ig;
	bc_err err = {0};
	(void)state;
	ig = rules("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
	assert_true(bc_ignore_match(ig, "somedir/temporary.txt"));
	assert_true(bc_ignore_match(ig, "somedir/temp"));
	assert_true(bc_ignore_match(ig, "somedir/subdir/temporary.txt"));
	assert_true(bc_ignore_match(ig, "tempa"));
	assert_false(bc_ignore_match(ig, "tempab"));
	assert_false(bc_ignore_match(ig, "temporary.txt"));
	assert_false(bc_ignore_match(ig, "# comment"));
	bc_ignore_free(ig);

	ig = rules("**/*.go\n!keep/**\n");
	assert_true(bc_ignore_match(ig, "a.go"));
	assert_true(bc_ignore_match(ig, "x/y/a.go"));
	assert_false(bc_ignore_match(ig, "keep/a.go"));
	assert_false(bc_ignore_match(ig, "a.goo"));
	assert_true(bc_ignore_has_exceptions(ig));
	bc_ignore_free(ig);

	/* a directory excludes what is under it; "!" includes again; the last
	 * rule wins; leading "/" and "./" are cleaned away */
	ig = rules("  /node_modules  \n./build/\n*.md\n!README.md\nREADME.md\n!docs/README.md\n");
	assert_true(bc_ignore_match(ig, "node_modules"));
	assert_true(bc_ignore_match(ig, "node_modules/x/y.js"));
	assert_true(bc_ignore_match(ig, "build/out.o"));
	assert_false(bc_ignore_match(ig, "src/build/out.o"));
	assert_true(bc_ignore_match(ig, "CHANGES.md"));
	assert_true(bc_ignore_match(ig, "README.md"));
	assert_false(bc_ignore_match(ig, "docs/README.md"));
	assert_false(bc_ignore_match(ig, "docs/x.md")); /* '*' stops at '/' */
	assert_false(bc_ignore_has_exceptions(NULL));
	bc_ignore_free(ig);

	ig = rules("[a-c]?.txt\nx\\*y\n**\n");
	assert_true(bc_ignore_match(ig, "anything/at/all")); /* "**" at the end */
	bc_ignore_free(ig);
	ig = rules("[a-c]?.txt\nx\\*y\n");
	assert_true(bc_ignore_match(ig, "b1.txt"));
	assert_false(bc_ignore_match(ig, "d1.txt"));
	assert_true(bc_ignore_match(ig, "x*y"));
	assert_false(bc_ignore_match(ig, "xzy"));
	bc_ignore_free(ig);

	assert_null(bc_ignore_parse("ok\n[abc\n", 8, ".dockerignore", &err));
	assert_non_null(strstr(err.msg, ".dockerignore:2: '[abc': unclosed '['"));
	assert_null(bc_ignore_parse("!\n", 2, ".dockerignore", &err));
	assert_non_null(strstr(err.msg, ".dockerignore:1: '!' with no pattern"));
	/* a match never runs away: many stars on a long name */
	ig = rules("*a*a*a*a*a*a*a*a*a*a*a*a*b\n");
	assert_false(bc_ignore_match(ig, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	bc_ignore_free(ig);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_context(void **state)
{
	char dir[] = "/tmp/bc-tar-XXXXXX", p[600];
	bc_buf tar = {0};
	bc_err err = {0};
	json_t *contents = json_object();
	char *l;
	(void)state;
	assert_non_null(mkdtemp(dir));
	put(dir, "Dockerfile", "FROM scratch\n");
	put(dir, ".dockerignore", "Dockerfile\n.dockerignore\n*.log\nsecret/\n!secret/public\n");
	put(dir, "app.txt", "app");
	put(dir, "debug.log", "noise");
	snprintf(p, sizeof(p), "%s/secret", dir);
	mkdir(p, 0700);
	put(dir, "secret/key", "private");
	put(dir, "secret/public", "pub");
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/etc/shadow", p), 0);
	chmod(dir, 0755);
	snprintf(p, sizeof(p), "%s/app.txt", dir);
	chmod(p, 0640);
	assert_int_equal(bc_tar_context(dir, "Dockerfile", &tar, &err), 0);
	l = listing(&tar, contents);
	/* the Dockerfile and .dockerignore are sent though excluded; the log
	 * and secret/key are not, secret/public is; the link is a link */
	assert_non_null(strstr(l, "Dockerfile 644 0:0 13\n"));
	assert_non_null(strstr(l, ".dockerignore "));
	assert_non_null(strstr(l, "app.txt 640 0:0 3\n"));
	assert_non_null(strstr(l, "link 777 0:0 0 -> /etc/shadow\n"));
	assert_non_null(strstr(l, "secret/public 644 0:0 3\n"));
	assert_null(strstr(l, "debug.log"));
	assert_null(strstr(l, "secret/key"));
	assert_null(strstr(l, "secret 700")); /* the excluded directory itself */
	assert_string_equal(json_string_value(json_object_get(contents, "app.txt")), "app");
	free(l);
	bc_buf_free(&tar);
	/* a bad .dockerignore is an error naming it */
	put(dir, ".dockerignore", "[x\n");
	assert_int_equal(bc_tar_context(dir, NULL, &tar, &err), -1);
	assert_non_null(strstr(err.msg, "/.dockerignore:1:"));
	bc_buf_free(&tar);
	assert_int_equal(bc_tar_context("/nonexistent-bc", NULL, &tar, &err), -1);
	assert_non_null(strstr(err.msg, "build context '/nonexistent-bc'"));
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	assert_int_equal(system(p), 0);
	json_decref(contents);
}

static void
test_path_clean(void **state)
{
	static const char *const cases[][2] = {
	    {"/a/b/../c", "/a/c"}, {"a//b/./c/", "a/b/c"}, {"../x", "../x"}, {"/../x", "/x"},
	    {"", "."},		   {"./", "."},		   {"a/..", "."},   {"/", "/"},
	    {"a/../../b", "../b"}};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char p[64];
		snprintf(p, sizeof(p), "%s", cases[i][0]);
		bc_path_clean(p);
		assert_string_equal(p, cases[i][1]);
	}
}

/* The query of POST /build: every key the builder takes, encoded */
static void
test_build_query(void **state)
{
	bc_err err = {0};
	json_t *b = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:[s], s:s, s:s, s:I, s:[s,s], "
			      "s:b, s:b, s:[s], s:s}",
			      "context", "/x", "dockerfile", "sub/Dockerfile", "args", "A", "1 2",
			      "labels", "l", "v", "cache_from", "c:1", "target", "prod", "network",
			      "host", "shm_size", (json_int_t)1024, "extra_hosts", "h:1.2.3.4",
			      "g:::1", "no_cache", 1, "pull", 1, "tags", "p/web:2", "platform",
			      "linux/arm64");
	char *q;
	(void)state;
	q = bc_build_query(b, "proj-web", &err);
	assert_non_null(q);
	assert_string_equal(q, "t=proj-web&t=p%2Fweb%3A2&dockerfile=sub%2FDockerfile"
			       "&buildargs=%7B%22A%22%3A%221%202%22%7D"
			       "&labels=%7B%22l%22%3A%22v%22%7D&cachefrom=%5B%22c%3A1%22%5D"
			       "&target=prod&networkmode=host&platform=linux%2Farm64"
			       "&extrahosts=h%3A1.2.3.4%2Cg%3A%3A%3A1&shmsize=1024&nocache=1&pull=1"
			       "&rm=1");
	free(q);
	/* an inline Dockerfile is named in the context */
	json_object_del(b, "dockerfile");
	json_object_set_new(b, "dockerfile_inline", json_string("FROM scratch"));
	q = bc_build_query(b, "i", &err);
	assert_non_null(strstr(q, "&dockerfile=.balena-compose.Dockerfile&"));
	free(q);
	/* wrong types are errors naming the key */
	json_object_set_new(b, "args", json_pack("{s:i}", "A", 1));
	assert_null(bc_build_query(b, "i", &err));
	assert_string_equal(err.msg, "build.args: 'A' must be a string");
	json_object_set_new(b, "args", json_object());
	json_object_set_new(b, "tags", json_string("x"));
	assert_null(bc_build_query(b, "i", &err));
	assert_string_equal(err.msg, "build.tags must be a list of strings");
	json_decref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_ignore),
	    cmocka_unit_test(test_context),
	    cmocka_unit_test(test_path_clean),
	    cmocka_unit_test(test_build_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
