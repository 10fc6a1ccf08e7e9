/* test-authz.c - the VMAuthorizer against an independent reference.
 *
 * The reference is the paper's rule, restated here without authz.c:
 *   a grant applies when its subject is the user or a group the user is
 *   in, AND its object is the VM or the VM's group. run / modify / derive
 *   hold when any applying grant has them; a run without --isolate is
 *   refused when any applying grant has force_isolated. Admins (group 0)
 *   see and control everything and are not bound by force_isolated.
 *
 * Part 1 runs the full matrix through the pure functions (authz_rights,
 * authz_grant_matches, authz_check_*), with two id layouts: distinct ids,
 * and colliding ids (the user's uid equals a group id, the VM id equals
 * the other VM group's id ...) so that a subject/object type confusion
 * shows. Part 2 runs a slice of it end to end through controller_handle,
 * which also exercises the SQL of store_grants_matching. */
#include <stdio.h>

#include "core/authz.h"
#include "tap.h"
#include "unit/helpers.h"

#define MSG_RUN "You don't have permission to run this vm"
#define MSG_UNISOLATED "You don't have permission to run this vm unisolated."
#define MSG_DERIVE "You don't have permission to derive this vm"
#define MSG_MODIFY "You don't have permission to modify this vm"

/* S_OTHER_USER: a grant to another user, whose uid equals the id of a
 * group the user is in (in the colliding layout) */
enum { S_USER, S_GROUP_IN, S_GROUP_OUT, S_OTHER_USER, N_S };
enum { O_VM, O_VMGROUP, O_OTHER_VM, O_OTHER_VMGROUP, N_O };
static const char *const s_names[] = {"user", "group-in", "group-out", "other-user"};
static const char *const o_names[] = {"vm", "vm's group", "other vm", "other vm group"};

/* rights bits */
enum { B_RUN = 1, B_MODIFY = 2, B_DERIVE = 4, B_FORCE = 8, N_BITS = 16 };

typedef struct Slot {
        int s, o;
        unsigned bits;
} Slot;

typedef struct Ref {
        bool run, modify, derive, force;
} Ref;

/* ---- the reference ---- */

/* for the vm (target 0) or the other vm (target 1, in the other vm group) */
static bool ref_applies_to(int s, int o, int target) {
        bool subject = s == S_USER || s == S_GROUP_IN;
        bool object = target == 0 ? (o == O_VM || o == O_VMGROUP) : (o == O_OTHER_VM || o == O_OTHER_VMGROUP);
        return subject && object;
}
static bool ref_applies(int s, int o) { return ref_applies_to(s, o, 0); }

static Ref ref_rights_to(const Slot *slots, size_t n, bool admin, int target) {
        Ref r = {false, false, false, false};
        if (admin)
                return (Ref){true, true, true, false};
        for (size_t i = 0; i < n; i++) {
                if (!ref_applies_to(slots[i].s, slots[i].o, target))
                        continue;
                r.run = r.run || (slots[i].bits & B_RUN);
                r.modify = r.modify || (slots[i].bits & B_MODIFY);
                r.derive = r.derive || (slots[i].bits & B_DERIVE);
                r.force = r.force || (slots[i].bits & B_FORCE);
        }
        return r;
}
static Ref ref_rights(const Slot *slots, size_t n, bool admin) { return ref_rights_to(slots, n, admin, 0); }

/* expected (code, message) of each decision; message NULL: any */
typedef struct Want {
        int code;
        const char *msg;
} Want;

static Want want_run(Ref r, bool admin, bool isolate) {
        if (admin)
                return (Want){0, NULL};
        if (!r.run)
                return (Want){-EPERM, MSG_RUN};
        if (r.force && !isolate)
                return (Want){-EPERM, MSG_UNISOLATED};
        return (Want){0, NULL};
}

static Want want_derive(Ref r, bool admin, bool derivable) {
        if (!admin && !r.derive)
                return (Want){-EPERM, MSG_DERIVE};
        if (!derivable)
                return (Want){-EINVAL, NULL};
        return (Want){0, NULL};
}

static Want want_modify(Ref r, bool admin) {
        if (!admin && !r.modify)
                return (Want){-EPERM, MSG_MODIFY};
        return (Want){0, NULL};
}

/* ---- part 1: pure functions ---- */

typedef struct Ids {
        const char *label;
        uint32_t uid, g_in, g_out, other_uid, vm, vmg, other_vm, other_vmg;
        uint32_t groups[2];
} Ids;

static const Ids layouts[] = {
        {"distinct ids", 1000, 10, 20, 2000, 1001, 2, 1002, 3, {1, 10}},
        /* g_out == uid, other_uid == g_in, other_vm == vmg, other_vmg == vm */
        {"colliding ids", 20, 10, 20, 10, 5, 6, 6, 5, {1, 10}},
};

static Grant make_grant(const Ids *ids, Slot sl) {
        Grant g = {0};
        g.subject_type = (sl.s == S_USER || sl.s == S_OTHER_USER) ? SUBJECT_USER : SUBJECT_GROUP;
        g.subject = sl.s == S_USER ? ids->uid : sl.s == S_GROUP_IN ? ids->g_in : sl.s == S_GROUP_OUT ? ids->g_out
                                                                                                    : ids->other_uid;
        g.object_type = (sl.o == O_VM || sl.o == O_OTHER_VM) ? OBJECT_VM : OBJECT_VMGROUP;
        g.object = sl.o == O_VM ? ids->vm : sl.o == O_VMGROUP ? ids->vmg : sl.o == O_OTHER_VM ? ids->other_vm
                                                                                              : ids->other_vmg;
        g.run = sl.bits & B_RUN;
        g.modify = sl.bits & B_MODIFY;
        g.derive = sl.bits & B_DERIVE;
        g.force_isolated = sl.bits & B_FORCE;
        return g;
}

static bool want_matches(Want w, int r, const Error *err, char *why, size_t len, const char *what) {
        if (r != w.code) {
                snprintf(why, len, "%s: got %d (%s), want %d", what, r, err->message, w.code);
                return false;
        }
        if (r < 0 && w.msg && strcmp(err->message, w.msg) != 0) {
                snprintf(why, len, "%s: message '%s', want '%s'", what, err->message, w.msg);
                return false;
        }
        if (r < 0 && !*err->message) {
                snprintf(why, len, "%s: empty message", what);
                return false;
        }
        return true;
}

/* Check one case (a set of grants, admin or not); false + why on the first
 * disagreement with the reference. */
static bool check_case(const Ids *ids, const Slot *slots, size_t n, bool admin, char *why, size_t len) {
        Grant grants[4];
        for (size_t i = 0; i < n; i++)
                grants[i] = make_grant(ids, slots[i]);
        AuthzSubject who = {.uid = ids->uid, .groups = ids->groups, .n_groups = 2, .admin = admin};
        AuthzObject what = {.vm = ids->vm, .vm_group = ids->vmg};

        for (size_t i = 0; i < n; i++)
                if (authz_grant_matches(&who, &what, &grants[i]) != ref_applies(slots[i].s, slots[i].o)) {
                        snprintf(why, len, "authz_grant_matches(%s on %s) = %d", s_names[slots[i].s],
                                 o_names[slots[i].o], !ref_applies(slots[i].s, slots[i].o));
                        return false;
                }

        Ref ref = ref_rights(slots, n, admin);
        Rights got = authz_rights(&who, &what, grants, n);
        if (got.run != ref.run || got.modify != ref.modify || got.derive != ref.derive ||
            got.force_isolated != ref.force) {
                snprintf(why, len, "authz_rights = r%d m%d d%d f%d, want r%d m%d d%d f%d", got.run, got.modify,
                         got.derive, got.force_isolated, ref.run, ref.modify, ref.derive, ref.force);
                return false;
        }
        for (int iso = 0; iso <= 1; iso++) {
                Error err = {0};
                int r = authz_check_run(&got, admin, iso, &err);
                if (!want_matches(want_run(ref, admin, iso), r, &err, why, len,
                                  iso ? "authz_check_run(isolate)" : "authz_check_run(unisolated)"))
                        return false;
        }
        for (int der = 0; der <= 1; der++) {
                Error err = {0};
                int r = authz_check_derive(&got, admin, der, &err);
                if (!want_matches(want_derive(ref, admin, der), r, &err, why, len,
                                  der ? "authz_check_derive(derivable)" : "authz_check_derive(not derivable)"))
                        return false;
        }
        Error err = {0};
        int r = authz_check_modify(&got, admin, &err);
        return want_matches(want_modify(ref, admin), r, &err, why, len, "authz_check_modify");
}

static void bits_str(unsigned b, char buf[8]) {
        snprintf(buf, 8, "%c%c%c%c", b & B_RUN ? 'r' : '-', b & B_MODIFY ? 'm' : '-', b & B_DERIVE ? 'd' : '-',
                 b & B_FORCE ? 'i' : '-');
}

static void test_pure_single(void) {
        for (size_t l = 0; l < ELEMENTSOF(layouts); l++)
                for (int admin = 0; admin <= 1; admin++)
                        for (int s = 0; s < N_S; s++)
                                for (int o = 0; o < N_O; o++) {
                                        char why[600] = "", failed[8] = "";
                                        bool good = true;
                                        for (unsigned b = 0; b < N_BITS && good; b++) {
                                                Slot sl = {s, o, b};
                                                good = check_case(&layouts[l], &sl, 1, admin, why, sizeof(why));
                                                if (!good)
                                                        bits_str(b, failed);
                                        }
                                        ok(good, "pure, %s, %s: one grant to %s on %s, all 16 rights", layouts[l].label,
                                           admin ? "admin" : "user", s_names[s], o_names[o]);
                                        if (!good)
                                                printf("#   rights %s: %s\n", failed, why);
                                }
}

static void test_pure_pairs(void) {
        for (size_t l = 0; l < ELEMENTSOF(layouts); l++)
                for (int admin = 0; admin <= 1; admin++)
                        for (int a = 0; a < N_S * N_O; a++)
                                for (int b = a + 1; b < N_S * N_O; b++) {
                                        char why[600] = "";
                                        bool good = true;
                                        unsigned fa = 0, fb = 0;
                                        for (unsigned ba = 0; ba < N_BITS && good; ba++)
                                                for (unsigned bb = 0; bb < N_BITS && good; bb++) {
                                                        Slot two[2] = {{a / N_O, a % N_O, ba}, {b / N_O, b % N_O, bb}};
                                                        Slot rev[2] = {two[1], two[0]};
                                                        good = check_case(&layouts[l], two, 2, admin, why, sizeof(why)) &&
                                                               check_case(&layouts[l], rev, 2, admin, why, sizeof(why));
                                                        fa = ba;
                                                        fb = bb;
                                                }
                                        ok(good, "pure, %s, %s: %s on %s + %s on %s, 256 rights combinations",
                                           layouts[l].label, admin ? "admin" : "user", s_names[a / N_O],
                                           o_names[a % N_O], s_names[b / N_O], o_names[b % N_O]);
                                        if (!good) {
                                                char x[8], y[8];
                                                bits_str(fa, x);
                                                bits_str(fb, y);
                                                printf("#   rights %s + %s: %s\n", x, y, why);
                                        }
                                }
}

static void test_pure_messages(void) {
        Error err = {0};
        Rights none = {0}, run_forced = {.run = true, .force_isolated = true}, run = {.run = true};
        int r = authz_check_run(&none, false, true, &err);
        is_int(r, -EPERM, "run without the run right is EPERM");
        is_str(err.message, MSG_RUN, "the paper's run message");
        error_clear(&err);
        r = authz_check_run(&run_forced, false, false, &err);
        is_int(r, -EPERM, "unisolated run of a forced vm is EPERM");
        is_str(err.message, MSG_UNISOLATED, "the paper's unisolated message");
        error_clear(&err);
        r = authz_check_derive(&run, false, true, &err);
        is_int(r, -EPERM, "derive without the derive right is EPERM");
        is_str(err.message, MSG_DERIVE, "the paper's derive message");

        /* no grants at all, no groups */
        AuthzSubject who = {.uid = 7, .groups = NULL, .n_groups = 0, .admin = false};
        AuthzObject what = {.vm = 1001, .vm_group = 2};
        Grant g = {.subject_type = SUBJECT_GROUP, .subject = 7, .object_type = OBJECT_VM, .object = 1001,
                   .run = true};
        Rights got = authz_rights(&who, &what, &g, 1);
        ok(!got.run && !authz_grant_matches(&who, &what, &g),
           "a group grant whose id equals the uid does not apply to a user in no groups");
        got = authz_rights(&who, &what, NULL, 0);
        ok(!got.run && !got.modify && !got.derive && !got.force_isolated, "no grants: no rights");
        who.admin = true;
        got = authz_rights(&who, &what, NULL, 0);
        ok(got.run && got.modify && got.derive && !got.force_isolated, "no grants, admin: every right, not forced");
}

/* ---- part 2: end to end through the controller ---- */

typedef struct E2E {
        TEnv env;
        uint32_t student; /* news: in studs (10), not in outsiders (id == student's uid) */
        uint32_t uucp;    /* uid 10 == studs' group id; in outsiders */
        uint32_t adm;     /* bin: a member of the admin group */
        uint32_t g_out;
} E2E;

#define VM_ID 1001        /* in vm group 1002 */
#define VMG_ID 1002
#define OTHER_VM_ID 1002  /* in vm group 1001 */
#define OTHER_VMG_ID 1001
#define G_IN 10

static void e2e_setup(E2E *t) {
        TEnv *e = &t->env;
        tenv_open(e);
        t->student = sys_uid("news");
        t->uucp = sys_uid("uucp");
        t->adm = sys_uid("bin");
        t->g_out = t->student;
        Error err = {0};
        json_t *d = NULL;
        int r;
        if ((r = call(e, 0, "ugroup.add", NULL, &err, "{'name': 'studs', 'id': %d}", G_IN)) < 0 ||
            (r = call(e, 0, "ugroup.add", NULL, &err, "{'name': 'outsiders', 'id': %u}", t->g_out)) < 0 ||
            (r = call(e, 0, "user.add", NULL, &err, "{'name': 'news', 'groups': ['studs'], 'stordir': '%s'}",
                      tenv_mkdir(e, t->student, false))) < 0 ||
            (r = call(e, 0, "user.add", NULL, &err, "{'name': 'uucp', 'groups': ['outsiders'], 'stordir': '%s'}",
                      tenv_mkdir(e, t->uucp, false))) < 0 ||
            (r = call(e, 0, "user.add", NULL, &err, "{'name': 'bin', 'groups': ['admin'], 'stordir': '%s'}",
                      tenv_mkdir(e, t->adm, false))) < 0 ||
            (r = call(e, 0, "vmgroup.add", NULL, &err, "{'name': 'labB', 'id': %d, 'iprange': '10.1.0.2-10.1.0.200'}",
                      OTHER_VMG_ID)) < 0 ||
            (r = call(e, 0, "vmgroup.add", NULL, &err, "{'name': 'labA', 'id': %d, 'iprange': '10.2.0.2-10.2.0.200'}",
                      VMG_ID)) < 0)
                bail("e2e setup: %s", err.message);
        r = call(e, e->admin, "vm.add", &d, &err,
                 "{'name': 'target', 'disc_sizes': [1048576], 'derivable': true, 'vmgroup': %d}", VMG_ID);
        if (r < 0 || json_integer_value(json_object_get(d, "id")) != VM_ID)
                bail("e2e setup: target vm: %s", err.message);
        json_decref(d);
        r = call(e, e->admin, "vm.add", &d, &err,
                 "{'name': 'other', 'disc_sizes': [1048576], 'derivable': true, 'vmgroup': %d}", OTHER_VMG_ID);
        if (r < 0 || json_integer_value(json_object_get(d, "id")) != OTHER_VM_ID)
                bail("e2e setup: other vm: %s", err.message);
        json_decref(d);
}

/* perm.set args naming the slot's subject and object */
static json_t *slot_args(const E2E *t, Slot sl, bool with_rights) {
        json_t *a = json_object();
        if (sl.s == S_USER)
                json_object_set_new(a, "user", json_string("news"));
        else if (sl.s == S_OTHER_USER)
                json_object_set_new(a, "user", json_string("uucp")); /* uid 10 == G_IN */
        else
                json_object_set_new(a, "group", json_integer(sl.s == S_GROUP_IN ? G_IN : t->g_out));
        if (sl.o == O_VM || sl.o == O_OTHER_VM)
                json_object_set_new(a, "vm", json_integer(sl.o == O_VM ? VM_ID : OTHER_VM_ID));
        else
                json_object_set_new(a, "vmgroup", json_integer(sl.o == O_VMGROUP ? VMG_ID : OTHER_VMG_ID));
        if (with_rights) {
                json_object_set_new(a, "run", json_boolean(sl.bits & B_RUN));
                json_object_set_new(a, "modify", json_boolean(sl.bits & B_MODIFY));
                json_object_set_new(a, "derive", json_boolean(sl.bits & B_DERIVE));
                json_object_set_new(a, "force_isolated", json_boolean(sl.bits & B_FORCE));
        }
        return a;
}

static bool e2e_expect(int r, const Error *err, int code, const char *msg, const char *what, char *why, size_t len) {
        if (r != code || (code < 0 && msg && strcmp(err->message, msg) != 0)) {
                snprintf(why + strlen(why), len - strlen(why), "%s: got %d '%s', want %d '%s'; ", what, r,
                         r < 0 ? err->message : "", code, msg ? msg : "");
                return false;
        }
        return true;
}

/* Run the four actions as uid against the target vm and compare with the
 * reference for these grants. */
static bool e2e_actions(E2E *t, uint32_t uid, const Slot *slots, size_t n, bool admin, char *why, size_t len) {
        TEnv *e = &t->env;
        /* a vm the caller may not see is refused with the same paper's
         * message as one they see without the right */
        Ref ref = ref_rights(slots, n, admin);
        bool good = true;
        Error err;
        json_t *d;

        for (int iso = 0; iso <= 1; iso++) {
                Want w = want_run(ref, admin, iso);
                d = NULL;
                int r = call(e, uid, "vm.run", &d, &err, "{'vm': %d, 'no_start': true, 'isolate': %s}", VM_ID,
                             iso ? "true" : "false");
                good &= e2e_expect(r, &err, w.code, w.msg, iso ? "vm.run isolated" : "vm.run unisolated", why, len);
                if (r >= 0) {
                        json_int_t id = json_integer_value(json_object_get(d, "id"));
                        if (call(e, uid, "instance.release", NULL, &err, "{'instance': %lld}", (long long)id) < 0)
                                bail("instance.release: %s", err.message);
                }
                json_decref(d);
        }

        Want w = want_derive(ref, admin, true);
        d = NULL;
        int r = call(e, uid, "vm.add", &d, &err, "{'name': 'derived', 'base': %d}", VM_ID);
        good &= e2e_expect(r, &err, w.code, w.msg, "vm.add base", why, len);
        if (r >= 0) {
                /* the owner's grant on a derivative keeps the template's force_isolated */
                json_int_t id = json_integer_value(json_object_get(d, "id"));
                json_t *g = NULL;
                json_t *perms = NULL;
                call(e, 0, "perm.list", &perms, &err, "{}");
                size_t i;
                json_array_foreach(perms, i, g) {
                        if (json_integer_value(json_object_get(g, "object")) == id &&
                            json_integer_value(json_object_get(g, "subject")) == uid) {
                                bool f = json_is_true(json_object_get(g, "force_isolated"));
                                if (f != ref.force) {
                                        good = false;
                                        snprintf(why + strlen(why), len - strlen(why),
                                                 "derived vm's owner grant force_isolated=%d, want %d; ", f, ref.force);
                                }
                        }
                }
                json_decref(perms);
                if (call(e, uid, "vm.del", NULL, &err, "{'vm': %lld}", (long long)id) < 0)
                        bail("vm.del: %s", err.message);
        }
        json_decref(d);

        w = want_modify(ref, admin);
        r = call(e, uid, "vm.mod", NULL, &err, "{'vm': %d, 'desc': 'touched'}", VM_ID);
        good &= e2e_expect(r, &err, w.code, w.msg, "vm.mod", why, len);
        return good;
}

static void e2e_set(E2E *t, const Slot *slots, size_t n) {
        for (size_t i = 0; i < n; i++) {
                json_t *a = slot_args(t, slots[i], true);
                Error err;
                int r = call_j(&t->env, 0, "perm.set", a, NULL, &err);
                json_decref(a);
                if (r < 0)
                        bail("perm.set: %s", err.message);
        }
}

static void e2e_clear(E2E *t, const Slot *slots, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (slots[i].bits == 0)
                        continue; /* an all-false perm.set deletes the grant */
                json_t *a = slot_args(t, slots[i], false);
                Error err;
                int r = call_j(&t->env, 0, "perm.del", a, NULL, &err);
                json_decref(a);
                if (r < 0)
                        bail("perm.del: %s", err.message);
        }
}

/* What the student sees: vm.list holds a vm iff some applying grant gives
 * run, modify or derive on it; perm.list holds exactly the grants to the
 * student and to the student's groups (store_vm_list, store_grant_list). */
static bool e2e_visibility(E2E *t, const Slot *slots, size_t n, char *why, size_t len) {
        bool good = true;
        json_t *vms = NULL, *perms = NULL;
        Error err;
        if (call(&t->env, t->student, "vm.list", &vms, &err, "{}") < 0 ||
            call(&t->env, t->student, "perm.list", &perms, &err, "{}") < 0)
                bail("list: %s", err.message);
        for (int target = 0; target <= 1; target++) {
                Ref r = ref_rights_to(slots, n, false, target);
                bool want = r.run || r.modify || r.derive, got = false;
                json_int_t id = target == 0 ? VM_ID : OTHER_VM_ID;
                size_t i;
                json_t *v;
                json_array_foreach(vms, i, v) got |= json_integer_value(json_object_get(v, "id")) == id;
                if (got != want) {
                        good = false;
                        snprintf(why + strlen(why), len - strlen(why), "vm.list %s vm %lld; ", got ? "shows" : "lacks",
                                 (long long)id);
                }
        }
        size_t want_perms = 0;
        for (size_t i = 0; i < n; i++)
                if (slots[i].bits && (slots[i].s == S_USER || slots[i].s == S_GROUP_IN))
                        want_perms++;
        if (json_array_size(perms) != want_perms) {
                good = false;
                snprintf(why + strlen(why), len - strlen(why), "perm.list has %zu rows, want %zu; ",
                         json_array_size(perms), want_perms);
        }
        json_decref(vms);
        json_decref(perms);
        return good;
}

static void e2e_case(E2E *t, const Slot *slots, size_t n, const char *label) {
        char why[2000] = "";
        e2e_set(t, slots, n);
        bool good = e2e_visibility(t, slots, n, why, sizeof(why));
        good &= e2e_actions(t, t->student, slots, n, false, why, sizeof(why));
        e2e_clear(t, slots, n);
        ok(good, "e2e: %s", label);
        if (!good)
                printf("#   %s\n", why);
}

static void test_e2e(void) {
        E2E t;
        e2e_setup(&t);
        json_t *before = snapshot(&t.env);

        static const unsigned rights[] = {B_RUN, B_RUN | B_FORCE, B_MODIFY, B_DERIVE, B_DERIVE | B_FORCE, B_FORCE};
        for (int s = 0; s < N_S; s++)
                for (int o = 0; o < N_O; o++)
                        for (size_t i = 0; i < ELEMENTSOF(rights); i++) {
                                Slot sl = {s, o, rights[i]};
                                char b[8], label[160];
                                bits_str(rights[i], b);
                                snprintf(label, sizeof(label), "grant %s to %s on %s", b, s_names[s], o_names[o]);
                                e2e_case(&t, &sl, 1, label);
                        }

        /* two grants */
        {
                Slot two[] = {{S_GROUP_IN, O_VMGROUP, B_RUN}, {S_USER, O_VM, B_FORCE}};
                e2e_case(&t, two, 2, "run via group on vm group + force_isolated via user on vm");
        }
        {
                Slot two[] = {{S_USER, O_VM, B_RUN}, {S_GROUP_OUT, O_VM, B_FORCE}};
                e2e_case(&t, two, 2, "run via user + force_isolated for a group the user is not in");
        }
        {
                Slot two[] = {{S_GROUP_IN, O_VM, B_DERIVE}, {S_GROUP_IN, O_VMGROUP, B_RUN | B_FORCE}};
                e2e_case(&t, two, 2, "derive on vm + forced run on vm group, same group");
        }
        {
                Slot two[] = {{S_USER, O_OTHER_VM, B_RUN | B_MODIFY | B_DERIVE},
                              {S_GROUP_IN, O_OTHER_VMGROUP, B_RUN | B_MODIFY | B_DERIVE}};
                e2e_case(&t, two, 2, "every right, but on the other vm and the other vm group");
        }
        {
                Slot two[] = {{S_USER, O_VMGROUP, B_MODIFY}, {S_GROUP_IN, O_VM, B_RUN | B_FORCE}};
                e2e_case(&t, two, 2, "modify via user on vm group + forced run via group on vm");
        }

        /* a user grant to uid 10 is not a grant to group 10 */
        {
                TEnv *e = &t.env;
                Error err;
                if (call(e, 0, "perm.set", NULL, &err, "{'user': %u, 'vm': %d, 'run': true, 'derive': true}", t.uucp,
                         VM_ID) < 0)
                        bail("perm.set: %s", err.message);
                int r = call(e, t.student, "vm.run", NULL, &err, "{'vm': %d, 'no_start': true, 'isolate': true}",
                             VM_ID);
                ok(r == -EPERM && streq(err.message, "You don't have permission to run this vm"),
                   "a grant to user uid %u does not reach members of group %d", t.uucp, G_IN);
                if (r != -EPERM)
                        printf("#   got %d '%s'\n", r, err.message);
                json_t *d = NULL;
                r = call(e, t.uucp, "vm.run", &d, &err, "{'vm': %d, 'no_start': true}", VM_ID);
                ok(r == 0, "... while uucp itself can run it");
                if (r == 0)
                        call(e, t.uucp, "instance.release", NULL, &err, "{'instance': %lld}",
                             (long long)json_integer_value(json_object_get(d, "id")));
                json_decref(d);
                call(e, 0, "perm.del", NULL, &err, "{'user': %u, 'vm': %d}", t.uucp, VM_ID);
        }

        /* an admin: every right, not bound by force_isolated, even with a forcing grant */
        {
                char why[2000] = "";
                Slot forced = {S_USER, O_VM, B_FORCE};
                Error err;
                if (call(&t.env, 0, "perm.set", NULL, &err, "{'user': 'bin', 'vm': %d, 'force_isolated': true}",
                         VM_ID) < 0)
                        bail("perm.set: %s", err.message);
                bool good = e2e_actions(&t, t.adm, &forced, 1, true, why, sizeof(why));
                call(&t.env, 0, "perm.del", NULL, &err, "{'user': 'bin', 'vm': %d}", VM_ID);
                ok(good, "e2e: admin group member with a force_isolated grant runs, derives and modifies");
                if (!good)
                        printf("#   %s\n", why);
                why[0] = 0;
                good = e2e_actions(&t, t.adm, NULL, 0, true, why, sizeof(why));
                ok(good, "e2e: admin group member without any grant");
                if (!good)
                        printf("#   %s\n", why);
        }

        json_t *after = snapshot(&t.env);
        ok(json_equal(json_object_get(before, "perm.list"), json_object_get(after, "perm.list")) &&
                   json_equal(json_object_get(before, "map.list"), json_object_get(after, "map.list")) &&
                   json_array_size(json_object_get(after, "vm.list")) == 2,
           "e2e: every grant, instance and derived vm was cleaned up");
        json_decref(before);
        json_decref(after);
        tenv_close(&t.env);
}

int main(void) {
        test_pure_messages();
        test_pure_single();
        test_pure_pairs();
        test_e2e();
        return tap_done();
}
