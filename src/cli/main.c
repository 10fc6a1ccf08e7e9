/* main.c - vmbatch / vmapp: translate the command line (modern syntax, or
 * the paper's when invoked as vmapp), send it to vmbatchd, show the answer.
 *
 * Exit status: 0 success, 1 the daemon refused or could not be reached,
 * 2 the command line is wrong (nothing was sent); exam collect also 3
 * (cli/exam_collect.h). */
#include <signal.h>
#include <stdio.h>

#include "basic/instance-types.h"
#include "basic/config.h"
#include "cli/cli.h"
#include "cli/cmd_exam.h"
#include "cli/complete.h"
#include "cli/exam_collect.h"
#include "cli/paper.h"
#include "cli/rpc.h"
#include "build-config.h"

static const char *base_name(const char *path) {
        if (!path)
                return "vmbatch";
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

/* vm.run answers once the job is submitted; like the paper's vmapp, wait
 * until the vm runs (its VNC display is known) before printing. */
static int wait_running(const char *socket_path, const char *prog, json_t **data, Error *err) {
        InstanceState state = instance_state_from_string(json_string_value(json_object_get(*data, "state")));
        if (state != INSTANCE_SUBMITTED && state != INSTANCE_STARTING)
                return 0;
        json_int_t id = json_integer_value(json_object_get(*data, "id"));
        const char *env = getenv("VMBATCH_RUN_WAIT");
        int wait_s = env ? atoi(env) : 120;
        if (wait_s > 0)
                fprintf(stderr, "%s: waiting for instance %lld to start...\n", prog, (long long)id);
        for (int i = 0; i < wait_s * 5; i++) {
                usleep(200000);
                json_t *req = json_pack("{s:s, s:{s:I}}", "op", "instance.show", "args", "instance", id), *d = NULL;
                Error e = {0};
                int r = rpc_call(socket_path, req, &d, &e);
                json_decref(req);
                if (r == -ENOENT && strstr(e.message, "has ended: "))
                        return error_set(err, -EIO, "instance %lld ended before it ran: %s", (long long)id,
                                         strstr(e.message, "has ended: ") + strlen("has ended: "));
                if (r == -ENOENT)
                        return error_set(err, -EIO, "instance %lld ended before it ran", (long long)id);
                if (r < 0)
                        continue;
                state = instance_state_from_string(json_string_value(json_object_get(d, "state")));
                if (state == INSTANCE_RUNNING || state == INSTANCE_PAUSED) {
                        json_decref(*data);
                        *data = d;
                        return 0;
                }
                json_decref(d);
        }
        return 0; /* still queued: print what we know */
}

int main(int argc, char **argv) {
        static char *no_argv[] = {(char *)"vmbatch", NULL};
        _cleanup_(cli_command_done) CliCommand c = {0};
        _cleanup_free_ char *cwd = get_current_dir_name();
        _cleanup_free_ char *socket_path = NULL;
        Error err = {0};
        json_t *data = NULL;
        int r;

        if (argc < 1) {
                argc = 1;
                argv = no_argv;
        }
        bool paper = streq(base_name(argv[0]), "vmapp");
        const char *prog = paper ? "vmapp" : "vmbatch";

        /* a daemon that hangs up must not kill us silently */
        signal(SIGPIPE, SIG_IGN);

        /* the shell completion's hidden mode (data/completion/vmbatch) */
        if (argc > 1 && streq(argv[1], CLI_COMPLETE_WORD))
                return cli_complete_main(paper, argc - 2, argv + 2);

        r = paper ? cli_paper_parse(argc, argv, cwd, &c, &err) : cli_modern_parse(argc, argv, cwd, &c, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", prog, err.message);
                fprintf(stderr, "Try '%s' for more information.\n", c.hint);
                return 2;
        }
        if (r == CLI_HELP) {
                if (c.version)
                        printf("%s %s\n", prog, VMBATCH_VERSION);
                else
                        fputs(c.usage_text, stdout);
                return fflush(stdout) == 0 ? 0 : 1;
        }

        if (streq(json_string_value(json_object_get(c.request, "op")), CLI_DOCTOR_OP))
                return cli_doctor_run(json_object_get(c.request, "args"), c.json);
        if (streq(json_string_value(json_object_get(c.request, "op")), CLI_EXAM_VERIFY_OP))
                return cli_exam_verify_run(json_object_get(c.request, "args"), c.json);

        socket_path = config_client_socket_path();
        if (streq(json_string_value(json_object_get(c.request, "op")), CLI_EXAM_COLLECT_OP))
                return cli_exam_collect_run(socket_path, c.request, c.json);
        json_t *req_args = json_object_get(c.request, "args");
        bool no_wait = json_is_true(json_object_get(req_args, CLI_NO_WAIT_KEY));
        json_object_del(req_args, CLI_NO_WAIT_KEY);
        r = rpc_call(socket_path, c.request, &data, &err);
        if (r >= 0 && !no_wait && streq(json_string_value(json_object_get(c.request, "op")), "vm.run"))
                r = wait_running(socket_path, prog, &data, &err);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", prog, err.message);
                return 1;
        }

        if (c.json)
                r = cli_print_json(stdout, data);
        else if (c.print)
                r = c.print(stdout, json_object_get(c.request, "args"), data);
        json_decref(data);
        if (r == -EBADMSG) {
                fprintf(stderr, "%s: unexpected answer from vmbatchd\n", prog);
                return 1;
        }
        if (r < 0 || fflush(stdout) != 0) {
                fprintf(stderr, "%s: cannot write the output: %s\n", prog, strerror(r < 0 ? -r : errno));
                return 1;
        }
        return 0;
}
