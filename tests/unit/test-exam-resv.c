/* test-exam-resv.c - an exam's reservation without a scheduler: the window
 * it should hold (daemon/exam_reservation.h, pure), its name, and its
 * record on the exam row (store/exam_resv.h: round trip, the member's vm
 * finds it only while it is held). */
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/exam_reservation.h"
#include "store/exam_resv.h"
#include "tap.h"

static void test_window(void) {
        ExamRec e = {.start = 10000, .end = 20000, .state = EXAM_RUNNING};
        ExamMemberRec m[3] = {{.extra_minutes = 0}, {.extra_minutes = 5}, {.extra_minutes = 2}};
        int64_t s, end;
        exam_resv_window(&e, m, 3, 600, &s, &end);
        is_int(s, 10000 - 600, "starts exam_warm_lead before the exam");
        is_int(end, 20000 + 5 * 60 + EXAM_RESV_END_GRACE_S, "ends 60 s after the latest deadline (5 extra minutes)");
        exam_resv_window(&e, m, 0, 0, &s, &end);
        is_int(s, 10000, "no lead: at the start");
        is_int(end, 20000 + EXAM_RESV_END_GRACE_S, "no members: the end + 60 s");
        e.state = EXAM_ENDED; /* stopped: its end is the stop; nobody's extra time counts */
        exam_resv_window(&e, m, 3, 600, &s, &end);
        is_int(end, 20000 + EXAM_RESV_END_GRACE_S, "an ended exam: its end + 60 s, extra minutes or not");
        char name[96];
        exam_resv_name("final", name, sizeof(name));
        ok(streq(name, "vmbatch-exam-final"), "name %s", name);
}

/* SQL on the database file beside the store's connection */
static int sql(const char *path, const char *text) {
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK)
                return -1;
        char *msg = NULL;
        int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
                printf("#   sqlite: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db);
        return rc == SQLITE_OK ? 0 : -1;
}

static void test_store(void) {
        Store *s = NULL;
        Error err = {0};
        char dir[] = "/tmp/vmbatch-exam-resv-XXXXXX";
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp: %m\n");
                exit(1);
        }
        char path[sizeof(dir) + 8];
        snprintf(path, sizeof(path), "%s/db", dir);
        if (store_open(path, &s, &err) < 0) {
                printf("Bail out! store_open: %s\n", err.message);
                exit(1);
        }
        ok(sql(path,
                      "INSERT INTO users(uid, name, stordir, max_running, max_storage, created)"
                      "  VALUES (1000, 't', '/x', 1, 1, 'now');"
                      "INSERT INTO user_groups(id, name) VALUES (1, 'g');"
                      "INSERT INTO vm_groups(id, name, ip_first, ip_last) VALUES (1, 'lab', 1, 9);"
                      "INSERT INTO vms(id, name, owner, vm_group, mem, vcpus, created)"
                      "  VALUES (5, 'v', 1000, 1, 1, 1, 'now');"
                      "INSERT INTO exams(id, name, template, ugroup, start_time, end_time, owner, state, collection,"
                      "  created) VALUES (1, 'final', 5, 1, 1, 2, 1000, 'created', '/c', 'now');"
                      "INSERT INTO exam_members(exam, uid, vm, state) VALUES (1, 1000, 5, 'pending');") == 0,
           "an exam with one member");
        ExamResvRec r;
        is_int(store_exam_resv_get(s, 1, &r), 0, "a new exam's reservation");
        ok(r.state == EXAM_RESV_NONE && !*r.id, "... is none");
        char id[EXAM_RESV_ID_MAX];
        is_int(store_exam_resv_for_vm(s, 5, id, sizeof(id)), -ENOENT, "the member's vm has none to run in");
        r = (ExamResvRec){.state = EXAM_RESV_HELD, .start = 7, .end = 9, .create_ms = 12};
        snprintf(r.backend, sizeof(r.backend), "slurm");
        snprintf(r.id, sizeof(r.id), "vmbatch-exam-final");
        is_int(store_exam_resv_set(s, 1, &r, &err), 0, "recorded as held");
        ExamResvRec g;
        store_exam_resv_get(s, 1, &g);
        ok(g.state == EXAM_RESV_HELD && streq(g.id, r.id) && streq(g.backend, "slurm") && g.start == 7 && g.end == 9 &&
                   g.create_ms == 12,
           "round trip");
        is_int(store_exam_resv_for_vm(s, 5, id, sizeof(id)), 0, "the member's vm runs in it");
        ok(streq(id, "vmbatch-exam-final"), "... %s", id);
        is_int(store_exam_resv_for_vm(s, 6, id, sizeof(id)), -ENOENT, "another vm does not");
        r.state = EXAM_RESV_RELEASED;
        store_exam_resv_set(s, 1, &r, &err);
        is_int(store_exam_resv_for_vm(s, 5, id, sizeof(id)), -ENOENT, "released: no more");
        ok(sql(path, "UPDATE exams SET resv_state = 'bogus' WHERE id = 1") < 0,
           "the database refuses a state it does not know");
        store_close(s);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        test_window();
        test_store();
        return tap_done();
}
