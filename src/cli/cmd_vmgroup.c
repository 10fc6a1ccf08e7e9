/* cmd_vmgroup.c - "vmbatch vmgroup add|mod|del|list" */
#include "cli/cli.h"

static int vmgroup_add(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        const char *iprange = cli_args_value(a, "iprange");
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_u32(args, "id", cli_args_value(a, "id"), "--id", err)) < 0)
                return r;
        if (!iprange)
                return error_set(err, -EINVAL, "missing --iprange");
        return cli_put_iprange(args, "iprange", iprange, "--iprange", err);
}

static int vmgroup_mod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_ref(args, "vmgroup", a->pos[0], "VMGROUP", err)) < 0 ||
            (r = cli_put_name(args, "name", cli_args_value(a, "name"), "--name", err)) < 0 ||
            (r = cli_put_iprange(args, "iprange", cli_args_value(a, "iprange"), "--iprange", err)) < 0)
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
        {},
};

static const CliOpt mod_opts[] = {
        {"name", CLI_OPT_VALUE},
        {"iprange", CLI_OPT_VALUE},
        {},
};

const CliVerb cli_vmgroup_verbs[] = {
        {
                .name = "add",
                .op = "vmgroup.add",
                .usage = "NAME --iprange A.B.C.D-E.F.G.H [--id N]",
                .help = "Create a VM group with its own IP range (admin only).\n"
                        "  --iprange A-B   the addresses its instances get, e.g. 192.168.100.2-192.168.100.254\n"
                        "  --id N          the group's id (default: the next free one)\n",
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
                .usage = "VMGROUP [--name NEW] [--iprange A-B]",
                .help = "Rename a VM group or change its IP range (admin only).\n",
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
                .help = "List VM groups.\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_vmgroups,
        },
        {},
};
