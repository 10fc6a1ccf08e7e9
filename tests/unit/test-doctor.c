/* test-doctor.c - core/doctor_verdict.h and core/doctor_report.h: the
 * checks of vmbatch doctor as pure functions of facts made here (this
 * machine's KVM among them: /dev/kvm works, no vmx/svm), the parsers they
 * use, the report as text and JSON, its exit status and the roles. */
#include <stdio.h>

#include "core/doctor.h"
#include "core/doctor_verdict.h"
#include "tap.h"

static bool has(const char *s, const char *sub) {
        return s && strstr(s, sub);
}

/* One verdict into a fresh report: its only item. */
static DoctorReport rep;
static const DoctorItem *item(void) {
        return rep.n ? &rep.items[rep.n - 1] : NULL;
}
static void reset(void) {
        doctor_report_clear(&rep);
}

#define EXPECT(st, in_detail, in_fix, name)                                                                  \
        do {                                                                                                 \
                const DoctorItem *it_ = item();                                                              \
                bool good_ = it_ && it_->status == (st) && has(it_->detail, in_detail) &&                    \
                             (in_fix ? has(it_->fix, in_fix) : it_->fix == NULL);                            \
                ok(good_, "%s", name);                                                                       \
                if (!good_ && it_)                                                                           \
                        printf("#   got %s: %s | fix: %s\n", doctor_status_to_string(it_->status), it_->detail, \
                               it_->fix ? it_->fix : "(none)");                                              \
                reset();                                                                                     \
        } while (0)

static void test_parsers(void) {
        const char *cpuinfo = "processor\t: 0\nvmx flags\t: vnmi ept\nflags\t\t: fpu vme svm_lock hypervisor\n"
                              "flags\t\t: second\n";
        char *f = doctor_cpuinfo_flags(cpuinfo);
        is_str(f, " fpu vme svm_lock hypervisor", "cpuinfo: the first flags line, not vmx flags");
        ok(!doctor_flags_have(f, "svm"), "svm_lock is not svm");
        ok(doctor_flags_have(f, "hypervisor") && doctor_flags_have(f, "fpu"), "whole words at both ends");
        ok(!doctor_flags_have(f, "vm"), "no part of a word");
        free(f);
        ok(doctor_cpuinfo_flags("processor : 0\n") == NULL, "no flags line: NULL");
        ok(doctor_flags_have("a vmx\n", "vmx"), "a word before a newline");

        struct {
                const char *out, *want;
        } v[] = {
                {"QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)\nCopyright", "7.2.19"},
                {"qemu-img version 7.2.19 (Debian 1:7.2+dfsg-7)\n", "7.2.19"},
                {"Dnsmasq version 2.89  Copyright (c) 2000-2022 Simon Kelley\n", "2.89"},
                {"ebtables 1.8.9 (nf_tables)\n", "1.8.9"},
                {"nftables v1.0.6 (Lester Gooch #5)\n", "1.0.6"},
                {"usage: something\n", NULL},
                {"", NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                char *got = doctor_program_version(v[i].out);
                if (v[i].want)
                        is_str(got, v[i].want, "version of output %zu (%.*s)", i, (int)strcspn(v[i].out, "\n"), v[i].out);
                else
                        ok(got == NULL, "no version in output %zu (%.*s)", i, (int)strcspn(v[i].out, "\n"), v[i].out);
                free(got);
        }

        const char *chain_nft[] = {"/usr/sbin/ebtables", "/etc/alternatives/ebtables", "/usr/sbin/ebtables-nft",
                                   "xtables-nft-multi"};
        const char *chain_legacy[] = {"/usr/sbin/ebtables", "/etc/alternatives/ebtables", "/usr/sbin/ebtables-legacy"};
        const char *plain[] = {"/usr/local/sbin/ebtables"};
        is_str(doctor_ebtables_flavour(chain_nft, ELEMENTSOF(chain_nft)), "nft", "ebtables -> ebtables-nft");
        is_str(doctor_ebtables_flavour(chain_legacy, ELEMENTSOF(chain_legacy)), "legacy", "ebtables -> legacy");
        ok(doctor_ebtables_flavour(plain, 1) == NULL, "a plain file: unknown");

        is_int(doctor_mode_fixed(0777, 022, 0), 0755, "0777 without group/other write");
        is_int(doctor_mode_fixed(0700, 022, 001), 0701, "0700 with other pass");
        is_int(doctor_mode_fixed(0644, 077, 0), 0600, "0644 for the database");
}

/* This machine (MACHINE.md): kvm_pvm, /dev/kvm 0600 root works, no vmx/svm. */
static DoctorKvmFacts here_kvm(void) {
        return (DoctorKvmFacts){.mode = 0600, .is_char = true, .owner = "root", .group = "root", .api_version = 12,
                                .as_root = true, .flags = " fpu vme de pse hypervisor lahf_lm", .module = "kvm_pvm"};
}

static void test_kvm(void) {
        DoctorKvmFacts f = here_kvm();
        doctor_kvm_verdict(&f, ACCEL_AUTO, &rep);
        const DoctorItem *it = item();
        ok(it && it->status == DOCTOR_WARN, "here, auto: warn");
        ok(it && has(it->detail, "KVM_CREATE_VM works") && has(it->detail, "neither vmx nor svm") &&
                   has(it->detail, "kvm_pvm") && has(it->detail, "guests run under TCG"),
           "here: the reason and that TCG is used");
        ok(it && has(it->fix, "vmx or svm") && has(it->fix, "accel = tcg"), "here: the fix names vmx/svm, or accel = tcg");
        reset();

        doctor_kvm_verdict(&f, ACCEL_KVM, &rep);
        EXPECT(DOCTOR_FAIL, "guests do not start", "accel = auto", "here, accel = kvm: fail");
        doctor_kvm_verdict(&f, ACCEL_TCG, &rep);
        EXPECT(DOCTOR_OK, "accel = tcg: guests run under TCG", NULL, "here, accel = tcg: ok");

        DoctorKvmFacts hw = here_kvm();
        hw.flags = " fpu vmx ept";
        hw.module = "kvm_intel";
        hw.mode = 0660;
        hw.gid = 108;
        hw.group = "kvm";
        doctor_kvm_verdict(&hw, ACCEL_AUTO, &rep);
        EXPECT(DOCTOR_OK, "guests run under KVM", NULL, "vmx and group kvm 0660: KVM");
        doctor_kvm_verdict(&hw, ACCEL_TCG, &rep);
        EXPECT(DOCTOR_OK, "would use KVM", NULL, "tcg where KVM works: ok, says so");

        hw.mode = 0600;
        hw.gid = 0;
        doctor_kvm_verdict(&hw, ACCEL_AUTO, &rep);
        EXPECT(DOCTOR_WARN, "VM owners cannot open /dev/kvm", "chmod 0660 /dev/kvm", "vmx, but 0600 root: warn");

        DoctorKvmFacts none = {.stat_errno = ENOENT, .open_errno = DOCTOR_NOT_TRIED, .create_errno = DOCTOR_NOT_TRIED,
                               .flags = " fpu svm"};
        doctor_kvm_verdict(&none, ACCEL_AUTO, &rep);
        EXPECT(DOCTOR_WARN, "/dev/kvm: No such file", "modprobe kvm_intel", "no /dev/kvm: warn, load the module");

        DoctorKvmFacts user = here_kvm();
        user.as_root = false;
        user.flags = " svm";
        user.open_errno = EACCES;
        user.create_errno = DOCTOR_NOT_TRIED;
        doctor_kvm_verdict(&user, ACCEL_AUTO, &rep);
        EXPECT(DOCTOR_WARN, "cannot be opened: Permission denied", "as root", "not root: run as root");
}

static void test_network(void) {
        DoctorScratchFacts ran = {.ran = true};
        DoctorScratchFacts failed = {.ran = true, .bridge_r = -EOPNOTSUPP, .bridge_msg = "Operation not supported",
                                     .tap_r = 1, .nft_r = -EAFNOSUPPORT,
                                     .nft_msg = "filter_backend = nft: the kernel has no nftables bridge family",
                                     .ebt_r = -ENOENT, .ebt_msg = "ebtables-nft is not installed"};
        DoctorScratchFacts none = {.why = "not root", .bridge_r = 1, .tap_r = 1, .nft_r = 1, .ebt_r = 1};

        DoctorTunFacts tun = {.is_char = true, .major = 10, .minor = 200, .mode = 0600, .owner = "root",
                              .group = "root", .as_root = true};
        doctor_tun_verdict(&tun, &ran, &rep);
        EXPECT(DOCTOR_OK, "char 10:200, 0600 root:root) opens; a tap was made", NULL, "tun: ok");
        DoctorTunFacts notun = {.stat_errno = ENOENT};
        doctor_tun_verdict(&notun, &ran, &rep);
        EXPECT(DOCTOR_FAIL, "/dev/net/tun: No such file", "modprobe tun", "no tun: fail");
        DoctorScratchFacts badtap = {.ran = true, .tap_r = -EPERM, .tap_msg = "Operation not permitted"};
        doctor_tun_verdict(&tun, &badtap, &rep);
        EXPECT(DOCTOR_FAIL, "a tap cannot be made: Operation not permitted", "modprobe tun", "tap fails: fail");
        tun.as_root = false;
        doctor_tun_verdict(&tun, &none, &rep);
        EXPECT(DOCTOR_WARN, "not root", "as root", "tun as a user: warn");

        DoctorBridgeFacts br = {.name = "vbr0", .module = true, .link_r = -ENODEV, .as_root = true};
        doctor_bridge_verdict(&br, &ran, &rep);
        EXPECT(DOCTOR_OK, "vbr0 is not there yet", NULL, "bridge: can be made");
        doctor_bridge_verdict(&br, &failed, &rep);
        EXPECT(DOCTOR_FAIL, "a bridge cannot be made: Operation not supported", "modprobe bridge", "bridge: fail");
        DoctorBridgeFacts eth = {.name = "eth0", .link_r = 0, .is_bridge = false, .as_root = true};
        doctor_bridge_verdict(&eth, &ran, &rep);
        EXPECT(DOCTOR_FAIL, "eth0 exists and is not a bridge", "ip link del eth0", "bridge name taken: fail");

        DoctorFilterFacts fl = {.backend = FILTER_KIND_NFT, .as_root = true, .nft_version = "1.0.6",
                                .ebt_path = "/usr/sbin/ebtables-nft", .ebt_version = "1.8.9",
                                .ebtables = "/usr/sbin/ebtables", .ebt_flavour = "nft"};
        doctor_nft_verdict(&fl, &ran, &rep);
        EXPECT(DOCTOR_OK, "bridge-family table", NULL, "nft: ok");
        doctor_nft_verdict(&fl, &failed, &rep);
        EXPECT(DOCTOR_FAIL, "no nftables bridge family", "CONFIG_NF_TABLES_BRIDGE", "nft: no family, fail");
        fl.backend = FILTER_KIND_NONE;
        doctor_nft_verdict(&fl, &failed, &rep);
        EXPECT(DOCTOR_WARN, "(not needed)", "CONFIG_NF_TABLES_BRIDGE", "nft broken but not used: warn");

        fl.backend = FILTER_KIND_NFT;
        doctor_ebtables_verdict(&fl, &ran, &rep);
        EXPECT(DOCTOR_OK, "ebtables is ebtables-nft", NULL, "ebtables not used: ok, the flavour named");
        fl.backend = FILTER_KIND_EBTABLES;
        doctor_ebtables_verdict(&fl, &ran, &rep);
        EXPECT(DOCTOR_OK, "its bridge tables work", NULL, "ebtables backend: ok");
        fl.ebt_flavour = "legacy";
        doctor_ebtables_verdict(&fl, &ran, &rep);
        EXPECT(DOCTOR_WARN, "ebtables-legacy", "update-alternatives --set ebtables", "legacy alternative: warn");
        fl.ebt_path = NULL;
        doctor_ebtables_verdict(&fl, &ran, &rep);
        EXPECT(DOCTOR_FAIL, "ebtables-nft is not installed", "apt-get install iptables", "no ebtables-nft: fail");
}

static void test_programs(void) {
        DoctorProgram qemu = {.name = "qemu-system-x86_64", .path = "/usr/bin/qemu-system-x86_64",
                              .output = "QEMU emulator version 7.2.19 (Debian)\n"};
        doctor_qemu_verdict(&qemu, "Accelerators supported in QEMU binary:\ntcg\nkvm\n", false, &rep);
        EXPECT(DOCTOR_OK, "qemu-system-x86_64 7.2.19 (/usr/bin/qemu-system-x86_64); accelerators: tcg kvm", NULL,
               "qemu: ok with version and accelerators");
        doctor_qemu_verdict(&qemu, "Accelerators supported in QEMU binary:\nkvm\n", false, &rep);
        EXPECT(DOCTOR_FAIL, "no tcg accelerator", "qemu-system-x86", "qemu without tcg: fail");
        DoctorProgram gone = {.name = "/opt/qemu", .run_r = 1};
        doctor_qemu_verdict(&gone, NULL, false, &rep);
        EXPECT(DOCTOR_FAIL, "/opt/qemu is not on PATH (qemu_binary)", "set qemu_binary", "qemu missing: fail");

        DoctorProgram img = {.name = "qemu-img", .path = "/usr/bin/qemu-img", .exit_code = 1,
                             .output = "qemu-img: broken\n"};
        doctor_program_verdict("qemu-img", &img, "discs", "apt-get install qemu-utils", &rep);
        EXPECT(DOCTOR_FAIL, "fails (exit 1): qemu-img: broken", "apt-get install qemu-utils", "qemu-img fails: fail");
        DoctorProgram slow = {.name = "qemu-img", .path = "/usr/bin/qemu-img", .timed_out = true, .exit_code = 137};
        doctor_program_verdict("qemu-img", &slow, "discs", "apt-get install qemu-utils", &rep);
        EXPECT(DOCTOR_FAIL, "did not answer --version in time", "qemu-utils", "qemu-img hangs: fail");

        DoctorDhcpFacts d = {.backend = DHCP_DNSMASQ, .dnsmasq = {.name = "dnsmasq", .run_r = 1}};
        doctor_dhcp_verdict(&d, &rep);
        EXPECT(DOCTOR_FAIL, "dhcp_backend = dnsmasq: dnsmasq is not on PATH", "apt-get install dnsmasq-base",
               "no dnsmasq: fail, the package named");
        d.dnsmasq = (DoctorProgram){.name = "dnsmasq", .path = "/usr/sbin/dnsmasq", .output = "Dnsmasq version 2.89  C"};
        doctor_dhcp_verdict(&d, &rep);
        EXPECT(DOCTOR_WARN, "dhcp_release is not on PATH", "dnsmasq-utils", "no dhcp_release: warn");
        d.dhcp_release = "/usr/bin/dhcp_release";
        doctor_dhcp_verdict(&d, &rep);
        EXPECT(DOCTOR_OK, "dnsmasq 2.89 (/usr/sbin/dnsmasq)", NULL, "dnsmasq: ok");
        DoctorDhcpFacts o = {.backend = DHCP_OMAPI, .omapi_server = "127.0.0.1", .omapi_port = 7911,
                             .omapi_key = "omapi_key", .omapi_r = -ECONNREFUSED, .omapi_msg = "Connection refused"};
        doctor_dhcp_verdict(&o, &rep);
        EXPECT(DOCTOR_FAIL, "OMAPI at 127.0.0.1:7911 (key omapi_key): Connection refused", "omapi-port",
               "omapi refused: fail");
}

static void test_paths(void) {
        DoctorPathWant w = {.check = "state_dir", .what = "state", .dir = true, .uid = 0, .owner = "root",
                            .group = "root", .forbid = 022, .need = 001, .need_why = "starters pass", .made_mode = 0755};
        DoctorPathFacts f = {.path = "/var/lib/vmbatch", .is_dir = true, .mode = 0755, .owner = "root", .as_root = true};
        doctor_path_verdict(&f, &w, &rep);
        EXPECT(DOCTOR_OK, "/var/lib/vmbatch (state): 0755 root", NULL, "root 0755: ok");

        f.uid = 1000;
        f.owner = "doraz";
        doctor_path_verdict(&f, &w, &rep);
        EXPECT(DOCTOR_FAIL, "owned by doraz, not root", "chown root:root /var/lib/vmbatch", "wrong owner: chown");
        f.uid = 0;
        f.owner = "root";
        f.mode = 0777;
        doctor_path_verdict(&f, &w, &rep);
        EXPECT(DOCTOR_FAIL, "0777 root: others may write to it", "chmod 0755 /var/lib/vmbatch", "0777: chmod 0755");
        f.mode = 0770;
        f.uid = 7;
        f.owner = NULL;
        doctor_path_verdict(&f, &w, &rep);
        const DoctorItem *it = item();
        ok(it && it->status == DOCTOR_FAIL && has(it->detail, "owned by uid 7") && has(it->detail, "lacks 0001") &&
                   streq(it->fix, "chown root:root /var/lib/vmbatch && chmod 0751 /var/lib/vmbatch"),
           "owner and mode: both lines in one fix");
        reset();

        DoctorPathFacts gone = {.path = "/var/lib/vmbatch", .stat_errno = ENOENT};
        doctor_path_verdict(&gone, &w, &rep);
        EXPECT(DOCTOR_OK, "does not exist yet: vmbatchd makes it (0755 root)", NULL, "missing, made 0755: ok");
        w.made_mode = 0700;
        doctor_path_verdict(&gone, &w, &rep);
        EXPECT(DOCTOR_WARN, "would make it 0700, without 0001 (starters pass)", "mkdir -p -m 0755 /var/lib/vmbatch",
               "missing, made 0700 but passing needed: warn");
        gone.parent_errno = ENOENT;
        doctor_path_verdict(&gone, &w, &rep);
        EXPECT(DOCTOR_FAIL, "nor does its parent", "mkdir -p", "missing parent: fail");
        DoctorPathFacts file = {.path = "/var/lib/vmbatch", .is_reg = true, .mode = 0644};
        doctor_path_verdict(&file, &w, &rep);
        EXPECT(DOCTOR_FAIL, "is not a directory", "move /var/lib/vmbatch away", "a file: fail");
        DoctorPathFacts denied = {.path = "/root/x", .stat_errno = EACCES};
        doctor_path_verdict(&denied, &w, &rep);
        EXPECT(DOCTOR_WARN, "not looked at: Permission denied", "as root", "not root: warn");

        DoctorPathWant admin = {.check = "admin_stordir", .what = "the admin's VM folder", .dir = true, .uid = 1001,
                                .owner = "badadmin", .group = "badadmin", .forbid = 002,
                                .missing_fix = "install -d -o badadmin -g badadmin -m 0750 /home/badadmin/vms"};
        DoctorPathFacts nohome = {.path = "/home/badadmin/vms", .stat_errno = ENOENT};
        doctor_path_verdict(&nohome, &admin, &rep);
        EXPECT(DOCTOR_FAIL, "does not exist", "install -d -o badadmin", "admin folder missing: fail");
}

static void test_state(void) {
        DoctorSocketFacts s = {.path = "/run/vmbatch/vmbatchd.sock", .stat_errno = ENOENT};
        doctor_socket_verdict(&s, &rep);
        EXPECT(DOCTOR_WARN, "vmbatchd is not running", "start vmbatchd", "no socket: warn");
        s = (DoctorSocketFacts){.path = "/x", .is_sock = true, .connect_errno = ECONNREFUSED};
        doctor_socket_verdict(&s, &rep);
        EXPECT(DOCTOR_WARN, "stale socket", "start vmbatchd", "stale socket: warn");
        s = (DoctorSocketFacts){.path = "/x"};
        doctor_socket_verdict(&s, &rep);
        EXPECT(DOCTOR_FAIL, "/x is not a socket", "remove /x", "a file: fail");
        s = (DoctorSocketFacts){.path = "/x", .is_sock = true, .mode = 0777, .error = "no answer in time"};
        doctor_socket_verdict(&s, &rep);
        EXPECT(DOCTOR_FAIL, "does not answer a ping (no answer in time)", "restart", "silent daemon: fail");
        s = (DoctorSocketFacts){.path = "/x", .is_sock = true, .mode = 0777, .answered = true, .version = "0.1.0"};
        doctor_socket_verdict(&s, &rep);
        EXPECT(DOCTOR_OK, "vmbatchd 0.1.0 answers a ping at /x", NULL, "answered: ok");

        DoctorDbFacts db = {.file = {.path = "/db", .is_reg = true, .mode = 0600, .owner = "root"}, .check_r = 0,
                            .integrity = "ok", .schema = 3, .schema_max = 3, .initialized = true, .as_root = true};
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_OK, "/db: integrity ok, schema 3, 0600 root", NULL, "database: ok");
        db.integrity = "*** in database main ***; Page 5 is never used";
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_FAIL, "integrity_check: *** in database main", "restore /db from a backup", "corrupt: fail");
        db.integrity = "ok";
        db.file.mode = 0644;
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_FAIL, "others may read it", "chmod 0600 /db", "a readable database: chmod 0600");
        db.file.mode = 0600;
        db.schema = 4;
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_FAIL, "schema 4 is newer", "install the vmbatch", "newer schema: fail");
        db.schema = 3;
        db.initialized = false;
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_WARN, "not initialised", "vmbatch init", "not initialised: warn");
        db.check_r = -ETIMEDOUT;
        doctor_db_verdict(&db, &rep);
        EXPECT(DOCTOR_WARN, "did not finish in time", "PRAGMA integrity_check", "slow check: warn");
        DoctorDbFacts nodb = {.file = {.path = "/db", .stat_errno = ENOENT}, .check_r = 1};
        doctor_db_verdict(&nodb, &rep);
        EXPECT(DOCTOR_WARN, "does not exist", "vmbatch init", "no database yet: warn");

        DoctorMungeFacts m = {.socket = "/run/munge/munge.socket.2", .stat_errno = ENOENT, .r = 1};
        doctor_munge_verdict(&m, &rep);
        EXPECT(DOCTOR_FAIL, "no munged", "start munged", "no munged: fail");
        m = (DoctorMungeFacts){.socket = "/run/munge/munge.socket.2", .is_sock = true, .r = 0, .decoded = true};
        doctor_munge_verdict(&m, &rep);
        EXPECT(DOCTOR_OK, "encodes a credential and decodes it", NULL, "munge: ok");
        m.r = -EACCES;
        m.msg = "munge: Failed to access socket";
        doctor_munge_verdict(&m, &rep);
        EXPECT(DOCTOR_FAIL, "cannot encode a credential: munge: Failed", "restart it", "munge refuses: fail");

        DoctorControllerFacts c = {.address = "10.0.0.1:7000", .r = -ETIMEDOUT, .msg = "Connection timed out"};
        doctor_controller_verdict(&c, &rep);
        EXPECT(DOCTOR_FAIL, "cannot connect to 10.0.0.1:7000: Connection timed out", "cluster_listen",
               "controller away: fail");
        c = (DoctorControllerFacts){.address = "", .r = -EINVAL};
        doctor_controller_verdict(&c, &rep);
        EXPECT(DOCTOR_FAIL, "controller is not set", "controller = ADDRESS:PORT", "no controller set: fail");
        c = (DoctorControllerFacts){.address = "127.0.0.1:7000", .ms = 1};
        doctor_controller_verdict(&c, &rep);
        EXPECT(DOCTOR_OK, "accepts a TCP connection (1 ms)", NULL, "controller: ok");
}

static void test_report(void) {
        DoctorReport r = {0};
        doctor_add(&r, "kvm", DOCTOR_WARN, xstrdup("no vmx: TCG"), xstrdup("use hardware"));
        doctor_add(&r, "tun", DOCTOR_OK, xstrdup("fine"), xstrdup("dropped for ok"));
        is_int(doctor_exit_status(&r), 0, "warn only: exit 0");
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        doctor_print_text(f, &r);
        fclose(f);
        is_str(text,
               "warn  kvm             no vmx: TCG\n"
               "                      fix: use hardware\n"
               "ok    tun             fine\n"
               "2 checks: 1 ok, 1 warn, 0 fail\n",
               "text: status, check, detail, the fix under it");
        free(text);

        doctor_add(&r, "dhcp", DOCTOR_FAIL, xstrdup("no dnsmasq"), xstrdup("apt-get install dnsmasq-base"));
        is_int(doctor_exit_status(&r), 1, "a fail: exit 1");
        ok(doctor_find(&r, "tun") && doctor_find(&r, "tun")->fix == NULL, "an ok item has no fix");
        json_t *a = doctor_report_json(&r);
        char *dump = json_dumps(a, JSON_COMPACT);
        is_str(dump,
               "[{\"check\":\"kvm\",\"status\":\"warn\",\"detail\":\"no vmx: TCG\",\"fix\":\"use hardware\"},"
               "{\"check\":\"tun\",\"status\":\"ok\",\"detail\":\"fine\",\"fix\":null},"
               "{\"check\":\"dhcp\",\"status\":\"fail\",\"detail\":\"no dnsmasq\",\"fix\":\"apt-get install dnsmasq-base\"}]",
               "json: check, status, detail, fix (null for ok)");
        free(dump);
        json_decref(a);
        for (int s = 0; s < _DOCTOR_STATUS_MAX; s++)
                is_int(doctor_status_from_string(doctor_status_to_string(s)), s, "status %d round trip", s);
        doctor_report_clear(&r);

        Settings st;
        settings_defaults(&st);
        DoctorRole role = doctor_role(&st, false);
        ok(role.controller && role.node && !role.cluster, "defaults: controller and node, no cluster");
        role = doctor_role(&st, true);
        ok(!role.controller && role.node && role.cluster, "--node: node of a cluster");
        st.node = false;
        snprintf(st.cluster_listen, sizeof(st.cluster_listen), "0.0.0.0:7000");
        role = doctor_role(&st, false);
        ok(role.controller && !role.node && role.cluster, "node = no, cluster_listen: controller of a cluster");
}

int main(void) {
        test_parsers();
        test_kvm();
        test_network();
        test_programs();
        test_paths();
        test_state();
        test_report();
        return tap_done();
}
