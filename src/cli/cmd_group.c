/* cmd_group.c - "vmbatch group add|mod|del|list" (user groups) */
#include "cli/cli.h"

static int group_add(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_u32(args, "id", cli_args_value(a, "id"), "--id", err)) < 0)
                return r;
        return 0;
}

static int group_mod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        const char *name = cli_args_value(a, "name");
        if ((r = cli_put_ref(args, "group", a->pos[0], "GROUP", err)) < 0)
                return r;
        if (!name)
                return error_set(err, -EINVAL, "missing --name");
        return cli_put_name(args, "name", name, "--name", err);
}

static int group_ref(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_ref(args, "group", a->pos[0], "GROUP", err);
}

static const CliOpt add_opts[] = {
        {"id", CLI_OPT_VALUE},
        {},
};

static const CliOpt mod_opts[] = {
        {"name", CLI_OPT_VALUE},
        {},
};

const CliVerb cli_group_verbs[] = {
        {
                .name = "add",
                .op = "ugroup.add",
                .usage = "NAME [--id N]",
                .help = "Create a user group (admin only).\n"
                        "  --id N   the group's id (default: the next free one)\n",
                .pos_name = "NAME",
                .min_pos = 1,
                .max_pos = 1,
                .opts = add_opts,
                .build = group_add,
                .print = cli_print_added_group,
        },
        {
                .name = "mod",
                .op = "ugroup.mod",
                .usage = "GROUP --name NEW",
                .help = "Rename a user group (admin only). GROUP is an id or a name.\n",
                .pos_name = "GROUP",
                .min_pos = 1,
                .max_pos = 1,
                .opts = mod_opts,
                .build = group_mod,
        },
        {
                .name = "del",
                .op = "ugroup.del",
                .usage = "GROUP",
                .help = "Remove a user group (admin only; not 0 or 1, nor while grants name it).\n",
                .pos_name = "GROUP",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = group_ref,
        },
        {
                .name = "list",
                .op = "ugroup.list",
                .usage = "[--json]",
                .help = "List user groups (non-admins see their own).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_groups,
        },
        {},
};
