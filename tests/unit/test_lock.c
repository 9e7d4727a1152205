/* lib/lock: lockfiles on a real filesystem (a temp dir). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <errno.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/locks/lock.h"
#include "lib/locks/mounts.h"
#include "lib/base/fsutil.h"

static char base[64];

static void
path(char *out, size_t n, const char *svc, const char *file)
{
	snprintf(out, n, "%s/7/%s/%s", base, svc, file);
}

static void
app_lock(const char *svc, const char *file)
{
	char p[256];
	FILE *f;
	path(p, sizeof(p), svc, file);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("held by the app\n", f);
	fclose(f);
}

static bc_strv
two(void)
{
	bc_strv v = {0};
	bc_strv_add(&v, "web");
	bc_strv_add(&v, "db");
	return v;
}

static void
test_take_release(void **state)
{
	bc_strv v = two();
	char d[256];
	uint64_t lease = 0;
	(void)state;
	assert_int_equal(bc_lock_take(base, 7, &v, 41, false, NULL, NULL), 0);
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_holder(d, &lease), 2);
	assert_int_equal(lease, 41);
	/* the same lease again: fine; another lease: held by us, never
	 * reported as the app's */
	assert_int_equal(bc_lock_take(base, 7, &v, 41, false, NULL, NULL), 0);
	assert_int_equal(bc_lock_take(base, 7, &v, 42, false, NULL, NULL), 2);
	assert_int_equal(bc_lock_release(base, 7, &v, 42, NULL), 0); /* not its files */
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	assert_int_equal(bc_lock_release(base, 7, &v, 41, NULL), 0);
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	bc_strv_free(&v);
}

static void
test_app_holds(void **state)
{
	bc_strv v = two();
	const char *held = NULL;
	char d[256], p[256];
	(void)state;
	assert_int_equal(bc_lock_take(base, 7, &v, 1, false, NULL, NULL), 0);
	assert_int_equal(bc_lock_release(base, 7, &v, 1, NULL), 0);
	app_lock("db", "updates.lock");
	assert_int_equal(bc_lock_take(base, 7, &v, 5, false, &held, NULL), 1);
	assert_string_equal(held, "db");
	/* all or nothing: web was taken then undone */
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	bc_lock_dir(d, sizeof(d), base, 7, "db");
	assert_int_equal(bc_lock_holder(d, NULL), 1);
	/* release and sweep never touch the app's file */
	assert_int_equal(bc_lock_release(base, 7, &v, 0, NULL), 0);
	assert_int_equal(bc_lock_sweep(base, NULL, NULL, NULL), 0);
	path(p, sizeof(p), "db", "updates.lock");
	assert_int_equal(access(p, F_OK), 0);
	/* the legacy name counts too */
	unlink(p);
	app_lock("db", "resin-updates.lock");
	assert_int_equal(bc_lock_holder(d, NULL), 1);
	/* force overrides the app */
	assert_int_equal(bc_lock_take(base, 7, &v, 9, true, NULL, NULL), 0);
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	assert_int_equal(bc_lock_release(base, 7, &v, 9, NULL), 0);
	bc_strv_free(&v);
}

static bool
keep_odd(void *ud, uint64_t lease)
{
	(void)ud;
	return lease % 2 == 1;
}

static void
test_sweep_orphans(void **state)
{
	bc_strv a = {0}, b = {0};
	char d[256];
	(void)state;
	bc_strv_add(&a, "x");
	bc_strv_add(&b, "y");
	assert_int_equal(bc_lock_take(base, 7, &a, 3, false, NULL, NULL), 0); /* live */
	assert_int_equal(bc_lock_take(base, 7, &b, 4, false, NULL, NULL), 0); /* orphan */
	assert_int_equal(bc_lock_sweep(base, keep_odd, NULL, NULL), 2);	      /* both files of y */
	bc_lock_dir(d, sizeof(d), base, 7, "x");
	assert_int_equal(bc_lock_holder(d, NULL), 2);
	bc_lock_dir(d, sizeof(d), base, 7, "y");
	assert_int_equal(bc_lock_holder(d, NULL), 0);
	assert_int_equal(bc_lock_sweep(base, NULL, NULL, NULL), 2);
	bc_strv_free(&a);
	bc_strv_free(&b);
}

/* What an app may leave at its lock's name: never opened (a FIFO would
 * hang us, a device would be opened by root), never followed (a symlink
 * leads anywhere), and all of it counts as the app's lock; --force removes
 * each, a directory with what is in it, and nothing outside. */
static void
on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "hung on an app's lock entry\n");
	_exit(1);
}

static void
test_hostile_entries(void **state)
{
	bc_strv web = {0};
	char d[256], p[512], outside[256], inner[600];
	const char *held = NULL;
	int kinds;
	(void)state;

	bc_strv_add(&web, "web");
	bc_lock_dir(d, sizeof(d), base, 7, "web");
	assert_int_equal(bc_lock_take(base, 7, &web, 50, false, NULL, NULL), 0); /* makes d */
	assert_int_equal(bc_lock_release(base, 7, &web, 50, NULL), 0);
	snprintf(p, sizeof(p), "%s/updates.lock", d);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	{
		FILE *f = fopen(outside, "w");
		assert_non_null(f);
		fputs("{\"owner\":\"balena-compose\",\"lease\":50}", f);
		fclose(f);
	}
	signal(SIGALRM, on_alarm);
	for (kinds = 0; kinds < 5; kinds++) {
		uint64_t l = 0;
		switch (kinds) {
		case 0: /* a FIFO: an open for reading would wait for a writer */
			assert_int_equal(mkfifo(p, 0644), 0);
			break;
		case 1: /* a device node (root only: skipped without) */
			if (mknod(p, S_IFCHR | 0644, makedev(1, 3)) < 0)
				continue;
			break;
		case 2: /* a dangling symlink */
			assert_int_equal(symlink("/nonexistent/x", p), 0);
			break;
		case 3: /* a symlink to a file that looks like ours */
			assert_int_equal(symlink(outside, p), 0);
			break;
		case 4: /* a directory, with a symlink out and a FIFO inside */
			assert_int_equal(mkdir(p, 0755), 0);
			snprintf(inner, sizeof(inner), "%s/out", p);
			assert_int_equal(symlink(base, inner), 0);
			snprintf(inner, sizeof(inner), "%s/fifo", p);
			assert_int_equal(mkfifo(inner, 0644), 0);
			break;
		}
		alarm(5);
		assert_int_equal(bc_lock_holder(d, &l), 1); /* the app's */
		assert_int_equal(bc_lock_take(base, 7, &web, 51, false, &held, NULL), 1);
		assert_string_equal(held, "web");
		assert_int_equal(bc_lock_release(base, 7, &web, 0, NULL), 0);
		{
			struct stat st;
			assert_int_equal(lstat(p, &st), 0); /* release left it alone */
		}
		assert_int_equal(bc_lock_take(base, 7, &web, 51, true, NULL, NULL), 0);
		alarm(0);
		assert_int_equal(bc_lock_holder(d, &l), 2);
		assert_int_equal(l, 51);
		assert_int_equal(bc_lock_release(base, 7, &web, 51, NULL), 0);
		assert_int_equal(access(outside, F_OK), 0); /* nothing outside went */
		assert_int_equal(access(base, F_OK), 0);
	}
	unlink(outside);
	bc_strv_free(&web);
}

static bool
keep_web(void *ud, int64_t app_id, const char *service)
{
	(void)ud;
	if (app_id != 7)
		return false; /* app 8 is gone */
	return service == NULL || strcmp(service, "web") == 0;
}

/* Lock dirs of services gone from target and Docker are pruned, whatever
 * the app left in them, and nothing they point to is touched. */
static void
test_prune(void **state)
{
	char p[512], outside[256];
	bc_err err = {0};
	FILE *f;
	(void)state;

	snprintf(outside, sizeof(outside), "%s/prune-outside", base);
	f = fopen(outside, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/prune/7/web", base);
	assert_int_equal(bc_mkdirs(p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/prune/7/old/deep/er", base);
	assert_int_equal(bc_mkdirs(p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/prune/7/old/updates.lock", base);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/prune/7/old/deep/fifo", base);
	assert_int_equal(mkfifo(p, 0600), 0);
	snprintf(p, sizeof(p), "%s/prune/8/s", base);
	assert_int_equal(bc_mkdirs(p, 0755, &err), 0);
	snprintf(p, sizeof(p), "%s/prune/notanapp", base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/prune", base);
	assert_int_equal(bc_lock_prune(p, keep_web, NULL, &err), 3); /* 7/old, 8/s, 8 */
	snprintf(p, sizeof(p), "%s/prune/7/web", base);
	assert_int_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/prune/7/old", base);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/prune/8", base);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/prune/notanapp", base);
	assert_int_equal(access(p, F_OK), 0); /* not ours to judge */
	assert_int_equal(access(outside, F_OK), 0);
	snprintf(p, sizeof(p), "%s/prune-none", base);
	assert_int_equal(bc_lock_prune(p, keep_web, NULL, &err), 0); /* no root yet */
}

/* Item 3 of the trust issue: a lock root (or state directory) another
 * user could redirect is refused, naming the component. */
static void
test_secure_dir(void **state)
{
	char p[256], q[256];
	bc_err err = {0};
	struct stat st;
	(void)state;

	snprintf(p, sizeof(p), "%s/sec/a/b", base);
	assert_int_equal(bc_dir_secure(p, 0755, &err), 0); /* made */
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	snprintf(p, sizeof(p), "%s/sec/nope", base);
	assert_int_equal(bc_dir_secure(p, -1, &err), -1); /* -1: make nothing */
	assert_int_equal(access(p, F_OK), -1);

	/* writable by others: refused, unless a sticky ancestor (/tmp's kind) */
	snprintf(p, sizeof(p), "%s/sec/w", base);
	mkdir(p, 0755);
	chmod(p, 0777);
	snprintf(q, sizeof(q), "%s/sec/w/x", base);
	assert_int_equal(bc_dir_secure(q, 0755, &err), -1);
	assert_non_null(strstr(err.msg, "writable by everyone"));
	assert_non_null(strstr(err.msg, "/sec/w'"));
	assert_int_equal(access(q, F_OK), -1); /* nothing made below it */
	chmod(p, 01777);
	assert_int_equal(bc_dir_secure(q, 0755, &err), 0);
	assert_int_equal(bc_dir_secure(p, 0755, &err), -1); /* the path itself: never */
	chmod(p, 0775);
	assert_int_equal(bc_dir_secure(q, 0755, &err), -1);
	assert_non_null(strstr(err.msg, "writable by its group"));

	/* a root-owned symlink (as /var/run) is followed and its target checked */
	snprintf(p, sizeof(p), "%s/sec/link", base);
	snprintf(q, sizeof(q), "%s/sec/a", base);
	assert_int_equal(symlink(q, p), 0);
	snprintf(q, sizeof(q), "%s/sec/link/b/c", base);
	assert_int_equal(bc_dir_secure(q, 0755, &err), 0);
	snprintf(q, sizeof(q), "%s/sec/a/b/c", base);
	assert_int_equal(access(q, F_OK), 0);
	snprintf(q, sizeof(q), "%s/sec/w/x", base); /* to a group-writable place */
	unlink(p);
	assert_int_equal(symlink(q, p), 0);
	snprintf(q, sizeof(q), "%s/sec/link", base);
	assert_int_equal(bc_dir_secure(q, 0755, &err), -1);
	assert_non_null(strstr(err.msg, "through its symlinks"));

	if (geteuid() != 0)
		return; /* the rest needs another user's files */
	/* another user's directory, and another user's symlink (the attack:
	 * a local user pre-creates the lock root in /tmp as a symlink to a
	 * root-only place) */
	snprintf(p, sizeof(p), "%s/sec/u", base);
	mkdir(p, 0755);
	assert_int_equal(chown(p, 65534, 65534), 0);
	snprintf(q, sizeof(q), "%s/sec/u/locks", base);
	assert_int_equal(bc_dir_secure(q, 0755, &err), -1);
	assert_non_null(strstr(err.msg, "owned by uid 65534"));
	assert_int_equal(access(q, F_OK), -1);
	snprintf(p, sizeof(p), "%s/sec/evil", base);
	snprintf(q, sizeof(q), "%s/sec/a", base);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(lchown(p, 65534, 65534), 0);
	snprintf(q, sizeof(q), "%s/sec/evil/b/d", base);
	assert_int_equal(bc_dir_secure(q, 0755, &err), -1);
	assert_non_null(strstr(err.msg, "symlink of uid 65534"));
	snprintf(q, sizeof(q), "%s/sec/a/b/d", base);
	assert_int_equal(access(q, F_OK), -1); /* nothing written where it led */
}

static bool
in_use_yes(const char *lockdir)
{
	(void)lockdir;
	return true;
}

/* The lock root gets a small tmpfs of its own (nodev, nosuid, noexec)
 * where mounting is allowed, once; a root in use is never covered. */
static void
test_root_mount(void **state)
{
	char root[256], guard[256], f[300];
	const char *how = NULL;
	bc_err err = {0};
	struct statfs sf;
	struct stat a, b;
	(void)state;

	snprintf(root, sizeof(root), "%s/root/locks", base);
	snprintf(guard, sizeof(guard), "%s/root.guard", base);
	/* empty, but running containers bind-mount it (its tmpfs was
	 * unmounted under them): never covered */
	assert_int_equal(bc_lock_root_prepare(root, guard, in_use_yes, &how, &err), 0);
	assert_non_null(strstr(how, "running containers bind-mount"));
	assert_int_equal(stat(root, &a), 0);
	snprintf(f, sizeof(f), "%s/root", base);
	assert_int_equal(stat(f, &b), 0);
	assert_true(a.st_dev == b.st_dev);
	assert_int_equal(bc_lock_root_prepare(root, guard, NULL, &how, &err), 0);
	if (strcmp(how, "not a mount of its own: mounting one is not allowed here") == 0) {
		/* said so, and the root is still usable; nothing more to see */
		skip();
	}
	assert_string_equal(how, "a tmpfs mounted for it (" BC_LOCK_ROOT_MOUNT_OPTS
				 ",nodev,nosuid,noexec)");
	assert_int_equal(statfs(root, &sf), 0);
	assert_int_equal(sf.f_type, TMPFS_MAGIC);
	assert_true(sf.f_flags & ST_NODEV);
	assert_true(sf.f_flags & ST_NOSUID);
	assert_true(sf.f_flags & ST_NOEXEC);
	assert_true((uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize <= 8u << 20);
	/* again (the other daemon, a restart): kept, not stacked */
	assert_int_equal(bc_lock_root_prepare(root, guard, NULL, &how, &err), 0);
	assert_non_null(strstr(how, "its own mount"));
	snprintf(f, sizeof(f), "%s/7", root);
	mkdir(f, 0755);
	assert_int_equal(umount2(root, MNT_DETACH), 0);
	/* a root that is not empty (containers may have its dirs): left alone */
	snprintf(f, sizeof(f), "%s/7", root);
	assert_int_equal(mkdir(f, 0755), 0);
	assert_int_equal(bc_lock_root_prepare(root, guard, NULL, &how, &err), 0);
	assert_non_null(strstr(how, "not empty"));
	assert_int_equal(stat(root, &a), 0);
	snprintf(f, sizeof(f), "%s/root", base);
	assert_int_equal(stat(f, &b), 0);
	assert_true(a.st_dev == b.st_dev); /* no mount on it */
}

/* Which running containers use the lock root, from Docker's list. */
static void
test_root_users(void **state)
{
	json_t *list = json_loads(
	    "[{\"Mounts\": [{\"Source\": \"/run/bc/locks/7/web\"}, {\"Source\": "
	    "\"/run/bc/locks/7/web\"}]},"
	    " {\"Mounts\": [{\"Source\": \"/run/bc/locksmith/7/x\"}, {\"Source\": \"/data\"}]},"
	    " {\"Mounts\": [{\"Source\": \"/run/bc/locks\"}]}, {\"Names\": [\"/none\"]}]",
	    0, NULL);
	(void)state;
	assert_non_null(list);
	/* one per container (two mounts of it count once); a sibling whose
	 * name starts the same does not */
	assert_int_equal(bc_lock_root_users(list, "/run/bc/locks"), 2);
	assert_int_equal(bc_lock_root_users(list, "/run/bc/locks/"), 2);
	assert_int_equal(bc_lock_root_users(list, "/run/other"), 0);
	json_decref(list);
}

/* A container's lock mount, as its mountinfo shows it. */
static void
test_mountinfo(void **state)
{
	static const char mi[] =
	    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	    "812 790 0:47 /991/web /tmp/balena rw,nosuid - tmpfs balena-compose-locks rw\n"
	    "813 790 0:47 /991/web /tmp/resin rw - tmpfs balena-compose-locks rw\n"
	    "814 812 0:52 / /tmp/balena rw - tmpfs other rw\n"
	    "815 790 0:48 /x /tmp/balena/sub rw - tmpfs x rw";
	char dev[32], root[64];
	(void)state;
	/* the top one of two at the same point */
	assert_int_equal(bc_mountinfo_find(mi, strlen(mi), "/tmp/balena", dev, sizeof(dev), root,
					   sizeof(root)),
			 0);
	assert_string_equal(dev, "0:52");
	assert_string_equal(root, "/");
	assert_int_equal(bc_mountinfo_find(mi, strlen(mi), "/tmp/resin", dev, sizeof(dev), root,
					   sizeof(root)),
			 0);
	assert_string_equal(dev, "0:47");
	assert_string_equal(root, "/991/web");
	/* the last line has no newline; a prefix of a mount point is not it */
	assert_int_equal(bc_mountinfo_find(mi, strlen(mi), "/tmp/balena/sub", dev, sizeof(dev),
					   root, sizeof(root)),
			 0);
	assert_string_equal(root, "/x");
	assert_int_equal(bc_mountinfo_find(mi, strlen(mi), "/tmp", dev, sizeof(dev), root,
					   sizeof(root)),
			 -1);
	/* cut short (a line with fewer fields), a root too long, a control
	 * byte: not found, never a guess */
	assert_int_equal(bc_mountinfo_find("812 790 0:47 /991/web", 21, "/991/web", dev,
					   sizeof(dev), root, sizeof(root)),
			 -1);
	assert_int_equal(bc_mountinfo_find(mi, strlen(mi), "/tmp/resin", dev, sizeof(dev), root, 4),
			 -1);
	{
		static const char ctl[] = "1 2 0:4\001 / /m rw - t t rw";
		assert_int_equal(bc_mountinfo_find(ctl, strlen(ctl), "/m", dev, sizeof(dev), root,
						   sizeof(root)),
				 -1);
	}
}

static int
setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/bc-lock-XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_release),
	    cmocka_unit_test(test_app_holds),
	    cmocka_unit_test(test_sweep_orphans),
	    cmocka_unit_test(test_hostile_entries),
	    cmocka_unit_test(test_secure_dir),
	    cmocka_unit_test(test_prune),
	    cmocka_unit_test(test_root_mount),
	    cmocka_unit_test(test_root_users),
	    cmocka_unit_test(test_mountinfo),
	};
	return cmocka_run_group_tests_name("lock", tests, setup, teardown);
}
