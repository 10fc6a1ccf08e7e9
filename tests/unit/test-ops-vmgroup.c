/* test-ops-vmgroup.c - what an admin sets on a VM group for the runs of its
 * VMs (max_mem, max_vcpus, max_walltime) and its IPv6 switch, from both
 * command-line syntaxes to vm.run:
 *   - the CLI words (vmbatch vmgroup add|mod --max-mem ... --ipv6, vmapp
 *     --vmgadd|--vmgmod --maxmem ... --ipv6) become vmgroup.add/mod args,
 *     and the modern listing shows them;
 *   - vmgroup.add/mod store them (0: no cap), refuse bad values, and only
 *     admins may set them (authz_check_vmgroup_limits);
 *   - vm.run of a VM in the group asking for more memory, vcpus or wall
 *     time than the group allows is refused with one line naming the cap
 *     and the group, and nothing is recorded; a run without --walltime gets
 *     the group's max_walltime as its job's time limit; within the caps,
 *     and once the caps are lifted, the same runs pass (the control);
 *   - an instance records the IPv6 its group gave it when it was run. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/paper.h"
#include "core/authz.h"
#include "tap.h"
#include "unit/helpers.h"

#define G (1ULL << 30)
#define RANGE "192.168.100.2-192.168.100.254"

static json_int_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---- the command lines ---- */

/* line split at blanks (no quoting); paper: vmapp syntax */
static int translate(const char *line, bool paper, json_t **ret, Error *err) {
        char *copy = xstrdup(line), *save = NULL, *argv[32];
        int argc = 0;
        for (char *w = strtok_r(copy, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
                argv[argc++] = w;
        argv[argc] = NULL;
        int r = paper ? cli_paper_to_request(argc, argv, "/tmp", ret, err)
                      : cli_modern_to_request(argc, argv, "/tmp", ret, err);
        free(copy);
        return r;
}

static void cli_ok(const char *line, bool paper, const char *want) {
        json_t *req = NULL, *w = Jt(want);
        Error err = {0};
        int r = translate(line, paper, &req, &err);
        if (!ok(r == 0 && json_equal(req, w), "%s", line)) {
                char *got = req ? jdump(req) : NULL;
                printf("#   r=%d %s\n#   got  %s\n#   want %s\n", r, err.message, got ? got : "-", want);
                free(got);
        }
        json_decref(req);
        json_decref(w);
}

static void cli_fails(const char *line, bool paper, const char *needle) {
        json_t *req = NULL;
        Error err = {0};
        int r = translate(line, paper, &req, &err);
        ok(r == -EINVAL && strstr(err.message, needle), "%s: refused: %s", line, err.message);
        json_decref(req);
}

static void test_cli(void) {
        cli_ok("vmbatch vmgroup add lab1 --iprange " RANGE " --max-mem 1G --max-vcpus 1 --max-walltime 1h --ipv6", false,
               "{'op': 'vmgroup.add', 'args': {'name': 'lab1', 'iprange': '" RANGE "', 'max_mem': 1073741824,"
               " 'max_vcpus': 1, 'max_walltime': 3600, 'ipv6': true}}");
        cli_ok("vmbatch vmgroup mod lab1 --max-mem none --max-vcpus 0 --max-walltime none --no-ipv6", false,
               "{'op': 'vmgroup.mod', 'args': {'vmgroup': 'lab1', 'max_mem': 0, 'max_vcpus': 0, 'max_walltime': 0,"
               " 'ipv6': false}}");
        cli_ok("vmbatch vmgroup mod 2 --max-walltime 90m", false,
               "{'op': 'vmgroup.mod', 'args': {'vmgroup': 2, 'max_walltime': 5400}}");
        cli_fails("vmbatch vmgroup mod lab1 --ipv6 --no-ipv6", false, "contradict");
        cli_fails("vmbatch vmgroup add lab1 --iprange " RANGE " --no-ipv6", false, "no-ipv6");
        cli_fails("vmbatch vmgroup mod lab1 --max-mem lots", false, "--max-mem");
        cli_fails("vmbatch vmgroup mod lab1 --max-walltime forever", false, "--max-walltime");
        cli_fails("vmbatch vmgroup mod lab1", false, "nothing to change");
        cli_ok("vmbatch vmgroup mod lab1 --ipv6", false, "{'op': 'vmgroup.mod', 'args': {'vmgroup': 'lab1', 'ipv6': true}}");

        cli_ok("vmapp --vmgadd --name lab1 --vmgid 2 --iprange " RANGE " --maxmem 1G --maxvcpus 1 --maxwalltime 1h --ipv6",
               true,
               "{'op': 'vmgroup.add', 'args': {'name': 'lab1', 'id': 2, 'iprange': '" RANGE "', 'max_mem': 1073741824,"
               " 'max_vcpus': 1, 'max_walltime': 3600, 'ipv6': true}}");
        cli_ok("vmapp --vmgmod --name lab1 --maxmem 2G --maxvcpus 4 --maxwalltime 90m --noipv6", true,
               "{'op': 'vmgroup.mod', 'args': {'vmgroup': 'lab1', 'max_mem': 2147483648, 'max_vcpus': 4,"
               " 'max_walltime': 5400, 'ipv6': false}}");
        cli_ok("vmapp --vmgmod --vmgid 2 --maxmem 0 --ipv6", true,
               "{'op': 'vmgroup.mod', 'args': {'vmgroup': 2, 'max_mem': 0, 'ipv6': true}}");
        cli_fails("vmapp --vmgadd --name lab1 --iprange " RANGE " --noipv6", true, "noipv6");
        cli_fails("vmapp --vmglist --maxmem 1G", true, "maxmem");
        cli_fails("vmapp --vmrun --vm x --maxvcpus 2", true, "maxvcpus");

        /* the modern listing shows them; vmapp --vmglist keeps the paper's columns */
        json_t *data = Jt("[{'id': 2, 'name': 'lab1', 'iprange': '" RANGE "', 'first': '192.168.100.2',"
                          " 'last': '192.168.100.254', 'max_mem': 1073741824, 'max_vcpus': 1, 'max_walltime': 5400,"
                          " 'ipv6': true}, {'id': 3, 'name': 'lab2', 'iprange': '10.0.0.1-10.0.0.9', 'max_mem': 0,"
                          " 'max_vcpus': 0, 'max_walltime': 0, 'ipv6': false}]");
        const char *lines[] = {"vmbatch vmgroup list", "vmapp --vmglist"};
        const char *want[] = {"id\tname\tip_range\tmax_mem\tmax_vcpus\tmax_walltime\tipv6\n"
                              "2\tlab1\t" RANGE "\t1G\t1\t90m\t1\n"
                              "3\tlab2\t10.0.0.1-10.0.0.9\t-\t-\t-\t0\n",
                              "id\tname\tip_range\n2\tlab1\t" RANGE "\n3\tlab2\t10.0.0.1-10.0.0.9\n"};
        for (size_t i = 0; i < 2; i++) {
                CliCommand c = {0};
                Error err = {0};
                char *copy = xstrdup(lines[i]), *save = NULL, *argv[4];
                int argc = 0;
                for (char *w = strtok_r(copy, " ", &save); w && argc < 3; w = strtok_r(NULL, " ", &save))
                        argv[argc++] = w;
                argv[argc] = NULL;
                int r = i == 0 ? cli_modern_parse(argc, argv, "/tmp", &c, &err)
                               : cli_paper_parse(argc, argv, "/tmp", &c, &err);
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (r == 0 && c.print)
                        r = c.print(f, NULL, data);
                fclose(f);
                is_str(text, want[i], "%s prints %s", lines[i], i == 0 ? "the limits and IPv6" : "the paper's table");
                free(text);
                free(copy);
                cli_command_done(&c);
        }
        json_decref(data);
}

/* ---- the operations ---- */

typedef struct Launched {
        TEnv *e;
        unsigned n;
        uint32_t walltime_s;
} Launched;

static int fake_launch(void *userdata, InstanceRec *inst, Error *err) {
        Launched *l = userdata;
        l->n++;
        l->walltime_s = inst->walltime_s;
        snprintf(inst->backend, sizeof(inst->backend), "local");
        snprintf(inst->job_id, sizeof(inst->job_id), "fake-%u", inst->id);
        return 0;
}

/* a stop ends the fake job at once */
static int fake_signal(void *userdata, const InstanceRec *inst, InstanceAction action, Error *err) {
        Launched *l = userdata;
        return store_instance_delete(l->e->store, inst->id, err);
}

static const ControllerHooks hooks = {.launch = fake_launch, .signal = fake_signal};

/* a refused vm.run: the error, its one line naming needles, nothing recorded */
static void run_refused(TEnv *e, uint32_t uid, const char *args, const char *n1, const char *n2, const char *what) {
        json_t *before = snapshot(e);
        Error err = {0};
        json_t *a = Jt(args);
        int r = call_j(e, uid, "vm.run", a, NULL, &err);
        json_t *after = snapshot(e);
        ok(r == -EDQUOT && strstr(err.message, n1) && strstr(err.message, n2) && !strchr(err.message, '\n') &&
                   json_equal(before, after),
           "%s: refused, nothing recorded: %s", what, err.message);
        json_decref(a);
        json_decref(before);
        json_decref(after);
}

/* a vm.run that passes; the fake job's walltime, then stopped */
static void run_passes(TEnv *e, Launched *l, uint32_t uid, const char *args, uint32_t want_walltime, const char *what) {
        Error err = {0};
        json_t *d = NULL, *a = Jt(args);
        unsigned before = l->n;
        int r = call_j(e, uid, "vm.run", a, &d, &err);
        ok(r == 0 && l->n == before + 1 && l->walltime_s == want_walltime, "%s: runs, job time limit %u s: %s", what,
           l->walltime_s, r < 0 ? err.message : "ok");
        if (r == 0 && call(e, uid, "instance.stop", NULL, &err, "{'instance': %lld}", (long long)jint(d, "id")) < 0)
                bail("stop: %s", err.message);
        json_decref(a);
        json_decref(d);
}

static void test_ops(void) {
        TEnv e;
        tenv_open(&e);
        Launched l = {.e = &e};
        e.c.hooks = &hooks;
        e.c.hooks_data = &l;
        uid_t stud = sys_uid("lp");
        Error err = {0};
        json_t *d = NULL, *req = NULL;

        /* the admin's vmapp line, through the translator, to the controller */
        if (translate("vmapp --vmgadd --name lab1 --vmgid 2 --iprange " RANGE " --maxmem 1G --maxvcpus 1 --maxwalltime 1h",
                      true, &req, &err) < 0)
                bail("translate: %s", err.message);
        int r = call_j(&e, 0, "vmgroup.add", json_object_get(req, "args"), &d, &err);
        ok(r == 0 && jint(d, "max_mem") == (json_int_t)G && jint(d, "max_vcpus") == 1 && jint(d, "max_walltime") == 3600 &&
                   json_is_false(json_object_get(d, "ipv6")),
           "vmgroup.add lab1 with max_mem 1G, max_vcpus 1, max_walltime 1h: %s", r < 0 ? err.message : "ok");
        json_decref(req);
        json_decref(d);
        d = NULL;

        if (call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'stordir': '%s'}", tenv_mkdir(&e, stud, false)) < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err,
                 "{'name': 'big', 'vmgroup': 'lab1', 'disc_sizes': [1048576], 'mem': %llu, 'vcpus': 2}", 2 * G) < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'free', 'disc_sizes': [1048576], 'mem': %llu, 'vcpus': 2}",
                 2 * G) < 0 ||
            call(&e, 0, "perm.set", NULL, &err, "{'user': 'lp', 'vm': 'big', 'run': true}") < 0)
                bail("setup: %s", err.message);

        /* only admins */
        json_t *before = snapshot(&e);
        r = call(&e, stud, "vmgroup.mod", NULL, &err, "{'vmgroup': 'lab1', 'max_mem': 0}");
        json_t *after = snapshot(&e);
        ok(r == -EPERM && json_equal(before, after), "a student lifting the cap is refused: %s", err.message);
        json_decref(before);
        json_decref(after);
        error_clear(&err);
        r = call(&e, stud, "vmgroup.mod", NULL, &err, "{'vmgroup': 'lab1', 'ipv6': true}");
        ok(r == -EPERM, "... and so is turning IPv6 on: %s", err.message);
        error_clear(&err);
        r = authz_check_vmgroup_limits(false, "lab1", &err);
        ok(r == -EPERM && strstr(err.message, "only admins") && strstr(err.message, "'lab1'"),
           "authz_check_vmgroup_limits: not an admin: %s", err.message);
        is_int(authz_check_vmgroup_limits(true, "lab1", NULL), 0, "authz_check_vmgroup_limits: an admin may");

        /* bad values */
        static const struct {
                const char *args, *needle;
        } bad[] = {
                {"{'vmgroup': 'lab1', 'max_mem': 5}", "max_mem of vm group 'lab1'"},
                {"{'vmgroup': 'lab1', 'max_mem': 1099511627777}", "max_mem of vm group 'lab1'"},
                {"{'vmgroup': 'lab1', 'max_vcpus': 1000}", "max_vcpus of vm group 'lab1'"},
                {"{'vmgroup': 'lab1', 'max_walltime': 40000000}", "max_walltime of vm group 'lab1'"},
                {"{'vmgroup': 'lab1', 'max_vcpus': -1}", "max_vcpus"},
                {"{'vmgroup': 'lab1', 'ipv6': 'yes'}", "ipv6"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                error_clear(&err);
                json_t *a = Jt(bad[i].args);
                r = call_j(&e, 0, "vmgroup.mod", a, NULL, &err);
                ok(r == -EINVAL && strstr(err.message, bad[i].needle), "vmgroup.mod %s refused: %s", bad[i].args,
                   err.message);
                json_decref(a);
        }

        /* the caps: vm 'big' (2G, 2 vcpus) in lab1 (1G, 1 vcpu, 1h) */
        run_refused(&e, e.admin, "{'vm': 'big'}", "vm 'big' has 2G", "vm group 'lab1' allows per run (max_mem 1G)",
                    "the vm's own 2G in lab1 (max_mem 1G), even for the admin");
        run_refused(&e, stud, "{'vm': 'big', 'mem': 2147483648, 'vcpus': 1}", "--mem 2G",
                    "vm group 'lab1' allows per run (max_mem 1G)", "a student's --mem 2G");
        run_refused(&e, stud, "{'vm': 'big', 'mem': 1073741824}", "vm 'big' has 2 vcpus",
                    "vm group 'lab1' allows per run (max_vcpus 1)", "the vm's 2 vcpus (max_vcpus 1)");
        run_refused(&e, stud, "{'vm': 'big', 'mem': 1073741824, 'vcpus': 2}", "--vcpus 2",
                    "(max_vcpus 1)", "--vcpus 2");
        run_refused(&e, stud, "{'vm': 'big', 'mem': 1073741824, 'vcpus': 1, 'walltime': 7200}", "--walltime 2h",
                    "vm group 'lab1' allows per run (max_walltime 1h)", "--walltime 2h (max_walltime 1h)");
        run_refused(&e, stud, "{'vm': 'big', 'mem': 1073741824, 'vcpus': 1, 'walltime': 3601, 'no_start': true}",
                    "--walltime 3601s", "(max_walltime 1h)", "a reservation asking 3601 s");
        run_passes(&e, &l, stud, "{'vm': 'big', 'mem': 1073741824, 'vcpus': 1}", 3600,
                   "within the caps, no --walltime: the job gets max_walltime");
        run_passes(&e, &l, stud, "{'vm': 'big', 'mem': 1073741824, 'vcpus': 1, 'walltime': 1800}", 1800,
                   "--walltime 30m within max_walltime");
        run_passes(&e, &l, e.admin, "{'vm': 'free'}", 0, "a vm in all_vms (no caps): its 2G and 2 vcpus, no time limit");

        /* lifted: the runs refused above pass */
        r = call(&e, 0, "vmgroup.mod", &d, &err, "{'vmgroup': 'lab1', 'max_mem': 0, 'max_vcpus': 0, 'max_walltime': 0}");
        ok(r == 0 && jint(d, "max_mem") == 0 && jint(d, "max_vcpus") == 0 && jint(d, "max_walltime") == 0,
           "vmgroup.mod lifts the caps (0)");
        json_decref(d);
        d = NULL;
        run_passes(&e, &l, e.admin, "{'vm': 'big'}", 0, "without caps the vm's own 2G and 2 vcpus");
        run_passes(&e, &l, stud, "{'vm': 'big', 'walltime': 7200}", 7200, "... and --walltime 2h");
        /* a cap on one, the others untouched; the vm's own size still binds */
        r = call(&e, 0, "vmgroup.mod", &d, &err, "{'vmgroup': 'lab1', 'max_vcpus': 4, 'ipv6': true}");
        ok(r == 0 && jint(d, "max_vcpus") == 4 && jint(d, "max_mem") == 0 && json_is_true(json_object_get(d, "ipv6")),
           "vmgroup.mod max_vcpus 4 and ipv6 on, max_mem stays 0");
        json_decref(d);
        d = NULL;
        error_clear(&err);
        r = call(&e, stud, "vm.run", NULL, &err, "{'vm': 'big', 'vcpus': 3, 'no_start': true}");
        ok(r == -EINVAL && strstr(err.message, "more than vm 'big' has"),
           "a cap above the vm's own vcpus does not raise them: %s", err.message);
        r = call(&e, stud, "vm.run", &d, &err, "{'vm': 'big', 'no_start': true}");
        json_int_t reserved = jint(d, "id");
        ok(r == 0 && json_is_true(json_object_get(d, "ipv6")), "a run in the IPv6 group: the instance has ipv6 (its filters)");
        json_decref(d);
        d = NULL;
        r = call(&e, 0, "vmgroup.mod", NULL, &err, "{'vmgroup': 'lab1', 'ipv6': false}");
        json_t *map = NULL;
        call(&e, 0, "map.list", &map, &err, "{}");
        json_t *m = json_array_get(map, 0);
        ok(r == 0 && json_array_size(map) == 1 && jint(m, "id") == reserved && json_is_true(json_object_get(m, "ipv6")),
           "... and keeps it when the group's IPv6 is turned off later");
        json_decref(map);
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'free', 'no_start': true}");
        ok(r == 0 && json_is_false(json_object_get(d, "ipv6")), "a run in all_vms: no ipv6");
        json_decref(d);
        d = NULL;
        r = call(&e, 0, "vmgroup.mod", NULL, &err, "{'vmgroup': 'lab1', 'ipv6': true}");
        json_t *list = NULL;
        r = call(&e, stud, "vmgroup.list", &list, &err, "{}");
        json_t *g = json_array_get(list, 1);
        ok(r == 0 && jint(g, "id") == 2 && jint(g, "max_vcpus") == 4 && json_is_true(json_object_get(g, "ipv6")),
           "vmgroup.list (any user) shows max_vcpus and ipv6");
        json_decref(list);
        tenv_close(&e);
}

int main(void) {
        test_cli();
        test_ops();
        return tap_done();
}
