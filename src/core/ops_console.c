/* ops_console.c - the browser console (issue 13): console.open gives the
 * instance's runner (or an admin) a one-time token in a URL of the console
 * gateway; console.redeem, which only the gateway's account (web_user) or
 * root may call, spends the token and answers with the instance's VNC
 * password and, as an fd on the answer, a socket connected to the
 * instance's console VNC server (qemu's second -vnc, on a unix socket in
 * its run folder). The tokens live in memory (console_tokens.h); every
 * redeem, granted or refused, is in the audit log with the browser's
 * address the gateway saw. The wire: docs/protocol.md. */
#include <pwd.h>
#include <stdio.h>

#include "basic/log.h"
#include "core/console_tokens.h"
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
 * its only one). Someone else's instance is the paper's kind of refusal. */
static int console_instance(Controller *c, const Caller *who, const json_t *args, InstanceRec *ret, Error *err) {
        static const char refused[] = "You don't have permission to open this console";
        uint64_t id;
        int r = json_get_u64(args, "instance", &id, err);
        if (r == -ENOENT && json_object_get(args, "vm")) {
                VmRec vm;
                _cleanup_free_ uint32_t *ids = NULL;
                size_t n = 0, mine = 0, others = 0;
                if ((r = resolve_vm_for(c, who, args, "vm", "open the console of", &vm, err)) < 0)
                        return r;
                if ((r = store_instance_ids_for_vm(c->store, vm.id, &ids, &n)) < 0)
                        return error_set(err, r, "cannot list instances");
                for (size_t i = 0; i < n; i++) {
                        InstanceRec inst;
                        if (store_instance_get(c->store, ids[i], &inst) < 0 || inst.state == INSTANCE_RESERVED)
                                continue;
                        if (who->admin || inst.uid == who->uid) {
                                if (mine++ == 0)
                                        *ret = inst;
                        } else
                                others++;
                }
                if (mine == 0 && others > 0)
                        return error_set(err, -EPERM, "%s", refused);
                if (mine == 0)
                        return error_set(err, -ENOENT, "vm '%s' is not running", vm.name);
                if (mine > 1)
                        return error_set(err, -EINVAL, "vm '%s' has %zu instances: give the instance id", vm.name, mine);
                return 0;
        }
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "give an instance id or a vm");
        if (r < 0)
                return r;
        r = id > UINT32_MAX ? -ENOENT : store_instance_get(c->store, (uint32_t)id, ret);
        if (r == -ENOENT)
                return error_set(err, -ENOENT, "no such instance %llu", (unsigned long long)id);
        if (r < 0)
                return store_get_error(c->store, r, err, "instance %llu", (unsigned long long)id);
        if (!who->admin && ret->uid != who->uid)
                return error_set(err, -EPERM, "%s", refused);
        return 0;
}

static void user_name(Controller *c, uint32_t uid, char *buf, size_t len) {
        UserRec u;
        if (store_user_get(c->store, uid, &u) == 0)
                snprintf(buf, len, "%s", u.name);
        else
                snprintf(buf, len, "uid %u", uid);
}

/* console_url + "/#token=T": in the fragment, which no browser sends, so
 * neither the gateway's log nor a proxy's access log ever holds a token;
 * the page puts it in its WebSocket's query (wss://HOST/console/ws?token=T). */
static void console_url(const Settings *s, const char *token, char *buf, size_t len) {
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
        snprintf(buf, len, "%s/#token=%s", base, token);
}

static int op_console_open(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        ConsoleTokens *tokens = NULL;
        InstanceRec inst;
        int r;
        if ((r = tokens_of(c, &tokens, err)) < 0 || (r = console_instance(c, who, args, &inst, err)) < 0)
                return r;
        if (!has_console(&inst))
                return error_set(err, -EINVAL, "instance %u is %s, not running: it has no console", inst.id,
                                 instance_state_to_string(inst.state));
        char token[CONSOLE_TOKEN_HEX + 1], url[1024], name[64];
        r = console_tokens_issue(tokens, inst.id, who->uid, now_usec(), token);
        if (r == -EBUSY)
                return error_set(err, r, "too many console tokens are waiting to be used: try again in a minute");
        if (r < 0)
                return error_set(err, r, "cannot make a console token: getrandom: %s", strerror(-r));
        console_url(c->settings, token, url, sizeof(url));
        if (who->known)
                snprintf(name, sizeof(name), "%s", who->user.name);
        else
                snprintf(name, sizeof(name), "uid %u", who->uid); /* root */
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

static int op_console_redeem(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                             Error *err) {
        if (!may_redeem(c->settings, who->uid))
                return error_set(err, -EPERM, "only the console gateway (web_user %s) or root may redeem console tokens",
                                 isempty(c->settings->web_user) ? "(none)" : c->settings->web_user);
        ConsoleTokens *tokens = NULL;
        const char *token, *from;
        int r;
        if ((r = tokens_of(c, &tokens, err)) < 0 || (r = json_need_string(args, "token", &token, err)) < 0 ||
            (r = json_need_string(args, "from", &from, err)) < 0)
                return r;
        if (strlen(from) > 128 || !string_is_printable(from))
                return error_set(err, -EINVAL, "from: not an address (ADDR:PORT)");
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

static const char *const keys_open[] = {"instance", "vm", NULL};
static const char *const keys_redeem[] = {"token", "from", NULL};

const OpDef ops_console[] = {
        /* audited by op_apply: "console token for instance N issued to USER" */
        {"console.open", op_console_open, OP_MUTATES, keys_open, NULL},
        /* anyone may ask (the gateway's account is no vmbatch user); the op
         * checks who, and audits refusals too, which a transaction of
         * op_apply would roll back */
        {"console.redeem", op_console_redeem, OP_ANYONE, keys_redeem, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
