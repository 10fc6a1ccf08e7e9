/* qemu-argv-tool - test tool around qemu_cmdline_build().
 *
 *   qemu-argv-tool [OPTIONS]          print the qemu argv, one argument per line
 *   qemu-argv-tool --exec [OPTIONS]   exec it instead
 *
 * With --exec and --tap-name, the tool opens that (already existing) tap in the current
 * network namespace the way the daemon does (TUNSETIFF, IFF_VNET_HDR), places the fd at
 * --tap-fd (default 3) for qemu to inherit, optionally drops to --uid/--gid, and execs
 * qemu: the argv under test is exactly the one that runs. Not installed. */
#include <fcntl.h>
#include <getopt.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "basic/spawn.h"
#include "qemu/cmdline.h"

static void usage(FILE *f) {
        fputs("usage: qemu-argv-tool [--exec] --name NAME [--accel auto|kvm|tcg] [--memory MIB]\n"
              "         [--vcpus N] [--cpu MODEL] [--disc PATH]... [--raw-disc PATH]...\n"
              "         [--kernel PATH [--initrd PATH] [--append CMDLINE]] [--cdrom ISO]\n"
              "         [--tap-fd N --mac MAC] [--tap-name TAP] [--vnc N [--vnc-listen ADDR]]\n"
              "         [--qmp PATH] [--serial PATH] [--pidfile PATH] [--no-sandbox]\n"
              "         [--binary PATH] [--uid UID --gid GID]\n",
              f);
}

static int parse_int_arg(const char *s, int min, int max, int *ret) {
        uint32_t v;
        if (parse_u32(s, &v) < 0 || (int64_t)v < min || (int64_t)v > max)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

static int open_tap(const char *name, int want_fd) {
        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct ifreq ifr = {};
        if (strlen(name) >= sizeof(ifr.ifr_name))
                return -ENAMETOOLONG;
        strncpy(ifr.ifr_name, name, sizeof(ifr.ifr_name) - 1);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return -errno;
        if (fd == want_fd) {
                /* already in place: keep it across exec */
                if (fcntl(fd, F_SETFD, 0) < 0)
                        return -errno;
                TAKE_FD(fd);
        } else if (dup2(fd, want_fd) < 0) /* the copy has no FD_CLOEXEC */
                return -errno;
        return 0;
}

int main(int argc, char **argv) {
        enum {
                OPT_NAME = 0x100, OPT_ACCEL, OPT_MEMORY, OPT_VCPUS, OPT_CPU, OPT_DISC,
                OPT_RAW_DISC, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_CDROM, OPT_TAP_FD,
                OPT_TAP_NAME, OPT_MAC, OPT_VNC, OPT_VNC_LISTEN, OPT_QMP, OPT_SERIAL,
                OPT_PIDFILE, OPT_NO_SANDBOX, OPT_BINARY, OPT_EXEC, OPT_UID, OPT_GID, OPT_HELP,
        };
        static const struct option options[] = {
                { "name", required_argument, NULL, OPT_NAME },
                { "accel", required_argument, NULL, OPT_ACCEL },
                { "memory", required_argument, NULL, OPT_MEMORY },
                { "vcpus", required_argument, NULL, OPT_VCPUS },
                { "cpu", required_argument, NULL, OPT_CPU },
                { "disc", required_argument, NULL, OPT_DISC },
                { "raw-disc", required_argument, NULL, OPT_RAW_DISC },
                { "kernel", required_argument, NULL, OPT_KERNEL },
                { "initrd", required_argument, NULL, OPT_INITRD },
                { "append", required_argument, NULL, OPT_APPEND },
                { "cdrom", required_argument, NULL, OPT_CDROM },
                { "tap-fd", required_argument, NULL, OPT_TAP_FD },
                { "tap-name", required_argument, NULL, OPT_TAP_NAME },
                { "mac", required_argument, NULL, OPT_MAC },
                { "vnc", required_argument, NULL, OPT_VNC },
                { "vnc-listen", required_argument, NULL, OPT_VNC_LISTEN },
                { "qmp", required_argument, NULL, OPT_QMP },
                { "serial", required_argument, NULL, OPT_SERIAL },
                { "pidfile", required_argument, NULL, OPT_PIDFILE },
                { "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
                { "binary", required_argument, NULL, OPT_BINARY },
                { "exec", no_argument, NULL, OPT_EXEC },
                { "uid", required_argument, NULL, OPT_UID },
                { "gid", required_argument, NULL, OPT_GID },
                { "help", no_argument, NULL, OPT_HELP },
                {},
        };
        QemuSpec spec = QEMU_SPEC_INIT;
        QemuDisc discs[QEMU_DISCS_MAX];
        const char *want_accel = "auto", *tap_name = NULL;
        bool exec_it = false;
        int uid = -1, gid = -1, c, r;

        spec.memory_mib = 128;
        spec.vcpus = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case OPT_NAME: spec.name = optarg; break;
                case OPT_ACCEL: want_accel = optarg; break;
                case OPT_MEMORY:
                        if (parse_u32(optarg, &spec.memory_mib) < 0)
                                goto bad;
                        break;
                case OPT_VCPUS:
                        if (parse_u32(optarg, &spec.vcpus) < 0)
                                goto bad;
                        break;
                case OPT_CPU: spec.cpu = optarg; break;
                case OPT_DISC:
                case OPT_RAW_DISC:
                        if (spec.n_discs >= ELEMENTSOF(discs)) {
                                fprintf(stderr, "qemu-argv-tool: too many discs\n");
                                return 2;
                        }
                        discs[spec.n_discs++] = (QemuDisc){
                                .path = optarg, .format = c == OPT_DISC ? "qcow2" : "raw"
                        };
                        break;
                case OPT_KERNEL: spec.kernel = optarg; break;
                case OPT_INITRD: spec.initrd = optarg; break;
                case OPT_APPEND: spec.cmdline = optarg; break;
                case OPT_CDROM: spec.cdrom = optarg; break;
                case OPT_TAP_FD:
                        if (parse_int_arg(optarg, 0, 1 << 20, &spec.tap_fd) < 0)
                                goto bad;
                        break;
                case OPT_TAP_NAME: tap_name = optarg; break;
                case OPT_MAC: spec.mac = optarg; break;
                case OPT_VNC:
                        if (parse_int_arg(optarg, 0, 1 << 20, &spec.vnc_display) < 0)
                                goto bad;
                        break;
                case OPT_VNC_LISTEN: spec.vnc_listen = optarg; break;
                case OPT_QMP: spec.qmp_socket = optarg; break;
                case OPT_SERIAL: spec.serial_log = optarg; break;
                case OPT_PIDFILE: spec.pidfile = optarg; break;
                case OPT_NO_SANDBOX: spec.no_sandbox = true; break;
                case OPT_BINARY: spec.binary = optarg; break;
                case OPT_EXEC: exec_it = true; break;
                case OPT_UID:
                        if (parse_int_arg(optarg, 0, INT32_MAX, &uid) < 0)
                                goto bad;
                        break;
                case OPT_GID:
                        if (parse_int_arg(optarg, 0, INT32_MAX, &gid) < 0)
                                goto bad;
                        break;
                case OPT_HELP: usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
                continue;
        bad:
                fprintf(stderr, "qemu-argv-tool: invalid value for --%s: '%s'\n",
                        options[c - OPT_NAME].name, optarg);
                return 2;
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        if ((tap_name || uid >= 0 || gid >= 0) && !exec_it) {
                fprintf(stderr, "qemu-argv-tool: --tap-name, --uid and --gid need --exec\n");
                return 2;
        }
        if ((uid >= 0) != (gid >= 0)) {
                fprintf(stderr, "qemu-argv-tool: --uid and --gid go together\n");
                return 2;
        }
        if (tap_name && spec.tap_fd < 0)
                spec.tap_fd = QEMU_FIRST_HANDED_FD;
        spec.discs = discs;

        Error err = {};
        const char *warning = NULL;
        r = qemu_accel_probe(want_accel, &err, &spec.accel, &warning);
        if (r < 0) {
                fprintf(stderr, "qemu-argv-tool: %s\n", err.message);
                return 1;
        }
        if (warning)
                fprintf(stderr, "qemu-argv-tool: warning: %s\n", warning);

        _cleanup_qemu_argv_ char **qargv = NULL;
        r = qemu_cmdline_build(&spec, &err, &qargv);
        if (r < 0) {
                fprintf(stderr, "qemu-argv-tool: %s\n", err.message);
                return 1;
        }

        if (!exec_it) {
                for (char **p = qargv; *p; p++)
                        printf("%s\n", *p);
                return fflush(stdout) == 0 ? 0 : 1;
        }

        if (tap_name) {
                r = open_tap(tap_name, spec.tap_fd);
                if (r < 0) {
                        fprintf(stderr, "qemu-argv-tool: cannot open tap %s: %s\n", tap_name,
                                strerror(-r));
                        return 1;
                }
        }
        if (uid >= 0) {
                r = spawn_drop_privileges((uid_t)uid, (gid_t)gid, NULL);
                if (r < 0) {
                        fprintf(stderr, "qemu-argv-tool: cannot drop to %d:%d: %s\n", uid, gid,
                                strerror(-r));
                        return 1;
                }
        }
        execvp(qargv[0], qargv);
        fprintf(stderr, "qemu-argv-tool: cannot execute %s: %m\n", qargv[0]);
        return 127;
}
