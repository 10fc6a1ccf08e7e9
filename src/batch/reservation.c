/* reservation.c - which batch backend makes reservations (reservation.h). */
#include "batch/reservation.h"

#include <stdio.h>

extern const BatchReserver batch_slurm_reserver;

const BatchReserver *batch_reserver_find(const char *backend) {
        /* Grid Engine: none yet (sge_ar.h has its command lines; vmbatch-exam(1) says why) */
        static const BatchReserver *const all[] = {&batch_slurm_reserver};
        for (size_t i = 0; backend && i < ELEMENTSOF(all); i++)
                if (streq(all[i]->backend, backend))
                        return all[i];
        return NULL;
}

#define USERS_MAX_BYTES 16384 /* an exam of EXAM_MEMBERS_MAX students */

int batch_resv_users_join(const char *const *users, const char *what, char **ret, Error *err) {
        if (!users || !users[0])
                return error_set(err, -EINVAL, "a reservation needs at least one user");
        size_t bytes = 1;
        for (size_t i = 0; users[i]; i++) {
                if (!batch_resv_user_is_valid(users[i]))
                        return error_set(err, -EINVAL, "user name '%.40s' cannot go into a %s user list", users[i],
                                         what);
                bytes += strlen(users[i]) + 1;
        }
        if (bytes > USERS_MAX_BYTES)
                return error_set(err, -E2BIG, "the reservation's user list is longer than %d bytes", USERS_MAX_BYTES);
        char *s = xcalloc(bytes, 1), *o = s;
        for (size_t i = 0; users[i]; i++)
                o += sprintf(o, "%s%s", i ? "," : "", users[i]);
        *ret = s;
        return 0;
}

const char *batch_resv_said(const char *a, const char *b, char *buf, size_t len) {
        const char *s = a && a[strspn(a, " \t\r\n")] ? a : b ? b : "";
        s += strspn(s, " \t\r\n");
        size_t l = strcspn(s, "\r\n");
        if (l >= len)
                l = len - 1;
        memcpy(buf, s, l);
        buf[l] = 0;
        return *buf ? buf : "no message";
}
