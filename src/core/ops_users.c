/* ops_users.c - user groups and users (admins only, but listing). */
#include <pwd.h>
#include <stdio.h>

#include "core/ops.h"
#include "core/validate.h"

static int op_ugroup_add(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                         Error *err) {
        GroupRec g = {0};
        const char *name;
        int r = json_need_string(args, "name", &name, err);
        if (r < 0 || (r = validate_name("user group", name, err)) < 0)
                return r;
        snprintf(g.name, sizeof(g.name), "%s", name);
        uint64_t id = 0;
        if ((r = arg_size(args, "id", &id, err)) < 0)
                return r;
        if (r > 0 && (id < 2 || id > UINT32_MAX))
                return error_set(err, -EINVAL, "user group id %llu is reserved or out of range (2..%u)",
                                 (unsigned long long)id, UINT32_MAX);
        g.id = (uint32_t)id;
        if ((r = store_group_insert(c->store, &g, g.id == 0, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "ugroup %u %s", g.id, g.name);
        *ret = json_pack("{s:I, s:s}", "id", (json_int_t)g.id, "name", g.name);
        return 0;
}

static int op_ugroup_mod(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                         Error *err) {
        GroupRec g;
        const char *name;
        int r = resolve_group(c, args, "group", &g, err);
        if (r < 0 || (r = json_need_string(args, "name", &name, err)) < 0 ||
            (r = validate_name("user group", name, err)) < 0)
                return r;
        if (g.id <= GROUP_ALL_USERS)
                return error_set(err, -EPERM, "user group '%s' is reserved and cannot be renamed", g.name);
        if ((r = store_group_rename(c->store, g.id, name, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "ugroup %u %s", g.id, name);
        *ret = json_pack("{s:I, s:s}", "id", (json_int_t)g.id, "name", name);
        return 0;
}

static int op_ugroup_del(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                         Error *err) {
        GroupRec g;
        int r = resolve_group(c, args, "group", &g, err);
        if (r < 0)
                return r;
        if (g.id <= GROUP_ALL_USERS)
                return error_set(err, -EPERM, "user group '%s' is reserved and cannot be deleted", g.name);
        uint32_t n;
        if ((r = store_grants_count_for_subject(c->store, SUBJECT_GROUP, g.id, &n)) < 0)
                return error_set(err, r, "cannot count permissions");
        if (n > 0)
                return error_set(err, -EBUSY, "user group '%s' holds %u permission(s): delete them first", g.name, n);
        if ((r = store_group_delete(c->store, g.id, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "ugroup %u %s", g.id, g.name);
        return 0;
}

static int op_ugroup_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        return store_group_list(c->store, who->admin ? NULL : &who->uid, ret);
}

/* Apply stordir / quota arguments to a user record. */
static int user_apply_args(const Controller *c, const json_t *args, UserRec *u, Error *err) {
        const char *stordir;
        int r = json_get_string(args, "stordir", &stordir, err);
        if (r == 0) {
                if ((r = validate_path("storage folder", stordir, err)) < 0)
                        return r;
                snprintf(u->stordir, sizeof(u->stordir), "%s", stordir);
        } else if (r != -ENOENT)
                return r;
        uint64_t v = u->max_running;
        if ((r = arg_size(args, "max_running", &v, err)) < 0)
                return r;
        if (v > 100000)
                return error_set(err, -EINVAL, "max_running %llu is out of range (0..100000)", (unsigned long long)v);
        u->max_running = (uint32_t)v;
        if ((r = arg_size(args, "max_storage", &u->max_storage, err)) < 0)
                return r;
        return 0;
}

static int add_groups(Controller *c, uint32_t uid, const json_t *list, bool add, Error *err) {
        if (!list)
                return 0;
        if (!json_is_array(list))
                return error_set(err, -EINVAL, "groups must be a list");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
                json_t *wrap = json_pack("{s:O}", "group", v);
                GroupRec g;
                int r = resolve_group(c, wrap, "group", &g, err);
                json_decref(wrap);
                if (r < 0)
                        return r;
                if (!add && g.id == GROUP_ALL_USERS)
                        return error_set(err, -EPERM, "every user belongs to all_users");
                r = add ? store_membership_add(c->store, uid, g.id, err)
                        : store_membership_remove(c->store, uid, g.id, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static json_t *user_json(Controller *c, uint32_t uid) {
        json_t *arr = NULL;
        if (store_user_list(c->store, &uid, &arr) < 0 || json_array_size(arr) != 1) {
                json_decref(arr);
                return json_object();
        }
        json_t *u = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        return u;
}

static int op_user_add(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        const char *name;
        int r = json_need_string(args, "name", &name, err);
        if (r < 0 || (r = validate_name("user", name, err)) < 0)
                return r;
        struct passwd *pw = getpwnam(name);
        uint64_t uid;
        r = arg_size(args, "uid", &uid, err);
        if (r < 0)
                return r;
        if (r == 0) {
                if (!pw)
                        return error_set(err, -ENOENT, "'%s' is not a system user: create it or give --uid", name);
                uid = pw->pw_uid;
        }
        if (uid > UINT32_MAX - 1)
                return error_set(err, -EINVAL, "uid %llu is out of range", (unsigned long long)uid);
        if (pw && pw->pw_uid != uid)
                return error_set(err, -EINVAL, "system user '%s' has uid %u, not %llu", name, (unsigned)pw->pw_uid,
                                 (unsigned long long)uid);
        if (!pw && !(pw = getpwuid((uid_t)uid)))
                return error_set(err, -ENOENT, "uid %llu is not a system user", (unsigned long long)uid);
        if (uid == 0)
                return error_set(err, -EPERM, "root cannot be a vmbatch user: VMs run as their owner");
        UserRec u = {.uid = (uint32_t)uid,
                     .max_running = c->settings->default_max_running,
                     .max_storage = c->settings->default_max_storage};
        snprintf(u.name, sizeof(u.name), "%s", name);
        snprintf(u.stordir, sizeof(u.stordir), "%s", pw->pw_dir);
        if ((r = user_apply_args(c, args, &u, err)) < 0)
                return r;
        if ((r = store_user_insert(c->store, &u, err)) < 0 ||
            (r = store_membership_add(c->store, u.uid, GROUP_ALL_USERS, err)) < 0 ||
            (r = add_groups(c, u.uid, json_object_get(args, "groups"), true, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "user %u %s", u.uid, u.name);
        *ret = user_json(c, u.uid);
        return 0;
}

static int op_user_mod(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        UserRec u;
        int r = resolve_user(c, args, "user", &u, err);
        if (r < 0)
                return r;
        const char *name;
        r = json_get_string(args, "name", &name, err);
        if (r == 0) {
                if ((r = validate_name("user", name, err)) < 0)
                        return r;
                snprintf(u.name, sizeof(u.name), "%s", name);
        } else if (r != -ENOENT)
                return r;
        if ((r = user_apply_args(c, args, &u, err)) < 0 || (r = store_user_update(c->store, &u, err)) < 0 ||
            (r = add_groups(c, u.uid, json_object_get(args, "add_groups"), true, err)) < 0 ||
            (r = add_groups(c, u.uid, json_object_get(args, "del_groups"), false, err)) < 0)
                return r;
        if (u.uid == who->uid && who->admin && who->uid != 0) {
                /* an admin must not lock everyone out by leaving the admin group */
                uint32_t *g;
                size_t n;
                bool still = false;
                if (store_user_groups(c->store, u.uid, &g, &n) == 0) {
                        for (size_t i = 0; i < n; i++)
                                still |= g[i] == GROUP_ADMIN;
                        free(g);
                }
                if (!still)
                        return error_set(err, -EPERM, "you cannot remove yourself from the admin group");
        }
        snprintf(audit->object, sizeof(audit->object), "user %u %s", u.uid, u.name);
        *ret = user_json(c, u.uid);
        return 0;
}

static int op_user_del(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        UserRec u;
        int r = resolve_user(c, args, "user", &u, err);
        if (r < 0)
                return r;
        if (u.uid == who->uid)
                return error_set(err, -EPERM, "you cannot delete yourself");
        uint32_t n;
        if ((r = store_user_count_vms(c->store, u.uid, &n)) < 0)
                return error_set(err, r, "cannot count vms");
        if (n > 0)
                return error_set(err, -EBUSY, "user '%s' owns %u vm(s): delete them first", u.name, n);
        if ((r = store_instance_count_for_user(c->store, u.uid, &n)) < 0)
                return error_set(err, r, "cannot count instances");
        if (n > 0)
                return error_set(err, -EBUSY, "user '%s' has %u running instance(s)", u.name, n);
        /* grants to the user go with them; grants on their VMs cannot exist (no VMs) */
        json_t *grants = NULL;
        if ((r = store_grant_list(c->store, &u.uid, NULL, 0, &grants)) < 0)
                return error_set(err, r, "cannot list permissions");
        size_t i;
        json_t *g;
        json_array_foreach(grants, i, g) {
                if (!streq(json_string_value(json_object_get(g, "subject_type")), "user"))
                        continue;
                r = store_grant_delete(c->store, SUBJECT_USER, u.uid,
                                       object_type_from_string(json_string_value(json_object_get(g, "object_type"))),
                                       (uint32_t)json_integer_value(json_object_get(g, "object")), err);
                if (r < 0)
                        break;
        }
        json_decref(grants);
        if (r < 0 || (r = store_user_delete(c->store, u.uid, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "user %u %s", u.uid, u.name);
        return 0;
}

static int op_user_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                        Error *err) {
        return store_user_list(c->store, who->admin ? NULL : &who->uid, ret);
}

static const char *const keys_ugroup_add[] = {"name", "id", NULL};
static const char *const keys_ugroup_mod[] = {"group", "name", NULL};
static const char *const keys_ugroup_del[] = {"group", NULL};
static const char *const keys_none[] = {NULL};
static const char *const keys_user_add[] = {"name", "uid", "groups", "stordir", "max_running", "max_storage", NULL};
static const char *const keys_user_mod[] = {"user",     "name",        "add_groups",  "del_groups",
                                            "stordir", "max_running", "max_storage", NULL};
static const char *const keys_user_del[] = {"user", NULL};

const OpDef ops_users[] = {
        {"ugroup.add", op_ugroup_add, OP_MUTATES | OP_ADMIN, keys_ugroup_add, NULL},
        {"ugroup.mod", op_ugroup_mod, OP_MUTATES | OP_ADMIN, keys_ugroup_mod, NULL},
        {"ugroup.del", op_ugroup_del, OP_MUTATES | OP_ADMIN, keys_ugroup_del, NULL},
        {"ugroup.list", op_ugroup_list, 0, keys_none, NULL},
        {"user.add", op_user_add, OP_MUTATES | OP_ADMIN, keys_user_add, NULL},
        {"user.mod", op_user_mod, OP_MUTATES | OP_ADMIN, keys_user_mod, NULL},
        {"user.del", op_user_del, OP_MUTATES | OP_ADMIN, keys_user_del, NULL},
        {"user.list", op_user_list, 0, keys_none, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
