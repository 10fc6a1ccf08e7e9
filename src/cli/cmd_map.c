/* cmd_map.c - "vmbatch instance release|stop|suspend|resume|show|list":
 * the running (or reserved) instances, the paper's Mapping table. "map"
 * is another name of the same noun (modern.c), with the same verbs. */
#include "cli/cli.h"

static int instance_id(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_u32(args, "instance", a->pos[0], "INSTANCE", err);
}

/* The verbs on one instance: the id as the one positional, no options. */
#define ONE_INSTANCE .pos_name = "INSTANCE", .min_pos = 1, .max_pos = 1, .opts = cli_no_opts, .build = instance_id

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
                .help = "Show one instance (state, address, VNC display and password).\n",
                ONE_INSTANCE,
                .print = cli_print_stopped,
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
