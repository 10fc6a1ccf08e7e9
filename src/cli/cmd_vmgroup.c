/* cmd_vmgroup.c - "vmbatch vmgroup add|mod|del|list", and the run limits
 * and IPv6 switch both syntaxes give a VM group (cmd_vmgroup.h). */
#include "cli/cmd_vmgroup.h"

#include "cli/table.h"

static bool no_cap(const char *v) {
        return v && (streq(v, "none") || streq(v, "0"));
}

int cli_put_vmgroup_limits(CliArgs *a, const CliVmgroupLimitOpts *o, json_t *args, Error *err) {
        const char *mem = cli_args_value(a, o->max_mem), *vcpus = cli_args_value(a, o->max_vcpus),
                   *walltime = cli_args_value(a, o->max_walltime);
        char w_mem[40], w_vcpus[40], w_walltime[40];
        snprintf(w_mem, sizeof(w_mem), "--%s", o->max_mem);
        snprintf(w_vcpus, sizeof(w_vcpus), "--%s", o->max_vcpus);
        snprintf(w_walltime, sizeof(w_walltime), "--%s", o->max_walltime);
        int r;
        if ((r = no_cap(mem) ? cli_put_u32(args, "max_mem", "0", w_mem, err)
                             : cli_put_nzsize(args, "max_mem", mem, w_mem, err)) < 0 ||
            (r = no_cap(vcpus) ? cli_put_u32(args, "max_vcpus", "0", w_vcpus, err)
                               : cli_put_count(args, "max_vcpus", vcpus, w_vcpus, err)) < 0 ||
            (r = no_cap(walltime) ? cli_put_u32(args, "max_walltime", "0", w_walltime, err)
                                  : cli_put_duration(args, "max_walltime", walltime, w_walltime, err)) < 0)
                return r;
        bool on = cli_args_flag(a, o->ipv6), off = o->no_ipv6 && cli_args_flag(a, o->no_ipv6);
        if (on && off)
                return error_set(err, -EINVAL, "--%s and --%s contradict each other", o->ipv6, o->no_ipv6);
        cli_put_bool(args, "ipv6", on || off, on);
        return 0;
}

static const CliVmgroupLimitOpts limit_opts = {"max-mem", "max-vcpus", "max-walltime", "ipv6", "no-ipv6"};
static const CliVmgroupLimitOpts limit_opts_add = {"max-mem", "max-vcpus", "max-walltime", "ipv6", NULL};

/* "2h", "90m", "45s"; "-" for none */
static void walltime_text(json_int_t s, char buf[24]) {
        if (s <= 0)
                snprintf(buf, 24, "-");
        else if (s % 3600 == 0)
                snprintf(buf, 24, "%lldh", (long long)s / 3600);
        else if (s % 60 == 0)
                snprintf(buf, 24, "%lldm", (long long)s / 60);
        else
                snprintf(buf, 24, "%llds", (long long)s);
}

/* vmapp --vmglist keeps the paper's three columns; this list adds the
 * run limits ("-": none) and the IPv6 switch */
static int print_vmgroup_list(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const headers[] = {"id", "name", "ip_range", "max_mem", "max_vcpus", "max_walltime", "ipv6"};
        size_t i;
        json_t *g;
        if (!json_is_array(data))
                return -EBADMSG;
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(headers), headers);
        json_array_foreach(data, i, g) {
                if (!json_is_object(g))
                        return -EBADMSG;
                json_int_t mem = json_integer_value(json_object_get(g, "max_mem")),
                           vcpus = json_integer_value(json_object_get(g, "max_vcpus"));
                char mem_text[32] = "-", walltime[24];
                if (mem > 0)
                        format_size((uint64_t)mem, mem_text, sizeof(mem_text));
                walltime_text(json_integer_value(json_object_get(g, "max_walltime")), walltime);
                table_add_json(t, json_object_get(g, "id"));
                table_add_json(t, json_object_get(g, "name"));
                table_add_json(t, json_object_get(g, "iprange"));
                table_add(t, mem_text);
                if (vcpus > 0)
                        table_addf(t, "%lld", (long long)vcpus);
                else
                        table_add(t, "-");
                table_add(t, walltime);
                table_add(t, json_is_true(json_object_get(g, "ipv6")) ? "1" : "0");
        }
        return table_print(t, f);
}

static int vmgroup_add(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        const char *iprange = cli_args_value(a, "iprange");
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_u32(args, "id", cli_args_value(a, "id"), "--id", err)) < 0 ||
            (r = cli_put_vmgroup_limits(a, &limit_opts_add, args, err)) < 0)
                return r;
        if (!iprange)
                return error_set(err, -EINVAL, "missing --iprange");
        return cli_put_iprange(args, "iprange", iprange, "--iprange", err);
}

static int vmgroup_mod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_ref(args, "vmgroup", a->pos[0], "VMGROUP", err)) < 0 ||
            (r = cli_put_name(args, "name", cli_args_value(a, "name"), "--name", err)) < 0 ||
            (r = cli_put_iprange(args, "iprange", cli_args_value(a, "iprange"), "--iprange", err)) < 0 ||
            (r = cli_put_vmgroup_limits(a, &limit_opts, args, err)) < 0)
                return r;
        if (json_object_size(args) < 2)
                return error_set(err, -EINVAL, "nothing to change (give --name or --iprange)");
        return 0;
}

static int vmgroup_ref(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_ref(args, "vmgroup", a->pos[0], "VMGROUP", err);
}

static const CliOpt add_opts[] = {
        {"iprange", CLI_OPT_VALUE},
        {"id", CLI_OPT_VALUE},
        {"max-mem", CLI_OPT_VALUE},
        {"max-vcpus", CLI_OPT_VALUE},
        {"max-walltime", CLI_OPT_VALUE},
        {"ipv6", CLI_OPT_FLAG},
        {},
};

static const CliOpt mod_opts[] = {
        {"name", CLI_OPT_VALUE},
        {"iprange", CLI_OPT_VALUE},
        {"max-mem", CLI_OPT_VALUE},
        {"max-vcpus", CLI_OPT_VALUE},
        {"max-walltime", CLI_OPT_VALUE},
        {"ipv6", CLI_OPT_FLAG},
        {"no-ipv6", CLI_OPT_FLAG},
        {},
};

#define LIMITS_HELP                                                                                       \
        "  --max-mem SIZE      at most this memory per run of a VM of the group (none: no cap)\n"         \
        "  --max-vcpus N       at most N vcpus per run (none: no cap)\n"                                  \
        "  --max-walltime T    the longest --walltime of a run, e.g. 3h; a run without one gets T\n"      \
        "                      (none: no cap)\n"                                                          \
        "  --ipv6              its VMs may use global and ULA IPv6 sources with their own interface\n"    \
        "                      identifier (default: link-local only)\n"

const CliVerb cli_vmgroup_verbs[] = {
        {
                .name = "add",
                .op = "vmgroup.add",
                .usage = "NAME --iprange A.B.C.D-E.F.G.H [--id N] [--max-mem SIZE] [--max-vcpus N]\n"
                         "       [--max-walltime T] [--ipv6]",
                .help = "Create a VM group with its own IP range (admin only).\n"
                        "  --iprange A-B       the addresses its instances get, e.g. 192.168.100.2-192.168.100.254\n"
                        "  --id N              the group's id (default: the next free one)\n" LIMITS_HELP,
                .pos_name = "NAME",
                .min_pos = 1,
                .max_pos = 1,
                .opts = add_opts,
                .build = vmgroup_add,
                .print = cli_print_added_vmgroup,
        },
        {
                .name = "mod",
                .op = "vmgroup.mod",
                .usage = "VMGROUP [--name NEW] [--iprange A-B] [--max-mem SIZE|none] [--max-vcpus N|none]\n"
                         "       [--max-walltime T|none] [--ipv6 | --no-ipv6]",
                .help = "Rename a VM group, change its IP range, its run limits or its IPv6 (admin only;\n"
                        "runs started later get the change).\n" LIMITS_HELP
                        "  --no-ipv6           link-local IPv6 only (the default)\n",
                .pos_name = "VMGROUP",
                .min_pos = 1,
                .max_pos = 1,
                .opts = mod_opts,
                .build = vmgroup_mod,
        },
        {
                .name = "del",
                .op = "vmgroup.del",
                .usage = "VMGROUP",
                .help = "Remove a VM group (admin only; not 1, nor while VMs are in it).\n",
                .pos_name = "VMGROUP",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = vmgroup_ref,
        },
        {
                .name = "list",
                .op = "vmgroup.list",
                .usage = "[--json]",
                .help = "List VM groups, with their run limits and IPv6.\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = print_vmgroup_list,
        },
        {},
};
