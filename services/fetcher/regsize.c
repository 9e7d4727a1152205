/* The size of an image by its registry's manifest, asked of the helper
 * bc-regsize (beside this binary) in a child process: see its source for
 * why. Credentials go to it through a pipe, never in its arguments. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "fetcher.h"

extern char **environ;

int
fetcher_image_size(const char *image, const char *user, const char *key, int timeout_s,
		   uint64_t *bytes, bc_err *err)
{
	char exe[PATH_MAX], helper[PATH_MAX + 16], tos[16], out[1024];
	int in[2] = {-1, -1}, op[2] = {-1, -1}, status = 0, rc = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid = -1;
	posix_spawn_file_actions_t fa;
	int64_t deadline = (int64_t)bc_mono_ms() + (int64_t)(timeout_s + 5) * 1000;
	char *argv[4];

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return bc_err_sys(err, "where am I (/proc/self/exe)");
	exe[n] = '\0';
	snprintf(helper, sizeof(helper), "%s/bc-regsize", dirname(exe));
	snprintf(tos, sizeof(tos), "%d", timeout_s);
	argv[0] = helper;
	argv[1] = (char *)image;
	argv[2] = tos;
	argv[3] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0) {
		bc_err_sys(err, "pipe");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	errno = posix_spawn(&pid, helper, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(op[1]);
	in[0] = op[1] = -1;
	if (errno != 0) {
		pid = -1;
		bc_err_sys(err, "run %s", helper);
		goto out;
	}
	/* the credentials: a secret, through the pipe only */
	if (user != NULL && key != NULL) {
		size_t len = strlen(user) + strlen(key) + 2;
		char *c = malloc(len + 1);
		if (c != NULL) {
			snprintf(c, len + 1, "%s\n%s\n", user, key);
			/* a helper that could not read them answers anonymously,
			 * and its answer says so */
			ssize_t w = write(in[1], c, len);
			(void)w;
			explicit_bzero(c, len);
			free(c);
		}
	}
	close(in[1]);
	in[1] = -1;
	while (got + 1 < sizeof(out)) {
		struct pollfd pf = {.fd = op[0], .events = POLLIN};
		int64_t left = deadline - (int64_t)bc_mono_ms();
		if (left <= 0) {
			bc_err_set(err, BC_ETIMEOUT, "registry: no answer in %d s", timeout_s);
			goto out;
		}
		int pr = poll(&pf, 1, (int)left);
		if (pr < 0 && errno != EINTR) {
			bc_err_sys(err, "poll");
			goto out;
		}
		if (pr <= 0)
			continue; /* the deadline is checked above */
		n = read(op[0], out + got, sizeof(out) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0] >= '0' && out[0] <= '9') {
		*bytes = strtoull(out, NULL, 10);
		rc = 0;
	} else {
		bc_err_set(err, BC_EHTTP, "%s", out[0] ? out : "bc-regsize failed");
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (op[i] >= 0)
			close(op[i]);
	}
	return rc;
}
