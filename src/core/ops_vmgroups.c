/* ops_vmgroups.c - VM groups: their IP ranges (ranges never overlap), what
 * one run of their VMs may have (checked by vm.run), their IPv6 switch. */
#include <stdio.h>

#include "core/ipam.h"
#include "core/ops.h"
#include "core/validate.h"

static int check_range(Controller *c, const char *range, uint32_t except_id, VmGroupRec *g, Error *err) {
        int r = iprange_parse(range, &g->first, &g->last);
        if (r == -ERANGE)
                return error_set(err, -EINVAL, "ip range '%s': the first address is above the last", range);
        if (r < 0)
                return error_set(err, -EINVAL, "bad ip range '%s': expected A.B.C.D-E.F.G.H", range);
        VmGroupRec other;
        r = store_vmgroup_find_overlap(c->store, g->first, g->last, except_id, &other);
        if (r == 0) {
                char a[16], b[16];
                ipv4_format(other.first, a);
                ipv4_format(other.last, b);
                return error_set(err, -EEXIST, "ip range %s overlaps vm group '%s' (%s-%s)", range, other.name, a, b);
        }
        return r == -ENOENT ? 0 : error_set(err, r, "cannot check ip ranges");
}

/* max_mem, max_vcpus, max_walltime (0: no cap) and ipv6, where args give
 * them; admins only (authz_check_vmgroup_limits) */
static int limit_args(const Caller *who, const json_t *args, VmGroupRec *g, Error *err) {
        static const char *const keys[] = {"max_mem", "max_vcpus", "max_walltime", "ipv6"};
        bool any = false;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                any |= json_object_get(args, keys[i]) != NULL;
        if (!any)
                return 0;
        int r = authz_check_vmgroup_limits(who->admin, g->name, err);
        if (r < 0)
                return r;
        uint64_t mem = g->max_mem, vcpus = g->max_vcpus, walltime = g->max_walltime_s;
        if ((r = arg_size(args, "max_mem", &mem, err)) < 0 || (r = arg_size(args, "max_vcpus", &vcpus, err)) < 0 ||
            (r = arg_size(args, "max_walltime", &walltime, err)) < 0)
                return r;
        const char *bad = NULL;
        if (mem && (r = validate_mem(mem, err)) < 0)
                bad = "max_mem";
        else if (vcpus && (r = validate_vcpus(vcpus, err)) < 0)
                bad = "max_vcpus";
        else if ((r = validate_walltime(walltime, err)) < 0)
                bad = "max_walltime";
        if (bad) {
                error_prefix(err, "%s of vm group '%s'", bad, g->name);
                return r;
        }
        if ((r = json_get_bool(args, "ipv6", &g->ipv6, err)) < 0 && r != -ENOENT)
                return r;
        g->max_mem = mem;
        g->max_vcpus = (uint32_t)vcpus;
        g->max_walltime_s = (uint32_t)walltime;
        return 0;
}

static int op_vmgroup_add(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        VmGroupRec g = {0};
        const char *name, *range;
        int r = json_need_string(args, "name", &name, err);
        if (r < 0 || (r = validate_name("vm group", name, err)) < 0 ||
            (r = json_need_string(args, "iprange", &range, err)) < 0)
                return r;
        snprintf(g.name, sizeof(g.name), "%s", name);
        uint64_t id = 0;
        if ((r = arg_size(args, "id", &id, err)) < 0)
                return r;
        if (r > 0 && (id < 2 || id > UINT32_MAX))
                return error_set(err, -EINVAL, "vm group id %llu is reserved or out of range (2..%u)",
                                 (unsigned long long)id, UINT32_MAX);
        g.id = (uint32_t)id;
        if ((r = limit_args(who, args, &g, err)) < 0 || (r = check_range(c, range, 0, &g, err)) < 0 ||
            (r = store_vmgroup_insert(c->store, &g, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "vmgroup %u %s", g.id, g.name);
        *ret = vmgroup_to_json(&g);
        return 0;
}

static int op_vmgroup_mod(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        VmGroupRec g;
        int r = resolve_vmgroup(c, args, "vmgroup", &g, err);
        if (r < 0)
                return r;
        const char *name, *range;
        if ((r = json_get_string(args, "name", &name, err)) == 0) {
                if ((r = validate_name("vm group", name, err)) < 0)
                        return r;
                snprintf(g.name, sizeof(g.name), "%s", name);
        } else if (r != -ENOENT)
                return r;
        if ((r = json_get_string(args, "iprange", &range, err)) == 0) {
                VmGroupRec n = g;
                if ((r = check_range(c, range, g.id, &n, err)) < 0)
                        return r;
                /* running instances must keep their addresses */
                _cleanup_free_ uint32_t *used = NULL;
                size_t n_used;
                if ((r = store_instance_used_ips(c->store, g.first, g.last, &used, &n_used)) < 0)
                        return error_set(err, r, "cannot list addresses in use");
                for (size_t i = 0; i < n_used; i++)
                        if (used[i] < n.first || used[i] > n.last) {
                                char a[16];
                                ipv4_format(used[i], a);
                                return error_set(err, -EBUSY, "new range %s leaves out %s, held by a running vm",
                                                 range, a);
                        }
                g.first = n.first;
                g.last = n.last;
        } else if (r != -ENOENT)
                return r;
        if ((r = limit_args(who, args, &g, err)) < 0 || (r = store_vmgroup_update(c->store, &g, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "vmgroup %u %s", g.id, g.name);
        *ret = vmgroup_to_json(&g);
        return 0;
}

static int op_vmgroup_del(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        VmGroupRec g;
        int r = resolve_vmgroup(c, args, "vmgroup", &g, err);
        if (r < 0)
                return r;
        if (g.id == VMGROUP_ALL_VMS)
                return error_set(err, -EPERM, "vm group '%s' is reserved and cannot be deleted", g.name);
        uint32_t n;
        if ((r = store_vmgroup_count_vms(c->store, g.id, &n)) < 0)
                return error_set(err, r, "cannot count vms");
        if (n > 0)
                return error_set(err, -EBUSY, "vm group '%s' still has %u vm(s)", g.name, n);
        if ((r = store_grants_delete_for_object(c->store, OBJECT_VMGROUP, g.id, err)) < 0 ||
            (r = store_vmgroup_delete(c->store, g.id, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "vmgroup %u %s", g.id, g.name);
        return 0;
}

static int op_vmgroup_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        return store_vmgroup_list(c->store, ret);
}

static const char *const keys_add[] = {"name", "id", "iprange", "max_mem", "max_vcpus", "max_walltime", "ipv6", NULL};
static const char *const keys_mod[] = {"vmgroup", "name",         "iprange", "max_mem",
                                       "max_vcpus", "max_walltime", "ipv6",    NULL};
static const char *const keys_del[] = {"vmgroup", NULL};
static const char *const keys_none[] = {NULL};

const OpDef ops_vmgroups[] = {
        {"vmgroup.add", op_vmgroup_add, OP_MUTATES | OP_ADMIN, keys_add, NULL},
        {"vmgroup.mod", op_vmgroup_mod, OP_MUTATES | OP_ADMIN, keys_mod, NULL},
        {"vmgroup.del", op_vmgroup_del, OP_MUTATES | OP_ADMIN, keys_del, NULL},
        {"vmgroup.list", op_vmgroup_list, 0, keys_none, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
