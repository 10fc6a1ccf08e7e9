/* cmd_map.c - "vmbatch instance release|stop|suspend|resume|show|list":
 * the running (or reserved) instances, the paper's Mapping table. "map"
 * is another name of the same noun (modern.c), with the same verbs. And
 * "vmbatch console VM | --instance N": an instance's browser console. */
#include "cli/cli.h"

static int instance_id(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_u32(args, "instance", a->pos[0], "INSTANCE", err);
}

/* The verbs on one instance: the id as the one positional, no options. */
#define ONE_INSTANCE .pos_name = "INSTANCE", .min_pos = 1, .max_pos = 1, .opts = cli_no_opts, .build = instance_id

/* VM (the caller's running instance of it) or --instance N */
static int console_target(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_vm_or_instance(a, args, err);
}

/* --wall [--vmgroup G | --group UG]: the selection; both given is the
 * daemon's refusal, so that it is said in one place */
static int wall_target(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        cli_args_flag(a, "wall");
        const char *vmg = cli_args_value(a, "vmgroup"), *ug = cli_args_value(a, "group");
        if (vmg)
                json_object_set_new(args, "vmgroup", json_string(vmg));
        if (ug)
                json_object_set_new(args, "group", json_string(ug));
        return 0;
}

static const CliOpt console_opts[] = {
        {"instance", CLI_OPT_VALUE},
        {"wall", CLI_OPT_FLAG},
        {"vmgroup", CLI_OPT_VALUE},
        {"group", CLI_OPT_VALUE},
        {},
};

static const CliVerb console_wall_verb = {
        .op = "console.wall",
        .usage = "--wall [--vmgroup G | --group UG] [--json]",
        .min_pos = 0,
        .max_pos = 0,
        .opts = console_opts,
        .build = wall_target,
        .print = cli_print_wall,
};

static const CliVerb *console_select(CliArgs *a) {
        return cli_args_flag(a, "wall") ? &console_wall_verb : &cli_console_verbs[0];
}

const CliVerb cli_console_verbs[] = {
        {
                .op = "console.open",
                .usage = "VM | --instance N | --wall [--vmgroup G | --group UG] [--json]",
                .pos_name = "VM",
                .help = "Print a URL that opens the instance's console in a browser. The URL\n"
                        "carries a one-time token: valid once, for 60 s (console_token_ttl), for\n"
                        "the instance's runner or an admin only.\n"
                        "  --instance N   the instance (else: your running instance of VM)\n"
                        "  --wall         (admins) the teacher's wall instead: a URL showing the\n"
                        "                 running instances, each live with its student's name\n"
                        "  --vmgroup G    the wall of VM group G's instances\n"
                        "  --group UG     the wall of user group UG's members' instances\n",
                .min_pos = 0,
                .max_pos = 1,
                .opts = console_opts,
                .build = console_target,
                .print = cli_print_console,
                .select = console_select,
        },
        {},
};

const CliVerb cli_instance_verbs[] = {
        {
                .name = "release",
                .op = "instance.release",
                .usage = "INSTANCE",
                .help = "Free the IP, MAC and DHCP lease of an instance (e.g. one reserved with\n"
                        "'vm run --no-start').\n",
                ONE_INSTANCE,
        },
        {
                .name = "stop",
                .op = "instance.stop",
                .usage = "INSTANCE",
                .help = "Stop a running instance.\n",
                ONE_INSTANCE,
                .print = cli_print_stopped,
        },
        {
                .name = "suspend",
                .op = "instance.suspend",
                .usage = "INSTANCE",
                .help = "Pause a running instance (QMP stop).\n",
                ONE_INSTANCE,
                .print = cli_print_stopped,
        },
        {
                .name = "resume",
                .op = "instance.resume",
                .usage = "INSTANCE",
                .help = "Let a suspended instance run again (QMP cont).\n",
                ONE_INSTANCE,
                .print = cli_print_stopped,
        },
        {
                .name = "show",
                .op = "instance.show",
                .usage = "INSTANCE [--json]",
                .help = "Show one instance (state, address, VNC display and password; whether its\n"
                        "browser console is open and when its last console input came).\n",
                ONE_INSTANCE,
                .print = cli_print_instance,
        },
        {
                .name = "list",
                .op = "map.list",
                .usage = "[--json]",
                .help = "List instances: where they run, their IP, MAC, VNC port and tap\n"
                        "(non-admins see their own).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_map,
        },
        {},
};
