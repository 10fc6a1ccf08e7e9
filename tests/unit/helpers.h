/* helpers.h - shared by the controller unit tests (test-authz, test-ipam,
 * test-validate, test-controller): an initialised controller on a private
 * in-memory store, JSON argument builders, real system users and temporary
 * storage folders for qemu-img. Not part of vmbatch itself. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "core/controller.h"

#define TENV_MAX_DIRS 64
/* admin_user of the tests: a normal account (root is never a vmbatch user;
 * it still administers through the socket, as uid 0 in call()) */
#define TENV_ADMIN "backup"

typedef struct TEnv {
        Store *store;
        Settings settings;
        Controller c;
        uint32_t admin;           /* TENV_ADMIN's uid, the admin init made */
        char admin_dir[PATH_MAX]; /* the admin's storage folder, 0755 */
        char *dirs[TENV_MAX_DIRS];
        size_t n_dirs;
} TEnv;

/* A test point for a known bug (include tap.h first): passes as a plain
 * "ok" once fixed; until then "not ok ... # TODO bug: reason", which TAP
 * counts as an expected failure (so it does not fail the test program). */
#define ok_todo(cond, reason, fmt, ...)                                                                      \
        do {                                                                                                 \
                if (cond)                                                                                    \
                        ok(1, fmt, ##__VA_ARGS__);                                                           \
                else {                                                                                       \
                        ok(0, fmt " # TODO bug: %s", ##__VA_ARGS__, reason);                                 \
                        tap_failed--;                                                                        \
                }                                                                                            \
        } while (0)

/* Print "Bail out! ..." (TAP) and exit: the environment is unusable. */
_Noreturn void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open ":memory:" (or path), settings_defaults() with admin_user TENV_ADMIN
 * and a fresh admin_stordir, controller_init (by root) inside a transaction. */
void tenv_open(TEnv *e);
void tenv_open_path(TEnv *e, const char *path);
/* The same on a database file (e->settings.database) in a fresh temporary
 * folder, removed by tenv_close. */
void tenv_open_file(TEnv *e);
/* Close the store and remove every folder tenv_mkdir made. */
void tenv_close(TEnv *e);

/* A new temporary folder owned by uid (and its primary group), mode 0700
 * (0755 when shared); removed by tenv_close. */
const char *tenv_mkdir(TEnv *e, uid_t owner, bool shared);

/* uid of a system user that every Debian has; bails out when missing. */
uid_t sys_uid(const char *name);

/* JSON from a printf-style template in which ' stands for " (so that
 * J("{'name': '%s'}", n) reads well). Bails out on invalid JSON. */
json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* JSON text in which ' stands for " (no printf formatting). */
json_t *Jt(const char *text);

/* controller_handle with args from J(); data (may be NULL) and err are
 * filled in. Returns controller_handle's result. */
int call(TEnv *e, uint32_t uid, const char *op, json_t **data, Error *err, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* The same with an args object (borrowed; may be NULL). */
int call_j(TEnv *e, uint32_t uid, const char *op, const json_t *args, json_t **data, Error *err);

/* Every list the controller serves, as uid 0: user.list, vm.list,
 * perm.list, map.list, vmgroup.list, ugroup.list and audit.list. */
json_t *snapshot(TEnv *e);

/* Number of directory entries (besides . and ..) in dir; -1 on error. */
int count_files(const char *dir);
bool file_exists(const char *path);

/* Run a command (argv) and return its stdout, or NULL when it fails. */
char *run_output(char *const *argv);

/* Compact dump for diagnostics (caller frees). */
char *jdump(const json_t *j);
