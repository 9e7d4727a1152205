/* proto/ipc: bc_sock_close never leaves its caller waiting on nng 1.5.2's
 * close hang (a message arriving on a pipe as the socket closes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/clock.h"
#include "proto/ipc.h"

#define ROUNDS 300
#define FLOOD_BYTES (64 << 10)

struct flood {
	nng_socket pub;
	atomic_bool stop;
};

static void *
flood_run(void *arg)
{
	struct flood *f = arg;
	static char buf[FLOOD_BYTES];

	memset(buf, 'x', sizeof(buf));
	while (!atomic_load(&f->stop))
		if (nng_send(f->pub, buf, sizeof(buf), 0) != 0)
			usleep(1000);
	return NULL;
}

/* In a child (nng's threads do not survive fork, and a hang must end in a
 * failure, not a stuck suite): a publisher sends 64 KiB messages without
 * pause; up to ROUNDS times a subscriber dials, receives one, and is closed,
 * until a close hangs in nng (the guard returns after BC_CLOSE_MS). Exit
 * 0 when every close returned, 2 if one took longer than BC_CLOSE_MS and a
 * bit, 3 if the hang was not noted, 4 if a close after it waited; SIGALRM (a
 * close that never returned) kills it. */
static int
close_under_flood(const char *dir)
{
	struct flood f = {0};
	char addr[160];
	pthread_t t;
	bc_err err = {0};
	int slow = 0;
	bool hung = false;

	alarm(30);
	setenv("BC_RUNDIR", dir, 1);
	if (bc_listen(&f.pub, "flood", BC_SOCK_PUB, &err) < 0 ||
	    bc_addr(addr, sizeof(addr), "flood", BC_SOCK_PUB, &err) < 0) {
		fprintf(stderr, "listen: %s\n", err.msg);
		return 1;
	}
	if (pthread_create(&t, NULL, flood_run, &f) != 0)
		return 1;
	for (int i = 0; i < ROUNDS; i++) {
		nng_socket s;
		nng_msg *m;
		uint64_t t0, took;
		if (nng_sub0_open(&s) != 0 ||
		    nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0) != 0 ||
		    nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 1 << 20) != 0 ||
		    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000) != 0 ||
		    nng_dial(s, addr, NULL, 0) != 0)
			return 1;
		if (nng_recvmsg(s, &m, 0) != 0)
			return 1;
		nng_msg_free(m);
		t0 = bc_mono_ms();
		bc_sock_close(s);
		took = bc_mono_ms() - t0;
		if (took > BC_CLOSE_MS + 1000)
			slow++;
		if (took >= BC_CLOSE_MS) {
			/* nng hung: the guard let us go; the next closes in this
			 * process would each wait it out (nng's reaper is stuck) */
			fprintf(stderr,
				"(nng's close hung at round %d; bc_sock_close returned "
				"after %llu ms)\n",
				i + 1, (unsigned long long)took);
			hung = true;
			break;
		}
	}
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	if (hung) {
		/* once one hung, nng's reaper is stuck: later closes are not
		 * tried (they would hang too), and cost nothing */
		uint64_t t0 = bc_mono_ms();
		if (!bc_sock_close_hung())
			return 3;
		bc_sock_close(f.pub);
		if (bc_mono_ms() - t0 > 100)
			return 4;
	} else {
		bc_sock_close(f.pub);
	}
	return slow > 0 ? 2 : 0;
}

static void
test_close_under_flood(void **state)
{
	char dir[] = "/tmp/bc-ipc-test.XXXXXX";
	char path[200];
	pid_t pid;
	int st = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(close_under_flood(dir));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	snprintf(path, sizeof(path), "%s/flood.pub", dir);
	unlink(path);
	rmdir(dir);
	if (WIFSIGNALED(st))
		fail_msg("a close under a flood never returned (signal %d)", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A peer of another uid is refused before it is added: it is never
 * counted, so its going must not count down either (five refused peers
 * made the count -5, and the logger thought nobody followed). Raw
 * connections of nobody (the SP handshake by hand: no nng after a fork),
 * then one of ours. In a child; exit 0, or the step that failed. */
static int
refused_not_counted(const char *dir)
{
	nng_socket pub, sub;
	atomic_int peers = 0;
	char path[200], addr[160];
	bc_err err = {0};

	alarm(30);
	setenv("BC_RUNDIR", dir, 1);
	if (bc_listen_counted(&pub, "cnt", BC_SOCK_PUB, &peers, &err) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/cnt.pub", dir);
	/* modes loosened as someone might: the uid check still holds */
	if (chmod(dir, 0777) < 0 || chmod(path, 0666) < 0)
		return 2;
	for (int i = 0; i < 5; i++) {
		pid_t pid = fork();
		int st;
		if (pid == 0) {
			static const unsigned char hello[8] = {0, 'S', 'P', 0, 0, 0x21, 0, 0};
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			char buf[64];
			int fd;
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(1);
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
			fd = socket(AF_UNIX, SOCK_STREAM, 0);
			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
			    write(fd, hello, sizeof(hello)) != sizeof(hello))
				_exit(2);
			while (read(fd, buf, sizeof(buf)) > 0) /* until the daemon hangs up */
				;
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			return 3;
	}
	usleep(200000);
	if (atomic_load(&peers) != 0) {
		fprintf(stderr, "after 5 refused peers: %d\n", atomic_load(&peers));
		return 4;
	}
	/* one of ours: counted, then gone */
	if (bc_addr(addr, sizeof(addr), "cnt", BC_SOCK_PUB, &err) < 0 || nng_sub0_open(&sub) != 0 ||
	    nng_dial(sub, addr, NULL, 0) != 0)
		return 5;
	for (int i = 0; i < 100 && atomic_load(&peers) != 1; i++)
		usleep(20000);
	if (atomic_load(&peers) != 1)
		return 6;
	bc_sock_close(sub);
	for (int i = 0; i < 100 && atomic_load(&peers) != 0; i++)
		usleep(20000);
	if (atomic_load(&peers) != 0)
		return 7;
	bc_sock_close(pub);
	return 0;
}

static void
test_refused_peer_not_counted(void **state)
{
	char dir[] = "/tmp/bc-ipc-test.XXXXXX";
	char path[200];
	pid_t pid;
	int st = 0;

	(void)state;
	if (geteuid() != 0)
		skip(); /* a peer of another uid needs root to make */
	assert_non_null(mkdtemp(dir));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(refused_not_counted(dir));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	snprintf(path, sizeof(path), "%s/cnt.pub", dir);
	unlink(path);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_close_under_flood),
	    cmocka_unit_test(test_refused_peer_not_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
