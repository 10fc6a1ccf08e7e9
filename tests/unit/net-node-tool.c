/* net-node-tool.c - drive net/link.h and net/dhcp.h from the command line
 * (test tool for tests/integration/test-net-node.sh; run it inside a
 * network namespace).
 *
 *   net-node-tool bridge NAME [CIDR]        ensure the bridge; "bridge NAME us=T"
 *   net-node-tool tap NAME BRIDGE UID [GID] create the tap; "ifindex N us=T", then
 *                                           hold its fd until stdin reaches EOF
 *   net-node-tool delete NAME               link_delete
 *   net-node-tool cut NAME                  link_cut (down, off its bridge)
 *   net-node-tool exists NAME               "yes" / "no"
 *   net-node-tool list PREFIX               one name per line
 *   net-node-tool dhcp-serve --backend B [--interface I --state-dir D
 *           --range-net N --range-mask M --gateway G]
 *           [--server IP --port P --key-name K --secret S]
 *       start the backend ("ready backend=B pid=P us=T"), then read commands
 *       from stdin, one answer line each ("ok ... us=T" or "error ERRNO msg"):
 *         add NAME MAC IP | remove NAME [MAC IP] | list | pid | quit
 *       When the supervised dnsmasq exits (its watch fd), it is restarted:
 *       "restarted old_exit=C pid=P us=T" (or "error ..."). EOF stops it.
 * Exit: 0 ok, 1 error (message on stderr), 2 usage. */
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>

#include "net/dhcp.h"
#include "net/link.h"

static int fail(const Error *e, int r) {
        fprintf(stderr, "net-node-tool: %s\n", e->code ? e->message : strerror(-r));
        return 1;
}

static int cmd_tap(int argc, char **argv) {
        if (argc < 4)
                return 2;
        uint32_t uid, gid = (uint32_t)-1;
        if (parse_u32(argv[3], &uid) < 0 || (argc > 4 && parse_u32(argv[4], &gid) < 0))
                return 2;
        Error e = {0};
        int fd = -1;
        uint64_t t0 = now_usec();
        int r = link_tap_create(argv[1], (uid_t)uid, (gid_t)gid, argv[2], &fd, &e);
        uint64_t t1 = now_usec();
        if (r < 0)
                return fail(&e, r);
        printf("ifindex %u us=%llu\n", if_nametoindex(argv[1]), (unsigned long long)(t1 - t0));
        fflush(stdout);
        char buf[256];
        while (read(0, buf, sizeof(buf)) > 0)
                ;
        close(fd);
        return 0;
}

typedef struct Serve {
        DhcpBackend *b;
} Serve;

static void answer_error(const Error *e, int r) {
        printf("error %s %s\n", errno_name(r), e->code ? e->message : strerror(-r));
}

static void serve_line(Serve *s, char *line) {
        char *words[5] = {0};
        int n = 0;
        char *save = NULL;
        for (char *w = strtok_r(line, " \t\n", &save); w && n < 5; w = strtok_r(NULL, " \t\n", &save))
                words[n++] = w;
        if (n == 0)
                return;
        Error e = {0};
        uint64_t t0 = now_usec();
        int r;
        if (streq(words[0], "add") && n == 4) {
                r = dhcp_host_add(s->b, words[1], words[2], words[3], &e);
                if (r >= 0)
                        printf("ok add us=%llu\n", (unsigned long long)(now_usec() - t0));
        } else if (streq(words[0], "remove") && (n == 2 || n == 4)) {
                r = dhcp_host_remove(s->b, words[1], n == 4 ? words[2] : NULL, n == 4 ? words[3] : NULL, &e);
                if (r >= 0)
                        printf("ok remove us=%llu\n", (unsigned long long)(now_usec() - t0));
        } else if (streq(words[0], "list") && n == 1) {
                char **names = NULL;
                size_t k = 0;
                r = dhcp_host_list(s->b, &names, &k, &e);
                if (r >= 0) {
                        printf("ok list");
                        for (size_t i = 0; i < k; i++)
                                printf(" %s", names[i]);
                        printf("\n");
                        dhcp_names_free(names);
                }
        } else if (streq(words[0], "rotate") && n == 2) {
                uint64_t max;
                r = parse_u64(words[1], &max) < 0 ? error_set(&e, -EINVAL, "bad size") : dhcp_log_rotate(s->b, max, &e);
                if (r >= 0)
                        printf("ok rotate %s\n", r ? "rotated" : "kept");
        } else if (streq(words[0], "pid") && n == 1) {
                printf("ok pid %d\n", (int)dhcp_pid(s->b));
                r = 0;
        } else {
                r = error_set(&e, -EINVAL, "unknown command or wrong arguments: %s", words[0]);
        }
        if (r < 0)
                answer_error(&e, r);
        fflush(stdout);
}

static int cmd_dhcp_serve(int argc, char **argv) {
        static const struct option options[] = {
                {"backend", required_argument, NULL, 'b'},    {"interface", required_argument, NULL, 'i'},
                {"state-dir", required_argument, NULL, 'd'},  {"range-net", required_argument, NULL, 'n'},
                {"range-mask", required_argument, NULL, 'm'}, {"gateway", required_argument, NULL, 'g'},
                {"server", required_argument, NULL, 's'},     {"port", required_argument, NULL, 'p'},
                {"key-name", required_argument, NULL, 'k'},   {"secret", required_argument, NULL, 'S'},
                {},
        };
        DhcpConfig c = {0};
        int o;
        uint32_t port;
        while ((o = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (o) {
                case 'b': c.backend = optarg; break;
                case 'i': c.interface = optarg; break;
                case 'd': c.state_dir = optarg; break;
                case 'n': c.range_net = optarg; break;
                case 'm': c.range_mask = optarg; break;
                case 'g': c.gateway = optarg; break;
                case 's': c.omapi_server = optarg; break;
                case 'p':
                        if (parse_u32(optarg, &port) < 0 || port > 65535)
                                return 2;
                        c.omapi_port = (uint16_t)port;
                        break;
                case 'k': c.omapi_key_name = optarg; break;
                case 'S': c.omapi_secret = optarg; break;
                default: return 2;
                }
        }
        Error e = {0};
        Serve s = {0};
        int r = dhcp_backend_new(&c, &s.b, &e);
        if (r < 0)
                return fail(&e, r);
        uint64_t t0 = now_usec();
        r = dhcp_start(s.b, &e);
        if (r < 0) {
                dhcp_backend_free(s.b);
                return fail(&e, r);
        }
        printf("ready backend=%s pid=%d us=%llu\n", dhcp_backend_name(s.b), (int)dhcp_pid(s.b),
               (unsigned long long)(now_usec() - t0));
        fflush(stdout);

        char buf[4096];
        size_t len = 0;
        bool done = false;
        while (!done) {
                struct pollfd p[2] = {{0, POLLIN, 0}, {dhcp_watch_fd(s.b), POLLIN, 0}};
                if (poll(p, p[1].fd >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].fd >= 0 && p[1].revents) {
                        int code = 0;
                        if (dhcp_reap(s.b, &code) > 0) {
                                Error se = {0};
                                uint64_t t1 = now_usec();
                                r = dhcp_start(s.b, &se);
                                if (r < 0)
                                        answer_error(&se, r);
                                else
                                        printf("restarted old_exit=%d pid=%d us=%llu\n", code, (int)dhcp_pid(s.b),
                                               (unsigned long long)(now_usec() - t1));
                                fflush(stdout);
                        }
                }
                if (!p[0].revents)
                        continue;
                ssize_t k = read(0, buf + len, sizeof(buf) - 1 - len);
                if (k <= 0)
                        break;
                len += (size_t)k;
                buf[len] = 0;
                char *nl;
                while ((nl = strchr(buf, '\n'))) {
                        *nl = 0;
                        if (strncmp(buf, "quit", 4) == 0) {
                                done = true;
                                break;
                        }
                        serve_line(&s, buf);
                        len -= (size_t)(nl + 1 - buf);
                        memmove(buf, nl + 1, len + 1);
                }
                if (len == sizeof(buf) - 1)
                        len = 0; /* an overlong line: drop it */
        }
        dhcp_backend_free(s.b);
        return 0;
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: net-node-tool bridge|tap|delete|cut|exists|list|dhcp-serve ...\n");
                return 2;
        }
        const char *cmd = argv[1];
        Error e = {0};
        int r;
        if (streq(cmd, "bridge") && argc >= 3) {
                uint64_t t0 = now_usec();
                r = link_bridge_ensure(argv[2], argc > 3 ? argv[3] : NULL, &e);
                if (r < 0)
                        return fail(&e, r);
                printf("bridge %s us=%llu\n", argv[2], (unsigned long long)(now_usec() - t0));
                return 0;
        }
        if (streq(cmd, "tap"))
                return cmd_tap(argc - 1, argv + 1);
        if (streq(cmd, "delete") && argc == 3) {
                r = link_delete(argv[2], &e);
                return r < 0 ? fail(&e, r) : 0;
        }
        if (streq(cmd, "cut") && argc == 3) {
                r = link_cut(argv[2], &e);
                return r < 0 ? fail(&e, r) : 0;
        }
        if (streq(cmd, "exists") && argc == 3) {
                bool yes;
                r = link_exists(argv[2], &yes);
                if (r < 0)
                        return fail(&e, r);
                printf("%s\n", yes ? "yes" : "no");
                return 0;
        }
        if (streq(cmd, "list") && argc == 3) {
                char **names = NULL;
                size_t n = 0;
                r = link_list_prefix(argv[2], &names, &n);
                if (r < 0)
                        return fail(&e, r);
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", names[i]);
                link_names_free(names);
                return 0;
        }
        if (streq(cmd, "dhcp-serve"))
                return cmd_dhcp_serve(argc - 1, argv + 1);
        fprintf(stderr, "net-node-tool: unknown command or wrong arguments: %s\n", cmd);
        return 2;
}
