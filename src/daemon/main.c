/* vmbatchd - the vmbatch daemon: owns the state database and serves the
 * CLI over a unix socket. See vmbatchd(8). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/event.h"
#include "basic/log.h"
#include "build-config.h"
#include "core/console_activity.h"
#include "core/console_tokens.h"
#include "core/controller.h"
#include "core/doctor.h"
#include "daemon/cluster_tcp.h"
#include "daemon/embedded.h"
#include "daemon/exam_clock.h"
#include "daemon/exam_selftest.h"
#include "daemon/exam_reservation.h"
#include "daemon/server.h"
#include "daemon/service_notify.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: vmbatchd [OPTIONS]\n"
                "Run the vmbatch daemon: it keeps the state database and answers vmbatch/vmapp.\n\n"
                "  -c, --config PATH   configuration file (default " VMBATCH_DEFAULT_CONFIG ")\n"
                "      --init          initialize the database with the reserved rows and exit\n"
                "      --check         check this host and exit (see vmbatch-doctor(8)): KVM,\n"
                "                      network, qemu, storage, database (with --node: those of an\n"
                "                      execution host); ok/warn/fail and the fix; exit 1 on a fail\n"
                "      --json          with --check: the checks as a JSON array\n"
                "      --node          run as an execution host of a cluster: no database; VMs\n"
                "                      start here and the controller (config 'controller')\n"
                "                      is asked over TCP, with MUNGE\n"
                "      --socket PATH   override the socket path\n"
                "      --database PATH override the database path\n"
                "      --pidfile PATH  write the daemon's PID here\n"
                "  -v, --verbose       log debug messages\n"
                "  -h, --help          show this help\n"
                "      --version       show the version\n");
}

static int make_parent_dir(const char *path, mode_t mode) {
        char *copy = xstrdup(path);
        char *dir = dirname(copy);
        int r = 0;
        struct stat st;
        if (stat(dir, &st) < 0) {
                if (mkdir(dir, mode) < 0 && errno != EEXIST)
                        r = -errno;
        }
        free(copy);
        return r;
}

static int on_signal(EventSource *s, int signo, void *userdata) {
        log_info("signal %d: shutting down", signo);
        event_loop_exit(userdata, 0);
        return 0;
}

static int init_database(Controller *controller) {
        Error err = {0};
        json_t *data = NULL;
        int r = store_begin(controller->store, &err);
        if (r >= 0)
                r = controller_init(controller, getuid(), &data, &err);
        if (r >= 0)
                r = store_audit(controller->store, getuid(), "init", "database", NULL, &err);
        if (r >= 0)
                r = store_commit(controller->store, &err);
        else
                store_rollback(controller->store);
        if (r < 0)
                fprintf(stderr, "vmbatchd: %s\n", err.message);
        else
                printf("Initialized %s: admin %s (uid %lld)\n", controller->settings->database,
                       json_string_value(json_object_get(data, "admin_name")),
                       (long long)json_integer_value(json_object_get(data, "admin_uid")));
        json_decref(data);
        return r < 0 ? 1 : 0;
}

/* The roles of this process:
 *   controller, no node (node = no): the control plane, and the fleet when
 *     nodes connect over TCP (cluster_listen);
 *   controller + node (the embedded default): both, joined in-process;
 *   node only (vmbatchd --node, controller NULL): VMs run here, the
 *     controller is asked over TCP. */
static int run(const Settings *settings, Controller *controller, const char *pidfile) {
        Error err = {0};
        if (!controller && isempty(settings->controller)) {
                fprintf(stderr, "vmbatchd: --node needs the controller's address (config controller = ADDRESS:PORT)\n");
                return 1;
        }
        if (make_parent_dir(settings->socket, 0755) < 0) {
                fprintf(stderr, "vmbatchd: cannot create the directory of %s: %m\n", settings->socket);
                return 1;
        }
        EventLoop *loop;
        int r = event_loop_new(&loop);
        if (r < 0) {
                fprintf(stderr, "vmbatchd: event loop: %s\n", strerror(-r));
                return 1;
        }
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
        signal(SIGPIPE, SIG_IGN);
        Server *server = NULL;
        Fleet *fleet = NULL;
        Host *host = NULL;
        ClusterUplink *uplink = NULL;
        ClusterListener *listener = NULL;
        ExamClock *exams = NULL; /* exams' start times and deadlines (the controller's) */
        ExamSelftest *selftests = NULL; /* exams' isolation self-tests (controller and node here) */
        ExamReservations *resv = NULL; /* exams' reservations on the scheduler (slurm) */
        Embedded embedded = {0};
        ServiceNotify *notify = NULL;
        bool want_fleet = controller && (settings->node || !isempty(settings->cluster_listen));
        bool want_host = !controller || settings->node;
        /* the host first: the DHCP server serves on the bridge it makes */
        if (want_host && (r = host_new(loop, settings, &host, &err)) < 0)
                error_prefix(&err, "node role");
        else if (want_fleet && (r = fleet_new(loop, controller, &fleet, &err)) < 0)
                error_prefix(&err, "controller");
        else if (host && fleet)
                embedded_join(&embedded, fleet, host);
        else if (host)
                r = cluster_uplink_new(loop, host, settings->controller, &uplink, &err);
        if (r >= 0 && (r = event_add_signal(loop, sigs, ELEMENTSOF(sigs), on_signal, loop, NULL)) < 0)
                error_set(&err, r, "signals: %s", strerror(-r));
        if (r >= 0)
                r = server_new(loop, controller, host, settings->socket, &server, &err);
        if (r >= 0 && controller)
                r = exam_clock_new(loop, controller, &exams, &err);
        if (r >= 0 && controller && host && fleet)
                r = exam_selftest_new(loop, controller, &selftests, &err);
        if (r >= 0 && controller)
                r = exam_reservations_new(loop, controller, &resv, &err);
        if (r >= 0 && fleet && !isempty(settings->cluster_listen))
                r = cluster_listener_new(loop, fleet, settings->cluster_listen, &listener, &err);
        if (r >= 0) {
                if (pidfile) {
                        FILE *f = fopen(pidfile, "we");
                        if (f) {
                                fprintf(f, "%d\n", (int)getpid());
                                fclose(f);
                        }
                }
                log_info("vmbatchd %s listening on %s%s%s", VMBATCH_VERSION, settings->socket,
                         controller ? ", database " : ", node ", controller ? settings->database : host_name(host));
                if (fleet)
                        fleet_reconcile(fleet);
                /* ready: the socket answers (and the bridge, DHCP and filters of
                 * a node are up: host_new made them) */
                _cleanup_free_ char *status = xasprintf("serving %s (%s)", settings->socket,
                                                        controller ? (host ? "controller and node" : "controller") : "node");
                r = service_notify_ready(loop, status, &notify);
                if (r >= 0)
                        r = event_loop_run(loop);
                service_notify_stopping(notify);
                if (pidfile)
                        unlink(pidfile);
                log_info("stopped");
        } else
                fprintf(stderr, "vmbatchd: %s\n", err.message);
        service_notify_free(notify);
        cluster_uplink_free(uplink); /* answers what waits for the controller, through the server */
        cluster_listener_free(listener);
        server_free(server);
        exam_reservations_free(resv);
        exam_clock_free(exams);
        exam_selftest_free(selftests);
        host_free(host);
        fleet_free(fleet);
        event_loop_free(loop);
        return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
        enum { OPT_INIT = 1000, OPT_NODE, OPT_SOCKET, OPT_DATABASE, OPT_PIDFILE, OPT_VERSION, OPT_CHECK, OPT_JSON };
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'}, {"init", no_argument, NULL, OPT_INIT},
                {"node", no_argument, NULL, OPT_NODE},
                {"socket", required_argument, NULL, OPT_SOCKET}, {"database", required_argument, NULL, OPT_DATABASE},
                {"pidfile", required_argument, NULL, OPT_PIDFILE}, {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, OPT_VERSION},
                {"foreground", no_argument, NULL, 'f'}, {"check", no_argument, NULL, OPT_CHECK},
                {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0},
        };
        const char *config_path = NULL, *socket_path = NULL, *db_path = NULL, *pidfile = NULL;
        bool init = false, verbose = false, node_only = false, check = false, json = false;
        int c;
        while ((c = getopt_long(argc, argv, "c:vhf", options, NULL)) >= 0) {
                switch (c) {
                case 'c': config_path = optarg; break;
                case OPT_INIT: init = true; break;
                case OPT_NODE: node_only = true; break;
                case OPT_CHECK: check = true; break;
                case OPT_JSON: json = true; break;
                case OPT_SOCKET: socket_path = optarg; break;
                case OPT_DATABASE: db_path = optarg; break;
                case OPT_PIDFILE: pidfile = optarg; break;
                case 'v': verbose = true; break;
                case 'f': break; /* always in the foreground: supervisors want that */
                case 'h': usage(stdout); return 0;
                case OPT_VERSION: printf("vmbatchd %s\n", VMBATCH_VERSION); return 0;
                default: fprintf(stderr, "Try 'vmbatchd --help'.\n"); return 2;
                }
        }
        if (json && !check) {
                fprintf(stderr, "vmbatchd: --json goes with --check\nTry 'vmbatchd --help'.\n");
                return 2;
        }
        if (optind < argc) {
                fprintf(stderr, "vmbatchd: unexpected argument '%s'\nTry 'vmbatchd --help'.\n", argv[optind]);
                return 2;
        }
        log_set_ident("vmbatchd");

        Settings settings;
        settings_defaults(&settings);
        Error err = {0};
        if (!config_path)
                config_path = getenv("VMBATCH_CONF");
        bool explicit_config = config_path != NULL;
        if (!config_path)
                config_path = VMBATCH_DEFAULT_CONFIG;
        Config *cfg = NULL;
        int r = config_load(config_path, &cfg, &err);
        if (r == -ENOENT && !explicit_config)
                error_clear(&err);
        else if (r < 0 || settings_apply(&settings, cfg, &err) < 0) {
                fprintf(stderr, "vmbatchd: %s\n", err.message);
                config_free(cfg);
                return 1;
        }
        config_free(cfg);
        if (socket_path)
                snprintf(settings.socket, sizeof(settings.socket), "%s", socket_path);
        if (db_path)
                snprintf(settings.database, sizeof(settings.database), "%s", db_path);
        log_set_level(verbose ? LOG_LEVEL_DEBUG : (enum log_level)settings.log_level);
        if (check) {
                char *abs = r == -ENOENT ? NULL : realpath(config_path, NULL);
                _cleanup_free_ char *origin = r == -ENOENT ? xasprintf("no %s: the built-in defaults", config_path)
                                              : abs         ? abs
                                                            : xstrdup(config_path);
                return doctor_main(stdout, &settings, node_only, origin, json);
        }

        if (node_only)
                return run(&settings, NULL, pidfile);
        /* 0755, not 0700: by default it is state_dir, which the starters (the
         * VMs' owners) traverse to reach run/instance-N; the database's
         * secrecy is its own 0600 (and SQLite gives -wal and -shm its mode) */
        if (make_parent_dir(settings.database, 0755) < 0) {
                fprintf(stderr, "vmbatchd: cannot create the directory of %s: %m\n", settings.database);
                return 1;
        }
        Store *store = NULL;
        if (store_open(settings.database, &store, &err) < 0) {
                fprintf(stderr, "vmbatchd: %s\n", err.message);
                return 1;
        }
        chmod(settings.database, 0600);
        /* console tokens and activity live in memory: a restart forgets them all */
        Controller controller = {.store = store, .settings = &settings,
                                 .console_tokens = console_tokens_new(0, settings.console_token_ttl_s * 1000000ULL),
                                 .console_activity = console_activity_new(0)};
        r = init ? init_database(&controller) : run(&settings, &controller, pidfile);
        console_tokens_free(controller.console_tokens);
        console_activity_free(controller.console_activity);
        store_close(store);
        return r;
}
