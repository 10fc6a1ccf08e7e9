/* sge_ar.c - an exam's Grid Engine advance reservation: the pure parts (see
 * sge_ar.h). No reserver runs them yet: vmbatch-exam(1) says why. */
#include "batch/sge_ar.h"

#include <stdio.h>
#include <time.h>

#include "batch/batch.h"

bool sge_ar_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;
        return n > 0 && n <= 20 && strspn(id, "0123456789") == n;
}

const char *sge_ar_time(int64_t t, int64_t now, char *buf, size_t len) {
        struct tm tm;
        time_t tt = (time_t)(t > now ? t : now);
        if (!gmtime_r(&tt, &tm))
                tm = (struct tm){0};
        strftime(buf, len, "%Y%m%d%H%M.%S", &tm);
        return buf;
}

/* qrsub splits lists at ',' and reads '|&!*?[]' as patterns: none of them
 * in a queue name. */
static bool queue_ok(const char *q) { return !isempty(q) && string_is_printable(q) && !strpbrk(q, ",|&!*?[]=@ "); }

int sge_qrsub_argv(const BatchReservation *r, int64_t now, unsigned slots, char ***ret, Error *err) {
        if (isempty(r->name) || r->name[0] == '-' || strlen(r->name) >= BATCH_RESV_ID_MAX ||
            strspn(r->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(r->name))
                return error_set(err, -EINVAL, "invalid advance reservation name '%.64s'", r->name ? r->name : "");
        if (r->queue && !queue_ok(r->queue))
                return error_set(err, -EINVAL, "invalid queue name '%.64s'", r->queue);
        if (r->end <= (r->start > now ? r->start : now))
                return error_set(err, -EINVAL, "the reservation's window ends before it starts");
        char *users = NULL;
        int e = batch_resv_users_join(r->users, "qrsub", &users, err);
        if (e < 0)
                return e;
        char t[32];
        char **v = xcalloc(20, sizeof(char *));
        size_t n = 0;
        v[n++] = xstrdup("qrsub");
        v[n++] = xstrdup("-N");
        v[n++] = xstrdup(r->name);
        if (r->start > now) { /* without -a: from now (a start in the past is refused) */
                v[n++] = xstrdup("-a");
                v[n++] = xstrdup(sge_ar_time(r->start, now, t, sizeof(t)));
        }
        v[n++] = xstrdup("-e");
        v[n++] = xstrdup(sge_ar_time(r->end, now, t, sizeof(t)));
        v[n++] = xstrdup("-u");
        v[n++] = users;
        if (r->queue) {
                v[n++] = xstrdup("-q");
                v[n++] = xstrdup(r->queue);
        }
        v[n++] = xstrdup("-pe");
        v[n++] = xstrdup("smp");
        v[n++] = xasprintf("%u", slots ? slots : 1);
        *ret = v;
        return 0;
}

int sge_qrdel_argv(const char *id, char ***ret, Error *err) {
        if (!sge_ar_id_valid(id))
                return error_set(err, -EINVAL, "bad advance reservation id '%.32s'", id ? id : "");
        char **v = xcalloc(3, sizeof(char *));
        v[0] = xstrdup("qrdel");
        v[1] = xstrdup(id);
        *ret = v;
        return 0;
}

int sge_parse_qrsub(int exit_code, const char *out, const char *errout, char *ret_id, size_t len, Error *err) {
        static const char prefix[] = "Your advance reservation ";
        char line[256];
        const char *p = out ? strstr(out, prefix) : NULL;
        if (exit_code == 0 && p) {
                p += sizeof(prefix) - 1;
                size_t l = strspn(p, "0123456789");
                if (l > 0 && l <= 20 && l < len && strncmp(p + l, " has been granted", 17) == 0) {
                        memcpy(ret_id, p, l);
                        ret_id[l] = 0;
                        return 0;
                }
        }
        batch_resv_said(errout, out, line, sizeof(line));
        bool denied = strstr(line, "arusers") || strstr(line, "permission");
        return error_set(err, denied ? -EPERM : -EIO, "qrsub failed (exit %d): %s", exit_code, line);
}

int sge_parse_qrdel(int exit_code, const char *out, const char *errout, Error *err) {
        char line[256];
        if (exit_code == 0 || (out && strstr(out, "does not exist")) || (errout && strstr(errout, "does not exist")))
                return 0;
        return error_set(err, -EIO, "qrdel failed (exit %d): %s", exit_code, batch_resv_said(errout, out, line, sizeof(line)));
}
