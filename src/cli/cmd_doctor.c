/* cmd_doctor.c - "vmbatch doctor": the checks of core/doctor.h, run here
 * (nothing is sent to vmbatchd; its socket is one of the checks). */
#include <stdio.h>

#include "cli/cli.h"
#include "core/doctor.h"

static int doctor_build(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = cli_put_path(args, "config", cli_args_value(a, "config"), cwd, "--config", err);
        if (r >= 0 && cli_args_flag(a, "node"))
                json_object_set_new(args, "node", json_true());
        return r;
}

static const CliOpt doctor_opts[] = {
        {"config", CLI_OPT_VALUE},
        {"node", CLI_OPT_FLAG},
        {},
};

const CliVerb cli_doctor_verbs[] = {
        {
                .op = CLI_DOCTOR_OP,
                .usage = "[--config FILE] [--node] [--json]",
                .help = "Check this host for vmbatch (KVM, tun, bridge, filters, qemu, DHCP server,\n"
                        "storage folders, socket, database; munge and the controller in a cluster):\n"
                        "one line per check, ok, warn or fail, with the fix. Exit status 1 when a\n"
                        "check fails. Run it as root to see what vmbatchd sees. See vmbatch-doctor(8).\n"
                        "  --config FILE   the configuration to check (default $VMBATCH_CONF, else\n"
                        "                  " VMBATCH_DEFAULT_CONFIG ")\n"
                        "  --node          check as an execution host of a cluster (vmbatchd --node)\n"
                        "  --json          an array of {check, status, detail, fix}\n",
                .opts = doctor_opts,
                .build = doctor_build,
        },
        {},
};

int cli_doctor_run(const json_t *args, bool json) {
        Settings settings;
        Error err = {0};
        _cleanup_free_ char *origin = NULL;
        const char *config = json_string_value(json_object_get(args, "config"));
        if (doctor_settings_load(config, &settings, &origin, &err) < 0) {
                /* the one check that stops the others: nothing else can be trusted */
                DoctorReport r = {0};
                doctor_add(&r, "config", DOCTOR_FAIL, xstrdup(err.message),
                           xstrdup("correct the file (see vmbatch.conf(5)); vmbatchd does not start with it"));
                doctor_print(stdout, &r, json);
                doctor_report_clear(&r);
                fflush(stdout);
                return 1;
        }
        return doctor_main(stdout, &settings, json_is_true(json_object_get(args, "node")), origin, json);
}
