/* cmdline.c - build the qemu argv of one instance; choose the accelerator. */
#include "qemu/cmdline.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* A growing NULL-terminated argv. Allocation failure aborts (xasprintf), as everywhere. */
typedef struct Argv {
        char **v;
        size_t n, cap;
} Argv;

static void argv_add_take(Argv *a, char *s) {
        if (a->n + 2 > a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 64;
                char **v = reallocarray(a->v, cap, sizeof(char *));
                if (!v)
                        abort();
                a->v = v;
                a->cap = cap;
        }
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

static void argv_add(Argv *a, const char *s) { argv_add_take(a, xstrdup(s)); }

_printf_(2, 3) static void argv_addf(Argv *a, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        argv_add_take(a, xvasprintf(fmt, ap));
        va_end(ap);
}

static void argv_add2(Argv *a, const char *opt, const char *val) {
        argv_add(a, opt);
        argv_add(a, val);
}

/* A value for inside a qemu option list ("key=VALUE,..."): commas doubled. */
static char *opt_escape(const char *s) { return strdup_doubling(s, ','); }

/* A chain of fds as fdsets and blockdev nodes, the base first (a node's
 * backing must exist before it): "ID" is the top's node, "ID-bK" the K-th
 * backing node, each over a file node "...-file" on /dev/fdset/N. Only the
 * top may be writable; every backing is named, the base's is null. */
static void add_fd_chain(Argv *a, const char *id, const int *fds, size_t n, const char *top_format, bool readonly,
                         unsigned *fdset) {
        unsigned first = *fdset + 1;
        for (size_t k = 0; k < n; k++) {
                argv_add(a, "-add-fd");
                argv_addf(a, "fd=%d,set=%u,opaque=%s-%zu", fds[k], first + (unsigned)k, id, k);
        }
        *fdset += (unsigned)n;
        for (size_t k = n; k-- > 0;) {
                char node[48], backing[56];
                if (k == 0)
                        snprintf(node, sizeof(node), "%s", id);
                else
                        snprintf(node, sizeof(node), "%s-b%zu", id, k);
                if (k + 1 == n)
                        snprintf(backing, sizeof(backing), "null");
                else
                        snprintf(backing, sizeof(backing), "\"%s-b%zu\"", id, k + 1);
                bool ro = k > 0 || readonly;
                const char *format = k == 0 ? top_format : "qcow2";
                argv_add(a, "-blockdev");
                argv_addf(a,
                          "{\"driver\":\"file\",\"node-name\":\"%s-file\",\"filename\":\"/dev/fdset/%u\","
                          "\"read-only\":%s%s}",
                          node, first + (unsigned)k, ro ? "true" : "false", ro ? "" : ",\"discard\":\"unmap\"");
                argv_add(a, "-blockdev");
                if (streq(format, "raw"))
                        argv_addf(a,
                                  "{\"driver\":\"raw\",\"node-name\":\"%s\",\"file\":\"%s-file\","
                                  "\"read-only\":%s%s}",
                                  node, node, ro ? "true" : "false", ro ? "" : ",\"discard\":\"unmap\"");
                else
                        argv_addf(a,
                                  "{\"driver\":\"qcow2\",\"node-name\":\"%s\",\"file\":\"%s-file\","
                                  "\"backing\":%s,\"read-only\":%s%s}",
                                  node, node, backing, ro ? "true" : "false", ro ? "" : ",\"discard\":\"unmap\"");
        }
}

char **qemu_argv_free(char **argv) {
        strv_free(argv);
        return NULL;
}

size_t qemu_argv_length(char *const *argv) {
        size_t n = 0;
        while (argv && argv[n])
                n++;
        return n;
}


/* Every file qemu gets is an absolute, sane path: qemu's cwd is not ours, and a path
 * starting with '/' can never be read as a block protocol ("nbd:...", "json:{...}"). */
static bool path_is_valid(const char *s) { return string_is_printable(s) && s[0] == '/'; }

static bool mac_is_valid_unicast(const char *s) {
        if (!s || strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2) {
                        if (s[i] != ':')
                                return false;
                } else if (!isxdigit((unsigned char)s[i]))
                        return false;
        }
        /* the low bit of the first octet (= of its second hex digit) marks multicast */
        char c = (char)tolower((unsigned char)s[1]);
        unsigned low = (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
        return (low & 1) == 0;
}

/* An IPv4/IPv6 address or a host name: no commas, no spaces, nothing qemu would parse. */
static bool listen_address_is_valid(const char *s) {
        if (isempty(s) || strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char)*p) && !strchr(".:-", *p))
                        return false;
        return true;
}

static int spec_check(const QemuSpec *s, Error *err) {
        if (!s)
                return error_set(err, -EINVAL, "no VM specification");
        if (s->binary && !string_is_printable(s->binary))
                return error_set(err, -EINVAL, "invalid qemu binary name");
        if (!string_is_printable(s->name))
                return error_set(err, -EINVAL, "the VM needs a name without control characters");
        if (!streq(s->accel, QEMU_ACCEL_KVM) && !streq(s->accel, QEMU_ACCEL_TCG))
                return error_set(err, -EINVAL, "accelerator must be '%s' or '%s', not '%s'",
                                 QEMU_ACCEL_KVM, QEMU_ACCEL_TCG, s->accel ? s->accel : "(none)");
        if (s->cpu && (!string_is_printable(s->cpu) || strchr(s->cpu, ' ')))
                return error_set(err, -EINVAL, "invalid CPU model");
        if (s->memory_mib < QEMU_MEMORY_MIN_MIB || s->memory_mib > QEMU_MEMORY_MAX_MIB)
                return error_set(err, -EINVAL, "memory must be %u..%u MiB, not %" PRIu32,
                                 QEMU_MEMORY_MIN_MIB, QEMU_MEMORY_MAX_MIB, s->memory_mib);
        if (s->vcpus < 1 || s->vcpus > QEMU_VCPUS_MAX)
                return error_set(err, -EINVAL, "vcpus must be 1..%u, not %" PRIu32,
                                 QEMU_VCPUS_MAX, s->vcpus);

        if (s->n_discs > QEMU_DISCS_MAX)
                return error_set(err, -EINVAL, "at most %u discs, not %zu", QEMU_DISCS_MAX,
                                 s->n_discs);
        if (s->n_discs > 0 && !s->discs)
                return error_set(err, -EINVAL, "disc list missing");
        for (size_t i = 0; i < s->n_discs; i++) {
                const QemuDisc *d = &s->discs[i];
                if (d->path ? d->n_chain != 0 : d->n_chain == 0)
                        return error_set(err, -EINVAL, "disc %zu needs an absolute path or a chain of fds", i);
                if (d->path && !path_is_valid(d->path))
                        return error_set(err, -EINVAL, "disc %zu needs an absolute path", i);
                if (d->n_chain > QEMU_CHAIN_MAX || (d->n_chain && !d->chain_fds))
                        return error_set(err, -EINVAL, "disc %zu: a chain of 1..%u fds", i, QEMU_CHAIN_MAX);
                for (size_t k = 0; k < d->n_chain; k++)
                        if (d->chain_fds[k] < QEMU_FIRST_HANDED_FD)
                                return error_set(err, -EINVAL, "disc %zu: fd %d would be one of qemu's stdio", i,
                                                 d->chain_fds[k]);
                if (d->format && !streq(d->format, "qcow2") && !streq(d->format, "raw"))
                        return error_set(err, -EINVAL, "disc %zu: format must be qcow2 or raw",
                                         i);
                if (d->n_chain > 1 && streq(d->format, "raw"))
                        return error_set(err, -EINVAL, "disc %zu: a raw image has no backing file", i);
        }

        if (s->kernel && !path_is_valid(s->kernel))
                return error_set(err, -EINVAL, "the kernel needs an absolute path");
        if ((s->initrd || s->cmdline) && !s->kernel)
                return error_set(err, -EINVAL, "an initrd or a kernel command line needs a kernel");
        if (s->initrd && !path_is_valid(s->initrd))
                return error_set(err, -EINVAL, "the initrd needs an absolute path");
        if (s->cmdline && strpbrk(s->cmdline, "\n\r"))
                return error_set(err, -EINVAL, "the kernel command line must be one line");
        if (s->cdrom && s->cdrom_fd >= 0)
                return error_set(err, -EINVAL, "a cdrom path or an fd, not both");
        if (s->cdrom_fd >= 0 && s->cdrom_fd < QEMU_FIRST_HANDED_FD)
                return error_set(err, -EINVAL, "cdrom fd %d would be one of qemu's stdio", s->cdrom_fd);
        if (s->cdrom || s->cdrom_fd >= 0) {
                if (s->cdrom && !path_is_valid(s->cdrom))
                        return error_set(err, -EINVAL, "the cdrom image needs an absolute path");
                if (s->kernel)
                        return error_set(err, -EINVAL,
                                         "boot from a cdrom or a kernel, not both");
        }

        if (s->tap_fd >= 0) {
                if (s->tap_fd < QEMU_FIRST_HANDED_FD)
                        return error_set(err, -EINVAL, "tap fd %d would be one of qemu's stdio",
                                         s->tap_fd);
                if (!mac_is_valid_unicast(s->mac))
                        return error_set(err, -EINVAL, "invalid MAC address '%s'",
                                         s->mac ? s->mac : "(none)");
        } else if (s->mac)
                return error_set(err, -EINVAL, "a MAC address without a network (tap fd)");

        if (s->vnc_display > QEMU_VNC_DISPLAY_MAX)
                return error_set(err, -EINVAL, "VNC display must be 0..%d, not %d",
                                 QEMU_VNC_DISPLAY_MAX, s->vnc_display);
        if (s->vnc_listen) {
                if (s->vnc_display < 0)
                        return error_set(err, -EINVAL, "a VNC listen address without a display");
                if (!listen_address_is_valid(s->vnc_listen))
                        return error_set(err, -EINVAL, "invalid VNC listen address '%s'",
                                         s->vnc_listen);
        }

        if (s->vnc_socket && (!path_is_valid(s->vnc_socket) || strlen(s->vnc_socket) > QEMU_UNIX_PATH_MAX))
                return error_set(err, -EINVAL, "the VNC socket needs an absolute path of at most %u bytes",
                                 QEMU_UNIX_PATH_MAX);
        if (s->qmp_socket && !path_is_valid(s->qmp_socket))
                return error_set(err, -EINVAL, "the QMP socket needs an absolute path");
        if (s->serial_log && !path_is_valid(s->serial_log))
                return error_set(err, -EINVAL, "the serial log needs an absolute path");
        if (s->serial_fd >= 0 && (s->serial_log || s->serial_fd < QEMU_FIRST_HANDED_FD))
                return error_set(err, -EINVAL, "a serial log path or an fd >= %d, not both", QEMU_FIRST_HANDED_FD);
        if (s->pidfile && !path_is_valid(s->pidfile))
                return error_set(err, -EINVAL, "the pid file needs an absolute path");
        return 0;
}

int qemu_cmdline_build(const QemuSpec *s, Error *err, char ***ret_argv) {
        int r = spec_check(s, err);
        if (r < 0)
                return r;

        bool kvm = streq(s->accel, QEMU_ACCEL_KVM);
        Argv a = {};
        _cleanup_free_ char *name = opt_escape(s->name);

        argv_add(&a, s->binary ?: QEMU_DEFAULT_BINARY);
        argv_add(&a, "-name");
        argv_addf(&a, "guest=%s", name);
        argv_add(&a, "-nodefaults");
        argv_add(&a, "-no-user-config");
        argv_add2(&a, "-machine", "pc,dump-guest-core=off");
        argv_add(&a, "-accel");
        if (kvm)
                argv_add(&a, "kvm");
        else
                argv_addf(&a, "tcg,tb-size=%u", QEMU_TCG_TB_SIZE_MIB);
        if (s->cpu)
                argv_add2(&a, "-cpu", s->cpu);
        else if (kvm)
                argv_add2(&a, "-cpu", "host");
        argv_add(&a, "-m");
        argv_addf(&a, "%" PRIu32, s->memory_mib);
        argv_add(&a, "-smp");
        argv_addf(&a, "%" PRIu32, s->vcpus);
        if (!s->no_sandbox)
                argv_add2(&a, "-sandbox",
                          "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
        argv_add2(&a, "-display", "none");
        argv_add(&a, "-no-reboot");
        if (s->pidfile)
                argv_add2(&a, "-pidfile", s->pidfile);

        if (s->qmp_socket) {
                _cleanup_free_ char *p = opt_escape(s->qmp_socket);
                argv_add(&a, "-chardev");
                argv_addf(&a, "socket,id=qmp,path=%s,server=on,wait=off", p);
                argv_add2(&a, "-mon", "chardev=qmp,mode=control");
        }
        unsigned fdset = 0;
        if (s->serial_log) {
                _cleanup_free_ char *p = opt_escape(s->serial_log);
                argv_add(&a, "-chardev");
                argv_addf(&a, "file,id=serial0,path=%s", p);
        } else if (s->serial_fd >= 0) {
                argv_add(&a, "-add-fd");
                argv_addf(&a, "fd=%d,set=%u,opaque=serial0", s->serial_fd, ++fdset);
                argv_add(&a, "-chardev");
                argv_addf(&a, "file,id=serial0,path=/dev/fdset/%u,append=on", fdset); /* no O_TRUNC on a pipe */
        }
        if (s->serial_log || s->serial_fd >= 0)
                argv_add2(&a, "-device", "isa-serial,chardev=serial0,id=ttyS0");

        if (s->kernel) {
                argv_add2(&a, "-kernel", s->kernel);
                if (s->initrd)
                        argv_add2(&a, "-initrd", s->initrd);
                if (s->cmdline)
                        argv_add2(&a, "-append", s->cmdline);
        }

        /* bootindex: the cdrom first (install), then the first disc; none for -kernel */
        unsigned bootindex = 0;
        if (s->cdrom) {
                _cleanup_free_ char *p = opt_escape(s->cdrom);
                argv_add(&a, "-drive");
                argv_addf(&a, "file=%s,format=raw,if=none,id=cdrom0,media=cdrom,readonly=on", p);
        } else if (s->cdrom_fd >= 0)
                add_fd_chain(&a, "cdrom0", &s->cdrom_fd, 1, "raw", true, &fdset);
        if (s->cdrom || s->cdrom_fd >= 0) {
                argv_add(&a, "-device");
                argv_addf(&a, "ide-cd,drive=cdrom0,bus=ide.1,unit=0,id=ide-cdrom0,bootindex=%u",
                          bootindex++);
        }
        for (size_t i = 0; i < s->n_discs; i++) {
                const QemuDisc *d = &s->discs[i];
                char id[32];
                snprintf(id, sizeof(id), "disc%zu", i);
                if (d->path) {
                        _cleanup_free_ char *p = opt_escape(d->path);
                        argv_add(&a, "-drive");
                        argv_addf(&a, "file=%s,format=%s,if=none,id=%s,cache=writeback,discard=unmap%s", p,
                                  d->format ?: "qcow2", id, d->readonly ? ",readonly=on" : "");
                } else
                        add_fd_chain(&a, id, d->chain_fds, d->n_chain, d->format ?: "qcow2", d->readonly, &fdset);
                argv_add(&a, "-device");
                if (i == 0 && !s->kernel)
                        argv_addf(&a, "virtio-blk-pci,drive=%s,id=virtio-%s,bootindex=%u", id, id, bootindex++);
                else
                        argv_addf(&a, "virtio-blk-pci,drive=%s,id=virtio-%s", id, id);
        }

        if (s->tap_fd >= 0) {
                argv_add(&a, "-netdev");
                argv_addf(&a, "tap,id=net0,fd=%d", s->tap_fd);
                argv_add(&a, "-device");
                argv_addf(&a, "virtio-net-pci,netdev=net0,id=virtio-net0,mac=%s,romfile=", s->mac);
        }

        if (s->vnc_display >= 0 || s->vnc_socket)
                argv_add2(&a, "-device", "VGA,id=vga0");
        if (s->vnc_display >= 0) {
                argv_add(&a, "-vnc");
                if (!s->vnc_listen)
                        argv_addf(&a, ":%d,password=on", s->vnc_display);
                else if (strchr(s->vnc_listen, ':'))
                        argv_addf(&a, "[%s]:%d,password=on", s->vnc_listen, s->vnc_display);
                else
                        argv_addf(&a, "%s:%d,password=on", s->vnc_listen, s->vnc_display);
        }
        if (s->vnc_socket) {
                /* the console's own server: the TCP one (direct VNC) stays as it is */
                _cleanup_free_ char *p = opt_escape(s->vnc_socket);
                argv_add(&a, "-vnc");
                argv_addf(&a, "unix:%s,id=" QEMU_VNC_CONSOLE_ID ",password=on", p);
        }

        *ret_argv = TAKE_PTR(a.v);
        return 0;
}

/* vmx (Intel VT-x) or svm (AMD-V) as a whole word. */
static bool flags_have_hw_virt(const char *flags) {
        if (!flags)
                return false;
        const char *delim = " \t\n:";
        for (const char *p = flags; *p;) {
                p += strspn(p, delim);
                size_t n = strcspn(p, delim);
                if ((n == 3 && strncmp(p, "vmx", 3) == 0) || (n == 3 && strncmp(p, "svm", 3) == 0))
                        return true;
                p += n;
        }
        return false;
}

int qemu_accel_choose(const char *want, bool dev_kvm_opens, const char *cpuinfo_flags,
                      const char **ret_accel, const char **ret_warning) {
        bool hw = flags_have_hw_virt(cpuinfo_flags);

        if (isempty(want) || streq(want, "auto")) {
                const char *warning = NULL;
                if (!dev_kvm_opens)
                        warning = "/dev/kvm cannot be opened: running under TCG emulation "
                                  "(correct, but many times slower than KVM)";
                else if (!hw)
                        warning = "the CPU flags show neither vmx nor svm (no hardware "
                                  "virtualisation, e.g. a nested or paravirtual hypervisor): "
                                  "running under TCG emulation (correct, but many times slower "
                                  "than KVM)";
                *ret_accel = warning ? QEMU_ACCEL_TCG : QEMU_ACCEL_KVM;
                *ret_warning = warning;
                return 0;
        }
        if (streq(want, QEMU_ACCEL_KVM)) {
                if (!dev_kvm_opens)
                        return -ENODEV;
                if (!hw)
                        return -EOPNOTSUPP;
                *ret_accel = QEMU_ACCEL_KVM;
                *ret_warning = NULL;
                return 0;
        }
        if (streq(want, QEMU_ACCEL_TCG)) {
                *ret_accel = QEMU_ACCEL_TCG;
                *ret_warning = NULL;
                return 0;
        }
        return -EINVAL;
}

/* The first "flags : ..." line of a cpuinfo file, or NULL. */
static char *read_cpu_flags(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        FILE *f = fdopen(fd, "re");
        if (!f)
                return NULL;
        TAKE_FD(fd);
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
                /* "flags\t\t: fpu ...", not "vmx flags\t: ..." */
                if (strncmp(line, "flags", 5) == 0 && strchr(" \t:", line[5])) {
                        fclose(f);
                        return line;
                }
        }
        free(line);
        fclose(f);
        return NULL;
}

int qemu_accel_probe_at(const char *want, const char *dev_kvm_path, const char *cpuinfo_path,
                        Error *err, const char **ret_accel, const char **ret_warning) {
        dev_kvm_path = dev_kvm_path ?: "/dev/kvm";
        cpuinfo_path = cpuinfo_path ?: "/proc/cpuinfo";

        int fd = open(dev_kvm_path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        int open_errno = fd < 0 ? errno : 0;
        if (fd >= 0)
                close(fd);
        _cleanup_free_ char *flags = read_cpu_flags(cpuinfo_path);

        int r = qemu_accel_choose(want, fd >= 0, flags, ret_accel, ret_warning);
        switch (r) {
        case 0:
                return 0;
        case -ENODEV:
                return error_set(err, r, "KVM requested, but %s cannot be opened: %s",
                                 dev_kvm_path, strerror(open_errno));
        case -EOPNOTSUPP:
                return error_set(err, r,
                                 "KVM requested, but the CPU flags in %s show neither vmx nor "
                                 "svm (no hardware virtualisation)", cpuinfo_path);
        case -EINVAL:
                return error_set(err, r, "accelerator must be auto, kvm or tcg, not '%s'", want);
        default:
                return error_set(err, r, "cannot choose an accelerator");
        }
}
