/* cmd_misc.c - "vmbatch init", "vmbatch ping", "vmbatch audit list" */
#include "cli/cli.h"

static int init_build(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_path(args, "dbpath", cli_args_value(a, "dbpath"), cwd, "--dbpath", err);
}

static int audit_list(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_count(args, "limit", cli_args_value(a, "limit"), "--limit", err);
}

static const CliOpt init_opts[] = {
        {"dbpath", CLI_OPT_VALUE},
        {},
};

static const CliOpt audit_opts[] = {
        {"limit", CLI_OPT_VALUE},
        {},
};

const CliVerb cli_init_verbs[] = {
        {
                .op = "init",
                .usage = "[--dbpath PATH]",
                .help = "Initialise the database, once (the configured admin or root): creates the\n"
                        "user groups admin (0) and all_users (1), the VM group all_vms (1) and the\n"
                        "default admin user.\n"
                        "  --dbpath PATH   where the daemon keeps its database\n",
                .opts = init_opts,
                .build = init_build,
                .print = cli_print_init,
        },
        {},
};

const CliVerb cli_ping_verbs[] = {
        {
                .op = "ping",
                .usage = "",
                .help = "Check that vmbatchd answers; shows who it thinks you are.\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_ping,
        },
        {},
};

const CliVerb cli_audit_verbs[] = {
        {
                .name = "list",
                .op = "audit.list",
                .usage = "[--limit N] [--json]",
                .help = "Show the audit log, newest last (admin only).\n"
                        "  --limit N   only the last N entries\n",
                .opts = audit_opts,
                .build = audit_list,
                .print = cli_print_audit,
        },
        {},
};
