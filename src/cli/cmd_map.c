/* cmd_map.c - "vmbatch map list" and "vmbatch instance release|stop|list":
 * the running (or reserved) instances, the paper's Mapping table. */
#include "cli/cli.h"

static int instance_id(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_u32(args, "instance", a->pos[0], "INSTANCE", err);
}

const CliVerb cli_map_verbs[] = {
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

const CliVerb cli_instance_verbs[] = {
        {
                .name = "release",
                .op = "instance.release",
                .usage = "INSTANCE",
                .help = "Free the IP, MAC and DHCP lease of an instance (e.g. one reserved with\n"
                        "'vm run --no-start').\n",
                .pos_name = "INSTANCE",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = instance_id,
        },
        {
                .name = "stop",
                .op = "instance.stop",
                .usage = "INSTANCE",
                .help = "Stop a running instance.\n",
                .pos_name = "INSTANCE",
                .min_pos = 1,
                .max_pos = 1,
                .opts = cli_no_opts,
                .build = instance_id,
                .print = cli_print_stopped,
        },
        {
                .name = "list",
                .op = "map.list",
                .usage = "[--json]",
                .help = "Same as 'map list'.\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = cli_print_map,
        },
        {},
};
