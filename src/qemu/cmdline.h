/* cmdline.h - the qemu-system-x86_64 command line of one VM instance, and the choice of
 * accelerator.
 *
 * qemu_cmdline_build() is a pure function of a QemuSpec: no I/O, no environment, so the
 * exact argv is tested against golden files (tests/golden/qemu/NAME.args). The result is
 * meant for spawn or execv, never for a shell.
 *
 * What every command line gets:
 *   -nodefaults -no-user-config       no implicit devices, no /etc/qemu config
 *   -machine pc,dump-guest-core=off   guest RAM stays out of core dumps
 *   -display none -no-reboot          a guest reboot ends the instance (the job)
 *   -sandbox on,...=deny              seccomp: no obsolete calls, no setuid, no fork/exec,
 *                                     no scheduler/affinity changes (QemuSpec.no_sandbox)
 * Discs are virtio-blk with an explicit format (never probed), cache=writeback (works on
 * every filesystem, unlike O_DIRECT, and keeps guest flushes honest) and discard=unmap
 * (freed guest blocks shrink the overlay). Boot order is given with bootindex per device:
 * the cdrom first when present (install mode), then the first disc; no bootindex with
 * direct kernel boot. The network is a tap handed over as an already open fd (the
 * daemon opens it as root; qemu never needs /dev/net/tun), virtio-net without an option
 * ROM. VNC adds a VGA device and listens with password=on: nobody can log in until the
 * password is set over QMP (set_password / change-vnc-password). The browser console's
 * VNC server is a second -vnc on a unix socket (id=console, also password=on) beside the
 * TCP one: qemu 7.2 runs both at once on the same VGA, each with its own password.
 *
 * Values that land inside a qemu option list (paths, names) have their commas doubled,
 * so a path like "a,b.qcow2" cannot inject options; every path must be absolute, so none
 * is taken for a block protocol ("nbd:host", "json:{...}").
 *
 * Functions return 0 or a negative errno; ret_* are set only on success. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/util.h"

#define QEMU_DEFAULT_BINARY "qemu-system-x86_64"
#define QEMU_ACCEL_KVM "kvm"
#define QEMU_ACCEL_TCG "tcg"
#define QEMU_TCG_TB_SIZE_MIB 32u   /* translation cache; qemu's default costs ~20 MB RSS more */

#define QEMU_MEMORY_MIN_MIB 16u
#define QEMU_MEMORY_MAX_MIB (4u * 1024u * 1024u) /* 4 TiB */
#define QEMU_VCPUS_MAX 255u
#define QEMU_DISCS_MAX 16u
#define QEMU_VNC_DISPLAY_MAX (65535 - 5900)
#define QEMU_FIRST_HANDED_FD 3 /* 0-2 are qemu's stdio */
#define QEMU_VNC_CONSOLE_ID "console" /* the -vnc id of the unix socket server */
#define QEMU_UNIX_PATH_MAX 107u /* sun_path, without its NUL */

/* A disc is either a path qemu opens itself (tools, tests) or, as the
 * starter always gives it, a chain of fds the node opened: chain[0] the top
 * (O_RDWR unless readonly), then each backing file (O_RDONLY), the last
 * one the base. Each fd goes into an fdset (-add-fd) and the chain is given
 * node by node (-blockdev, JSON) with every backing named and "backing":
 * null at the base, so qemu never follows a name in an image's header. */
#define QEMU_CHAIN_MAX 16
typedef struct QemuDisc {
        const char *path;
        const char *format;   /* "qcow2" (also when NULL) or "raw"; the chain's top with fds */
        bool readonly;
        const int *chain_fds; /* with path NULL: n_chain fds, each >= 3 */
        size_t n_chain;       /* 1 .. QEMU_CHAIN_MAX; backing files are qcow2 or raw at the base */
} QemuDisc;

typedef struct QemuSpec {
        const char *binary;     /* argv[0]; NULL: QEMU_DEFAULT_BINARY */
        const char *name;       /* -name guest=NAME; required */
        const char *accel;      /* QEMU_ACCEL_KVM or QEMU_ACCEL_TCG (see qemu_accel_choose) */
        const char *cpu;        /* -cpu MODEL; NULL: "host" under kvm, qemu's default under tcg */
        uint32_t memory_mib;    /* QEMU_MEMORY_MIN_MIB .. QEMU_MEMORY_MAX_MIB */
        uint32_t vcpus;         /* 1 .. QEMU_VCPUS_MAX */

        const QemuDisc *discs;  /* virtio-blk, in this order (vda, vdb, ...) */
        size_t n_discs;         /* 0 .. QEMU_DISCS_MAX */

        const char *kernel;     /* direct kernel boot when set */
        const char *initrd;     /* needs kernel */
        const char *cmdline;    /* -append, verbatim; needs kernel */

        const char *cdrom;      /* ISO image, read-only IDE cdrom, booted first (install
                                 * mode); not together with kernel */
        int cdrom_fd;           /* >= 3: the same as an fd the node opened (cdrom NULL); -1: none */

        int tap_fd;             /* < 0: no network; else an fd >= 3 qemu inherits */
        const char *mac;        /* "xx:xx:xx:xx:xx:xx", required with tap_fd, unicast */

        int vnc_display;        /* < 0: no VNC; else 0 .. QEMU_VNC_DISPLAY_MAX (port 5900+N) */
        const char *vnc_listen; /* address to listen on; NULL: all addresses */
        const char *vnc_socket; /* a second VNC server (id "console") on this unix socket, the
                                 * browser console's; NULL: none. Its password is set apart
                                 * from the TCP one's (set_password display=console) */

        const char *qmp_socket; /* unix socket path qemu listens on for QMP; NULL: none */
        const char *serial_log; /* file the serial port (ttyS0) is written to; NULL: none */
        int serial_fd;          /* >= 3: an fd open for writing (a pipe the starter reads and caps) instead */
        const char *pidfile;    /* NULL: none */
        bool no_sandbox;        /* true: leave out -sandbox */
} QemuSpec;

/* Every field off, with the "-1 means none" fields set: start from this. */
#define QEMU_SPEC_INIT { .tap_fd = -1, .vnc_display = -1, .cdrom_fd = -1, .serial_fd = -1 }

/* Build the argv. On success *ret_argv is a NULL-terminated array the caller frees with
 * qemu_argv_free(). -EINVAL (message in err) when the spec is inconsistent. */
int qemu_cmdline_build(const QemuSpec *spec, Error *err, char ***ret_argv);

/* Frees the array and its strings; accepts NULL; returns NULL. */
char **qemu_argv_free(char **argv);
static inline void qemu_argv_freep(char ***argv) { qemu_argv_free(*argv); }
#define _cleanup_qemu_argv_ _cleanup_(qemu_argv_freep)

/* Number of entries before the terminating NULL. */
size_t qemu_argv_length(char *const *argv);

/* Pick the accelerator (pure). want: "auto" (also NULL or ""), "kvm" or "tcg".
 * dev_kvm_opens: /dev/kvm could be opened read-write by whoever will run qemu.
 * cpuinfo_flags: the "flags" line of /proc/cpuinfo (the whole file works too); NULL
 * counts as no flags.
 * auto: kvm when /dev/kvm opens AND the flags show vmx or svm; else tcg, and
 *       *ret_warning says why (a nested or paravirtual hypervisor like kvm_pvm opens
 *       /dev/kvm without vmx/svm, and cannot run an unmodified guest kernel).
 * kvm:  kvm, or -ENODEV when /dev/kvm does not open, -EOPNOTSUPP without vmx/svm.
 * tcg:  tcg.
 * Anything else: -EINVAL. *ret_warning is NULL when there is nothing to warn about;
 * both out-strings are static. */
int qemu_accel_choose(const char *want, bool dev_kvm_opens, const char *cpuinfo_flags,
                      const char **ret_accel, const char **ret_warning);

/* Probe dev_kvm_path (open O_RDWR, then close) and the flags line of cpuinfo_path, then
 * qemu_accel_choose(). NULL paths mean /dev/kvm and /proc/cpuinfo. The probe runs with
 * this process's credentials: when qemu will run as another user, probe as that user
 * (or make sure that user may open /dev/kvm). Errors carry a message in err. */
int qemu_accel_probe_at(const char *want, const char *dev_kvm_path, const char *cpuinfo_path,
                        Error *err, const char **ret_accel, const char **ret_warning);

static inline int qemu_accel_probe(const char *want, Error *err, const char **ret_accel,
                                   const char **ret_warning) {
        return qemu_accel_probe_at(want, NULL, NULL, err, ret_accel, ret_warning);
}
