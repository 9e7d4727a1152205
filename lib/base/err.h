/* Error contract (docs/errors.md): a failing function returns -1 (or NULL)
 * and fills the caller's bc_err with a message built where the failure
 * happened. A NULL bc_err is allowed and means "caller does not care". */
#ifndef BC_ERR_H
#define BC_ERR_H

#include <stddef.h>

enum bc_errcode {
	BC_EOK = 0,
	BC_ESYS,      /* a system call failed; errno_ holds errno */
	BC_EINVAL,    /* bad input: a message, a file, an argument */
	BC_EPROTO,    /* a peer broke the protocol */
	BC_EHTTP,     /* an HTTP peer answered with an error status */
	BC_ENOTFOUND, /* the thing asked for does not exist */
	BC_ETOOBIG,   /* a bound was exceeded */
	BC_ETIMEOUT,
	BC_ESTOPPED, /* a callback asked to stop; not a failure of the callee */
	BC_ELOCKED,  /* an app holds its update lock: wait, do not fail */
};

typedef struct bc_err {
	enum bc_errcode code;
	int errno_;  /* for BC_ESYS */
	long status; /* HTTP status for BC_EHTTP / BC_ENOTFOUND from HTTP */
	char msg[512];
} bc_err;

/* Fill err (if not NULL) and return -1. */
int bc_err_set(bc_err *err, enum bc_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like bc_err_set with BC_ESYS, appending ": strerror(errno)". */
int bc_err_sys(bc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing message with more context ("reading x: <old>"). */
int bc_err_wrap(bc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bc_err_clear(bc_err *err);
const char *bc_errcode_name(enum bc_errcode code);

#endif
