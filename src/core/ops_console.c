/* ops_console.c - the browser console (issue 13): console.open gives the
 * instance's runner (or an admin) a one-time token in a URL of the console
 * gateway; console.redeem, which only the gateway's account (web_user) or
 * root may call, spends the token and answers with the instance's VNC
 * password and, as an fd on the answer, a socket connected to the
 * instance's console VNC server (qemu's second -vnc, on a unix socket in
 * its run folder). The tokens live in memory (console_tokens.h); every
 * redeem, granted or refused, is in the audit log with the browser's
 * address the gateway saw. The teacher's wall: console.wall gives an admin
 * a one-time wall token for a selection (a VM group, a user group, or all);
 * console.wall_redeem (the gateway again) spends it and answers the
 * selection's running instances, each with a fresh console token bound to
 * the admin, which the wall's thumbnails then redeem one by one with
 * console.redeem: every check, audit entry and fd of a single console is
 * the wall's too, and the wall itself needs no VNC of its own.
 * console.activity (the gateway's again) reports each connection's open,
 * close and last input, kept in memory (console_activity.h) for
 * instance.show and exam.show. The wire: docs/protocol.md. */
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include "basic/log.h"
#include "core/console_activity.h"
#include "core/console_tokens.h"
#include "core/ops_exam.h"
#include "core/ops.h"

/* a console shows a guest that has a qemu: a paused one's frozen screen too */
static bool has_console(const InstanceRec *inst) {
        return inst->state == INSTANCE_RUNNING || inst->state == INSTANCE_PAUSED;
}

static int tokens_of(Controller *c, ConsoleTokens **ret, Error *err) {
        if (!c->console_tokens)
                return error_set(err, -ENOTSUP, "this vmbatchd has no browser console");
        *ret = c->console_tokens;
        return 0;
}

/* {instance: N}, or {vm: REF}: the caller's instance of that vm (an admin's:
 * its only one), never a reservation (it has no qemu). Someone else's
 * instance is the paper's kind of refusal. */
static const InstanceLookup console_lookup = {
        .verb = "open the console of",
        .refused = "You don't have permission to open this console",
        .skip_reserved = true,
};

static void user_name(Controller *c, uint32_t uid, char *buf, size_t len) {
        UserRec u;
        if (store_user_get(c->store, uid, &u) == 0)
                snprintf(buf, len, "%s", u.name);
        else
                snprintf(buf, len, "uid %u", uid);
}

/* console_url + "/" + page + "#token=T" (page "": the console page,
 * "wall.html": the wall): in the fragment, which no browser sends, so
 * neither the gateway's log nor a proxy's access log ever holds a token;
 * the page puts it in its WebSocket's query (wss://HOST/console/ws?token=T). */
static void console_url(const Settings *s, const char *page, const char *token, char *buf, size_t len) {
        char base[600];
        if (isempty(s->console_url)) {
                char host[256] = "localhost";
                if (gethostname(host, sizeof(host) - 1) < 0)
                        snprintf(host, sizeof(host), "localhost");
                host[sizeof(host) - 1] = 0;
                snprintf(base, sizeof(base), "https://%s:8443/console", host);
        } else
                snprintf(base, sizeof(base), "%s", s->console_url);
        size_t l = strlen(base);
        if (l && base[l - 1] == '/')
                base[l - 1] = 0;
        snprintf(buf, len, "%s/%s#token=%s", base, page, token);
}

static void caller_name(const Caller *who, char *buf, size_t len) {
        if (who->known)
                snprintf(buf, len, "%s", who->user.name);
        else
                snprintf(buf, len, "uid %u", who->uid); /* root */
}

/* A token for b in ret; its refusals in words (what: "console", "wall") */
static int issue(ConsoleTokens *tokens, const ConsoleBinding *b, const char *what, char ret[CONSOLE_TOKEN_HEX + 1],
                 Error *err) {
        int r = console_tokens_issue_binding(tokens, b, now_usec(), ret);
        if (r == -EBUSY)
                return error_set(err, r, "too many console tokens are waiting to be used: try again in a minute");
        if (r < 0)
                return error_set(err, r, "cannot make a %s token: getrandom: %s", what, strerror(-r));
        return 0;
}

static int op_console_open(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        ConsoleTokens *tokens = NULL;
        InstanceRec inst;
        int r;
        if ((r = tokens_of(c, &tokens, err)) < 0 ||
            (r = resolve_instance(c, who, args, &console_lookup, &inst, err)) < 0)
                return r;
        if (!has_console(&inst))
                return error_set(err, -EINVAL, "instance %u is %s, not running: it has no console", inst.id,
                                 instance_state_to_string(inst.state));
        VmRec vm; /* an exam's warm VM: closed until the start; a sealed one: closed */
        if (store_vm_get(c->store, inst.vm, &vm) == 0 && (r = exam_check_vm_use(c, who, &vm, "console", err)) < 0)
                return r;
        char token[CONSOLE_TOKEN_HEX + 1], url[1024], name[64];
        ConsoleBinding b = {.kind = CONSOLE_TOKEN_CONSOLE, .instance = inst.id, .uid = who->uid};
        if ((r = issue(tokens, &b, "console", token, err)) < 0)
                return r;
        console_url(c->settings, "", token, url, sizeof(url));
        caller_name(who, name, sizeof(name));
        snprintf(audit->object, sizeof(audit->object), "console token for instance %u issued to %s", inst.id, name);
        *ret = json_pack("{s:s, s:s, s:I, s:I}", "token", token, "url", url, "instance", (json_int_t)inst.id,
                         "expires_in", (json_int_t)(console_tokens_ttl_usec(tokens) / 1000000));
        explicit_bzero(token, sizeof(token));
        return 0;
}

/* root, or the gateway's account (none when web_user names no account) */
static bool may_redeem(const Settings *s, uint32_t uid) {
        if (uid == 0)
                return true;
        struct passwd *pw = isempty(s->web_user) ? NULL : getpwnam(s->web_user);
        return pw && pw->pw_uid != 0 && pw->pw_uid == uid;
}

/* Every redeem, granted or not: who the console is of (the instance's
 * user; the caller when the token named nothing), which instance, from
 * where, and what came of it. A failed audit write refuses the console. */
static int audit_redeem(Controller *c, const Caller *who, const ConsoleBinding *b, const InstanceRec *inst,
                        const char *from, const char *outcome, Error *err) {
        char object[64], name[64] = "";
        uint32_t uid = inst ? inst->uid : b ? b->uid : who->uid;
        if (b)
                snprintf(object, sizeof(object), "console of instance %u", b->instance);
        else
                snprintf(object, sizeof(object), "console token");
        if (inst || b)
                user_name(c, uid, name, sizeof(name));
        json_t *detail = json_pack("{s:s, s:s, s:I}", "from", from, "result", outcome, "by", (json_int_t)who->uid);
        if (b) {
                json_object_set_new(detail, "instance", json_integer(b->instance));
                json_object_set_new(detail, "issued_to", json_integer(b->uid));
        }
        if (*name)
                json_object_set_new(detail, "user", json_string(name));
        Error local = {0};
        int r = store_audit(c->store, uid, "console.redeem", object, detail, &local);
        json_decref(detail);
        if (r < 0) {
                log_error("console.redeem: cannot write the audit log: %s", local.message);
                return error_set(err, r, "cannot write the audit log: %s", local.message);
        }
        log_info("console.redeem from %s: %s: %s", from, object, outcome);
        return 0;
}

/* The refusal the gateway passes on, audited; it never names the instance. */
static int refuse(Controller *c, const Caller *who, const ConsoleBinding *b, const char *from, int code,
                  const char *message, Error *err) {
        int r = audit_redeem(c, who, b, NULL, from, message, err);
        return r < 0 ? r : error_set(err, code, "%s", message);
}

/* What both redeems check first: the caller is the gateway (or root), and
 * {token, from} are there, from a printable address. */
static int redeem_args(Controller *c, const Caller *who, const json_t *args, ConsoleTokens **tokens,
                       const char **token, const char **from, Error *err) {
        if (!may_redeem(c->settings, who->uid))
                return error_set(err, -EPERM, "only the console gateway (web_user %s) or root may redeem console tokens",
                                 isempty(c->settings->web_user) ? "(none)" : c->settings->web_user);
        int r;
        if ((r = tokens_of(c, tokens, err)) < 0 || (r = json_need_string(args, "token", token, err)) < 0 ||
            (r = json_need_string(args, "from", from, err)) < 0)
                return r;
        if (strlen(*from) > 128 || !string_is_printable(*from))
                return error_set(err, -EINVAL, "from: not an address (ADDR:PORT)");
        return 0;
}

static int op_console_redeem(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                             Error *err) {
        ConsoleTokens *tokens = NULL;
        const char *token, *from;
        int r;
        if ((r = redeem_args(c, who, args, &tokens, &token, &from, err)) < 0)
                return r;
        ConsoleBinding b;
        r = console_tokens_redeem(tokens, token, now_usec(), &b);
        if (r == -ENOENT)
                return refuse(c, who, NULL, from, -EACCES, "console token unknown or already used", err);
        if (r == -EALREADY)
                return refuse(c, who, &b, from, -EACCES, "console token unknown or already used", err);
        if (r == -ETIME)
                return refuse(c, who, &b, from, -EACCES, "console token expired", err);
        InstanceRec inst;
        VmRec vm;
        if (store_instance_get(c->store, b.instance, &inst) < 0 || !has_console(&inst))
                return refuse(c, who, &b, from, -ENOENT, "the console's instance is no longer running", err);
        if (store_vm_get(c->store, inst.vm, &vm) < 0)
                return refuse(c, who, &b, from, -ENOENT, "the console's vm is gone", err);
        if (!c->hooks || !c->hooks->console_connect)
                return refuse(c, who, &b, from, -ENOTSUP, "this vmbatchd cannot reach consoles (no node role)", err);
        int fd = -1;
        Error cerr = {0};
        if ((r = c->hooks->console_connect(c->hooks_data, &inst, &fd, &cerr)) < 0)
                return refuse(c, who, &b, from, r, cerr.message, err);
        if ((r = audit_redeem(c, who, &b, &inst, from, "ok", err)) < 0) {
                close(fd);
                return r;
        }
        char user[64], issued_to[64];
        user_name(c, inst.uid, user, sizeof(user));
        user_name(c, b.uid, issued_to, sizeof(issued_to));
        *ret = json_pack("{s:I, s:s, s:s, s:s, s:s}", "instance", (json_int_t)inst.id, "user", user, "vm", vm.name,
                         "vnc_password", inst.vnc_password, "issued_to", issued_to);
        audit->fd = fd;
        return 0;
}

/* ---- what the gateway sees of each console (core/console_activity.h) */

void console_activity_put(Controller *c, uint32_t instance, json_t *o) {
        if (!c->console_activity)
                return;
        ConsoleActivityState st = console_activity_get(c->console_activity, instance, now_usec());
        json_object_set_new(o, "console_open", json_boolean(st.open));
        json_object_set_new(o, "console_input_at",
                            st.input_at_ms > 0 ? json_integer((json_int_t)(st.input_at_ms / 1000)) : json_null());
}

void console_activity_put_vm(Controller *c, uint32_t vm, json_t *o) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        InstanceRec inst;
        uint32_t id = 0;
        if (vm && store_instance_ids_for_vm(c->store, vm, &ids, &n) == 0)
                for (size_t i = 0; i < n; i++) /* the newest that had a console */
                        if (store_instance_get(c->store, ids[i], &inst) == 0 && inst.state != INSTANCE_RESERVED &&
                            ids[i] > id)
                                id = ids[i];
        console_activity_put(c, id, o); /* none: 0, which no instance is */
}

/* The gateway's report of one console connection: {instance, conn (its own
 * id of the connection), open, input_ago_ms? (how long ago the browser's
 * last KeyEvent or PointerEvent came; absent: none yet)}. Not audited: it
 * comes every few seconds and is kept in memory only. */
static int op_console_activity(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                               Error *err) {
        if (!may_redeem(c->settings, who->uid))
                return error_set(err, -EPERM, "only the console gateway (web_user %s) or root reports console activity",
                                 isempty(c->settings->web_user) ? "(none)" : c->settings->web_user);
        if (!c->console_activity)
                return error_set(err, -ENOTSUP, "this vmbatchd has no browser console");
        uint64_t id = 0, conn = 0, ago = 0;
        bool open = false;
        int r;
        if ((r = json_get_u64(args, "instance", &id, err)) < 0 || (r = json_get_u64(args, "conn", &conn, err)) < 0 ||
            (r = json_get_bool(args, "open", &open, err)) < 0)
                return r == -ENOENT ? error_set(err, -EINVAL, "give instance, conn and open") : r;
        bool input = json_object_get(args, "input_ago_ms") != NULL;
        if (input && (r = json_get_u64(args, "input_ago_ms", &ago, err)) < 0)
                return r;
        if (ago > 86400000ULL)
                return error_set(err, -EINVAL, "input_ago_ms: more than a day");
        InstanceRec inst;
        if (id > UINT32_MAX || store_instance_get(c->store, (uint32_t)id, &inst) < 0)
                return error_set(err, -ENOENT, "no such instance %llu", (unsigned long long)id);
        int64_t input_at_ms = 0;
        struct timespec ts;
        if (input && clock_gettime(CLOCK_REALTIME, &ts) == 0)
                input_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - (int64_t)ago;
        if ((r = console_activity_report(c->console_activity, inst.id, conn, open, input_at_ms, now_usec())) < 0)
                return error_set(err, r, "too many console connections are remembered");
        *ret = json_object();
        console_activity_put(c, inst.id, *ret);
        json_object_set_new(*ret, "instance", json_integer((json_int_t)inst.id));
        return 0;
}

/* ---- the teacher's wall */

/* "vm group lab1", "user group studs", "all running instances" */
static void wall_what(Controller *c, const ConsoleBinding *b, char *buf, size_t len) {
        VmGroupRec vg;
        GroupRec g;
        if (b->wall_by == CONSOLE_WALL_VMGROUP && store_vmgroup_get(c->store, b->wall_id, &vg) == 0)
                snprintf(buf, len, "vm group %s", vg.name);
        else if (b->wall_by == CONSOLE_WALL_VMGROUP)
                snprintf(buf, len, "vm group %u", b->wall_id); /* deleted since */
        else if (b->wall_by == CONSOLE_WALL_GROUP && store_group_get(c->store, b->wall_id, &g) == 0)
                snprintf(buf, len, "user group %s", g.name);
        else if (b->wall_by == CONSOLE_WALL_GROUP)
                snprintf(buf, len, "user group %u", b->wall_id);
        else
                snprintf(buf, len, "all running instances");
}

static int op_console_wall(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        ConsoleTokens *tokens = NULL;
        int r;
        if (!who->admin)
                return error_set(err, -EPERM, "only an admin opens the wall");
        if ((r = tokens_of(c, &tokens, err)) < 0)
                return r;
        ConsoleBinding b = {.kind = CONSOLE_TOKEN_WALL, .uid = who->uid, .wall_by = CONSOLE_WALL_ALL};
        bool by_vmg = json_object_get(args, "vmgroup"), by_group = json_object_get(args, "group");
        if (by_vmg && by_group)
                return error_set(err, -EINVAL, "a wall shows a vm group or a user group, not both");
        if (by_vmg) {
                VmGroupRec vg;
                if ((r = resolve_vmgroup(c, args, "vmgroup", &vg, err)) < 0)
                        return r;
                b.wall_by = CONSOLE_WALL_VMGROUP;
                b.wall_id = vg.id;
        } else if (by_group) {
                GroupRec g;
                if ((r = resolve_group(c, args, "group", &g, err)) < 0)
                        return r;
                b.wall_by = CONSOLE_WALL_GROUP;
                b.wall_id = g.id;
        }
        char token[CONSOLE_TOKEN_HEX + 1], url[1024], name[64], what[96];
        if ((r = issue(tokens, &b, "wall", token, err)) < 0)
                return r;
        console_url(c->settings, "wall.html", token, url, sizeof(url));
        caller_name(who, name, sizeof(name));
        wall_what(c, &b, what, sizeof(what));
        snprintf(audit->object, sizeof(audit->object), "console wall of %.60s issued to %.36s", what, name);
        *ret = json_pack("{s:s, s:s, s:s, s:I}", "token", token, "url", url, "wall", what, "expires_in",
                         (json_int_t)(console_tokens_ttl_usec(tokens) / 1000000));
        explicit_bzero(token, sizeof(token));
        return 0;
}

/* Is uid an admin now? The wall token's holder is checked again when it is
 * spent, since each instance's console token is issued to them then. */
static bool uid_is_admin(Controller *c, uint32_t uid) {
        if (uid == 0)
                return true;
        _cleanup_free_ uint32_t *groups = NULL;
        size_t n = 0;
        if (store_user_groups(c->store, uid, &groups, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (groups[i] == GROUP_ADMIN)
                        return true;
        return false;
}

/* Is inst in the wall's selection? */
static bool wall_shows(Controller *c, const ConsoleBinding *b, const InstanceRec *inst) {
        if (b->wall_by == CONSOLE_WALL_VMGROUP) {
                VmRec vm;
                return store_vm_get(c->store, inst->vm, &vm) == 0 && vm.vm_group == b->wall_id;
        }
        if (b->wall_by == CONSOLE_WALL_GROUP) {
                _cleanup_free_ uint32_t *groups = NULL;
                size_t n = 0;
                if (store_user_groups(c->store, inst->uid, &groups, &n) < 0)
                        return false;
                for (size_t i = 0; i < n; i++)
                        if (groups[i] == b->wall_id)
                                return true;
                return false;
        }
        return true;
}

/* Every wall redeem, granted or not: by whom (the admin it was issued to),
 * of what, from where, what came of it and how many instances it showed. */
static int audit_wall(Controller *c, const Caller *who, const ConsoleBinding *b, const char *from,
                      const char *outcome, size_t shown, Error *err) {
        char object[128] = "wall token", what[96];
        json_t *detail = json_pack("{s:s, s:s, s:I}", "from", from, "result", outcome, "by", (json_int_t)who->uid);
        if (b) {
                wall_what(c, b, what, sizeof(what));
                snprintf(object, sizeof(object), "console wall of %s", what);
                json_object_set_new(detail, "issued_to", json_integer(b->uid));
                json_object_set_new(detail, "instances", json_integer((json_int_t)shown));
        }
        Error local = {0};
        int r = store_audit(c->store, b ? b->uid : who->uid, "console.wall_redeem", object, detail, &local);
        json_decref(detail);
        if (r < 0) {
                log_error("console.wall_redeem: cannot write the audit log: %s", local.message);
                return error_set(err, r, "cannot write the audit log: %s", local.message);
        }
        log_info("console.wall_redeem from %s: %s: %s (%zu instances)", from, object, outcome, shown);
        return 0;
}

static int refuse_wall(Controller *c, const Caller *who, const ConsoleBinding *b, const char *from, int code,
                       const char *message, Error *err) {
        int r = audit_wall(c, who, b, from, message, 0, err);
        return r < 0 ? r : error_set(err, code, "%s", message);
}

static int op_console_wall_redeem(Controller *c, const Caller *who, const json_t *args, json_t **ret,
                                  OpAudit *audit, Error *err) {
        ConsoleTokens *tokens = NULL;
        const char *token, *from;
        int r;
        if ((r = redeem_args(c, who, args, &tokens, &token, &from, err)) < 0)
                return r;
        ConsoleBinding b;
        uint64_t now = now_usec();
        /* a console token here is unknown (and stays good for its console) */
        r = console_tokens_redeem_kind(tokens, token, CONSOLE_TOKEN_WALL, now, &b);
        if (r == -ENOENT)
                return refuse_wall(c, who, NULL, from, -EACCES, "wall token unknown or already used", err);
        if (r == -EALREADY)
                return refuse_wall(c, who, &b, from, -EACCES, "wall token unknown or already used", err);
        if (r == -ETIME)
                return refuse_wall(c, who, &b, from, -EACCES, "wall token expired", err);
        if (!uid_is_admin(c, b.uid))
                return refuse_wall(c, who, &b, from, -EPERM, "only an admin opens the wall", err);

        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        if ((r = store_instance_ids_all(c->store, &ids, &n)) < 0)
                return error_set(err, r, "cannot list instances");
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
                InstanceRec inst;
                VmRec vm;
                if (store_instance_get(c->store, ids[i], &inst) < 0 || !has_console(&inst) ||
                    !wall_shows(c, &b, &inst) || store_vm_get(c->store, inst.vm, &vm) < 0)
                        continue;
                /* the thumbnail's own one-time token, bound to the admin:
                 * its console.redeem is a console open like any other */
                char tok[CONSOLE_TOKEN_HEX + 1], user[64];
                ConsoleBinding ib = {.kind = CONSOLE_TOKEN_CONSOLE, .instance = inst.id, .uid = b.uid};
                Error ierr = {0};
                if ((r = issue(tokens, &ib, "console", tok, &ierr)) < 0) {
                        json_decref(list);
                        return refuse_wall(c, who, &b, from, r, ierr.message, err);
                }
                user_name(c, inst.uid, user, sizeof(user));
                json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "instance", (json_int_t)inst.id, "user",
                                                      user, "vm", vm.name, "token", tok));
                explicit_bzero(tok, sizeof(tok));
        }
        if ((r = audit_wall(c, who, &b, from, "ok", json_array_size(list), err)) < 0) {
                json_decref(list);
                return r;
        }
        char what[96], by[64];
        wall_what(c, &b, what, sizeof(what));
        user_name(c, b.uid, by, sizeof(by));
        *ret = json_pack("{s:s, s:s, s:o, s:I}", "wall", what, "issued_to", by, "instances", list, "expires_in",
                         (json_int_t)(console_tokens_ttl_usec(tokens) / 1000000));
        return 0;
}

static const char *const keys_open[] = {"instance", "vm", NULL};
static const char *const keys_redeem[] = {"token", "from", NULL};
static const char *const keys_wall[] = {"vmgroup", "group", NULL};
static const char *const keys_activity[] = {"instance", "conn", "open", "input_ago_ms", NULL};

const OpDef ops_console[] = {
        /* audited by op_apply: "console token for instance N issued to USER" */
        {"console.open", op_console_open, OP_MUTATES, keys_open, NULL},
        /* anyone may ask (the gateway's account is no vmbatch user); the op
         * checks who, and audits refusals too, which a transaction of
         * op_apply would roll back */
        {"console.redeem", op_console_redeem, OP_ANYONE, keys_redeem, NULL},
        /* audited by op_apply: "console wall of WHAT issued to USER" */
        {"console.wall", op_console_wall, OP_MUTATES, keys_wall, NULL},
        /* the gateway's, as console.redeem (refusals audited too) */
        {"console.wall_redeem", op_console_wall_redeem, OP_ANYONE, keys_redeem, NULL},
        /* the gateway's too; memory only, not audited */
        {"console.activity", op_console_activity, OP_ANYONE, keys_activity, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
