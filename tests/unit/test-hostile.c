/* test-hostile.c - a hostile student (or a careless root) against the real
 * controller on a store: each defence is attacked, and a control shows the
 * same request succeeding where the defence does not apply (issue 11):
 *   - root never runs qemu and is never a vmbatch user, also with a users
 *     row left by an old init;
 *   - names resolve to the caller's own vms, then the admins': another
 *     student's vm and grants cannot steer --vm or --base; a vm the caller
 *     has no right on is refused with the paper's message, not "no such vm";
 *   - vm.run asks for at most the vm's own memory and vcpus;
 *   - audit_keep_days expires old audit entries (0 keeps them). */
#include <sqlite3.h>
#include <stdio.h>

#include "basic/config.h"
#include "tap.h"
#include "unit/helpers.h"

#define M (1ULL << 20)
#define MSG_RUN "You don't have permission to run this vm"
#define MSG_DERIVE "You don't have permission to derive this vm"

static json_int_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static bool one_line(const char *s) { return s && *s && !strchr(s, '\n'); }

/* A request (JSON text, ' for ") that must succeed; returns the data's
 * "id" (0 when none). */
static json_int_t must(TEnv *e, uint32_t uid, const char *op, const char *args) {
        json_t *a = Jt(args), *d = NULL;
        Error err;
        if (call_j(e, uid, op, a, &d, &err) < 0)
                bail("%s %s as %u: %s", op, args, uid, err.message);
        json_int_t id = jint(d, "id");
        json_decref(d);
        json_decref(a);
        return id;
}

/* Is the store unchanged by a refused request? */
static bool unchanged(TEnv *e, json_t *before) {
        json_t *after = snapshot(e);
        bool same = json_equal(before, after);
        json_decref(after);
        json_decref(before);
        return same;
}

/* ---- root ---- */

static void test_root_never_runs(void) {
        TEnv e;
        tenv_open(&e);
        Error err;
        json_t *d = NULL;
        must(&e, e.admin, "vm.add", "{'name': 'exam', 'disc_sizes': [1048576]}");

        /* attack: root runs a vm (its qemu would run as root) */
        json_t *before = snapshot(&e);
        int r = call(&e, 0, "vm.run", NULL, &err, "{'vm': 'exam', 'no_start': true}");
        ok(r == -EPERM && strstr(err.message, "root never runs qemu") && strstr(err.message, "normal user") &&
                   one_line(err.message),
           "root's vm.run is refused, naming the fix: %s", err.message);
        ok(unchanged(&e, before), "... and records nothing");
        /* control: the admin, a normal account, runs the same vm */
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'exam', 'no_start': true}");
        ok(r == 0 && jint(d, "uid") == e.admin, "control: the admin (uid %u) runs it: %s", e.admin,
           r ? err.message : "ok");
        json_decref(d);
        d = NULL;
        /* root still administers: it releases that instance, adds a group */
        r = call(&e, 0, "instance.release", NULL, &err, "{'vm': 'exam'}");
        ok(r == 0, "root still administers through the socket (instance.release): %s", r ? err.message : "ok");
        r = call(&e, 0, "vm.add", NULL, &err, "{'name': 'mine', 'disc_sizes': [1048576]}");
        ok(r == -EACCES && strstr(err.message, "uid 0"), "root owns no vm: %s", err.message);

        /* a database from before: init made uid 0 a vmbatch user and an admin */
        UserRec root = {.uid = 0, .name = "root", .max_running = 1000, .max_storage = 1ULL << 30};
        snprintf(root.stordir, sizeof(root.stordir), "%s", e.admin_dir);
        if (store_user_insert(e.store, &root, &err) < 0 || store_membership_add(e.store, 0, 0, &err) < 0 ||
            store_membership_add(e.store, 0, 1, &err) < 0)
                bail("old root row: %s", err.message);
        before = snapshot(&e);
        r = call(&e, 0, "vm.run", NULL, &err, "{'vm': 'exam', 'no_start': true}");
        ok(r == -EPERM && strstr(err.message, "root never runs qemu"), "with an old users row for root: still refused");
        r = call(&e, 0, "vm.add", NULL, &err, "{'name': 'mine', 'disc_sizes': [1048576]}");
        ok(r == -EACCES, "... nor can root own a vm through it: %s", err.message);
        ok(unchanged(&e, before), "... and nothing is recorded");
        r = call(&e, 0, "ping", &d, &err, "{}");
        ok(r == 0 && json_is_null(json_object_get(d, "user")) && json_is_true(json_object_get(d, "admin")),
           "ping: root is admin, but not a vmbatch user");
        json_decref(d);
        tenv_close(&e);
}

/* ---- names ---- */

static void test_names(void) {
        TEnv e;
        tenv_open(&e);
        uint32_t mallory = sys_uid("lp"), victim = sys_uid("mail"), outsider = sys_uid("news"),
                 admin2 = sys_uid("bin");
        Error err;
        json_t *d = NULL;
        if (call(&e, 0, "ugroup.add", NULL, &err, "{'name': 'studs', 'id': 10}") < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'groups': ['studs'], 'stordir': '%s'}",
                 tenv_mkdir(&e, mallory, true)) < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'mail', 'groups': ['studs'], 'stordir': '%s'}",
                 tenv_mkdir(&e, victim, false)) < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'news', 'stordir': '%s'}", tenv_mkdir(&e, outsider, false)) < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'bin', 'groups': ['admin'], 'stordir': '%s'}",
                 tenv_mkdir(&e, admin2, true)) < 0)
                bail("setup: %s", err.message);
        json_int_t exam = must(&e, e.admin, "vm.add", "{'name': 'exam', 'disc_sizes': [1048576], 'derivable': true}");
        must(&e, 0, "perm.set", "{'group': 'studs', 'vm': 'exam', 'run': true, 'derive': true}");

        /* attack: mallory squats the teacher's name and grants it to the victim */
        json_int_t squat = must(&e, mallory, "vm.add", "{'name': 'exam', 'disc_sizes': [1048576], 'derivable': true}");
        must(&e, mallory, "perm.set", "{'user': 'mail', 'vm': 'exam', 'run': true, 'derive': true}");
        int r = call(&e, victim, "vm.add", &d, &err, "{'name': 'mine', 'base': 'exam'}");
        ok(r == 0 && jint(d, "base") == exam,
           "a squatted name with a grant to the victim: --base exam is still the admin's exam (%lld), not mallory's "
           "(%lld): %s", (long long)exam, (long long)squat, r ? err.message : "ok");
        json_decref(d);
        d = NULL;
        r = call(&e, victim, "vm.run", &d, &err, "{'vm': 'exam', 'no_start': true}");
        ok(r == 0 && jint(d, "vm") == exam, "... and --vm exam runs the admin's exam: %s", r ? err.message : "ok");
        if (r == 0)
                call(&e, victim, "instance.release", NULL, &err, "{'instance': %lld}", (long long)jint(d, "id"));
        json_decref(d);
        d = NULL;
        /* control: the grant itself works, by id */
        r = call(&e, victim, "vm.add", &d, &err, "{'name': 'mallorys', 'base': %lld}", (long long)squat);
        ok(r == 0 && jint(d, "base") == squat, "control: by its id the victim derives mallory's vm (%lld): %s",
           (long long)squat, r ? err.message : "ok");
        json_decref(d);
        d = NULL;
        /* a name of another student's vm that one may use: the message gives its id */
        r = call(&e, victim, "vm.show", NULL, &err, "{'vm': 'nosuchname'}");
        ok(r == -ENOENT && strstr(err.message, "no such vm 'nosuchname'"), "an unknown name: %s", err.message);
        must(&e, mallory, "vm.add", "{'name': 'homework', 'disc_sizes': [1048576]}");
        must(&e, mallory, "perm.set", "{'user': 'mail', 'vm': 'homework', 'run': true}");
        r = call(&e, victim, "vm.run", NULL, &err, "{'vm': 'homework', 'no_start': true}");
        ok(r == -ENOENT && strstr(err.message, "by its id") && one_line(err.message),
           "another student's vm is not reached by name, the message says how: %s", err.message);
        r = call(&e, outsider, "vm.show", NULL, &err, "{'vm': 'homework'}");
        ok(r == -ENOENT && streq(err.message, "no such vm 'homework'"),
           "... and to whom may not use it, not even its id is told: %s", err.message);
        /* one's own comes first */
        json_int_t own = must(&e, victim, "vm.add", "{'name': 'exam', 'disc_sizes': [1048576]}");
        r = call(&e, victim, "vm.show", &d, &err, "{'vm': 'exam'}");
        ok(r == 0 && jint(d, "id") == own, "the victim's own 'exam' comes before the admin's");
        json_decref(d);
        d = NULL;
        must(&e, victim, "vm.del", "{'vm': 'exam'}");

        /* the paper's messages for an existing vm without the right */
        json_t *before = snapshot(&e);
        r = call(&e, outsider, "vm.add", NULL, &err, "{'name': 'x', 'base': 'exam'}");
        ok(r == -EPERM && streq(err.message, MSG_DERIVE), "a student without a grant: --base exam: %s", err.message);
        r = call(&e, outsider, "vm.add", NULL, &err, "{'name': 'x', 'base': %lld}", (long long)exam);
        ok(r == -EPERM && streq(err.message, MSG_DERIVE), "... by id: %s", err.message);
        r = call(&e, outsider, "vm.run", NULL, &err, "{'vm': 'exam', 'no_start': true}");
        ok(r == -EPERM && streq(err.message, MSG_RUN), "... --vmrun --vm exam: %s", err.message);
        r = call(&e, outsider, "vm.run", NULL, &err, "{'vm': %lld, 'no_start': true}", (long long)squat);
        ok(r == -EPERM && streq(err.message, MSG_RUN), "... another student's vm by id: %s", err.message);
        r = call(&e, outsider, "vm.mod", NULL, &err, "{'vm': %lld, 'desc': 'x'}", (long long)squat);
        ok(r == -EPERM && strstr(err.message, "modify this vm"), "... vm.mod of it: %s", err.message);
        r = call(&e, outsider, "vm.run", NULL, &err, "{'vm': 99999, 'no_start': true}");
        ok(r == -ENOENT && strstr(err.message, "99999"), "a vm that does not exist is still 'no such vm': %s",
           err.message);
        ok(unchanged(&e, before), "... none of these changed anything");
        /* control: with the grant the same requests succeed */
        must(&e, 0, "perm.set", "{'user': 'news', 'vm': 'exam', 'derive': true, 'run': true}");
        r = call(&e, outsider, "vm.add", &d, &err, "{'name': 'x', 'base': 'exam'}");
        ok(r == 0 && jint(d, "base") == exam, "control: granted derive, --base exam works: %s", r ? err.message : "ok");
        json_decref(d);
        d = NULL;

        /* two admins' vms of one name: ambiguous, with their ids */
        json_int_t exam2 = must(&e, admin2, "vm.add", "{'name': 'exam', 'disc_sizes': [1048576], 'derivable': true}");
        r = call(&e, victim, "vm.add", NULL, &err, "{'name': 'mine2', 'base': 'exam'}");
        char ids[64];
        snprintf(ids, sizeof(ids), "%lld, %lld", (long long)exam, (long long)exam2);
        ok(r == -EINVAL && strstr(err.message, "ambiguous") && strstr(err.message, ids),
           "two admins' vms named exam: ambiguous, naming both (%s): %s", ids, err.message);
        tenv_close(&e);
}

/* ---- run sizes ---- */

static void test_run_caps(void) {
        TEnv e;
        tenv_open(&e);
        uint32_t stud = sys_uid("lp");
        Error err;
        json_t *d = NULL;
        if (call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'stordir': '%s'}", tenv_mkdir(&e, stud, false)) < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err,
                 "{'name': 'small', 'disc_sizes': [1048576], 'mem': %llu, 'vcpus': 2}", 256 * M) < 0 ||
            call(&e, 0, "perm.set", NULL, &err, "{'user': 'lp', 'vm': 'small', 'run': true}") < 0)
                bail("setup: %s", err.message);

        /* attack: a runner asks for more of the host than the vm defines */
        json_t *before = snapshot(&e);
        int r = call(&e, stud, "vm.run", NULL, &err, "{'vm': 'small', 'no_start': true, 'mem': %llu}", 1ULL << 40);
        ok(r == -EINVAL && strstr(err.message, "1T") && strstr(err.message, "256M") && strstr(err.message, "'small'") &&
                   one_line(err.message),
           "--mem 1T on a 256M vm is refused: %s", err.message);
        r = call(&e, stud, "vm.run", NULL, &err, "{'vm': 'small', 'no_start': true, 'mem': %llu}", 512 * M);
        ok(r == -EINVAL && strstr(err.message, "512M"), "--mem 512M too: %s", err.message);
        r = call(&e, stud, "vm.run", NULL, &err, "{'vm': 'small', 'no_start': true, 'vcpus': 256}");
        ok(r == -EINVAL && strstr(err.message, "256") && strstr(err.message, "(2)") && one_line(err.message),
           "--vcpus 256 on a 2-vcpu vm is refused: %s", err.message);
        r = call(&e, stud, "vm.run", NULL, &err, "{'vm': 'small', 'no_start': true, 'vcpus': 3}");
        ok(r == -EINVAL, "--vcpus 3 too");
        ok(unchanged(&e, before), "... nothing recorded");

        /* controls: at most what the vm has; more once its owner raised it */
        r = call(&e, stud, "vm.run", &d, &err, "{'vm': 'small', 'no_start': true, 'mem': %llu, 'vcpus': 1}", 128 * M);
        ok(r == 0 && (uint64_t)jint(d, "mem") == 128 * M, "control: less (128M, 1 vcpu) runs");
        if (r == 0)
                call(&e, stud, "instance.release", NULL, &err, "{'instance': %lld}", (long long)jint(d, "id"));
        json_decref(d);
        d = NULL;
        r = call(&e, stud, "vm.run", &d, &err, "{'vm': 'small', 'no_start': true, 'mem': %llu, 'vcpus': 2}", 256 * M);
        ok(r == 0, "control: exactly the vm's 256M and 2 vcpus run: %s", r ? err.message : "ok");
        if (r == 0)
                call(&e, stud, "instance.release", NULL, &err, "{'instance': %lld}", (long long)jint(d, "id"));
        json_decref(d);
        d = NULL;
        if (call(&e, e.admin, "vm.mod", NULL, &err, "{'vm': 'small', 'mem': %llu, 'vcpus': 4}", 512 * M) < 0)
                bail("vm.mod: %s", err.message);
        r = call(&e, stud, "vm.run", &d, &err, "{'vm': 'small', 'no_start': true, 'mem': %llu, 'vcpus': 3}", 512 * M);
        ok(r == 0 && (uint64_t)jint(d, "mem") == 512 * M && jint(d, "vcpus") == 3,
           "control: the same 512M request runs once the owner gave the vm 512M: %s", r ? err.message : "ok");
        json_decref(d);
        tenv_close(&e);
}

/* ---- audit retention ---- */

static int audit_rows(sqlite3 *db, const char *where) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE %s", where);
        sqlite3_stmt *st;
        int n = -1;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return n;
}

/* an entry dated `age` ago ("-400 days"), written beside the store */
static void old_entry(sqlite3 *db, const char *age, const char *what) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO audit(time, uid, op, object, detail) VALUES (datetime('now', '%s'), 7, 'old', '%s', '{}')",
                 age, what);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
                bail("insert: %s", sqlite3_errmsg(db));
}

static void test_audit_keep_days(void) {
        /* the setting */
        Settings s;
        settings_defaults(&s);
        ok(s.audit_keep_days == 365, "audit_keep_days defaults to 365");
        Config *c = NULL;
        Error err = {0};
        const char text[] = "audit_keep_days = 0\n";
        int r = config_parse(text, strlen(text), "test", &c, &err);
        ok(r == 0 && settings_apply(&s, c, &err) == 0 && s.audit_keep_days == 0, "audit_keep_days = 0 (forever)");
        config_free(c);
        const char bad[] = "audit_keep_days = forever\n";
        r = config_parse(bad, strlen(bad), "test", &c, &err);
        r = r < 0 ? r : settings_apply(&s, c, &err);
        ok(r == -EINVAL && strstr(err.message, "audit_keep_days") && one_line(err.message), "a bad value: %s",
           err.message);
        config_free(c);

        TEnv e;
        tenv_open_file(&e);
        sqlite3 *db = NULL;
        if (sqlite3_open(e.settings.database, &db) != SQLITE_OK)
                bail("sqlite3_open %s", e.settings.database);
        sqlite3_busy_timeout(db, 5000);

        /* control: 0 keeps everything, however old */
        e.settings.audit_keep_days = 0;
        old_entry(db, "-4000 days", "ancient");
        old_entry(db, "-400 days", "last year");
        must(&e, 0, "ugroup.add", "{'name': 'g1'}");
        ok(audit_rows(db, "op = 'old'") == 2, "audit_keep_days = 0: entries of 4000 and 400 days ago stay");

        /* 365: the next audited change drops what is older */
        e.settings.audit_keep_days = 365;
        old_entry(db, "-30 days", "last month");
        old_entry(db, "-2 days", "the day before yesterday");
        must(&e, 0, "ugroup.add", "{'name': 'g2'}");
        ok(audit_rows(db, "op = 'old'") == 2 && audit_rows(db, "object = 'last month'") == 1 &&
                   audit_rows(db, "object = 'the day before yesterday'") == 1,
           "audit_keep_days = 365: the entries older than a year are gone, a month's stay");
        ok(audit_rows(db, "op = 'ugroup.add'") == 2, "... and the new ones are there");
        e.settings.audit_keep_days = 7;
        must(&e, 0, "ugroup.add", "{'name': 'g3'}");
        ok(audit_rows(db, "op = 'old'") == 1 && audit_rows(db, "object = 'the day before yesterday'") == 1,
           "audit_keep_days = 7: the month-old entry goes, two days' stays");
        /* a failed request expires nothing (it is not audited) */
        old_entry(db, "-30 days", "again");
        r = call(&e, 0, "ugroup.add", NULL, &err, "{'name': 'g3'}");
        ok(r == -EEXIST && audit_rows(db, "object = 'again'") == 1, "a refused change expires nothing");

        /* the log stays append-only for a day */
        char *msg = NULL;
        int rc = sqlite3_exec(db, "DELETE FROM audit WHERE op = 'ugroup.add'", NULL, NULL, &msg);
        ok(rc != SQLITE_OK && msg && strstr(msg, "append-only"), "today's entries cannot be deleted by hand: %s",
           msg ? msg : "");
        sqlite3_free(msg);
        sqlite3_close(db);
        tenv_close(&e);
}

int main(void) {
        test_root_never_runs();
        test_names();
        test_run_caps();
        test_audit_keep_days();
        return tap_done();
}
