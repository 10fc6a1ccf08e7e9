/* cmd_user.c - "vmbatch user add|mod|del|list" */
#include "cli/cli.h"

static int user_add(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_u32(args, "uid", cli_args_value(a, "uid"), "--uid", err)) < 0 ||
            (r = cli_put_ref_lists(a, "group", args, "groups", err)) < 0 ||
            (r = cli_put_path(args, "stordir", cli_args_value(a, "stordir"), cwd, "--stordir", err)) < 0 ||
            (r = cli_put_u32(args, "max_running", cli_args_value(a, "max-running"), "--max-running", err)) < 0 ||
            (r = cli_put_size(args, "max_storage", cli_args_value(a, "max-storage"), "--max-storage", err)) < 0)
                return r;
        return 0;
}

static int user_mod(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_ref(args, "user", a->pos[0], "USER", err)) < 0 ||
            (r = cli_put_name(args, "name", cli_args_value(a, "name"), "--name", err)) < 0 ||
            (r = cli_put_ref_lists(a, "add-group", args, "add_groups", err)) < 0 ||
            (r = cli_put_ref_lists(a, "del-group", args, "del_groups", err)) < 0 ||
            (r = cli_put_path(args, "stordir", cli_args_value(a, "stordir"), cwd, "--stordir", err)) < 0 ||
            (r = cli_put_u32(args, "max_running", cli_args_value(a, "max-running"), "--max-running", err)) < 0 ||
            (r = cli_put_size(args, "max_storage", cli_args_value(a, "max-storage"), "--max-storage", err)) < 0)
                return r;
        if (json_object_size(args) < 2)
                return error_set(err, -EINVAL, "nothing to change");
        return 0;
}

static int user_ref(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_ref(args, "user", a->pos[0], "USER", err);
}

static const CliOpt add_opts[] = {
        {"uid", CLI_OPT_VALUE},
        {"group", CLI_OPT_VALUE | CLI_OPT_MULTI},
        {"stordir", CLI_OPT_VALUE},
        {"max-running", CLI_OPT_VALUE},
        {"max-storage", CLI_OPT_VALUE},
        {},
};

static const CliOpt mod_opts[] = {
        {"name", CLI_OPT_VALUE},
        {"add-group", CLI_OPT_VALUE | CLI_OPT_MULTI},
        {"del-group", CLI_OPT_VALUE | CLI_OPT_MULTI},
        {"stordir", CLI_OPT_VALUE},
        {"max-running", CLI_OPT_VALUE},
        {"max-storage", CLI_OPT_VALUE},
        {},
};

const CliVerb cli_user_verbs[] = {
        {
                .name = "add",
                .op = "user.add",
                .usage = "NAME [--uid N] [--group G]... [--stordir DIR] [--max-running N] [--max-storage SIZE]",
                .help = "Register a system user with vmbatch (admin only).\n"
                        "  --uid N             the user's uid (default: the system uid of NAME)\n"
                        "  --group G           add to user group G (name or id; repeat or G1,G2)\n"
                        "  --stordir DIR       folder for the user's discs\n"
                        "  --max-running N     instances the user may run at once (default 2)\n"
                        "  --max-storage SIZE  storage quota, e.g. 13G (default 13G)\n",
                .pos_name = "NAME",
                .min_pos = 1,
                .max_pos = 1,
                .opts = add_opts,
                .build = user_add,
                .print = cli_print_added_user,
        },
        {
                .name = "mod",
                .op = "user.mod",
                .usage = "USER [--name NEW] [--add-group G]... [--del-group G]... [--stordir DIR] "
                         "[--max-running N] [--max-storage SIZE]",
                .help = "Change a user (admin only). USER is a uid or a name.\n"
                        "  --name NEW          rename\n"
                        "  --add-group G       add to user group G (repeat or G1,G2)\n"
                        "  --del-group G       remove from user group G\n"
                        "  --stordir DIR       folder for new discs\n"
                        "  --max-running N     instances the user may run at once\n"
                        "  --max-storage SIZE  storage quota, e.g. 13G\n",
                .pos_name = "USER",
                .min_pos = 1,
                .max_pos = 1,
                .opts = mod_opts,
                .build = user_mod,
        },
        {
                .name = "del",
                .op = "user.del",
                .usage = "USER",
                .help = "Remove a user (admin only; refused while they own VMs or run instances).\n",
                .pos_name = "USER",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = user_ref,
        },
        {
                .name = "list",
                .op = "user.list",
                .usage = "[--json]",
                .help = "List users (non-admins see themselves).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_users,
        },
        {},
};
