/* ops_perms.c - granting and revoking rights.
 *
 * Admins manage every grant. A VM's owner may grant run/modify/derive on
 * that VM to other users and groups (the paper: "the normal user can
 * always assign permissions to other users, but only for the guests that
 * he owns"); force_isolated and grants on VM groups stay with admins, and
 * nobody but an admin can change the grants that bind themselves. */
#include <stdio.h>

#include "core/ops.h"

typedef struct PermKey {
        enum subject_type st;
        uint32_t subject;
        enum object_type ot;
        uint32_t object;
        uint32_t vm_owner; /* OBJECT_VM only */
} PermKey;

static int resolve_key(Controller *c, const Caller *who, const json_t *args, PermKey *k, Error *err) {
        bool has_user = json_object_get(args, "user"), has_group = json_object_get(args, "group");
        bool has_vm = json_object_get(args, "vm"), has_vmg = json_object_get(args, "vmgroup");
        if (has_user == has_group)
                return error_set(err, -EINVAL, "give exactly one of a user or a user group");
        if (has_vm == has_vmg)
                return error_set(err, -EINVAL, "give exactly one of a vm or a vm group");
        int r;
        if (has_user) {
                UserRec u;
                if ((r = resolve_user(c, args, "user", &u, err)) < 0)
                        return r;
                k->st = SUBJECT_USER;
                k->subject = u.uid;
        } else {
                GroupRec g;
                if ((r = resolve_group(c, args, "group", &g, err)) < 0)
                        return r;
                k->st = SUBJECT_GROUP;
                k->subject = g.id;
        }
        if (has_vm) {
                VmRec v;
                if ((r = resolve_vm(c, who, args, "vm", &v, err)) < 0)
                        return r;
                k->ot = OBJECT_VM;
                k->object = v.id;
                k->vm_owner = v.owner;
        } else {
                VmGroupRec g;
                if ((r = resolve_vmgroup(c, args, "vmgroup", &g, err)) < 0)
                        return r;
                k->ot = OBJECT_VMGROUP;
                k->object = g.id;
        }
        return 0;
}

static int may_change(const Caller *who, const PermKey *k, bool touches_force, Error *err) {
        if (who->admin)
                return 0;
        if (k->ot != OBJECT_VM || k->vm_owner != who->uid)
                return error_set(err, -EPERM, "only admins can change permissions on vms you do not own");
        if (touches_force)
                return error_set(err, -EPERM, "only admins can change force_isolated");
        if (k->st == SUBJECT_USER && k->subject == who->uid)
                return error_set(err, -EPERM, "you cannot change your own permissions");
        if (k->st == SUBJECT_GROUP && caller_in_group(who, k->subject))
                return error_set(err, -EPERM, "you cannot change the permissions of a group you belong to");
        return 0;
}

static int op_perm_set(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        PermKey k;
        int r = resolve_key(c, who, args, &k, err);
        if (r < 0)
                return r;
        Grant g = {.subject_type = k.st, .subject = k.subject, .object_type = k.ot, .object = k.object};
        store_grant_get(c->store, k.st, k.subject, k.ot, k.object, &g); /* -ENOENT: start from nothing */
        static const char *const names[] = {"run", "modify", "derive", "force_isolated"};
        bool *flags[] = {&g.run, &g.modify, &g.derive, &g.force_isolated};
        bool any = false;
        for (size_t i = 0; i < 4; i++) {
                bool v;
                r = json_get_bool(args, names[i], &v, err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                if (i == 3 && (r = may_change(who, &k, true, err)) < 0)
                        return r;
                *flags[i] = v;
                any = true;
        }
        if (!any)
                return error_set(err, -EINVAL, "nothing to set: give at least one of run, modify, derive, force_isolated");
        if ((r = may_change(who, &k, false, err)) < 0)
                return r;
        if (!g.run && !g.modify && !g.derive && !g.force_isolated)
                r = store_grant_delete(c->store, k.st, k.subject, k.ot, k.object, err);
        else
                r = store_grant_put(c->store, &g, err);
        if (r < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "perm %s %u on %s %u", subject_type_to_string(k.st),
                 k.subject, object_type_to_string(k.ot), k.object);
        *ret = grant_to_json(&g);
        return 0;
}

static int op_perm_del(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        PermKey k;
        int r = resolve_key(c, who, args, &k, err);
        if (r < 0)
                return r;
        Grant g;
        if ((r = store_grant_get(c->store, k.st, k.subject, k.ot, k.object, &g)) < 0)
                return store_get_error(c->store, r, err, "no such permission");
        if ((r = may_change(who, &k, g.force_isolated, err)) < 0 ||
            (r = store_grant_delete(c->store, k.st, k.subject, k.ot, k.object, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "perm %s %u on %s %u", subject_type_to_string(k.st),
                 k.subject, object_type_to_string(k.ot), k.object);
        return 0;
}

static int op_perm_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                        Error *err) {
        if (who->admin)
                return store_grant_list(c->store, NULL, NULL, 0, ret);
        return store_grant_list(c->store, &who->uid, who->groups, who->n_groups, ret);
}

static const char *const keys_set[] = {"user", "group", "vm", "vmgroup", "run", "modify", "derive",
                                       "force_isolated", NULL};
static const char *const keys_del[] = {"user", "group", "vm", "vmgroup", NULL};
static const char *const keys_none[] = {NULL};

const OpDef ops_perms[] = {
        {"perm.set", op_perm_set, OP_MUTATES, keys_set, NULL},
        {"perm.del", op_perm_del, OP_MUTATES, keys_del, NULL},
        {"perm.list", op_perm_list, 0, keys_none, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
