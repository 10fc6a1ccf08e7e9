/* ops_vms.c - defining VMs: new discs, copies of existing discs, or
 * copy-on-write overlays on a template (derive); modify, delete, list.
 *
 * Storage quota: a user is charged the bytes their disc files really
 * occupy on the host (st_blocks), not the virtual size. Copy-on-write is
 * the point of templates: charging a derived overlay the template's 5G
 * virtual size would let a 13G quota hold two derived VMs while they use
 * a few hundred KiB. The charge is measured right after qemu-img made the
 * file and checked in the same transaction that records the disc. */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "core/ops.h"
#include "core/ops_exam.h"
#include "core/validate.h"
#include "disk/disk.h"

#define MAX_DISCS DISCS_MAX

/* vm.add as a job (core/ops.h OpJobDef): the plan is made in the loop,
 * the discs in a worker process (qemu-img as the owner: slow files hold
 * nobody else up), the records in the loop again. */
typedef enum DiscsHow {
        DISCS_NEW,    /* empty discs of given sizes */
        DISCS_COPY,   /* copies of files the owner can read (--usediscs) */
        DISCS_DERIVE, /* overlays on the template's discs (--base) */
} DiscsHow;

typedef struct VmAddPlan {
        VmRec v;
        UserRec owner;
        Cred cred;
        char cred_name[64];
        DiscsHow how;
        size_t n;
        char *path[MAX_DISCS];    /* where each disc goes (reserved: did not exist) */
        char *src[MAX_DISCS];     /* copy: the source; derive: the template's disc */
        uint32_t backing[MAX_DISCS]; /* derive: the template disc's id */
        uint64_t size[MAX_DISCS]; /* new, derive: the size */
        DiscRec made[MAX_DISCS];  /* finish: what the run measured */
        bool check_managed;       /* copy by a non-admin: refuse every disc vmbatch manages */
        DiscRec *managed;
        size_t n_managed;
} VmAddPlan;

static void vm_add_plan_free(void *p) {
        VmAddPlan *plan = p;
        if (!plan)
                return;
        for (size_t i = 0; i < plan->n; i++) {
                free(plan->path[i]);
                free(plan->src[i]);
        }
        free(plan->managed);
        free(plan);
}

static int check_quota(Controller *c, const UserRec *owner, uint64_t adding, Error *err) {
        uint64_t used;
        int r = store_storage_used(c->store, owner->uid, &used);
        if (r < 0)
                return error_set(err, r, "cannot compute storage in use");
        if (used + adding > owner->max_storage) {
                char u[32], a[32], m[32];
                format_size(used, u, sizeof(u));
                format_size(adding, a, sizeof(a));
                format_size(owner->max_storage, m, sizeof(m));
                return error_set(err, -EDQUOT, "storage quota exceeded: %s used + %s new > %s allowed for %s", u, a,
                                 m, owner->name);
        }
        return 0;
}

/* Reserve the next disc path; refuse to overwrite a file that exists. */
static int next_path(VmAddPlan *p, const char *src, Error *err) {
        if (p->n >= MAX_DISCS)
                return error_set(err, -E2BIG, "a vm has at most %d discs", MAX_DISCS);
        char *path = disk_path_for(p->owner.stordir, p->owner.uid, p->v.name, (unsigned)p->n);
        int r = validate_path("disc", path, err);
        struct stat st;
        if (r >= 0 && lstat(path, &st) == 0)
                r = error_set(err, -EEXIST, "disc file %s already exists", path);
        if (r < 0) {
                free(path);
                return r;
        }
        p->path[p->n] = path;
        p->src[p->n] = src ? xstrdup(src) : NULL;
        p->n++;
        return 0;
}

static int plan_new_discs(VmAddPlan *p, const json_t *sizes, Error *err) {
        if (!json_is_array(sizes) || json_array_size(sizes) == 0)
                return error_set(err, -EINVAL, "disc_sizes must be a non-empty list of sizes");
        size_t i;
        json_t *v;
        json_array_foreach(sizes, i, v) {
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return error_set(err, -EINVAL, "disc size #%zu is not a size in bytes", i + 1);
                uint64_t size = (uint64_t)json_integer_value(v);
                int r = validate_disc_size(size, err);
                if (r < 0 || (r = next_path(p, NULL, err)) < 0)
                        return r;
                p->size[p->n - 1] = size;
        }
        p->how = DISCS_NEW;
        return 0;
}

static int plan_copy_discs(Controller *c, VmAddPlan *p, const json_t *srcs, bool admin, Error *err) {
        if (!json_is_array(srcs) || json_array_size(srcs) == 0)
                return error_set(err, -EINVAL, "usediscs must be a non-empty list of paths");
        size_t i;
        json_t *v;
        json_array_foreach(srcs, i, v) {
                if (!json_is_string(v))
                        return error_set(err, -EINVAL, "usediscs entry #%zu is not a path", i + 1);
                const char *src = json_string_value(v);
                int r = validate_path("disc", src, err);
                if (r < 0 || (r = next_path(p, src, err)) < 0)
                        return r;
        }
        p->how = DISCS_COPY;
        if (admin)
                return 0;
        /* the run checks each source's backing chain against these */
        p->check_managed = true;
        int r = store_disc_all(c->store, &p->managed, &p->n_managed);
        if (r < 0)
                return error_set(err, r, "cannot list discs");
        return 0;
}

static int plan_derive_discs(Controller *c, VmAddPlan *p, const VmRec *base, Error *err) {
        _cleanup_free_ DiscRec *bd = NULL;
        size_t n;
        int r = store_disc_list(c->store, base->id, &bd, &n);
        if (r < 0)
                return error_set(err, r, "cannot list the template's discs");
        if (n == 0)
                return error_set(err, -EINVAL, "vm '%s' has no discs to derive from", base->name);
        /* the deriver never reads the template: the overlay is made without
         * opening it, and qemu gets it later as an fd the node opens as the
         * template's owner */
        for (size_t i = 0; i < n && r >= 0; i++)
                if ((r = next_path(p, bd[i].path, err)) >= 0) {
                        p->backing[p->n - 1] = bd[i].id;
                        p->size[p->n - 1] = bd[i].size;
                }
        p->how = DISCS_DERIVE;
        return r;
}

/* ---- in the worker: the discs (blocking, as the owner) ----------------- */

/* A copy must not launder a vm's disc: a template copied without the derive
 * right, or a forced derivative copied into a vm without force_isolated.
 * Refuse any source that is, or is backed by, a disc vmbatch manages. */
static int check_not_managed(const VmAddPlan *p, const char *src, Error *err) {
        char **chain = NULL;
        int r = disk_backing_chain(&p->cred, src, &chain, err);
        if (r < 0)
                return r;
        for (size_t k = 0; chain[k] && r >= 0; k++) {
                struct stat a;
                bool have_a = stat(chain[k], &a) == 0;
                for (size_t i = 0; i < p->n_managed; i++) {
                        struct stat b;
                        const char *path = p->managed[i].path;
                        bool same = streq(chain[k], path) ||
                                    (have_a && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino);
                        if (same) {
                                r = error_set(err, -EPERM, "%s %s the disc of vm %u: derive it with --base instead",
                                              src, k == 0 ? "is" : "is backed by", p->managed[i].vm);
                                break;
                        }
                }
        }
        strv_free(chain);
        return r;
}

static int make_disc(const VmAddPlan *p, size_t i, DiscRec *rec, Error *err) {
        int r = 0;
        switch (p->how) {
        case DISCS_NEW:
                r = disk_create(&p->cred, p->path[i], p->size[i], err);
                break;
        case DISCS_COPY:
                if (p->check_managed)
                        r = check_not_managed(p, p->src[i], err);
                if (r >= 0)
                        r = disk_clone(&p->cred, p->src[i], p->path[i], err);
                break;
        case DISCS_DERIVE:
                r = disk_derive(&p->cred, p->src[i], p->size[i], p->path[i], err);
                break;
        }
        if (r >= 0)
                r = disk_measure(&p->cred, p->path[i], &rec->size, &rec->allocated, err);
        if (r >= 0)
                r = disk_identity(p->path[i], &rec->dev, &rec->ino, err);
        return r;
}

/* Remove the first n discs of the plan (as the owner). */
static void remove_made(const VmAddPlan *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                disk_remove(&p->cred, p->path[i], NULL);
}

/* The outcome: "ok SIZE ALLOCATED DEV INO ..." (four numbers per disc) or
 * "error ERRNO MESSAGE"; a failed run removed the discs it made. */
static void vm_add_run(void *arg, FILE *out) {
        const VmAddPlan *p = arg;
        Error err = {0};
        DiscRec rec[MAX_DISCS] = {{0}};
        size_t made = 0;
        int r = 0;
        while (made < p->n && r >= 0) {
                r = make_disc(p, made, &rec[made], &err);
                made++; /* a half-made file goes too */
        }
        if (r < 0) {
                remove_made(p, made);
                fprintf(out, "error %d %s", -r, err.message);
                return;
        }
        fputs("ok", out);
        for (size_t i = 0; i < p->n; i++)
                fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, rec[i].size, rec[i].allocated,
                        rec[i].dev, rec[i].ino);
}


/* Read a run's outcome into p->made; its error otherwise. */
static int read_outcome(VmAddPlan *p, const char *outcome, Error *err) {
        int code = 0, used = 0;
        if (sscanf(outcome, "error %d %n", &code, &used) == 1 && code > 0 && used > 0)
                return error_set(err, -code, "%s", outcome + used);
        if (strncmp(outcome, "ok", 2) != 0)
                return error_set(err, -EIO, "making the discs failed (the worker died)");
        const char *q = outcome + 2;
        for (size_t i = 0; i < p->n; i++) {
                uint64_t size, alloc, dev, ino;
                int n = 0;
                if (sscanf(q, " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &size, &alloc, &dev, &ino, &n) !=
                    4)
                        return error_set(err, -EIO, "making the discs failed (a bad outcome)");
                q += n;
                p->made[i] = (DiscRec){.idx = (uint32_t)i, .size = size, .allocated = alloc, .dev = dev, .ino = ino,
                                       .backing = p->how == DISCS_DERIVE ? p->backing[i] : 0};
                snprintf(p->made[i].path, sizeof(p->made[i].path), "%s", p->path[i]);
        }
        return 0;
}

static int apply_boot_args(const json_t *args, VmRec *v, Error *err) {
        const char *s;
        int r;
        if ((r = json_get_string(args, "kernel", &s, err)) == 0) {
                if (*s && (r = validate_path("kernel", s, err)) < 0)
                        return r;
                snprintf(v->kernel, sizeof(v->kernel), "%s", s);
        } else if (r != -ENOENT)
                return r;
        if ((r = json_get_string(args, "initrd", &s, err)) == 0) {
                if (*s && (r = validate_path("initrd", s, err)) < 0)
                        return r;
                snprintf(v->initrd, sizeof(v->initrd), "%s", s);
        } else if (r != -ENOENT)
                return r;
        if ((r = json_get_string(args, "cmdline", &s, err)) == 0) {
                if ((r = validate_cmdline(s, err)) < 0)
                        return r;
                snprintf(v->cmdline, sizeof(v->cmdline), "%s", s);
        } else if (r != -ENOENT)
                return r;
        if ((r = json_get_string(args, "desc", &s, err)) == 0) {
                if (strlen(s) >= sizeof(v->desc))
                        return error_set(err, -EINVAL, "description is longer than %zu bytes", sizeof(v->desc) - 1);
                snprintf(v->desc, sizeof(v->desc), "%s", s);
        } else if (r != -ENOENT)
                return r;
        if (*v->initrd && !*v->kernel)
                return error_set(err, -EINVAL, "an initrd needs a kernel");
        return 0;
}

static int apply_size_args(const json_t *args, VmRec *v, Error *err) {
        int r;
        if ((r = arg_size(args, "mem", &v->mem, err)) < 0 || (r > 0 && (r = validate_mem(v->mem, err)) < 0))
                return r;
        uint64_t vcpus = v->vcpus;
        if ((r = arg_size(args, "vcpus", &vcpus, err)) < 0 || (r > 0 && (r = validate_vcpus(vcpus, err)) < 0))
                return r;
        v->vcpus = (uint32_t)vcpus;
        return 0;
}

static int vm_add_plan(Controller *c, const Caller *who, const json_t *args, void **ret_plan, Error *err) {
        if (!who->known)
                return error_set(err, -EACCES, "uid %u is not a vmbatch user and cannot own vms", who->uid);
        const UserRec *owner = &who->user;
        const char *name;
        int r = json_need_string(args, "name", &name, err);
        if (r < 0 || (r = validate_name("vm", name, err)) < 0)
                return r;
        const json_t *sizes = json_object_get(args, "disc_sizes"), *srcs = json_object_get(args, "usediscs");
        bool has_base = json_object_get(args, "base");
        if ((sizes != NULL) + (srcs != NULL) + has_base != 1)
                return error_set(err, -EINVAL, "give exactly one of new disc sizes, usediscs or a base vm");
        VmRec existing;
        if (store_vm_get_by_owner_name(c->store, owner->uid, name, &existing) == 0)
                return error_set(err, -EEXIST, "you already have a vm named '%s'", name);

        VmRec v = {.owner = owner->uid, .vm_group = VMGROUP_ALL_VMS, .mem = c->settings->default_mem,
                   .vcpus = c->settings->default_vcpus};
        snprintf(v.name, sizeof(v.name), "%s", name);
        VmRec base;
        Rights base_rights = {0};
        if (has_base) {
                if ((r = resolve_vm_for(c, who, args, "base", "derive", &base, err)) < 0)
                        return r;
                base_rights = caller_rights(c, who, &base);
                if ((r = authz_check_derive(&base_rights, who->admin, base.derivable, err)) < 0)
                        return r;
                v.base = base.id;
                v.vm_group = base.vm_group;
                /* a derivative of a forced-isolated template stays forced, for its
                 * owner and for anyone the owner lets run it */
                v.force_isolated = base_rights.force_isolated || base.force_isolated;
                v.mem = base.mem;
                v.vcpus = base.vcpus;
                memcpy(v.kernel, base.kernel, sizeof(v.kernel));
                memcpy(v.initrd, base.initrd, sizeof(v.initrd));
                memcpy(v.cmdline, base.cmdline, sizeof(v.cmdline));
        }
        if (json_object_get(args, "vmgroup")) {
                VmGroupRec g;
                if ((r = resolve_vmgroup(c, args, "vmgroup", &g, err)) < 0)
                        return r;
                if (has_base && g.id != base.vm_group)
                        return error_set(err, -EINVAL, "a derived vm joins its base's vm group (%u)", base.vm_group);
                if (!who->admin && g.id != VMGROUP_ALL_VMS) {
                        /* exam groups are the admins' to fill: need a grant on the group */
                        Grant *gr;
                        size_t n;
                        bool ok = false;
                        if (store_grants_matching(c->store, who->uid, who->groups, who->n_groups, 0, g.id, &gr, &n) == 0) {
                                for (size_t i = 0; i < n; i++)
                                        ok |= gr[i].object_type == OBJECT_VMGROUP && (gr[i].run || gr[i].modify || gr[i].derive);
                                free(gr);
                        }
                        if (!ok)
                                return error_set(err, -EPERM, "You don't have permission to add vms to vm group '%s'",
                                                 g.name);
                }
                v.vm_group = g.id;
        }
        bool derivable = false;
        if ((r = json_get_bool(args, "derivable", &derivable, err)) < 0 && r != -ENOENT)
                return r;
        if (derivable && has_base)
                return error_set(err, -EINVAL, "a vm derived from another vm cannot be a template (derivable)");
        v.derivable = derivable;
        if ((r = apply_size_args(args, &v, err)) < 0 || (r = apply_boot_args(args, &v, err)) < 0)
                return r;
        if ((r = check_quota(c, owner, 0, err)) < 0)
                return r;

        VmAddPlan *p = xcalloc(1, sizeof(*p));
        p->v = v;
        p->owner = *owner;
        r = cred_from_uid(owner->uid, &p->cred, p->cred_name, sizeof(p->cred_name), err);
        if (r >= 0 && sizes)
                r = plan_new_discs(p, sizes, err);
        else if (r >= 0 && srcs)
                r = plan_copy_discs(c, p, srcs, who->admin, err);
        else if (r >= 0)
                r = plan_derive_discs(c, p, &base, err);
        if (r < 0) {
                vm_add_plan_free(p);
                return r;
        }
        *ret_plan = p;
        return 0;
}

/* In the transaction: what the run made, checked once more (another
 * request may have taken the name or the quota meanwhile) and recorded. */
static int vm_add_finish(Controller *c, const Caller *who, void *plan, const char *outcome, json_t **ret,
                         OpAudit *audit, Error *err) {
        VmAddPlan *p = plan;
        VmRec v = p->v, existing;
        int r = read_outcome(p, outcome, err);
        if (r < 0)
                return r; /* the run removed what it made */
        uint64_t adding = 0;
        for (size_t i = 0; i < p->n; i++)
                adding += p->made[i].allocated;
        if (store_vm_get_by_owner_name(c->store, v.owner, v.name, &existing) == 0)
                r = error_set(err, -EEXIST, "you already have a vm named '%s'", v.name);
        if (r >= 0)
                r = check_quota(c, &p->owner, adding, err);
        if (r >= 0)
                r = store_vm_insert(c->store, &v, err);
        for (size_t i = 0; i < p->n && r >= 0; i++) {
                p->made[i].vm = v.id;
                r = store_disc_insert(c->store, &p->made[i], err);
        }
        if (r >= 0) {
                Grant g = {.subject_type = SUBJECT_USER, .subject = v.owner, .object_type = OBJECT_VM,
                           .object = v.id, .run = true, .modify = true, .derive = v.derivable,
                           .force_isolated = v.force_isolated};
                r = store_grant_put(c->store, &g, err);
        }
        if (r >= 0)
                r = store_vm_to_json(c->store, &v, ret);
        if (r < 0) {
                remove_made(p, p->n); /* rm of files we just made: quick, unlike what the run did */
                return r;
        }
        snprintf(audit->object, sizeof(audit->object), "vm %u %s", v.id, v.name);
        return 0;
}

static const OpJobDef vm_add_job = {
        .plan = vm_add_plan,
        .run = vm_add_run,
        .finish = vm_add_finish,
        .free = vm_add_plan_free,
};

static int op_vm_mod(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                     Error *err) {
        VmRec v;
        int r = resolve_vm_for(c, who, args, "vm", "modify", &v, err);
        if (r < 0 || (r = exam_check_vm_use(c, who, &v, "modify", err)) < 0)
                return r;
        Rights rights = caller_rights(c, who, &v);
        if ((r = authz_check_modify(&rights, who->admin, err)) < 0)
                return r;
        const char *name;
        if ((r = json_get_string(args, "name", &name, err)) == 0) {
                if ((r = validate_name("vm", name, err)) < 0)
                        return r;
                snprintf(v.name, sizeof(v.name), "%s", name);
        } else if (r != -ENOENT)
                return r;
        if ((r = apply_size_args(args, &v, err)) < 0 || (r = apply_boot_args(args, &v, err)) < 0)
                return r;
        if (json_object_get(args, "vmgroup")) {
                VmGroupRec g;
                if (!who->admin)
                        return error_set(err, -EPERM, "only admins can move a vm to another vm group");
                if ((r = resolve_vmgroup(c, args, "vmgroup", &g, err)) < 0)
                        return r;
                uint32_t *ids;
                size_t n;
                if ((r = store_instance_ids_for_vm(c->store, v.id, &ids, &n)) < 0)
                        return error_set(err, r, "cannot list instances");
                free(ids);
                if (n > 0)
                        return error_set(err, -EBUSY, "vm '%s' is running", v.name);
                v.vm_group = g.id;
        }
        bool derivable;
        if ((r = json_get_bool(args, "derivable", &derivable, err)) == 0 && derivable != v.derivable) {
                if (!who->admin && v.owner != who->uid)
                        return error_set(err, -EPERM, "only the owner can make a vm a template or stop it being one");
                if (derivable && v.base)
                        return error_set(err, -EINVAL, "a vm derived from another vm cannot be a template (derivable)");
                uint32_t n;
                if (!derivable && (r = store_vm_count_derived(c->store, v.id, &n)) == 0 && n > 0)
                        return error_set(err, -EBUSY, "%u vm(s) are derived from '%s': it stays a template", n, v.name);
                v.derivable = derivable;
                Grant g;
                if (store_grant_get(c->store, SUBJECT_USER, v.owner, OBJECT_VM, v.id, &g) == 0) {
                        g.derive = derivable;
                        if ((r = store_grant_put(c->store, &g, err)) < 0)
                                return r;
                }
        } else if (r < 0 && r != -ENOENT)
                return r;
        if ((r = store_vm_update(c->store, &v, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "vm %u %s", v.id, v.name);
        return store_vm_to_json(c->store, &v, ret);
}

static int op_vm_del(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                     Error *err) {
        VmRec v;
        int r = resolve_vm_for(c, who, args, "vm", "delete", &v, err);
        if (r < 0 || (r = exam_check_vm_use(c, who, &v, "delete", err)) < 0)
                return r;
        if (!who->admin && v.owner != who->uid)
                return error_set(err, -EPERM, "You don't have permission to delete this vm");
        uint32_t n;
        if ((r = store_vm_count_derived(c->store, v.id, &n)) < 0)
                return error_set(err, r, "cannot count derived vms");
        if (n > 0)
                return error_set(err, -EBUSY, "vm '%s' is the base of %u other vm(s): delete them first", v.name, n);
        uint32_t *ids;
        size_t ni;
        if ((r = store_instance_ids_for_vm(c->store, v.id, &ids, &ni)) < 0)
                return error_set(err, r, "cannot list instances");
        free(ids);
        if (ni > 0)
                return error_set(err, -EBUSY, "vm '%s' has %zu running instance(s)", v.name, ni);
        bool keep = false;
        if ((r = json_get_bool(args, "keep_discs", &keep, err)) < 0 && r != -ENOENT)
                return r;
        DiscRec *d;
        size_t nd;
        if ((r = store_disc_list(c->store, v.id, &d, &nd)) < 0)
                return error_set(err, r, "cannot list discs");
        if ((r = store_grants_delete_for_object(c->store, OBJECT_VM, v.id, err)) >= 0)
                r = store_vm_delete(c->store, v.id, err);
        if (r >= 0 && !keep) {
                Cred cred;
                char cname[64];
                r = cred_from_uid(v.owner, &cred, cname, sizeof(cname), err);
                for (size_t i = 0; i < nd && r >= 0; i++)
                        r = disk_remove(&cred, d[i].path, err);
        }
        free(d);
        if (r < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "vm %u %s", v.id, v.name);
        return 0;
}

static int op_vm_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                      Error *err) {
        if (who->admin)
                return store_vm_list(c->store, NULL, NULL, 0, ret);
        return store_vm_list(c->store, &who->uid, who->groups, who->n_groups, ret);
}

static int op_vm_show(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                      Error *err) {
        VmRec v;
        int r = resolve_vm(c, who, args, "vm", &v, err);
        if (r < 0)
                return r;
        return store_vm_to_json(c->store, &v, ret);
}

static const char *const keys_add[] = {"name", "vmgroup", "disc_sizes", "usediscs", "base", "mem", "vcpus",
                                       "derivable", "desc", "kernel", "initrd", "cmdline", NULL};
static const char *const keys_mod[] = {"vm", "name", "mem", "vcpus", "derivable", "desc", "vmgroup", "kernel",
                                       "initrd", "cmdline", NULL};
static const char *const keys_del[] = {"vm", "keep_discs", NULL};
static const char *const keys_show[] = {"vm", NULL};
static const char *const keys_none[] = {NULL};

const OpDef ops_vms[] = {
        {"vm.add", NULL, OP_MUTATES, keys_add, &vm_add_job},
        {"vm.mod", op_vm_mod, OP_MUTATES, keys_mod, NULL},
        {"vm.del", op_vm_del, OP_MUTATES, keys_del, NULL},
        {"vm.list", op_vm_list, 0, keys_none, NULL},
        {"vm.show", op_vm_show, 0, keys_show, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
