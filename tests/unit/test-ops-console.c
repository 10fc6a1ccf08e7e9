/* test-ops-console.c - console.open and console.redeem (core/ops_console.c)
 * on an in-memory store with a fake node:
 *   - console.open: the runner and an admin get a token and its URL (the
 *     token in the fragment); another student is refused with EPERM, an
 *     instance that is not running with EINVAL naming its state; by vm: the
 *     paper's refusal says "open the console of", a reservation of the vm
 *     does not count, and a vm with only others' instances is EPERM (where
 *     instance.show counts the reservation and says "not running");
 *   - console.redeem: only root or web_user; the answer names the instance,
 *     its user, vm and VNC password, and carries the node's socket as an fd
 *     (controller_start_fd); a second use, an unknown token and an expired
 *     one are refused with EACCES and never name the instance;
 *   - every redeem, granted or refused, is in the audit log with `from`;
 *   - the teacher's wall: console.wall for admins only (a student: EPERM),
 *     its URL wall.html#token=; console.wall_redeem (root or web_user) once
 *     answers the selection's running instances (by vm group, by user
 *     group, all) each with a console token bound to the admin that
 *     console.redeem then opens; a console token is no wall token and a
 *     wall token no console token; the wall's redeems are audited. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/console_activity.h"
#include "core/console_tokens.h"
#include <time.h>
#include "tap.h"
#include "unit/helpers.h"

static json_int_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

typedef struct Node {
        int peer; /* our end of the last console socket handed out */
        unsigned connects;
} Node;

static int fake_launch(void *userdata, InstanceRec *inst, Error *err) {
        snprintf(inst->backend, sizeof(inst->backend), "local");
        snprintf(inst->job_id, sizeof(inst->job_id), "fake-%u", inst->id);
        return 0;
}

/* the console: one end of a socketpair, the other kept to see it arrive */
static int fake_console_connect(void *userdata, const InstanceRec *inst, int *ret_fd, Error *err) {
        Node *n = userdata;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return error_set(err, -errno, "socketpair: %m");
        if (n->peer >= 0)
                close(n->peer);
        n->peer = sv[1];
        n->connects++;
        *ret_fd = sv[0];
        return 0;
}

static const ControllerHooks hooks = {.launch = fake_launch, .console_connect = fake_console_connect};

static void set_state(TEnv *e, uint32_t id, InstanceState state) {
        InstanceRec inst;
        Error err = {0};
        if (store_instance_get(e->store, id, &inst) < 0)
                bail("no instance %u", id);
        inst.state = state;
        snprintf(inst.vnc_password, sizeof(inst.vnc_password), "pw%06u", id);
        if (store_instance_update(e->store, &inst, &err) < 0)
                bail("instance update: %s", err.message);
}

/* console.redeem (or op) through the daemon's path: the answer and its fd */
static json_t *redeem_op(TEnv *e, const char *op, uint32_t uid, const char *token, int *ret_fd) {
        json_t *req = json_pack("{s:s, s:{s:s, s:s}}", "op", op, "args", "token", token, "from", "192.0.2.7:51234");
        ControllerJob *job = NULL;
        json_t *resp = controller_start_fd(&e->c, uid, req, &job, ret_fd);
        json_decref(req);
        if (job)
                bail("%s became a job", op);
        return resp;
}

static json_t *redeem(TEnv *e, uint32_t uid, const char *token, int *ret_fd) {
        return redeem_op(e, "console.redeem", uid, token, ret_fd);
}

/* console.wall as uid for vmgroup, group (NULL: not given); the wall token in tok */
static int wall(TEnv *e, uint32_t uid, const char *vmgroup, const char *group, char tok[64], char *url, size_t url_len,
                Error *err) {
        json_t *d = NULL, *args = json_object();
        if (vmgroup)
                json_object_set_new(args, "vmgroup", json_string(vmgroup));
        if (group)
                json_object_set_new(args, "group", json_string(group));
        int r = call_j(e, uid, "console.wall", args, &d, err);
        json_decref(args);
        if (r == 0) {
                snprintf(tok, 64, "%s", jstr(d, "token") ?: "");
                if (url)
                        snprintf(url, url_len, "%s", jstr(d, "url") ?: "");
        }
        json_decref(d);
        return r;
}

/* console.wall_redeem by web_user: the instances' ids, users joined ("3:lp,4:mail") */
static json_t *wall_list(TEnv *e, uint32_t web, const char *tok, char *ids, size_t len) {
        int fd = -1;
        json_t *resp = redeem_op(e, "console.wall_redeem", web, tok, &fd);
        json_t *list = json_object_get(json_object_get(resp, "data"), "instances"), *x;
        size_t i, o = 0;
        ids[0] = 0;
        json_array_foreach(list, i, x) o += (size_t)snprintf(ids + o, len - o, "%s%lld:%s", i ? "," : "",
                                                             (long long)jint(x, "instance"), jstr(x, "user") ?: "?");
        if (fd >= 0)
                close(fd);
        return resp;
}

/* audit entries of op from the test's address with result (NULL: any entry of op) */
static size_t audit_count(TEnv *e, const char *op, const char *result) {
        json_t *list = NULL;
        size_t n = 0, i;
        json_t *a;
        if (call(e, 0, "audit.list", &list, NULL, "{'limit': 1000}") < 0)
                bail("audit.list");
        json_array_foreach(list, i, a) {
                json_t *d = json_object_get(a, "detail");
                if (json_is_string(d))
                        d = json_loads(json_string_value(d), 0, NULL);
                else
                        json_incref(d);
                if (!strcmp(jstr(a, "op") ?: "", op) &&
                    (!result || (!strcmp(jstr(d, "from") ?: "", "192.0.2.7:51234") && !strcmp(jstr(d, "result") ?: "", result))))
                        n++;
                json_decref(d);
        }
        json_decref(list);
        return n;
}

static bool refused_with(json_t *resp, const char *code, const char *message) {
        json_t *error = json_object_get(resp, "error");
        return json_is_false(json_object_get(resp, "ok")) && !strcmp(jstr(error, "code") ?: "", code) &&
               !strcmp(jstr(error, "message") ?: "", message);
}

int main(void) {
        TEnv e;
        tenv_open(&e);
        Node node = {.peer = -1};
        e.c.hooks = &hooks;
        e.c.hooks_data = &node;
        e.c.console_tokens = console_tokens_new(0, 60ULL * 1000000);
        uid_t stud = sys_uid("lp"), other = sys_uid("mail"), web = sys_uid("news");
        snprintf(e.settings.web_user, sizeof(e.settings.web_user), "news");
        snprintf(e.settings.console_url, sizeof(e.settings.console_url), "https://lab.example:8443/console/");
        Error err = {0};
        json_t *d = NULL;
        if (call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'stordir': '%s'}", tenv_mkdir(&e, stud, false)) < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'mail', 'stordir': '%s'}", tenv_mkdir(&e, other, false)) < 0 ||
            call(&e, stud, "vm.add", NULL, &err, "{'name': 'box', 'disc_sizes': [1048576]}") < 0 ||
            call(&e, stud, "vm.run", &d, &err, "{'vm': 'box'}") < 0)
                bail("setup: %s", err.message);
        uint32_t id = (uint32_t)jint(d, "id");
        json_decref(d);

        /* not running yet */
        int r = call(&e, stud, "console.open", NULL, &err, "{'instance': %u}", id);
        ok(r == -EINVAL && strstr(err.message, "submitted"), "a submitted instance has no console: %s", err.message);
        set_state(&e, id, INSTANCE_RUNNING);

        /* the runner */
        d = NULL;
        r = call(&e, stud, "console.open", &d, &err, "{'instance': %u}", id);
        const char *token = jstr(d, "token"), *url = jstr(d, "url");
        char want_url[256];
        snprintf(want_url, sizeof(want_url), "https://lab.example:8443/console/#token=%s", token ? token : "");
        ok(r == 0 && token && strlen(token) == 32 && strspn(token, "0123456789abcdef") == 32,
           "the runner gets a token of 32 hex characters: %s", r < 0 ? err.message : token);
        ok(url && !strcmp(url, want_url), "its URL carries it in the fragment: %s", url ? url : "-");
        ok(jint(d, "instance") == id && jint(d, "expires_in") == 60, "instance %u, expires_in 60", id);
        char tok[64];
        snprintf(tok, sizeof(tok), "%s", token ? token : "");
        json_decref(d);

        /* by vm name, an admin, another student */
        r = call(&e, stud, "console.open", NULL, &err, "{'vm': 'box'}");
        ok(r == 0, "the runner by vm name: %s", r < 0 ? err.message : "ok");
        r = call(&e, e.admin, "console.open", NULL, &err, "{'instance': %u}", id);
        ok(r == 0, "an admin: %s", r < 0 ? err.message : "ok");
        r = call(&e, 0, "console.open", NULL, &err, "{'instance': %u}", id);
        ok(r == 0, "root: %s", r < 0 ? err.message : "ok");
        r = call(&e, other, "console.open", NULL, &err, "{'instance': %u}", id);
        ok(r == -EPERM && !strcmp(err.message, "You don't have permission to open this console"),
           "another student: EPERM: %s", err.message);
        r = call(&e, other, "console.open", NULL, &err, "{'instance': 999}");
        ok(r == -ENOENT && !strcmp(err.message, "no such instance 999"), "no such instance: %s", err.message);

        /* by vm: its verb, its reservations not counted, only others' instances */
        InstanceRec irec;
        if (store_instance_get(e.c.store, id, &irec) < 0)
                bail("instance %u", id);
        uint32_t box = irec.vm;
        r = call(&e, other, "console.open", NULL, &err, "{'vm': %u}", box);
        ok(r == -EPERM && !strcmp(err.message, "You don't have permission to open the console of this vm"),
           "another student's vm by id: the paper's refusal with the console's verb: %s", err.message);
        d = NULL;
        if (call(&e, stud, "vm.run", &d, &err, "{'vm': 'box', 'no_start': true}") < 0)
                bail("reserve: %s", err.message);
        uint32_t reserved = (uint32_t)jint(d, "id");
        json_decref(d);
        d = NULL;
        r = call(&e, stud, "console.open", &d, &err, "{'vm': 'box'}");
        ok(r == 0 && jint(d, "instance") == id, "a reservation of the vm is not counted: instance %lld",
           r < 0 ? -1LL : (long long)jint(d, "instance"));
        json_decref(d);
        r = call(&e, stud, "instance.show", NULL, &err, "{'vm': 'box'}");
        ok(r == -EINVAL && strstr(err.message, "has 2 instances"), "... which instance.show counts: %s", err.message);
        if (call(&e, stud, "instance.release", NULL, &err, "{'instance': %u}", reserved) < 0 ||
            call(&e, 0, "perm.set", NULL, &err, "{'user': 'mail', 'vm': %u, 'run': true}", box) < 0)
                bail("release, perm: %s", err.message);
        r = call(&e, other, "console.open", NULL, &err, "{'vm': %u}", box);
        ok(r == -EPERM && !strcmp(err.message, "You don't have permission to open this console"),
           "a vm another may see, only the runner's instance: EPERM: %s", err.message);
        r = call(&e, other, "instance.show", NULL, &err, "{'vm': %u}", box);
        ok(r == -ENOENT && strstr(err.message, "is not running"), "... which instance.show calls not running: %s",
           err.message);
        if (call(&e, 0, "perm.del", NULL, &err, "{'user': 'mail', 'vm': %u}", box) < 0)
                bail("perm.del: %s", err.message);

        /* redeem: not for students */
        int fd = -1;
        json_t *resp = redeem(&e, stud, tok, &fd);
        ok(json_is_false(json_object_get(resp, "ok")) &&
                   !strcmp(jstr(json_object_get(resp, "error"), "code") ?: "", "EPERM") && fd < 0,
           "the student cannot redeem their own token");
        json_decref(resp);

        /* the gateway's account */
        resp = redeem(&e, web, tok, &fd);
        json_t *data = json_object_get(resp, "data");
        char pw[16];
        snprintf(pw, sizeof(pw), "pw%06u", id);
        ok(json_is_true(json_object_get(resp, "ok")) && jint(data, "instance") == id &&
                   !strcmp(jstr(data, "user") ?: "", "lp") && !strcmp(jstr(data, "vm") ?: "", "box") &&
                   !strcmp(jstr(data, "vnc_password") ?: "", pw),
           "web_user redeems it: instance, user lp, vm box, the VNC password");
        ok(fd >= 0 && node.connects == 1, "the node's console socket rides on the answer (fd %d)", fd);
        if (fd >= 0) {
                char c = 0;
                ok(write(fd, "R", 1) == 1 && read(node.peer, &c, 1) == 1 && c == 'R', "... and it is that socket");
                close(fd);
        }
        json_decref(resp);

        fd = -1;
        resp = redeem(&e, web, tok, &fd);
        ok(refused_with(resp, "EACCES", "console token unknown or already used") && fd < 0, "a second use: EACCES");
        json_decref(resp);
        resp = redeem(&e, 0, "0123456789abcdef0123456789abcdef", &fd);
        ok(refused_with(resp, "EACCES", "console token unknown or already used") && fd < 0, "an unknown token: EACCES");
        json_decref(resp);

        /* expired: a table whose tokens live 1 µs */
        console_tokens_free(e.c.console_tokens);
        e.c.console_tokens = console_tokens_new(0, 1);
        d = NULL;
        if (call(&e, stud, "console.open", &d, &err, "{'instance': %u}", id) < 0)
                bail("open: %s", err.message);
        snprintf(tok, sizeof(tok), "%s", jstr(d, "token"));
        json_decref(d);
        usleep(2000);
        resp = redeem(&e, 0, tok, &fd);
        ok(refused_with(resp, "EACCES", "console token expired") && fd < 0, "an expired token: EACCES, expired");
        json_decref(resp);

        /* the audit: the open, and each redeem with its outcome and from */
        ok(audit_count(&e, "console.redeem", "ok") == 1, "the audit log has the granted redeem with from");
        ok(audit_count(&e, "console.redeem", "console token unknown or already used") == 2, "... both refused ones");
        ok(audit_count(&e, "console.redeem", "console token expired") == 1, "... and the expired one");

        /* ---- the teacher's wall: lp (in studs) runs box (default vm group),
         * mail runs pc in labW */
        console_tokens_free(e.c.console_tokens);
        e.c.console_tokens = console_tokens_new(0, 60ULL * 1000000);
        d = NULL;
        if (call(&e, 0, "ugroup.add", NULL, &err, "{'name': 'studs', 'id': 20}") < 0 ||
            call(&e, 0, "user.mod", NULL, &err, "{'user': 'lp', 'add_groups': ['studs']}") < 0 ||
            call(&e, 0, "vmgroup.add", NULL, &err, "{'name': 'labW', 'id': 7, 'iprange': '10.7.0.2-10.7.0.200'}") < 0 ||
            call(&e, 0, "perm.set", NULL, &err, "{'user': 'mail', 'vmgroup': 'labW', 'run': true}") < 0 ||
            call(&e, other, "vm.add", NULL, &err, "{'name': 'pc', 'vmgroup': 'labW', 'disc_sizes': [1048576]}") < 0 ||
            call(&e, other, "vm.run", &d, &err, "{'vm': 'pc'}") < 0)
                bail("wall setup: %s", err.message);
        uint32_t id2 = (uint32_t)jint(d, "id");
        json_decref(d);
        set_state(&e, id2, INSTANCE_RUNNING);
        char wtok[64], wurl[256], ids[256], want[256];
        r = wall(&e, stud, NULL, NULL, wtok, NULL, 0, &err);
        ok(r == -EPERM && !strcmp(err.message, "only an admin opens the wall"), "a student's console.wall: EPERM: %s",
           err.message);
        r = wall(&e, e.admin, "labW", "studs", wtok, NULL, 0, &err);
        ok(r == -EINVAL, "a vm group and a user group at once: EINVAL: %s", err.message);
        r = wall(&e, e.admin, "nosuch", NULL, wtok, NULL, 0, &err);
        ok(r == -ENOENT, "no such vm group: ENOENT: %s", err.message);

        snprintf(e.settings.web_user, sizeof(e.settings.web_user), "news");
        r = wall(&e, e.admin, "labW", NULL, wtok, wurl, sizeof(wurl), &err);
        snprintf(want, sizeof(want), "https://lab.example:8443/console/wall.html#token=%s", wtok);
        ok(r == 0 && strlen(wtok) == 32 && !strcmp(wurl, want), "an admin's wall of vm group labW: %s",
           r < 0 ? err.message : wurl);
        resp = redeem_op(&e, "console.wall_redeem", stud, wtok, &fd);
        ok(!strcmp(jstr(json_object_get(resp, "error"), "code") ?: "", "EPERM"), "a student cannot redeem a wall token");
        json_decref(resp);
        resp = redeem(&e, web, wtok, &fd);
        ok(refused_with(resp, "EACCES", "console token unknown or already used") && fd < 0,
           "a wall token is no console token");
        json_decref(resp);
        resp = wall_list(&e, web, wtok, ids, sizeof(ids));
        json_t *list = json_object_get(json_object_get(resp, "data"), "instances");
        snprintf(want, sizeof(want), "%u:mail", id2);
        ok(json_is_true(json_object_get(resp, "ok")) && !strcmp(ids, want) &&
                   !strcmp(jstr(json_object_get(resp, "data"), "wall") ?: "", "vm group labW"),
           "web_user redeems it: vm group labW shows mail's instance only (%s)", ids);
        char *dump = json_dumps(resp, 0);
        ok(dump && !strstr(dump, "pw0"), "no VNC password in the wall's answer");
        free(dump);
        char itok[64];
        snprintf(itok, sizeof(itok), "%s", jstr(json_array_get(list, 0), "token") ?: "");
        json_decref(resp);
        resp = wall_list(&e, web, wtok, ids, sizeof(ids));
        ok(refused_with(resp, "EACCES", "wall token unknown or already used"), "the wall token's second use: EACCES");
        json_decref(resp);
        fd = -1;
        resp = redeem(&e, web, itok, &fd);
        data = json_object_get(resp, "data");
        ok(json_is_true(json_object_get(resp, "ok")) && jint(data, "instance") == id2 && fd >= 0 &&
                   !isempty(jstr(data, "issued_to")) && strcmp(jstr(data, "issued_to"), "mail") != 0,
           "the thumbnail's token opens mail's console, issued to the admin (%s)", jstr(data, "issued_to") ?: "-");
        if (fd >= 0)
                close(fd);
        json_decref(resp);
        resp = wall_list(&e, web, itok, ids, sizeof(ids));
        ok(refused_with(resp, "EACCES", "wall token unknown or already used"), "a console token is no wall token");
        json_decref(resp);

        r = wall(&e, e.admin, NULL, "studs", wtok, NULL, 0, &err);
        resp = wall_list(&e, web, wtok, ids, sizeof(ids));
        snprintf(want, sizeof(want), "%u:lp", id);
        ok(r == 0 && !strcmp(ids, want), "the wall of user group studs: lp's instance only (%s)", ids);
        json_decref(resp);
        r = wall(&e, 0, NULL, NULL, wtok, NULL, 0, &err);
        resp = wall_list(&e, web, wtok, ids, sizeof(ids));
        snprintf(want, sizeof(want), "%u:lp,%u:mail", id, id2);
        ok(r == 0 && !strcmp(ids, want), "root's wall of everything: both (%s)", ids);
        json_decref(resp);
        set_state(&e, id2, INSTANCE_STOPPING);
        r = wall(&e, e.admin, "labW", NULL, wtok, NULL, 0, &err);
        resp = wall_list(&e, web, wtok, ids, sizeof(ids));
        ok(r == 0 && json_is_true(json_object_get(resp, "ok")) && !strcmp(ids, ""),
           "a stopped instance is not on the wall");
        json_decref(resp);
        ok(audit_count(&e, "console.wall_redeem", "ok") == 4 &&
                   audit_count(&e, "console.wall_redeem", "wall token unknown or already used") == 2,
           "the audit log has the wall's 4 opens and 2 refusals");
        ok(audit_count(&e, "console.wall", NULL) == 4, "... and the 4 wall tokens' issue");

        /* console.activity: the gateway's report, in memory */
        set_state(&e, id, INSTANCE_RUNNING);
        e.c.console_activity = console_activity_new(0);
        json_t *show = NULL;
        r = call(&e, stud, "console.activity", NULL, &err, "{'instance': %u, 'conn': 1, 'open': true, 'input_ago_ms': 0}", id);
        ok(r == -EPERM && strstr(err.message, "only the console gateway"), "a student's console.activity: EPERM: %s",
           err.message);
        call(&e, stud, "instance.show", &show, &err, "{'instance': %u}", id);
        ok(json_is_false(json_object_get(show, "console_open")) && json_is_null(json_object_get(show, "console_input_at")),
           "... and it changed nothing: instance.show says no console, no input");
        json_decref(show);
        int64_t t0 = (int64_t)time(NULL);
        r = call(&e, web, "console.activity", NULL, &err, "{'instance': %u, 'conn': 1, 'open': true, 'input_ago_ms': 1500}",
                 id);
        call(&e, stud, "instance.show", &show, &err, "{'instance': %u}", id);
        int64_t at = jint(show, "console_input_at");
        ok(r == 0 && json_is_true(json_object_get(show, "console_open")) && at >= t0 - 3 && at <= t0,
           "the web user's report is taken: open, input %lld s before now", (long long)(t0 - at));
        json_decref(show);
        r = call(&e, web, "console.activity", NULL, &err, "{'instance': %u, 'conn': 1, 'open': false}", id);
        call(&e, stud, "instance.show", &show, &err, "{'instance': %u}", id);
        ok(r == 0 && json_is_false(json_object_get(show, "console_open")) && jint(show, "console_input_at") == at,
           "closed: not open, the last input kept");
        json_decref(show);
        r = call(&e, web, "console.activity", NULL, &err, "{'instance': 999, 'conn': 1, 'open': true}");
        ok(r == -ENOENT, "no such instance: %s", err.message);
        r = call(&e, web, "console.activity", NULL, &err, "{'instance': %u, 'conn': 1, 'open': true, 'input_ago_ms': -5}", id);
        ok(r == -EINVAL, "a negative input_ago_ms: %s", err.message);
        r = call(&e, web, "console.activity", NULL, &err, "{'instance': %u, 'open': true}", id);
        ok(r == -EINVAL, "no conn: %s", err.message);
        console_activity_free(TAKE_PTR(e.c.console_activity));

        /* no web_user account: only root */
        snprintf(e.settings.web_user, sizeof(e.settings.web_user), "no-such-account-here");
        resp = redeem(&e, web, tok, &fd);
        ok(!strcmp(jstr(json_object_get(resp, "error"), "code") ?: "", "EPERM"),
           "web_user naming no account: news is refused");
        json_decref(resp);

        if (node.peer >= 0)
                close(node.peer);
        console_tokens_free(e.c.console_tokens);
        tenv_close(&e);
        return tap_done();
}
