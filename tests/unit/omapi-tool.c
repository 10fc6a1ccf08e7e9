/* omapi-tool.c - drive omapi_client from the command line (test tool).
 *
 *   omapi-tool add|remove|lookup --server IP --port P --key-name N --secret B64
 *              [--name X] [--mac M] [--ip A] [--statements S] [--timeout SEC] [--timing]
 *
 * add needs --name --mac --ip; remove needs --name; lookup needs --name or
 * --mac. Output (stdout), one line:
 *   add:    "added NAME handle H"
 *   remove: "removed NAME" | "absent NAME"
 *   lookup: "name=NAME mac=MAC hw-type=T ip=IP handle=H"
 * --timing adds "timing connect_us=N op_us=N".
 * Exit: 0 ok, 2 lookup found nothing, 1 any other error (message on stderr). */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "net/omapi_client.h"

static int parse_mac(const char *s, uint8_t mac[6]) {
        unsigned v[6];
        char tail;
        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
                return -EINVAL;
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)v[i];
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: omapi-tool add|remove|lookup --server IP --port P --key-name N --secret B64\n"
                   "                  [--name X] [--mac M] [--ip A] [--statements S] [--timeout SEC] [--timing]\n");
}

static int fail(const Error *e, int r) {
        fprintf(stderr, "omapi-tool: %s\n", e->code ? e->message : strerror(-r));
        return r == -ENOENT ? 2 : 1;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"server", required_argument, NULL, 's'},   {"port", required_argument, NULL, 'p'},
                {"key-name", required_argument, NULL, 'k'}, {"secret", required_argument, NULL, 'S'},
                {"name", required_argument, NULL, 'n'},     {"mac", required_argument, NULL, 'm'},
                {"ip", required_argument, NULL, 'i'},       {"statements", required_argument, NULL, 't'},
                {"timeout", required_argument, NULL, 'T'},  {"timing", no_argument, NULL, 'x'},
                {"help", no_argument, NULL, 'h'},           {},
        };
        const char *server = NULL, *key_name = NULL, *secret = NULL, *name = NULL, *mac_s = NULL, *ip_s = NULL,
                   *statements = NULL;
        uint32_t port = 0, timeout_s = 5;
        bool timing = false;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 's': server = optarg; break;
                case 'p':
                        if (parse_u32(optarg, &port) < 0 || port == 0 || port > 65535) {
                                fprintf(stderr, "omapi-tool: bad port '%s'\n", optarg);
                                return 1;
                        }
                        break;
                case 'k': key_name = optarg; break;
                case 'S': secret = optarg; break;
                case 'n': name = optarg; break;
                case 'm': mac_s = optarg; break;
                case 'i': ip_s = optarg; break;
                case 't': statements = optarg; break;
                case 'T':
                        if (parse_u32(optarg, &timeout_s) < 0 || timeout_s == 0 || timeout_s > 3600) {
                                fprintf(stderr, "omapi-tool: bad timeout '%s'\n", optarg);
                                return 1;
                        }
                        break;
                case 'x': timing = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 1;
                }
        }
        if (optind + 1 != argc || !server || !port || !key_name || !secret) {
                usage(stderr);
                return 1;
        }
        const char *verb = argv[optind];
        uint8_t mac[6];
        if (mac_s && parse_mac(mac_s, mac) < 0) {
                fprintf(stderr, "omapi-tool: bad MAC '%s'\n", mac_s);
                return 1;
        }
        struct in_addr ip = {};
        if (ip_s && inet_pton(AF_INET, ip_s, &ip) != 1) {
                fprintf(stderr, "omapi-tool: bad IPv4 address '%s'\n", ip_s);
                return 1;
        }
        bool is_add = streq(verb, "add"), is_remove = streq(verb, "remove"), is_lookup = streq(verb, "lookup");
        if ((is_add && (!name || !mac_s || !ip_s)) || (is_remove && !name) || (is_lookup && !name && !mac_s) ||
            !(is_add || is_remove || is_lookup)) {
                usage(stderr);
                return 1;
        }

        Error e = {};
        _cleanup_omapi_client_ OmapiClient *client = NULL;
        uint64_t t0 = now_usec();
        int r = omapi_client_connect(server, (uint16_t)port, key_name, secret, (uint64_t)timeout_s * 1000000ULL,
                                     &client, &e);
        if (r < 0)
                return fail(&e, r);
        uint64_t t1 = now_usec();

        if (is_add) {
                OmapiHostSpec spec = {.name = name, .ip = ip, .statements = statements};
                memcpy(spec.mac, mac, 6);
                uint32_t handle = 0;
                r = omapi_host_add_spec(client, &spec, &handle, &e);
                if (r < 0)
                        return fail(&e, r);
                printf("added %s handle %" PRIu32 "\n", name, handle);
        } else if (is_remove) {
                bool existed = false;
                r = omapi_host_remove_by_name(client, name, &existed, &e);
                if (r < 0)
                        return fail(&e, r);
                printf("%s %s\n", existed ? "removed" : "absent", name);
        } else {
                OmapiHostInfo info;
                r = name ? omapi_host_lookup(client, name, &info, &e) : omapi_host_lookup_by_mac(client, mac, &info, &e);
                if (r < 0)
                        return fail(&e, r);
                char ipbuf[INET_ADDRSTRLEN] = "-", macbuf[3 * OMAPI_HW_ADDR_MAX + 1] = "-";
                if (info.has_ip)
                        inet_ntop(AF_INET, &info.ip, ipbuf, sizeof(ipbuf));
                size_t off = 0;
                for (size_t i = 0; i < info.hw_addr_len; i++)
                        off += (size_t)snprintf(macbuf + off, sizeof(macbuf) - off, "%s%02x", i ? ":" : "",
                                                info.hw_addr[i]);
                printf("name=%s mac=%s hw-type=%" PRIu32 " ip=%s handle=%" PRIu32 "\n", *info.name ? info.name : "-",
                       macbuf, info.hw_type, ipbuf, info.handle);
        }
        uint64_t t2 = now_usec();
        if (timing)
                printf("timing connect_us=%" PRIu64 " op_us=%" PRIu64 "\n", t1 - t0, t2 - t1);
        return 0;
}
