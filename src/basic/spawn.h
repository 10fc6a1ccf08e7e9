/* spawn.h - the one way vmbatch runs another program (qemu-img, qemu, nft,
 * dnsmasq, qsub, sbatch ...).
 *
 * argv only, never a shell; a clean environment (LC_ALL=C, a fixed PATH, plus
 * what the caller adds); every fd but 0-2 closed (or handed over explicitly);
 * optional drop to a user (initgroups/setgid/setuid) before exec; a timeout;
 * stdout/stderr captured; a pidfd to wait on. Tests install a dry-run hook
 * that sees the request instead of a real fork. */
#pragma once

#include <sys/types.h>

#include "basic/util.h"

typedef struct SpawnOpts {
        char *const *argv;            /* argv[0] is resolved against PATH */
        char *const *extra_env;       /* "KEY=value" entries added to the clean env */
        bool as_user;                 /* drop to uid/gid (+ initgroups of user_name) */
        uid_t uid;
        gid_t gid;
        const char *user_name;        /* for initgroups; NULL: no supplementary groups */
        const char *cwd;              /* NULL: "/" */
        bool private_files;           /* umask 077 in the child (else 022) */
        const void *stdin_data;       /* written to the child's stdin, then closed */
        size_t stdin_len;
        int timeout_ms;               /* 0: 60 s; the child is SIGKILLed at the deadline */
        size_t capture_max;           /* bytes kept of stdout and of stderr (0: 64 KiB) */
} SpawnOpts;

typedef struct SpawnResult {
        int status;      /* wait status (WIFEXITED ...) */
        int exit_code;   /* WEXITSTATUS, or 128+signal */
        bool timed_out;
        char *out;       /* captured stdout, NUL-terminated (maybe empty) */
        char *err;       /* captured stderr, NUL-terminated */
} SpawnResult;

/* Run to completion. Returns 0 when the program ran (look at exit_code),
 * a negative errno when it could not be started or waited for. */
int spawn_run(const SpawnOpts *opts, SpawnResult *ret);
void spawn_result_clear(SpawnResult *r);

/* Long-running children (dnsmasq, qemu, the starter). */
typedef struct SpawnStartOpts {
        char *const *argv;
        char *const *extra_env;
        bool as_user;
        uid_t uid;
        gid_t gid;
        const char *user_name;
        const char *cwd;
        bool private_files;
        const int *pass_fds;   /* fds the child keeps, at the same numbers (CLOEXEC cleared) */
        size_t n_pass_fds;
        int stdin_fd;          /* -1: /dev/null */
        int stdout_fd;         /* -1: /dev/null */
        int stderr_fd;         /* -1: /dev/null */
        bool new_session;      /* setsid() */
        bool detach;           /* double fork: the child is not ours to reap (*ret_pid is
                                  the grandchild, *ret_pidfd still watches it) */
        int pdeathsig;         /* 0: none; else sent to the child when we die */
} SpawnStartOpts;

/* Start a child and return at once. *ret_pidfd (may be NULL) becomes
 * readable when the child exits. Returns -errno when it could not fork;
 * an exec failure shows as exit status 127. */
int spawn_start(const SpawnStartOpts *opts, pid_t *ret_pid, int *ret_pidfd);

/* First line of the captured stderr (or stdout), for error messages. */
const char *spawn_result_first_line(const SpawnResult *r, char *buf, size_t len);

/* Dry-run seam for unit tests: when set, spawn_run calls the hook instead of
 * forking; the hook fills in the result. NULL restores real spawning. */
typedef int (*spawn_hook_t)(const SpawnOpts *opts, SpawnResult *ret, void *userdata);
void spawn_set_hook(spawn_hook_t hook, void *userdata);

/* The child side of a drop to a user, shared with long-running children:
 * initgroups (or setgroups(0)), setgid, setuid, and verify it cannot regain
 * root. Returns -errno. Only call in a child after fork. */
int spawn_drop_privileges(uid_t uid, gid_t gid, const char *user_name);
