/* test-batch-resv.c - an exam's reservation without a scheduler: the
 * command lines of batch/slurm_resv.h and batch/sge_ar.h against golden
 * files (tests/golden/batch/slurm-resv-*, sge-ar-*; VMBATCH_REGENERATE=1
 * rewrites them), sbatch --reservation and qsub -ar, what the parsers make
 * of the answers Slurm 22.05 and Grid Engine 8.1 really print, and the
 * window of an exam (daemon/exam_reservation.h).
 *
 *   test-batch-resv GOLDEN_DIR */
#include <stdio.h>

#include "batch/sge.h"
#include "batch/sge_ar.h"
#include "batch/slurm.h"
#include "batch/slurm_resv.h"
#include "golden.h"

static const char *const users[] = {"srteach", "srstud1", "srstud2", NULL};
#define NOW 1796300000LL /* 2026-12-03T12:13:20Z */

static BatchReservation req(void) {
        return (BatchReservation){.name = "vmbatch-exam-final", .start = NOW + 600, .end = NOW + 4200, .users = users};
}

static void golden_argv_check(const char *name, int r, char **argv) {
        is_int(r, 0, "%s: built", name);
        _cleanup_free_ char *s = argv ? golden_lines(argv) : xstrdup("");
        golden_check(name, s);
        batch_argv_free(argv);
}
/* the call first: its argv is read after it */
#define golden_argv(name, call, v)                      \
        do {                                            \
                int r_ = (call);                        \
                golden_argv_check(name, r_, v);         \
        } while (0)

static void test_slurm_argv(void) {
        char **v = NULL;
        Error e = {0};
        BatchReservation r = req();
        golden_argv("slurm-resv-create", slurm_resv_create_argv(&r, NOW, &v, &e), v);
        r.queue = "vms";
        r.start = NOW - 5; /* the exam's lead began already: now */
        golden_argv("slurm-resv-create-now-partition", slurm_resv_create_argv(&r, NOW, &v, &e), v);
        r = req();
        r.end = NOW + 4260;
        golden_argv("slurm-resv-update", slurm_resv_update_argv("vmbatch-exam-final", &r, false, NOW, &v, &e), v);
        golden_argv("slurm-resv-update-start", slurm_resv_update_argv("vmbatch-exam-final", &r, true, NOW, &v, &e), v);
        golden_argv("slurm-resv-delete", slurm_resv_delete_argv("vmbatch-exam-final", &v, &e), v);

        char t[32];
        ok(streq(slurm_resv_time(NOW, NOW + 1, t, sizeof(t)), "now"), "a start in the past is now");
        ok(streq(slurm_resv_time(NOW, NOW - 1, t, sizeof(t)), "2026-12-03T12:13:20"), "UTC: %s", t);

        /* what would split Slurm's KEY=VALUE words or its lists */
        static const char *const bad_users[] = {"a,b", "x=y", "-u", "with space", "", NULL};
        for (size_t i = 0; bad_users[i]; i++) {
                const char *u[] = {"srteach", bad_users[i], NULL};
                r = req();
                r.users = u;
                v = NULL;
                error_clear(&e);
                is_int(slurm_resv_create_argv(&r, NOW, &v, &e), -EINVAL, "user '%s' refused: %s", bad_users[i],
                       e.message);
                ok(!v, "... and no argv");
        }
        r = req();
        r.name = "x Flags=MAINT";
        is_int(slurm_resv_create_argv(&r, NOW, &v, &e), -EINVAL, "a name with a blank is refused");
        r = req();
        r.queue = "vms,debug";
        is_int(slurm_resv_create_argv(&r, NOW, &v, &e), -EINVAL, "a partition list is refused");
        r = req();
        r.end = NOW;
        is_int(slurm_resv_create_argv(&r, NOW, &v, &e), -EINVAL, "a window ending now is refused");
        const char *none[] = {NULL};
        r = req();
        r.users = none;
        is_int(slurm_resv_create_argv(&r, NOW, &v, &e), -EINVAL, "no users: refused");
        is_int(slurm_resv_delete_argv("../x", &v, &e), -EINVAL, "delete of a bad name refused");
}

static void test_slurm_parse(void) {
        char id[BATCH_RESV_ID_MAX];
        Error e = {0};
        is_int(slurm_parse_resv_create(0, "Reservation created: vmbatch-exam-final\n", "", id, sizeof(id), &e), 0,
               "create: the name");
        ok(streq(id, "vmbatch-exam-final"), "... %s", id);
        error_clear(&e);
        is_int(slurm_parse_resv_create(1, "", "Error creating the reservation: Requested nodes are busy\n", id,
                                       sizeof(id), &e),
               -EIO, "create: busy nodes are an error");
        ok(strstr(e.message, "Requested nodes are busy") != NULL, "... that says why: %s", e.message);
        error_clear(&e);
        is_int(slurm_parse_resv_create(1, "", "Error creating the reservation: Duplicate reservation name\n", id,
                                       sizeof(id), &e),
               -EEXIST, "create: a duplicate name is -EEXIST");
        error_clear(&e);
        is_int(slurm_parse_resv_create(0, "something else\n", "", id, sizeof(id), &e), -EBADMSG,
               "create: no name in the answer");
        error_clear(&e);
        is_int(slurm_parse_resv_create(0, "Reservation created: x;rm\n", "", id, sizeof(id), &e), -EBADMSG,
               "create: a name we never make");
        error_clear(&e);
        is_int(slurm_parse_resv_update(0, "", &e), 0, "update: ok");
        is_int(slurm_parse_resv_update(1, "Error updating the reservation: Requested reservation is invalid\n", &e),
               -ENOENT, "update: gone");
        error_clear(&e);
        is_int(slurm_parse_resv_delete(0, "", &e), 0, "delete: ok");
        is_int(slurm_parse_resv_delete(1, "delete_reservation ReservationName=x: Requested reservation is invalid\n",
                                       &e),
               0, "delete: already gone is done");
        is_int(slurm_parse_resv_delete(1, "delete_reservation ReservationName=x: Requested reservation is in use\n",
                                       &e),
               -EBUSY, "delete: jobs in it: -EBUSY");
        error_clear(&e);
        is_int(slurm_parse_resv_delete(1, "slurm_delete_reservation error: Unable to contact slurm controller\n", &e),
               -EIO, "delete: no slurmctld is an error, not 'gone'");
}

static const Cred doraz = {.uid = 1003, .gid = 1004, .name = "srstud1"};

static BatchSubmit job(void) {
        return (BatchSubmit){.instance = 7, .user = &doraz, .starter = "/usr/libexec/vmbatch/vmbatch-starter",
                             .socket = "/run/vmbatch/vmbatchd.sock", .log_path = "/var/lib/vmbatch/jobs/instance-7.log",
                             .mem = 128ULL << 20, .vcpus = 1, .job_name = "vmbatch-7",
                             .reservation = "vmbatch-exam-final"};
}

static void test_jobs(void) {
        BatchSubmit j = job();
        char **v = NULL;
        Error e = {0};
        golden_argv("slurm-sbatch-reservation", slurm_sbatch_argv(&j, &v, &e), v);
        j.reservation = "x --uid=0";
        is_int(slurm_sbatch_argv(&j, &v, &e), -EINVAL, "sbatch: a reservation name with blanks is refused");
        j = job();
        j.reservation = "12";
        v = sge_qsub_argv(&j, NULL);
        golden_argv("sge-qsub-ar", 0, v);
        j.reservation = "12 -u root";
        ok(!sge_qsub_argv(&j, NULL), "qsub: an AR id that is not digits is refused");
}

static void test_sge(void) {
        char **v = NULL;
        Error e = {0};
        BatchReservation r = req();
        golden_argv("sge-ar-qrsub", sge_qrsub_argv(&r, NOW, 3, &v, &e), v);
        r.start = NOW;
        r.queue = "all.q";
        golden_argv("sge-ar-qrsub-now-queue", sge_qrsub_argv(&r, NOW, 2, &v, &e), v);
        r.queue = "all.q,other.q";
        is_int(sge_qrsub_argv(&r, NOW, 2, &v, &e), -EINVAL, "qrsub: a queue list is refused");
        golden_argv("sge-ar-qrdel", sge_qrdel_argv("12", &v, &e), v);
        is_int(sge_qrdel_argv("12,13", &v, &e), -EINVAL, "qrdel: one numeric id only");
        char id[BATCH_RESV_ID_MAX];
        is_int(sge_parse_qrsub(0, "Your advance reservation 12 has been granted\n", "", id, sizeof(id), &e), 0,
               "qrsub: granted");
        ok(streq(id, "12"), "... id %s", id);
        error_clear(&e);
        is_int(sge_parse_qrsub(1, "", "denied: only managers, operators or arusers may submit advance reservations\n",
                               id, sizeof(id), &e),
               -EPERM, "qrsub: not an aruser: -EPERM: %s", e.message);
        error_clear(&e);
        is_int(sge_parse_qrsub(1, "", "error: advance reservation rejected: max_advance_reservations 0\n", id,
                               sizeof(id), &e),
               -EIO, "qrsub: the cell allows none: %s", e.message);
        error_clear(&e);
        is_int(sge_parse_qrdel(0, "root deleted advance reservation 12\n", "", &e), 0, "qrdel: deleted");
        is_int(sge_parse_qrdel(1, "", "advance reservation 12 does not exist\n", &e), 0, "qrdel: gone already");
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/batch");
        test_slurm_argv();
        test_slurm_parse();
        test_jobs();
        test_sge();
        return tap_done();
}
