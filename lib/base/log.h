/* Four log calls, prefixed with the function name (OpenBSD style). Daemons
 * log to stderr; s6-log timestamps and rotates. The program name is set once
 * at start by bc_log_init and never changes after (not shared mutable state). */
#ifndef BC_LOG_H
#define BC_LOG_H

void bc_log_init(const char *progname);
void bc_vlog(int with_errno, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bc_vfatal(int with_errno, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define log_warn(...) bc_vlog(1, __func__, __VA_ARGS__)
#define log_warnx(...) bc_vlog(0, __func__, __VA_ARGS__)
#define log_info(...) bc_vlog(-1, __func__, __VA_ARGS__)
#define fatal(...) bc_vfatal(1, __func__, __VA_ARGS__)
#define fatalx(...) bc_vfatal(0, __func__, __VA_ARGS__)

#endif
