/* slurm_resv.c - an exam's Slurm reservation: pure command lines (see
 * slurm_resv.h) and the reserver that runs them (as root: only a Slurm
 * operator or admin makes reservations). */
#include "batch/slurm_resv.h"

#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "basic/spawn.h"
#include "batch/batch.h"

#define SCONTROL_TIMEOUT_MS 20000

/* ---- pure parts ---- */

static bool name_chars(const char *s, size_t max) {
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max || s[0] == '-')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

bool slurm_resv_name_is_valid(const char *name) { return name_chars(name, BATCH_RESV_ID_MAX - 1); }

bool batch_resv_user_is_valid(const char *name) { return name_chars(name, 32); }

const char *slurm_resv_time(int64_t t, int64_t now, char *buf, size_t len) {
        struct tm tm;
        time_t tt = (time_t)t;
        if (t <= now || !gmtime_r(&tt, &tm))
                snprintf(buf, len, "now");
        else
                strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
        return buf;
}

static int check_request(const char *name, const BatchReservation *r, int64_t now, Error *err) {
        if (!slurm_resv_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid slurm reservation name '%.64s'", name ? name : "");
        if (r->queue && !slurm_resv_name_is_valid(r->queue))
                return error_set(err, -EINVAL, "invalid partition name '%.64s'", r->queue);
        _cleanup_free_ char *users = NULL;
        int e = batch_resv_users_join(r->users, "slurm", &users, err);
        if (e < 0)
                return e;
        if (r->end <= (r->start > now ? r->start : now))
                return error_set(err, -EINVAL, "the reservation's window ends before it starts");
        return 0;
}

/* "KEY=value" for the window and users, appended to v at *n */
static void add_window(char **v, size_t *n, const BatchReservation *r, bool with_start, int64_t now) {
        char t[32];
        if (with_start)
                v[(*n)++] = xasprintf("StartTime=%s", slurm_resv_time(r->start, now, t, sizeof(t)));
        /* an end in the past cannot be: check_request refused it */
        v[(*n)++] = xasprintf("EndTime=%s", slurm_resv_time(r->end, now, t, sizeof(t)));
        _cleanup_free_ char *users = NULL;
        batch_resv_users_join(r->users, "slurm", &users, NULL); /* checked by check_request */
        v[(*n)++] = xasprintf("Users=%s", users);
}

int slurm_resv_create_argv(const BatchReservation *r, int64_t now, char ***ret, Error *err) {
        int e = check_request(r->name, r, now, err);
        if (e < 0)
                return e;
        char **v = xcalloc(12, sizeof(char *));
        size_t n = 0;
        v[n++] = xstrdup("scontrol");
        v[n++] = xstrdup("create");
        v[n++] = xstrdup("reservation");
        v[n++] = xasprintf("ReservationName=%s", r->name);
        add_window(v, &n, r, true, now);
        v[n++] = xstrdup("Nodes=ALL");
        if (r->queue)
                v[n++] = xasprintf("PartitionName=%s", r->queue);
        v[n++] = xstrdup("Flags=IGNORE_JOBS");
        *ret = v;
        return 0;
}

int slurm_resv_update_argv(const char *id, const BatchReservation *r, bool with_start, int64_t now, char ***ret,
                           Error *err) {
        int e = check_request(id, r, now, err);
        if (e < 0)
                return e;
        char **v = xcalloc(8, sizeof(char *));
        size_t n = 0;
        v[n++] = xstrdup("scontrol");
        v[n++] = xstrdup("update");
        v[n++] = xasprintf("ReservationName=%s", id);
        add_window(v, &n, r, with_start, now);
        *ret = v;
        return 0;
}

int slurm_resv_delete_argv(const char *id, char ***ret, Error *err) {
        if (!slurm_resv_name_is_valid(id))
                return error_set(err, -EINVAL, "invalid slurm reservation name '%.64s'", id ? id : "");
        char **v = xcalloc(4, sizeof(char *));
        v[0] = xstrdup("scontrol");
        v[1] = xstrdup("delete");
        v[2] = xasprintf("ReservationName=%s", id);
        *ret = v;
        return 0;
}

int slurm_parse_resv_create(int exit_code, const char *out, const char *errout, char *ret_id, size_t len,
                            Error *err) {
        static const char prefix[] = "Reservation created: ";
        char line[256];
        if (exit_code != 0) {
                batch_resv_said(errout, out, line, sizeof(line));
                return error_set(err, strstr(line, "Duplicate reservation name") ? -EEXIST : -EIO,
                                 "scontrol create reservation failed (exit %d): %s", exit_code, line);
        }
        const char *p = out ? strstr(out, prefix) : NULL;
        if (!p)
                return error_set(err, -EBADMSG, "scontrol create reservation said '%s', not which it made",
                                 batch_resv_said(out, errout, line, sizeof(line)));
        p += sizeof(prefix) - 1;
        size_t l = strcspn(p, " \t\r\n");
        if (l == 0 || l >= len || l >= sizeof(line))
                return error_set(err, -EBADMSG, "scontrol create reservation named no reservation");
        memcpy(line, p, l);
        line[l] = 0;
        if (!slurm_resv_name_is_valid(line))
                return error_set(err, -EBADMSG, "scontrol created a reservation of a name we do not make");
        memcpy(ret_id, line, l + 1);
        return 0;
}

static bool invalid_resv(const char *errout) {
        return errout && (strstr(errout, "Requested reservation is invalid") || strstr(errout, "Invalid reservation"));
}

int slurm_parse_resv_update(int exit_code, const char *errout, Error *err) {
        char line[256];
        if (exit_code == 0)
                return 0;
        batch_resv_said(errout, NULL, line, sizeof(line));
        return error_set(err, invalid_resv(errout) ? -ENOENT : -EIO, "scontrol update reservation failed (exit %d): %s",
                         exit_code, line);
}

int slurm_parse_resv_delete(int exit_code, const char *errout, Error *err) {
        char line[256];
        if (exit_code == 0 || invalid_resv(errout))
                return 0;
        batch_resv_said(errout, NULL, line, sizeof(line));
        bool busy = errout && strstr(errout, "reservation is in use");
        return error_set(err, busy ? -EBUSY : -EIO, "scontrol delete reservation failed (exit %d): %s", exit_code,
                         line);
}

/* ---- the reserver ---- */

/* As root, with SLURM_CONF passed on (a private Slurm) and TZ=UTC0: the
 * zone slurm_resv_time writes in. */
static int run(char **argv, SpawnResult *res, Error *err) {
        static char conf_env[PATH_MAX + 16];
        char *env[3] = {"TZ=UTC0", NULL, NULL};
        const char *conf = getenv("SLURM_CONF");
        if (!isempty(conf) && strlen(conf) < PATH_MAX) {
                snprintf(conf_env, sizeof(conf_env), "SLURM_CONF=%s", conf);
                env[1] = conf_env;
        }
        SpawnOpts o = {.argv = argv, .extra_env = env, .private_files = true, .timeout_ms = SCONTROL_TIMEOUT_MS};
        int r = spawn_run(&o, res);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run scontrol: %s", strerror(-r));
        if (res->timed_out) {
                spawn_result_clear(res);
                return error_set(err, -ETIMEDOUT, "scontrol did not answer within %d s (is slurmctld up?)",
                                 SCONTROL_TIMEOUT_MS / 1000);
        }
        if (res->exit_code == 127) {
                spawn_result_clear(res);
                return error_set(err, -ENOENT, "scontrol is not installed");
        }
        return 0;
}

static int slurm_resv_create(const BatchReservation *r, char *ret_id, size_t len, Error *err) {
        char **argv = NULL;
        SpawnResult res;
        int e = slurm_resv_create_argv(r, (int64_t)time(NULL), &argv, err);
        if (e < 0 || (e = run(argv, &res, err)) < 0)
                return e;
        e = slurm_parse_resv_create(res.exit_code, res.out, res.err, ret_id, len, err);
        spawn_result_clear(&res);
        return e;
}

static int slurm_resv_update(const char *id, const BatchReservation *r, bool with_start, Error *err) {
        char **argv = NULL;
        SpawnResult res;
        int e = slurm_resv_update_argv(id, r, with_start, (int64_t)time(NULL), &argv, err);
        if (e < 0 || (e = run(argv, &res, err)) < 0)
                return e;
        e = slurm_parse_resv_update(res.exit_code, res.err, err);
        spawn_result_clear(&res);
        return e;
}

static int slurm_resv_remove(const char *id, Error *err) {
        char **argv = NULL;
        SpawnResult res;
        int e = slurm_resv_delete_argv(id, &argv, err);
        if (e < 0 || (e = run(argv, &res, err)) < 0)
                return e;
        e = slurm_parse_resv_delete(res.exit_code, res.err, err);
        spawn_result_clear(&res);
        return e;
}

const BatchReserver batch_slurm_reserver = {
        .backend = "slurm",
        .create = slurm_resv_create,
        .update = slurm_resv_update,
        .remove = slurm_resv_remove,
};
