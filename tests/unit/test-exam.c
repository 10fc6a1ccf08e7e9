/* test-exam.c - exams (issue 14): the pure parts (vm names, deadlines with
 * extra time, the CLI's times, receipts signed, verified and tampered
 * with) and the operations on an in-memory controller (exam.create derives
 * one vm per member with real qemu-img as system users; a student sees only
 * their own row; the rules for an exam's vms before it starts). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/exam.h"
#include "core/ops_exam_selftest.h"
#include "tap.h"
#include "unit/helpers.h"

static void test_names(void) {
        char buf[64];
        ok(exam_vm_name("net1", "doraz", buf, sizeof(buf)) == 0 && streq(buf, "exam-net1-doraz"),
           "a member's vm is exam-EXAM-USER");
        char longname[60];
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        ok(exam_vm_name(longname, "doraz", buf, sizeof(buf)) == -ENAMETOOLONG, "past 63 characters it is refused");
}

static void test_deadlines(void) {
        is_int(exam_deadline(1000, 0), 1000, "no extra time: the end");
        is_int(exam_deadline(1000, 15), 1000 + 15 * 60, "15 extra minutes move only that member's deadline");
        is_int(exam_late_minutes(1000, 990), 0, "sealed before the end: 0 late minutes");
        is_int(exam_late_minutes(1000, 1000 + 15 * 60 + 3), 15, "sealed 15 min 3 s after the end: 15");
}

static void test_times(void) {
        int64_t t = 0;
        Error err = {0};
        ok(exam_time_parse("+5", 1000, &t, &err) == 0 && t == 1300, "+5 is five minutes from now");
        ok(exam_time_parse("+90s", 1000, &t, &err) == 0 && t == 1090, "+90s");
        ok(exam_time_parse("+2h", 1000, &t, &err) == 0 && t == 1000 + 7200, "+2h");
        ok(exam_time_parse("2026-03-01T09:30", 0, &t, &err) == 0 && t == 1772357400, "ISO local time (TZ=UTC)");
        ok(exam_time_parse("2026-03-01 09:30:15", 0, &t, &err) == 0 && t == 1772357415, "with seconds and a space");
        static const char *const bad[] = {"", "+", "+x", "+5d", "2026-13-01T00:00", "2026-02-30T10:00", "tomorrow",
                                          "2026-03-01T09:30Z", "-5"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                error_clear(&err);
                ok(exam_time_parse(bad[i], 0, &t, &err) == -EINVAL, "'%s' is refused: %s", bad[i], err.message);
        }
        char buf[32];
        exam_time_format(1772357415, true, buf);
        is_str(buf, "2026-03-01T09:30:15Z", "UTC format");
}

static void test_receipts(void) {
        uint8_t priv[EXAM_KEY_SIZE], pub[EXAM_KEY_SIZE], other[EXAM_KEY_SIZE];
        for (int i = 0; i < EXAM_KEY_SIZE; i++) {
                priv[i] = (uint8_t)(i * 7 + 1);
                other[i] = (uint8_t)(i * 11 + 3);
        }
        exam_key_public(priv, pub);
        ExamReceipt rc = {.exam = "net1", .student = "doraz", .uid = 1001, .vm = 1003, .vm_name = "exam-net1-doraz",
                          .sha256 = "ab12", .sealed_at = 1772357415, .late_minutes = 2};
        char *text = NULL;
        ok(exam_receipt_make(&rc, priv, &text) == 0 && text, "a receipt is made");
        ok(text && strstr(text, "exam=net1\n") && strstr(text, "sha256=ab12\n") &&
                   strstr(text, "sealed_at=2026-03-01T09:30:15Z\n") && strstr(text, "\nsignature="),
           "it says exam, sha256, sealed_at and carries a signature");
        Error err = {0};
        ok(exam_receipt_verify(text, pub, &err) == 0, "it verifies with the public key");
        char *t2 = strdup(text);
        *strstr(t2, "ab12") = 'c'; /* the hash changed */
        error_clear(&err);
        ok(exam_receipt_verify(t2, pub, &err) == -EPERM, "a tampered receipt fails: %s", err.message);
        free(t2);
        uint8_t opub[EXAM_KEY_SIZE];
        exam_key_public(other, opub);
        error_clear(&err);
        ok(exam_receipt_verify(text, opub, &err) == -EPERM, "another key does not verify it");
        char *t3 = NULL;
        asprintf(&t3, "%sextra=1\n", text);
        error_clear(&err);
        ok(exam_receipt_verify(t3, pub, &err) == -EBADMSG, "a line after the signature is refused");
        free(t3);
        error_clear(&err);
        ok(exam_receipt_verify("exam=x\n", pub, &err) == -EBADMSG, "not a receipt at all");
        char b64[64];
        uint8_t back[EXAM_KEY_SIZE];
        exam_key_to_base64(pub, b64);
        ok(strlen(b64) == 44 && exam_key_from_base64(b64, back) == 0 && memcmp(back, pub, sizeof(pub)) == 0,
           "the public key goes to base64 and back");
        ok(exam_key_from_base64("AAAA", back) < 0, "a short key is refused");
        rc.exam = "two\nlines";
        char *t4 = NULL;
        ok(exam_receipt_make(&rc, priv, &t4) == -EINVAL, "a value with a newline cannot make a receipt");
        free(text);
}

static int64_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void test_ops(void) {
        TEnv e;
        tenv_open(&e);
        Error err = {0};
        json_t *d = NULL;
        const char *sdir = tenv_mkdir(&e, 0, true);
        snprintf(e.settings.state_dir, sizeof(e.settings.state_dir), "%s", sdir);
        const char *students[] = {"lp", "mail", "news"};
        int r = call(&e, 0, "ugroup.add", NULL, &err, "{'name': 'exam1g', 'id': 20}");
        for (size_t i = 0; i < 3 && r >= 0; i++)
                r = call(&e, 0, "user.add", NULL, &err, "{'name': '%s', 'groups': ['exam1g'], 'stordir': '%s'}",
                         students[i], tenv_mkdir(&e, sys_uid(students[i]), false));
        if (r >= 0)
                r = call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'tmpl', 'disc_sizes': [16777216], 'derivable': true}");
        ok(r == 0, "three students in a group and a template (%s)", err.message);
        int64_t now = (int64_t)time(NULL);
        r = call(&e, e.admin, "exam.create", &d, &err,
                 "{'name': 'net1', 'template': 'tmpl', 'group': 'exam1g', 'start': %lld, 'end': %lld}",
                 (long long)now + 600, (long long)now + 1200);
        ok(r == 0 && jint(d, "members") == 3 && streq(json_string_value(json_object_get(d, "state")), "created"),
           "exam.create derives one vm per member (%s)", err.message);
        json_decref(d);
        error_clear(&err);
        r = call(&e, sys_uid("lp"), "exam.create", NULL, &err,
                 "{'name': 'x', 'template': 'tmpl', 'group': 'exam1g', 'start': %lld, 'end': %lld}",
                 (long long)now + 600, (long long)now + 1200);
        ok(r == -EPERM, "a student cannot create an exam");
        d = NULL;
        r = call(&e, e.admin, "exam.show", &d, &err, "{'exam': 'net1'}");
        json_t *m = json_object_get(d, "members");
        ok(r == 0 && json_array_size(m) == 3 && streq(json_string_value(json_object_get(json_array_get(m, 0), "vm_name")),
                                                      "exam-net1-lp"),
           "the teacher sees every member, vm exam-net1-lp first");
        uint32_t lp_vm = (uint32_t)jint(json_array_get(m, 0), "vm");
        json_decref(d);
        d = NULL;
        r = call(&e, sys_uid("mail"), "exam.show", &d, &err, "{'exam': 'net1'}");
        m = json_object_get(d, "members");
        ok(r == 0 && json_array_size(m) == 1 && jint(json_array_get(m, 0), "uid") == sys_uid("mail"),
           "a student sees only their own row");
        json_decref(d);
        d = NULL;
        r = call(&e, sys_uid("lp"), "vm.show", &d, &err, "{'vm': %u}", lp_vm);
        ok(r == 0 && jint(d, "owner") == sys_uid("lp"), "the vm is the student's");
        json_decref(d);
        error_clear(&err);
        r = call(&e, sys_uid("lp"), "vm.run", NULL, &err, "{'vm': %u, 'isolate': true}", lp_vm);
        ok(r == -EPERM && strstr(err.message, "has not started"), "a run before the start is refused: %s", err.message);
        error_clear(&err);
        r = call(&e, sys_uid("lp"), "vm.del", NULL, &err, "{'vm': %u}", lp_vm);
        ok(r == -EPERM && strstr(err.message, "belongs to the exam net1"), "the student cannot delete it");
        d = NULL;
        r = call(&e, e.admin, "exam.extend", &d, &err, "{'exam': 'net1', 'user': 'news', 'minutes': 10}");
        ok(r == 0 && jint(d, "deadline") == now + 1200 + 600, "exam.extend moves news' deadline by 10 min");
        json_decref(d);
        d = NULL;
        r = call(&e, e.admin, "exam.show", &d, &err, "{'exam': 'net1'}");
        m = json_object_get(d, "members");
        ok(r == 0 && jint(json_array_get(m, 0), "deadline") == now + 1200 &&
                   jint(json_array_get(m, 1), "deadline") == now + 1200,
           "... and nobody else's");
        json_decref(d);
        error_clear(&err);
        r = call(&e, sys_uid("lp"), "exam.receipt", NULL, &err, "{'exam': 'net1'}");
        ok(r == -EAGAIN, "no receipt before the seal: %s", err.message);
        /* not ready (the isolation self-test has not run): not started; then a
         * passed self-test (as daemon/exam_selftest.c records it) makes it ready */
        error_clear(&err);
        r = call(&e, e.admin, "exam.start", NULL, &err, "{'exam': 'net1'}");
        ok(r == -EPERM && strstr(err.message, "is not ready: its isolation self-test has not run yet"),
           "exam.start of an exam that is not ready is refused: %s", err.message);
        ExamRec ex;
        ok(store_exam_get_by_name(e.store, "net1", &ex) == 0 && store_begin(e.store, &err) == 0 &&
                   exam_selftest_record(&e.c, ex.id, true, "ready: 22 attacks blocked, 8 controls ok", "{}", now, 1,
                                        &err) == 0 &&
                   store_commit(e.store, &err) == 0,
           "a passed self-test recorded");
        d = NULL;
        r = call(&e, e.admin, "exam.show", &d, &err, "{'exam': 'net1'}");
        ok(r == 0 && streq(json_string_value(json_object_get(d, "state")), "ready") &&
                   streq(json_string_value(json_object_get(json_object_get(d, "selftest"), "state")), "passed"),
           "exam.show: ready, its self-test passed");
        json_decref(d);
        d = NULL;
        r = call(&e, e.admin, "exam.start", &d, &err, "{'exam': 'net1'}");
        ok(r == 0 && streq(json_string_value(json_object_get(d, "state")), "running"), "exam.start");
        json_decref(d);
        d = NULL;
        r = call(&e, sys_uid("lp"), "exam.receipt", &d, &err, "{'pubkey': true}");
        ok(r == 0 && strlen(json_string_value(json_object_get(d, "pubkey")) ?: "") == 44,
           "the receipt key is made at first use; its public half is given");
        json_decref(d);
        d = NULL;
        r = call(&e, e.admin, "audit.list", &d, &err, "{}");
        char *dump = jdump(d);
        ok(r == 0 && strstr(dump, "exam.create") && strstr(dump, "exam.extend") && strstr(dump, "exam.start"),
           "exam actions are audited");
        free(dump);
        json_decref(d);
        tenv_close(&e);
}

int main(void) {
        setenv("TZ", "UTC", 1);
        tzset();
        test_names();
        test_deadlines();
        test_times();
        test_receipts();
        if (geteuid() == 0)
                test_ops();
        else
                ok(1, "# SKIP the operations need root (qemu-img as system users)");
        return tap_done();
}
