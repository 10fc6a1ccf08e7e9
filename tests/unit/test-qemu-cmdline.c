/* test-qemu-cmdline - qemu argv golden files, spec validation, accelerator choice.
 *
 *   test-qemu-cmdline GOLDEN_DIR
 * Each golden case is compared with GOLDEN_DIR/<case>.args (one argument per line).
 * VMBATCH_REGENERATE=1 rewrites the files instead (review the diff before committing). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "qemu/cmdline.h"
#include "golden.h"

/* Print the first line where got and want differ. */
static void diag_first_difference(const char *got, const char *want) {
        for (unsigned line = 1;; line++) {
                size_t g = strcspn(got, "\n"), w = strcspn(want, "\n");
                if (g != w || strncmp(got, want, g) != 0) {
                        printf("#   line %u: got '%.*s', want '%.*s'\n", line, (int)g, got, (int)w,
                               want);
                        return;
                }
                if (!got[g] || !want[w])
                        return;
                got += g + 1;
                want += w + 1;
        }
}

static void check_golden(const char *name, const QemuSpec *spec) {
        Error err = {};
        _cleanup_qemu_argv_ char **argv = NULL;
        int r = qemu_cmdline_build(spec, &err, &argv);
        if (!ok(r == 0, "%s: builds", name)) {
                printf("#   %d %s\n", r, err.message);
                return;
        }
        _cleanup_free_ char *got = golden_lines(argv);
        _cleanup_free_ char *path = xasprintf("%s/%s.args", golden_dir, name);
        if (golden_regenerate) {
                ok(golden_write_file(path, got), "%s: regenerated %s", name, path);
                return;
        }
        _cleanup_free_ char *want = golden_read_file(path);
        if (!ok(want && streq(got, want), "%s: matches %s", name, path)) {
                if (want)
                        diag_first_difference(got, want);
                else
                        printf("#   cannot read %s (VMBATCH_REGENERATE=1 creates it)\n", path);
        }
}

static void test_golden(void) {
        const QemuDisc one_overlay[] = { { .path = "/var/lib/vmbatch/alice/vm1.qcow2" } };

        /* the test guest: kernel + initrd, a qcow2 overlay, tap, everything on */
        QemuSpec direct = QEMU_SPEC_INIT;
        direct.name = "vm1";
        direct.accel = QEMU_ACCEL_TCG;
        direct.memory_mib = 128;
        direct.vcpus = 1;
        direct.discs = one_overlay;
        direct.n_discs = 1;
        direct.kernel = "/srv/guest/vmlinuz";
        direct.initrd = "/srv/guest/initrd.img";
        direct.cmdline = "console=ttyS0 quiet panic=-1 vmb.net=1 vmb.disk=1";
        direct.tap_fd = 3;
        direct.mac = "de:af:de:af:64:02";
        direct.vnc_display = 1;
        direct.qmp_socket = "/run/vmbatch/i/42/qmp.sock";
        direct.serial_log = "/run/vmbatch/i/42/serial.log";
        direct.pidfile = "/run/vmbatch/i/42/qemu.pid";
        check_golden("direct-kernel-tcg", &direct);

        /* the paper's case: BIOS boot from the first of two discs, KVM, VNC on one address */
        const QemuDisc two[] = { { .path = "/home/bob/vmbatch/exam.qcow2" },
                                 { .path = "/home/bob/vmbatch/scratch.qcow2" } };
        QemuSpec bios = QEMU_SPEC_INIT;
        bios.name = "exam-bob";
        bios.accel = QEMU_ACCEL_KVM;
        bios.memory_mib = 2048;
        bios.vcpus = 2;
        bios.discs = two;
        bios.n_discs = 2;
        bios.tap_fd = 5;
        bios.mac = "de:af:de:af:00:0a";
        bios.vnc_display = 12;
        bios.vnc_listen = "10.0.0.5";
        bios.qmp_socket = "/run/vmbatch/i/7/qmp.sock";
        bios.serial_log = "/run/vmbatch/i/7/serial.log";
        check_golden("bios-two-discs-kvm", &bios);

        /* vmbatch run --install --cdrom X.iso: the cdrom boots first, the new disc second */
        const QemuDisc empty[] = { { .path = "/home/carol/vmbatch/new.qcow2" } };
        QemuSpec install = QEMU_SPEC_INIT;
        install.name = "new-vm";
        install.accel = QEMU_ACCEL_TCG;
        install.memory_mib = 2048;
        install.vcpus = 1;
        install.discs = empty;
        install.n_discs = 1;
        install.cdrom = "/srv/iso/SL-63-x86_64-LiveCD.iso";
        install.tap_fd = 3;
        install.mac = "de:af:de:af:64:09";
        install.vnc_display = 3;
        install.qmp_socket = "/run/vmbatch/i/9/qmp.sock";
        install.serial_log = "/run/vmbatch/i/9/serial.log";
        check_golden("install-cdrom", &install);

        /* what the starter gives: a derived vm's disc as the node's fds (the
         * overlay rw, the template ro, named node by node), a second disc of
         * one file, the cdrom as an fd too */
        const int chain0[] = {4, 5}, chain1[] = {6};
        const QemuDisc by_fd[] = { { .chain_fds = chain0, .n_chain = 2 }, { .chain_fds = chain1, .n_chain = 1 } };
        QemuSpec fds = QEMU_SPEC_INIT;
        fds.name = "derived";
        fds.accel = QEMU_ACCEL_TCG;
        fds.memory_mib = 256;
        fds.vcpus = 1;
        fds.discs = by_fd;
        fds.n_discs = 2;
        fds.cdrom_fd = 7;
        fds.tap_fd = 3;
        fds.mac = "de:af:de:af:64:0a";
        fds.vnc_display = 4;
        fds.vnc_listen = "127.0.0.1";
        fds.vnc_socket = "/var/lib/vmbatch/run/instance-10/vnc.sock"; /* the browser console's */
        fds.serial_fd = 8;
        check_golden("discs-as-fds", &fds);

        /* the same minimal VM under each accelerator: only -accel and -cpu differ */
        QemuSpec minimal = QEMU_SPEC_INIT;
        minimal.name = "min";
        minimal.memory_mib = 72;
        minimal.vcpus = 1;
        minimal.discs = one_overlay;
        minimal.n_discs = 1;
        minimal.accel = QEMU_ACCEL_KVM;
        check_golden("minimal-kvm", &minimal);
        minimal.accel = QEMU_ACCEL_TCG;
        check_golden("minimal-tcg", &minimal);

        /* the console's unix socket without a TCP display: the VGA device still comes */
        minimal.vnc_socket = "/var/lib/vmbatch/run/instance-3/vnc.sock";
        check_golden("console-socket-only", &minimal);

        /* commas doubled inside option lists; raw read-only disc; IPv6 VNC; no sandbox */
        const QemuDisc odd[] = { { .path = "/data/a,b/disc,file=/etc/shadow.qcow2" },
                                 { .path = "/data/iso store/tools.img", .format = "raw",
                                   .readonly = true } };
        QemuSpec esc = QEMU_SPEC_INIT;
        esc.binary = "/usr/local/bin/qemu-system-x86_64";
        esc.name = "odd,name=x";
        esc.accel = QEMU_ACCEL_KVM;
        esc.cpu = "Skylake-Server";
        esc.memory_mib = 512;
        esc.vcpus = 4;
        esc.discs = odd;
        esc.n_discs = 2;
        esc.vnc_display = 0;
        esc.vnc_listen = "::1";
        esc.qmp_socket = "/tmp/q,m,p.sock";
        esc.vnc_socket = "/tmp/v,id=x,n,c.sock";
        esc.serial_log = "/tmp/serial,log";
        esc.no_sandbox = true;
        check_golden("escaping", &esc);
}

typedef void (*mutate_t)(QemuSpec *s);
static const QemuDisc bad_format_disc[] = { { .path = "/x.vmdk", .format = "vmdk" } };
static const QemuDisc empty_path_disc[] = { { .path = "" } };
static const QemuDisc protocol_disc[] = { { .path = "json:{\"file.driver\":\"nbd\"}" } };
static const QemuDisc relative_disc[] = { { .path = "vm.qcow2" } };
static const QemuDisc many_discs[QEMU_DISCS_MAX + 1] = {};

static void m_no_name(QemuSpec *s) { s->name = NULL; }
static void m_ctrl_name(QemuSpec *s) { s->name = "a\nb"; }
static void m_no_accel(QemuSpec *s) { s->accel = NULL; }
static void m_auto_accel(QemuSpec *s) { s->accel = "auto"; }
static void m_mem_small(QemuSpec *s) { s->memory_mib = QEMU_MEMORY_MIN_MIB - 1; }
static void m_mem_huge(QemuSpec *s) { s->memory_mib = QEMU_MEMORY_MAX_MIB + 1; }
static void m_vcpus_0(QemuSpec *s) { s->vcpus = 0; }
static void m_vcpus_many(QemuSpec *s) { s->vcpus = QEMU_VCPUS_MAX + 1; }
static void m_initrd_no_kernel(QemuSpec *s) { s->kernel = NULL, s->cmdline = NULL; }
static void m_append_no_kernel(QemuSpec *s) { s->kernel = NULL, s->initrd = NULL; }
static void m_append_newline(QemuSpec *s) { s->cmdline = "a\nvmb.net=1"; }
static void m_cdrom_and_kernel(QemuSpec *s) { s->cdrom = "/x.iso"; }
static void m_vnc_socket_relative(QemuSpec *s) { s->vnc_socket = "run/vnc.sock"; }
static void m_vnc_socket_long(QemuSpec *s) {
        static char p[QEMU_UNIX_PATH_MAX + 2];
        memset(p, 'a', sizeof(p) - 1);
        p[0] = '/';
        s->vnc_socket = p;
}
static void m_tap_stdio(QemuSpec *s) { s->tap_fd = 2; }
static void m_no_mac(QemuSpec *s) { s->mac = NULL; }
static void m_bad_mac(QemuSpec *s) { s->mac = "de:af:de:af:64"; }
static void m_bad_mac_chars(QemuSpec *s) { s->mac = "de:af:de:af:64:0g"; }
static void m_multicast_mac(QemuSpec *s) { s->mac = "01:00:5e:00:00:01"; }
static void m_mac_no_net(QemuSpec *s) { s->tap_fd = -1; }
static void m_vnc_big(QemuSpec *s) { s->vnc_display = QEMU_VNC_DISPLAY_MAX + 1; }
static void m_vnc_listen_comma(QemuSpec *s) { s->vnc_listen = "127.0.0.1,to=99"; }
static void m_vnc_listen_no_vnc(QemuSpec *s) { s->vnc_display = -1, s->vnc_listen = "127.0.0.1"; }
static void m_bad_format(QemuSpec *s) { s->discs = bad_format_disc, s->n_discs = 1; }
static void m_empty_disc_path(QemuSpec *s) { s->discs = empty_path_disc, s->n_discs = 1; }
static void m_too_many_discs(QemuSpec *s) { s->discs = many_discs, s->n_discs = QEMU_DISCS_MAX + 1; }
static void m_discs_null(QemuSpec *s) { s->discs = NULL, s->n_discs = 1; }
static void m_protocol_disc(QemuSpec *s) { s->discs = protocol_disc, s->n_discs = 1; }
static void m_relative_disc(QemuSpec *s) { s->discs = relative_disc, s->n_discs = 1; }
static void m_relative_kernel(QemuSpec *s) { s->kernel = "vmlinuz"; }
static void m_relative_initrd(QemuSpec *s) { s->initrd = "nbd:evil:10809"; }
static void m_relative_cdrom(QemuSpec *s) { s->kernel = s->initrd = s->cmdline = NULL, s->cdrom = "x.iso"; }
static void m_relative_pidfile(QemuSpec *s) { s->pidfile = "qemu.pid"; }
static void m_empty_qmp(QemuSpec *s) { s->qmp_socket = ""; }
static void m_empty_serial(QemuSpec *s) { s->serial_log = ""; }

static void test_invalid(void) {
        static const struct {
                const char *what;
                mutate_t mutate;
        } cases[] = {
                { "no name", m_no_name },
                { "control character in name", m_ctrl_name },
                { "no accelerator", m_no_accel },
                { "'auto' is not resolved here", m_auto_accel },
                { "memory below minimum", m_mem_small },
                { "memory above maximum", m_mem_huge },
                { "0 vcpus", m_vcpus_0 },
                { "too many vcpus", m_vcpus_many },
                { "initrd without kernel", m_initrd_no_kernel },
                { "cmdline without kernel", m_append_no_kernel },
                { "newline in cmdline", m_append_newline },
                { "cdrom together with kernel", m_cdrom_and_kernel },
                { "tap fd 2", m_tap_stdio },
                { "tap without MAC", m_no_mac },
                { "short MAC", m_bad_mac },
                { "non-hex MAC", m_bad_mac_chars },
                { "multicast MAC", m_multicast_mac },
                { "MAC without tap", m_mac_no_net },
                { "VNC display too large", m_vnc_big },
                { "comma in VNC listen address", m_vnc_listen_comma },
                { "VNC listen without display", m_vnc_listen_no_vnc },
                { "relative VNC socket", m_vnc_socket_relative },
                { "VNC socket longer than sun_path", m_vnc_socket_long },
                { "unknown disc format", m_bad_format },
                { "empty disc path", m_empty_disc_path },
                { "too many discs", m_too_many_discs },
                { "disc count without list", m_discs_null },
                { "block protocol as disc path", m_protocol_disc },
                { "relative disc path", m_relative_disc },
                { "relative kernel path", m_relative_kernel },
                { "protocol-looking initrd path", m_relative_initrd },
                { "relative cdrom path", m_relative_cdrom },
                { "relative pid file", m_relative_pidfile },
                { "empty QMP path", m_empty_qmp },
                { "empty serial path", m_empty_serial },
        };
        const QemuDisc disc[] = { { .path = "/d.qcow2" } };
        QemuSpec base = QEMU_SPEC_INIT;
        base.name = "v";
        base.accel = QEMU_ACCEL_TCG;
        base.memory_mib = 128;
        base.vcpus = 1;
        base.discs = disc;
        base.n_discs = 1;
        base.kernel = "/k";
        base.initrd = "/i";
        base.cmdline = "console=ttyS0";
        base.tap_fd = 3;
        base.mac = "de:af:de:af:64:02";
        base.vnc_display = 1;

        char **argv = NULL;
        Error err = {};
        int r = qemu_cmdline_build(&base, &err, &argv);
        ok(r == 0 && argv && streq(argv[0], QEMU_DEFAULT_BINARY), "valid base spec builds");
        argv = qemu_argv_free(argv);
        ok(argv == NULL, "qemu_argv_free returns NULL");
        ok(qemu_argv_free(NULL) == NULL, "qemu_argv_free(NULL)");
        is_int(qemu_argv_length(NULL), 0, "qemu_argv_length(NULL)");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                QemuSpec s = base;
                cases[i].mutate(&s);
                char **sentinel = (char **)&s, **out = sentinel;
                error_clear(&err);
                r = qemu_cmdline_build(&s, &err, &out);
                ok(r == -EINVAL && err.code == -EINVAL && err.message[0] && out == sentinel,
                   "refused: %s (%s)", cases[i].what, err.message);
        }

        error_clear(&err);
        r = qemu_cmdline_build(NULL, &err, &argv);
        is_int(r, -EINVAL, "NULL spec refused");
        r = qemu_cmdline_build(&(QemuSpec)QEMU_SPEC_INIT, NULL, &argv);
        is_int(r, -EINVAL, "empty spec refused without an Error object");

        /* kernel boot: no bootindex anywhere; tap fd and MAC land in the right options */
        _cleanup_qemu_argv_ char **kargv = NULL;
        r = qemu_cmdline_build(&base, NULL, &kargv);
        bool any_bootindex = false, net_ok = false;
        for (char **p = kargv; p && *p; p++) {
                any_bootindex |= strstr(*p, "bootindex") != NULL;
                net_ok |= streq(*p, "tap,id=net0,fd=3");
        }
        ok(r == 0 && !any_bootindex, "direct kernel boot sets no bootindex");
        ok(net_ok, "tap handed over as fd=3");
}

static void test_accel_matrix(void) {
        static const char full_cpuinfo[] =
                "processor\t: 0\nvendor_id\t: GenuineIntel\n"
                "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic vmx ssse3\n"
                "vmx flags\t: vnmi preemption_timer\n";
        static const struct {
                const char *want;
                bool kvm_opens;
                const char *flags;
                int r;
                const char *accel;
                bool warns;
        } m[] = {
                /* auto: kvm only with /dev/kvm AND vmx/svm */
                { "auto", true, "fpu vmx sse2", 0, "kvm", false },
                { "auto", true, "fpu svm sse2", 0, "kvm", false },
                { "auto", true, full_cpuinfo, 0, "kvm", false },
                { "auto", true, "fpu sse2 hypervisor", 0, "tcg", true },  /* kvm_pvm here */
                { "auto", true, "fpu vmxfoo svm_lock", 0, "tcg", true }, /* whole words only */
                { "auto", true, "", 0, "tcg", true },
                { "auto", true, NULL, 0, "tcg", true },
                { "auto", false, "fpu vmx", 0, "tcg", true },
                { "auto", false, "fpu", 0, "tcg", true },
                { NULL, true, "vmx", 0, "kvm", false },
                { "", false, "vmx", 0, "tcg", true },
                /* kvm requested: an error when unusable, never a silent fallback */
                { "kvm", true, "vmx", 0, "kvm", false },
                { "kvm", true, "svm", 0, "kvm", false },
                { "kvm", false, "vmx", -ENODEV, NULL, false },
                { "kvm", true, "fpu", -EOPNOTSUPP, NULL, false },
                { "kvm", false, "fpu", -ENODEV, NULL, false },
                /* tcg: always, no warning */
                { "tcg", false, NULL, 0, "tcg", false },
                { "tcg", true, "vmx", 0, "tcg", false },
                /* anything else */
                { "KVM", true, "vmx", -EINVAL, NULL, false },
                { "xen", true, "vmx", -EINVAL, NULL, false },
        };
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                const char *accel = "unset", *warning = "unset";
                int r = qemu_accel_choose(m[i].want, m[i].kvm_opens, m[i].flags, &accel,
                                          &warning);
                bool good = r == m[i].r;
                if (m[i].r == 0)
                        good = good && streq(accel, m[i].accel) &&
                               (m[i].warns ? !isempty(warning) : warning == NULL);
                else
                        good = good && streq(accel, "unset") && streq(warning, "unset");
                if (!ok(good, "accel want=%s /dev/kvm=%s flags=%.20s -> %s",
                        m[i].want ? m[i].want : "(null)", m[i].kvm_opens ? "opens" : "no",
                        m[i].flags == full_cpuinfo ? "(full cpuinfo)"
                                                            : m[i].flags ? m[i].flags : "(null)",
                        m[i].r == 0 ? m[i].accel : errno_name(m[i].r)))
                        printf("#   got r=%d accel=%s warning=%s\n", r, accel ? accel : "(null)",
                               warning ? warning : "(null)");
        }
}

static void test_accel_probe(void) {
        char dir[] = "/tmp/test-qemu-cmdline.XXXXXX";
        if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
                return;
        _cleanup_free_ char *kvm = xasprintf("%s/kvm", dir);
        _cleanup_free_ char *nokvm = xasprintf("%s/no-such-kvm", dir);
        _cleanup_free_ char *intel = xasprintf("%s/cpuinfo-vmx", dir);
        _cleanup_free_ char *pvm = xasprintf("%s/cpuinfo-pvm", dir);
        golden_write_file(kvm, "");
        golden_write_file(intel, "processor\t: 0\nflags\t\t: fpu vmx sse2\nvmx flags\t: ept\n\n"
                          "processor\t: 1\nflags\t\t: fpu vmx sse2\n");
        /* a "vmx flags" line alone must not count: only the "flags" line is read */
        golden_write_file(pvm, "processor\t: 0\nflags\t\t: fpu sse2 hypervisor\nvmx flags\t: x\n");

        const char *accel = NULL, *warning = NULL;
        Error err = {};
        int r = qemu_accel_probe_at("auto", kvm, intel, &err, &accel, &warning);
        ok(r == 0 && streq(accel, "kvm") && !warning, "probe: /dev/kvm + vmx -> kvm");
        r = qemu_accel_probe_at("auto", kvm, pvm, &err, &accel, &warning);
        ok(r == 0 && streq(accel, "tcg") && warning, "probe: no vmx/svm -> tcg with warning");
        r = qemu_accel_probe_at("auto", nokvm, intel, &err, &accel, &warning);
        ok(r == 0 && streq(accel, "tcg") && warning, "probe: no /dev/kvm -> tcg with warning");
        r = qemu_accel_probe_at("auto", kvm, nokvm, &err, &accel, &warning);
        ok(r == 0 && streq(accel, "tcg") && warning, "probe: unreadable cpuinfo -> tcg");

        error_clear(&err);
        r = qemu_accel_probe_at("kvm", nokvm, intel, &err, &accel, &warning);
        ok(r == -ENODEV && strstr(err.message, nokvm) != NULL,
           "probe: kvm without /dev/kvm -> ENODEV naming the device (%s)", err.message);
        error_clear(&err);
        r = qemu_accel_probe_at("kvm", kvm, pvm, &err, &accel, &warning);
        ok(r == -EOPNOTSUPP && strstr(err.message, "vmx") != NULL,
           "probe: kvm without vmx/svm -> EOPNOTSUPP (%s)", err.message);
        error_clear(&err);
        r = qemu_accel_probe_at("bogus", kvm, intel, &err, &accel, &warning);
        ok(r == -EINVAL && err.message[0], "probe: bad request -> EINVAL (%s)", err.message);

        /* the real machine: whatever it is, auto must give an answer */
        r = qemu_accel_probe("auto", &err, &accel, &warning);
        ok(r == 0 && (streq(accel, "kvm") || streq(accel, "tcg")), "probe of this host: %s%s%s",
           accel, warning ? " - " : "", warning ? warning : "");

        unlink(kvm);
        unlink(intel);
        unlink(pvm);
        rmdir(dir);
}

int main(int argc, char **argv) {
        if (argc != 2) {
                fprintf(stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
                return 2;
        }
        golden_setup(argc, argv, NULL);

        test_golden();
        test_invalid();
        test_accel_matrix();
        test_accel_probe();
        return tap_done();
}
