/* cmd_perm.c - "vmbatch perm set|del|list" */
#include "cli/cli.h"

/* One of --user/--group and one of --vm/--vmgroup. */
static int subject_object(CliArgs *a, json_t *args, Error *err) {
        const char *user = cli_args_value(a, "user"), *group = cli_args_value(a, "group");
        const char *vm = cli_args_value(a, "vm"), *vmgroup = cli_args_value(a, "vmgroup");
        int r;

        if (!!user + !!group != 1)
                return error_set(err, -EINVAL, "give exactly one of --user or --group");
        if (!!vm + !!vmgroup != 1)
                return error_set(err, -EINVAL, "give exactly one of --vm or --vmgroup");
        if ((r = cli_put_ref(args, "user", user, "--user", err)) < 0 ||
            (r = cli_put_ref(args, "group", group, "--group", err)) < 0 ||
            (r = cli_put_ref(args, "vm", vm, "--vm", err)) < 0 ||
            (r = cli_put_ref(args, "vmgroup", vmgroup, "--vmgroup", err)) < 0)
                return r;
        return 0;
}

static int perm_set(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = subject_object(a, args, err);
        if (r < 0)
                return r;
        return cli_perm_spec(args, a->pos[0], err);
}

static int perm_del(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return subject_object(a, args, err);
}

static const CliOpt so_opts[] = {
        {"user", CLI_OPT_VALUE},
        {"group", CLI_OPT_VALUE},
        {"vm", CLI_OPT_VALUE},
        {"vmgroup", CLI_OPT_VALUE},
        {},
};

const CliVerb cli_perm_verbs[] = {
        {
                .name = "set",
                .op = "perm.set",
                .usage = "(--user U | --group G) (--vm V | --vmgroup G) +r,+m,-d,+i",
                .help = "Grant (+) or revoke (-) rights of a user or user group on a VM or VM group\n"
                        "(admins; owners for their own VMs). Letters: r run, m modify, d derive,\n"
                        "i force_isolated (the subject may run it only with --isolate).\n"
                        "Rights not named stay as they are.\n",
                .pos_name = "PERMISSIONS (e.g. +r,+d,-i)",
                .min_pos = 1,
                .max_pos = 1,
                .parse_flags = CLI_PARSE_DASH_POSITIONAL,
                .opts = so_opts,
                .build = perm_set,
        },
        {
                .name = "del",
                .op = "perm.del",
                .usage = "(--user U | --group G) (--vm V | --vmgroup G)",
                .help = "Remove a grant altogether.\n",
                .opts = so_opts,
                .build = perm_del,
        },
        {
                .name = "list",
                .op = "perm.list",
                .usage = "[--json]",
                .help = "List grants: yours, your groups', and those on VMs you own (admins: all).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_perms,
        },
        {},
};
