/* paper.c - the paper's vmapp syntax, see paper.h and vmapp(1). */
#include "cli/paper.h"

#include <stdio.h>

#include "cli/cmd_vmgroup.h"
#include "cli/memtext.h"

typedef struct PaperAction {
        const char *name; /* option name of the action, "uadd" */
        const char *op;
        const char *usage; /* the rest of the line after "vmapp --uadd" */
        cli_build_fn build;
        cli_print_fn print;
} PaperAction;

#define V CLI_OPT_VALUE
#define M (CLI_OPT_VALUE | CLI_OPT_MULTI)
#define A CLI_OPT_ACTION

static const CliOpt paper_opts[] = {
        /* actions */
        {"init", A},      {"ugadd", A},     {"ugdel", A},         {"ugmod", A},     {"uglist", A},
        {"uadd", A},      {"udel", A},      {"umod", A},          {"ulist", A},     {"vmgadd", A},
        {"vmgdel", A},    {"vmgmod", A},    {"vmglist", A},       {"vmadd", A},     {"vmdel", A},
        {"vmmod", A},     {"vmlist", A},    {"vmshow", A},        {"permset", A | V}, {"permdel", A},
        {"permlist", A},  {"vmrun", A},     {"vmstop", A},        {"vmrelease", A}, {"maplist", A},
        {"auditlist", A}, {"ping", A},      {"vmsuspend", A},     {"vmresume", A},      {"vmconsole", A},
        /* arguments */
        {"dbpath", V},    {"name", V},      {"newname", V},       {"ugid", V},      {"uid", V},
        {"ug", M},        {"delug", M},     {"stordir", V},       {"maxvms", V},    {"maxstor", V},
        {"vmgid", V},     {"iprange", V},   {"vmg", V},           {"stor", M},      {"usediscs", M},
        {"base", V},      {"mem", V},       {"vcpus", V},         {"derivable", 0}, {"noderivable", 0},
        {"desc", V},      {"kernel", V},    {"initrd", V},        {"cmdline", V},   {"vm", V},
        {"vmid", V},      {"u", V},         {"keepdiscs", 0},     {"isolate", 0},   {"install", 0},
        {"cdrom", V},     {"nostart", 0},   {"instance", V},      {"limit", V},     {"walltime", V},
        {"host", V},      {"nowait", 0},    {"force", 0},
        /* vm group run limits and IPv6 (--vmgadd, --vmgmod) */
        {"maxmem", V},    {"maxvcpus", V},  {"maxwalltime", V},   {"ipv6", 0},      {"noipv6", 0},
        {},
};

#undef V
#undef M
#undef A

const CliOpt *cli_paper_options(void) {
        return paper_opts;
}

/* ---- helpers ---- */

static int need(const char *value, const char *what, Error *err) {
        if (!value)
                return error_set(err, -EINVAL, "missing %s", what);
        return 0;
}

/* The entity an action works on: by id (--ugid/--uid/--vmgid/--vmid) or by
 * --name. With an id, --name is the new name (for the mod actions). */
static int target(CliArgs *a, const char *id_opt, const char *key, json_t *args, const char **ret_newname,
                  Error *err) {
        _cleanup_free_ char *what = xasprintf("--%s", id_opt);
        const char *id = cli_args_value(a, id_opt), *name = cli_args_value(a, "name");
        const char *newname = ret_newname ? cli_args_value(a, "newname") : NULL;
        int r;

        if (id) {
                uint32_t v;
                if ((r = cli_parse_u32(id, what, &v, err)) < 0)
                        return r;
                json_object_set_new(args, key, json_integer(v));
                if (name && !ret_newname)
                        return error_set(err, -EINVAL, "give %s or --name, not both", what);
                if (name && newname)
                        return error_set(err, -EINVAL, "--name and --newname both rename (with %s)", what);
                if (ret_newname)
                        *ret_newname = newname ? newname : name;
                return 0;
        }
        if (!name)
                return error_set(err, -EINVAL, "missing %s or --name", what);
        if ((r = cli_put_ref(args, key, name, "--name", err)) < 0)
                return r;
        if (ret_newname)
                *ret_newname = newname;
        return 0;
}

/* A VM: --vm (id or name) or --vmid; with allow_name, --name too. */
static int target_vm(CliArgs *a, json_t *args, bool allow_name, Error *err) {
        const char *vm = cli_args_value(a, "vm"), *vmid = cli_args_value(a, "vmid");
        const char *name = allow_name ? cli_args_value(a, "name") : NULL;
        int r;

        if (!!vm + !!vmid + !!name > 1)
                return error_set(err, -EINVAL, "name the VM once (--vm, --vmid%s)", allow_name ? " or --name" : "");
        if (vmid) {
                uint32_t v;
                if ((r = cli_parse_u32(vmid, "--vmid", &v, err)) < 0)
                        return r;
                json_object_set_new(args, "vm", json_integer(v));
                return 0;
        }
        if (!vm && !name)
                return error_set(err, -EINVAL, "missing --vm");
        return cli_put_ref(args, "vm", vm ? vm : name, vm ? "--vm" : "--name", err);
}

static int subject_object(CliArgs *a, json_t *args, Error *err) {
        const char *u = cli_args_value(a, "u"), *ug = cli_args_value(a, "ug");
        const char *vm = cli_args_value(a, "vm"), *vmg = cli_args_value(a, "vmg");
        int r;

        /* --ug is multi-valued for --uadd; here exactly one group */
        size_t idx = 0, n_ug = 0;
        while (cli_args_next(a, "ug", &idx))
                n_ug++;
        if (n_ug > 1 || (ug && strchr(ug, ',')))
                return error_set(err, -EINVAL, "give one user group with --ug");
        if (!!u + !!ug != 1)
                return error_set(err, -EINVAL, "give exactly one of --u USER or --ug GROUP");
        if (!!vm + !!vmg != 1)
                return error_set(err, -EINVAL, "give exactly one of --vm VM or --vmg VMGROUP");
        if ((r = cli_put_ref(args, "user", u, "--u", err)) < 0 ||
            (r = cli_put_ref(args, "group", ug, "--ug", err)) < 0 ||
            (r = cli_put_ref(args, "vm", vm, "--vm", err)) < 0 ||
            (r = cli_put_ref(args, "vmgroup", vmg, "--vmg", err)) < 0)
                return r;
        return 0;
}

/* ---- actions ---- */

static int b_init(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_path(args, "dbpath", cli_args_value(a, "dbpath"), cwd, "--dbpath", err);
}

static int b_nothing(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return 0;
}

static int b_ugadd(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *name = cli_args_value(a, "name");
        int r;
        if ((r = need(name, "--name", err)) < 0 || (r = cli_put_name(args, "name", name, "--name", err)) < 0 ||
            (r = cli_put_u32(args, "id", cli_args_value(a, "ugid"), "--ugid", err)) < 0)
                return r;
        return 0;
}

static int b_ugdel(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return target(a, "ugid", "group", args, NULL, err);
}

static int b_ugmod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *newname = NULL;
        int r = target(a, "ugid", "group", args, &newname, err);
        if (r < 0)
                return r;
        if (!newname)
                return error_set(err, -EINVAL,
                                 "missing the new name (--ugid ID --name NEW, or --name OLD --newname NEW)");
        return cli_put_name(args, "name", newname, "--newname", err);
}

static int b_uadd(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *name = cli_args_value(a, "name");
        int r;
        if ((r = need(name, "--name", err)) < 0 || (r = cli_put_name(args, "name", name, "--name", err)) < 0 ||
            (r = cli_put_u32(args, "uid", cli_args_value(a, "uid"), "--uid", err)) < 0 ||
            (r = cli_put_ref_lists(a, "ug", args, "groups", err)) < 0 ||
            (r = cli_put_path(args, "stordir", cli_args_value(a, "stordir"), cwd, "--stordir", err)) < 0 ||
            (r = cli_put_u32(args, "max_running", cli_args_value(a, "maxvms"), "--maxvms", err)) < 0 ||
            (r = cli_put_size(args, "max_storage", cli_args_value(a, "maxstor"), "--maxstor", err)) < 0)
                return r;
        return 0;
}

static int b_udel(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return target(a, "uid", "user", args, NULL, err);
}

static int b_umod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *newname = NULL;
        int r;
        if ((r = target(a, "uid", "user", args, &newname, err)) < 0 ||
            (r = cli_put_name(args, "name", newname, "--newname", err)) < 0 ||
            (r = cli_put_ref_lists(a, "ug", args, "add_groups", err)) < 0 ||
            (r = cli_put_ref_lists(a, "delug", args, "del_groups", err)) < 0 ||
            (r = cli_put_path(args, "stordir", cli_args_value(a, "stordir"), cwd, "--stordir", err)) < 0 ||
            (r = cli_put_u32(args, "max_running", cli_args_value(a, "maxvms"), "--maxvms", err)) < 0 ||
            (r = cli_put_size(args, "max_storage", cli_args_value(a, "maxstor"), "--maxstor", err)) < 0)
                return r;
        if (json_object_size(args) < 2)
                return error_set(err, -EINVAL, "nothing to change");
        return 0;
}

static int b_vmgadd(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *name = cli_args_value(a, "name"), *iprange = cli_args_value(a, "iprange");
        int r;
        if ((r = need(name, "--name", err)) < 0 || (r = cli_put_name(args, "name", name, "--name", err)) < 0 ||
            (r = cli_put_u32(args, "id", cli_args_value(a, "vmgid"), "--vmgid", err)) < 0 ||
            (r = need(iprange, "--iprange", err)) < 0 ||
            (r = cli_put_iprange(args, "iprange", iprange, "--iprange", err)) < 0)
                return r;
        static const CliVmgroupLimitOpts limits = {"maxmem", "maxvcpus", "maxwalltime", "ipv6", NULL};
        return cli_put_vmgroup_limits(a, &limits, args, err);
}

static int b_vmgdel(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return target(a, "vmgid", "vmgroup", args, NULL, err);
}

static int b_vmgmod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *newname = NULL;
        int r;
        if ((r = target(a, "vmgid", "vmgroup", args, &newname, err)) < 0 ||
            (r = cli_put_name(args, "name", newname, "--newname", err)) < 0 ||
            (r = cli_put_iprange(args, "iprange", cli_args_value(a, "iprange"), "--iprange", err)) < 0)
                return r;
        static const CliVmgroupLimitOpts limits = {"maxmem", "maxvcpus", "maxwalltime", "ipv6", "noipv6"};
        if ((r = cli_put_vmgroup_limits(a, &limits, args, err)) < 0)
                return r;
        if (json_object_size(args) < 2)
                return error_set(err, -EINVAL, "nothing to change");
        return 0;
}

static int b_vmadd(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *name = cli_args_value(a, "name");
        int r;

        if ((r = need(name, "--name", err)) < 0 || (r = cli_put_name(args, "name", name, "--name", err)) < 0 ||
            (r = cli_put_ref(args, "vmgroup", cli_args_value(a, "vmg"), "--vmg", err)) < 0)
                return r;
        return cli_put_vm_add_options(a, cwd, "stor", args, err);
}

static int b_vmdel(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = target_vm(a, args, true, err);
        if (r < 0)
                return r;
        cli_put_bool(args, "keep_discs", cli_args_flag(a, "keepdiscs"), true);
        return 0;
}

static int b_vmshow(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return target_vm(a, args, true, err);
}

static int b_vmmod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        bool by_ref = cli_args_value(a, "vm") || cli_args_value(a, "vmid");
        bool der = cli_args_flag(a, "derivable"), noder = cli_args_flag(a, "noderivable");
        const char *newname = cli_args_value(a, "newname");
        int r;

        if (der && noder)
                return error_set(err, -EINVAL, "--derivable and --noderivable contradict each other");
        if (by_ref) {
                const char *name = cli_args_value(a, "name");
                if (name && newname)
                        return error_set(err, -EINVAL, "--name and --newname both rename (with --vm)");
                if (!newname)
                        newname = name;
        }
        if ((r = target_vm(a, args, !by_ref, err)) < 0 ||
            (r = cli_put_name(args, "name", newname, "--newname", err)) < 0)
                return r;
        return cli_put_vm_mod_options(a, cwd, der || noder, der, "vmg", args, err);
}

static int b_permset(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *spec = cli_args_value(a, "permset");
        int r = subject_object(a, args, err);
        if (r < 0)
                return r;
        return cli_perm_spec(args, spec, err);
}

static int b_permdel(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return subject_object(a, args, err);
}

static int b_vmrun(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = target_vm(a, args, false, err);
        return r < 0 ? r : cli_put_run_options(a, cwd, "nostart", args, err);
}

static int b_vmstop(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *instance = cli_args_value(a, "instance");
        if (cli_args_flag(a, "force") && !json_object_get(args, "force"))
                return error_set(err, -EINVAL, "--force goes with --vmstop only");
        if (instance) {
                if (cli_args_value(a, "vm") || cli_args_value(a, "vmid"))
                        return error_set(err, -EINVAL, "give --vm or --instance, not both");
                return cli_put_u32(args, "instance", instance, "--instance", err);
        }
        return target_vm(a, args, false, err);
}

static int b_vmstop_force(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        cli_put_bool(args, "force", cli_args_flag(a, "force"), true);
        return b_vmstop(a, cwd, args, err);
}

static int b_vmrelease(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        const char *instance = cli_args_value(a, "instance");
        int r = need(instance, "--instance", err);
        if (r < 0)
                return r;
        return cli_put_u32(args, "instance", instance, "--instance", err);
}

static int b_auditlist(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_count(args, "limit", cli_args_value(a, "limit"), "--limit", err);
}

static const PaperAction actions[] = {
        {"init", "init", "[--dbpath PATH]", b_init, cli_print_init},
        {"ugadd", "ugroup.add", "--name NAME [--ugid ID]", b_ugadd, NULL},
        {"ugdel", "ugroup.del", "--name NAME | --ugid ID", b_ugdel, NULL},
        {"ugmod", "ugroup.mod", "--ugid ID --name NEW | --name OLD --newname NEW", b_ugmod, NULL},
        {"uglist", "ugroup.list", "", b_nothing, cli_print_groups},
        {"uadd", "user.add",
         "--name NAME [--uid UID] [--ug G[,G2]] [--stordir DIR] [--maxvms N] [--maxstor SIZE]", b_uadd, NULL},
        {"udel", "user.del", "--name NAME | --uid UID", b_udel, NULL},
        {"umod", "user.mod",
         "(--uid UID [--name NEW] | --name NAME [--newname NEW]) [--ug G[,G2]] [--delug G[,G2]]\n"
         "           [--stordir DIR] [--maxvms N] [--maxstor SIZE]",
         b_umod, NULL},
        {"ulist", "user.list", "", b_nothing, cli_print_users},
        {"vmgadd", "vmgroup.add",
         "--name NAME [--vmgid ID] --iprange A.B.C.D-E.F.G.H\n"
         "           [--maxmem SIZE] [--maxvcpus N] [--maxwalltime T] [--ipv6]",
         b_vmgadd, NULL},
        {"vmgdel", "vmgroup.del", "--name NAME | --vmgid ID", b_vmgdel, NULL},
        {"vmgmod", "vmgroup.mod",
         "(--vmgid ID [--name NEW] | --name NAME [--newname NEW]) [--iprange A-B]\n"
         "           [--maxmem SIZE] [--maxvcpus N] [--maxwalltime T] [--ipv6 | --noipv6]",
         b_vmgmod, NULL},
        {"vmglist", "vmgroup.list", "", b_nothing, cli_print_vmgroups},
        {"vmadd", "vm.add",
         "--name NAME [--vmg G] (--stor SIZE[,SIZE]... | --usediscs PATH[,PATH]... | --base VM)\n"
         "           [--mem SIZE] [--vcpus N] [--derivable] [--desc TEXT]\n"
         "           [--kernel PATH --initrd PATH --cmdline TEXT]",
         b_vmadd, NULL},
        {"vmdel", "vm.del", "(--vm VM | --vmid ID | --name NAME) [--keepdiscs]", b_vmdel, NULL},
        {"vmmod", "vm.mod",
         "(--vm VM [--name NEW] | --name NAME [--newname NEW]) [--mem SIZE] [--vcpus N]\n"
         "           [--derivable | --noderivable] [--desc TEXT] [--vmg G] [--kernel PATH]\n"
         "           [--initrd PATH] [--cmdline TEXT]",
         b_vmmod, NULL},
        {"vmlist", "vm.list", "", b_nothing, cli_print_vms},
        {"vmshow", "vm.show", "--vm VM", b_vmshow, cli_print_vm},
        {"permset", "perm.set", "+r,+m,+d,+i (--u USER | --ug GROUP) (--vm VM | --vmg VMGROUP)", b_permset, NULL},
        {"permdel", "perm.del", "(--u USER | --ug GROUP) (--vm VM | --vmg VMGROUP)", b_permdel, NULL},
        {"permlist", "perm.list", "", b_nothing, cli_print_perms},
        {"vmrun", "vm.run", "--vm VM [--mem SIZE] [--vcpus N] [--isolate] [--install --cdrom ISO] [--nostart] [--walltime T] [--host NAME] [--nowait]",
         b_vmrun, cli_print_run},
        {"vmstop", "instance.stop", "--vm VM | --instance N [--force]", b_vmstop_force, cli_print_stopped},
        {"vmsuspend", "instance.suspend", "--vm VM | --instance N", b_vmstop, cli_print_stopped},
        {"vmresume", "instance.resume", "--vm VM | --instance N", b_vmstop, cli_print_stopped},
        {"vmconsole", "console.open", "--vm VM | --instance N", b_vmstop, cli_print_console},
        {"vmrelease", "instance.release", "--instance N", b_vmrelease, NULL},
        {"maplist", "map.list", "", b_nothing, cli_print_map},
        {"auditlist", "audit.list", "[--limit N]", b_auditlist, cli_print_audit},
        {"ping", "ping", "", b_nothing, cli_print_ping},
};

static char *paper_usage(const PaperAction *only) {
        MemText text;
        FILE *f = memtext_open(&text);
        bool first = true;
        for (size_t i = 0; i < ELEMENTSOF(actions); i++) {
                const PaperAction *p = &actions[i];
                if (only && only != p)
                        continue;
                fprintf(f, "%s vmapp --%s%s%s\n", first ? "Usage:" : "      ", p->name, *p->usage ? " " : "",
                        p->usage);
                first = false;
        }
        fputs("\n"
              "The syntax of the original vmapp; 'vmbatch' offers the same with subcommands.\n"
              "Permissions: r run, m modify, d derive, i force_isolated; + grants, - revokes.\n"
              "Sizes: 512M, 5G, 1T. Add --json to print the daemon's answer as JSON.\n",
              f);
        if (!only)
                fputs("Run 'vmapp --ACTION --help' for one action's syntax; see vmapp(1).\n", f);
        return memtext_close(&text);
}

static const PaperAction *find_action(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(actions); i++)
                if (streq(actions[i].name, name))
                        return &actions[i];
        return NULL;
}

int cli_paper_parse(int argc, char **argv, const char *cwd, CliCommand *c, Error *err) {
        _cleanup_(cli_args_done) CliArgs a = {0};
        const PaperAction *act = NULL;
        const CliArgItem *act_item = NULL;
        int r;

        snprintf(c->hint, sizeof(c->hint), "vmapp --help");
        free(c->usage_text);
        c->usage_text = paper_usage(NULL);

        r = cli_args_parse(&a, argc > 0 ? argc - 1 : 0, argv + 1, paper_opts, CLI_PARSE_SINGLE_DASH_LONG, err);
        if (r < 0)
                return r;
        c->json = a.json;

        for (size_t k = 0; k < a.n_items; k++) {
                if (!(a.items[k].opt->flags & CLI_OPT_ACTION))
                        continue;
                if (act_item) {
                        if (a.help)
                                break;
                        return error_set(err, -EINVAL, "conflicting actions '--%s' and '--%s'", act_item->opt->name,
                                         a.items[k].opt->name);
                }
                act_item = &a.items[k];
                a.items[k].used = true;
        }
        if (act_item) {
                act = find_action(act_item->opt->name);
                snprintf(c->hint, sizeof(c->hint), "vmapp --%s --help", act->name);
                free(c->usage_text);
                c->usage_text = paper_usage(act);
        }
        if (a.help || a.version) {
                c->help = a.help;
                c->version = !a.help;
                return CLI_HELP;
        }
        if (!act)
                return error_set(err, -EINVAL, "no action given (e.g. --vmlist)");
        if (a.n_pos > 0)
                return error_set(err, -EINVAL, "unexpected argument '%s'", a.pos[0]);

        _cleanup_free_ char *where = xasprintf("with --%s", act->name);
        return cli_command_build(c, &a, cwd, act->op, act->build, act->print, where, err);
}

int cli_paper_to_request(int argc, char **argv, const char *cwd, json_t **ret_req, Error *err) {
        _cleanup_(cli_command_done) CliCommand c = {0};
        int r = cli_paper_parse(argc, argv, cwd, &c, err);
        if (r != 0)
                return r;
        *ret_req = TAKE_PTR(c.request);
        return 0;
}
