/* doctor_verdict.c - the host's checks (KVM, tun, bridge, filters, qemu,
 * DHCP) as pure functions of their facts. See doctor_verdict.h. */
#include "core/doctor_verdict.h"

#include <ctype.h>
#include <stdio.h>

#include "net/filter.h"
#include "qemu/cmdline.h"

/* ---- parsers ------------------------------------------------------------ */

char *doctor_cpuinfo_flags(const char *cpuinfo) {
        for (const char *line = cpuinfo; line && *line;) {
                size_t len = strcspn(line, "\n");
                /* "flags\t\t: fpu ...", not "vmx flags\t: ..." */
                if (strncmp(line, "flags", 5) == 0 && strchr(" \t:", line[5])) {
                        const char *colon = memchr(line, ':', len);
                        if (colon) {
                                const char *v = colon + 1;
                                return strndup(v, len - (size_t)(v - line));
                        }
                }
                line += len;
                if (*line)
                        line++;
        }
        return NULL;
}

bool doctor_flags_have(const char *flags, const char *word) {
        size_t wl = strlen(word);
        for (const char *p = flags; p && wl && (p = strstr(p, word)); p += wl) {
                bool starts = p == flags || isspace((unsigned char)p[-1]);
                if (starts && (p[wl] == 0 || isspace((unsigned char)p[wl])))
                        return true;
        }
        return false;
}

char *doctor_program_version(const char *output) {
        if (!output)
                return NULL;
        _cleanup_free_ char *line = strndup(output, strcspn(output, "\n"));
        char *save = NULL, *words[16];
        size_t n = 0;
        for (char *w = strtok_r(line, " \t", &save); w && n < ELEMENTSOF(words); w = strtok_r(NULL, " \t", &save))
                words[n++] = w;
        const char *v = NULL;
        for (size_t i = 0; i + 1 < n && !v; i++)
                if (strcasecmp(words[i], "version") == 0)
                        v = words[i + 1];
        if (!v && n >= 2)
                v = words[1][0] == 'v' ? words[1] + 1 : words[1];
        if (!v || !isdigit((unsigned char)v[0]))
                return NULL;
        return strndup(v, strcspn(v, ",;()"));
}

const char *doctor_ebtables_flavour(const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const char *base = strrchr(names[i], '/') ? strrchr(names[i], '/') + 1 : names[i];
                if (streq(base, "ebtables-nft") || streq(base, "xtables-nft-multi"))
                        return "nft";
                if (streq(base, "ebtables-legacy") || streq(base, "xtables-legacy-multi"))
                        return "legacy";
        }
        return NULL;
}

unsigned doctor_mode_fixed(unsigned mode, unsigned forbid, unsigned need) {
        return ((mode & 07777) & ~forbid) | need;
}

/* ---- KVM ------------------------------------------------------------------ */

#define RUN_AS_ROOT "run vmbatch doctor as root (vmbatchd runs as root)"

/* VM owners (qemu runs as them) may open /dev/kvm read-write. */
static bool kvm_owners_may_open(const DoctorKvmFacts *f) {
        return (f->mode & 006) == 006 || ((f->mode & 060) == 060 && f->gid != 0);
}

static char *kvm_device_text(const DoctorKvmFacts *f) {
        if (f->stat_errno)
                return xasprintf("/dev/kvm: %s", strerror(f->stat_errno));
        _cleanup_free_ char *who = xasprintf("%04o %s:%s", f->mode, f->owner ? f->owner : "?", f->group ? f->group : "?");
        if (!f->is_char)
                return xasprintf("/dev/kvm (%s) is not a character device", who);
        if (f->open_errno)
                return xasprintf("/dev/kvm (%s) cannot be opened: %s", who,
                                 f->open_errno > 0 ? strerror(f->open_errno) : "not tried");
        if (f->create_errno)
                return xasprintf("/dev/kvm (%s) opens, but KVM_CREATE_VM fails: %s", who,
                                 f->create_errno > 0 ? strerror(f->create_errno) : "not tried");
        return xasprintf("/dev/kvm (%s) opens and KVM_CREATE_VM works", who);
}

void doctor_kvm_verdict(const DoctorKvmFacts *f, AccelKind accel, DoctorReport *r) {
        bool works = !f->stat_errno && f->is_char && !f->open_errno && !f->create_errno;
        bool owners = kvm_owners_may_open(f);
        const char *hw = doctor_flags_have(f->flags, "vmx") ? "vmx" : doctor_flags_have(f->flags, "svm") ? "svm" : NULL;
        bool hypervisor = doctor_flags_have(f->flags, "hypervisor");
        const char *acc = NULL, *warning = NULL;
        int ch = qemu_accel_choose(accel_kind_to_string(accel), works && owners, f->flags, &acc, &warning);

        _cleanup_free_ char *dev = kvm_device_text(f);
        _cleanup_free_ char *mod = f->module ? xasprintf(" (module %s)", f->module) : xstrdup("");
        _cleanup_free_ char *cpu =
                hw ? xasprintf("the CPU flags show %s", hw)
                   : xasprintf("the CPU flags in /proc/cpuinfo show neither vmx nor svm%s",
                               hypervisor ? " (a hypervisor runs this host: a nested or paravirtual KVM, "
                                            "which cannot boot an unmodified kernel)"
                                          : " (no hardware virtualisation, or it is off in the firmware)");
        const char *who = works && !owners ? "; VM owners cannot open /dev/kvm (qemu runs as them)" : "";

        /* the first thing to fix */
        const char *fix;
        if (f->stat_errno || !f->is_char)
                fix = "enable VT-x/AMD-V in the firmware and load the module (modprobe kvm_intel or kvm_amd)";
        else if (!hw)
                fix = "run the guests on a host whose CPU flags show vmx or svm (enable VT-x/AMD-V in the "
                      "firmware; a virtual host needs nested virtualisation passed through)";
        else if (f->open_errno > 0 && !f->as_root)
                fix = RUN_AS_ROOT;
        else if (!works)
                fix = "look for KVM's errors in the kernel log (dmesg | grep -i kvm) and reload the module";
        else
                fix = "let VM owners open /dev/kvm: chgrp kvm /dev/kvm && chmod 0660 /dev/kvm (a udev rule "
                      "keeps it) and add them to group kvm";

        _cleanup_free_ char *found = xasprintf("%s%s; %s%s", dev, mod, cpu, who);
        if (accel == ACCEL_TCG) {
                bool kvm_ok = works && owners && hw;
                doctor_add(r, "kvm", DOCTOR_OK,
                           xasprintf("%s; accel = tcg: guests run under TCG%s", found,
                                     kvm_ok ? " (accel = auto would use KVM here)" : ""),
                           NULL);
        } else if (ch < 0)
                doctor_add(r, "kvm", DOCTOR_FAIL,
                           xasprintf("%s; accel = kvm: KVM cannot be used, guests do not start", found),
                           xasprintf("%s; or set accel = auto (TCG when KVM cannot be used)", fix));
        else if (streq(acc, QEMU_ACCEL_KVM))
                doctor_add(r, "kvm", DOCTOR_OK, xasprintf("%s: guests run under KVM", found), NULL);
        else
                doctor_add(r, "kvm", DOCTOR_WARN,
                           xasprintf("%s: KVM cannot be used, guests run under TCG (correct, but many times "
                                     "slower)", found),
                           xasprintf("%s; or set accel = tcg to accept TCG", fix));
}

/* ---- tun, bridge ----------------------------------------------------------- */

static const char *scratch_not_run(const DoctorScratchFacts *s) {
        return s->ran ? NULL : s->why ? s->why : "not run";
}

void doctor_tun_verdict(const DoctorTunFacts *f, const DoctorScratchFacts *s, DoctorReport *r) {
        if (f->stat_errno || !f->is_char) {
                doctor_add(r, "tun", DOCTOR_FAIL,
                           f->stat_errno ? xasprintf("/dev/net/tun: %s", strerror(f->stat_errno))
                                         : xstrdup("/dev/net/tun is not a character device"),
                           xstrdup("load the tun module (modprobe tun; kernel option CONFIG_TUN)"));
                return;
        }
        _cleanup_free_ char *dev = xasprintf("/dev/net/tun (char %u:%u, %04o %s:%s)", f->major, f->minor, f->mode,
                                             f->owner ? f->owner : "?", f->group ? f->group : "?");
        if (!f->as_root) {
                doctor_add(r, "tun", DOCTOR_WARN, xasprintf("%s; not opened: not root", dev), xstrdup(RUN_AS_ROOT));
                return;
        }
        if (f->open_errno) {
                doctor_add(r, "tun", DOCTOR_FAIL, xasprintf("%s cannot be opened: %s", dev, strerror(f->open_errno)),
                           xstrdup("check the device (mknod /dev/net/tun c 10 200) and the tun module"));
                return;
        }
        if (scratch_not_run(s)) {
                doctor_add(r, "tun", DOCTOR_WARN,
                           xasprintf("%s opens; no tap was tried (%s)", dev, scratch_not_run(s)),
                           xstrdup("look at why no scratch network namespace could be made (CONFIG_NET_NS)"));
                return;
        }
        if (s->tap_r < 0)
                doctor_add(r, "tun", DOCTOR_FAIL,
                           xasprintf("%s opens, but a tap cannot be made: %s", dev, s->tap_msg ? s->tap_msg : "?"),
                           xstrdup("load the tun module (modprobe tun) and check the kernel log"));
        else if (s->tap_r == 0)
                doctor_add(r, "tun", DOCTOR_OK,
                           xasprintf("%s opens; a tap was made on a bridge in a scratch network namespace", dev),
                           NULL);
        else
                doctor_add(r, "tun", DOCTOR_OK, xasprintf("%s opens (no bridge to try a tap on)", dev), NULL);
}

void doctor_bridge_verdict(const DoctorBridgeFacts *f, const DoctorScratchFacts *s, DoctorReport *r) {
        _cleanup_free_ char *here =
                f->link_r == -ENODEV ? xasprintf("%s is not there yet (vmbatchd makes it)", f->name)
                : f->link_r < 0      ? xasprintf("%s: %s", f->name, strerror(-f->link_r))
                                     : xasprintf("%s exists%s", f->name, f->up ? " and is up" : ", down");
        if (f->link_r == 0 && !f->is_bridge) {
                doctor_add(r, "bridge", DOCTOR_FAIL, xasprintf("%s exists and is not a bridge", f->name),
                           xasprintf("remove it (ip link del %s) or set bridge = another name", f->name));
                return;
        }
        const char *mod = f->module ? "module bridge loaded" : "no module bridge loaded (built in?)";
        if (!f->as_root || scratch_not_run(s)) {
                doctor_add(r, "bridge", DOCTOR_WARN,
                           xasprintf("%s; %s; making one was not tried (%s)", here, mod,
                                     f->as_root ? scratch_not_run(s) : "not root"),
                           xstrdup(f->as_root ? "look at why no scratch network namespace could be made "
                                                "(CONFIG_NET_NS)"
                                              : RUN_AS_ROOT));
                return;
        }
        if (s->bridge_r < 0)
                doctor_add(r, "bridge", DOCTOR_FAIL,
                           xasprintf("%s; a bridge cannot be made: %s", here, s->bridge_msg ? s->bridge_msg : "?"),
                           xstrdup("load the bridge module (modprobe bridge; kernel option CONFIG_BRIDGE)"));
        else
                doctor_add(r, "bridge", DOCTOR_OK,
                           xasprintf("%s; a bridge can be made (%s; tried in a scratch network namespace)", here, mod),
                           NULL);
}

/* ---- the filters ------------------------------------------------------------ */

/* ok / warn / fail for a filter probe: fails only when the backend needs it */
static void filter_item(const char *check, bool needed, int pr, char *ok_text, char *bad_text,
                        const char *fix, DoctorReport *r) {
        if (pr >= 0 && pr != 1) {
                free(bad_text);
                doctor_add(r, check, DOCTOR_OK, ok_text, NULL);
                return;
        }
        free(ok_text);
        doctor_add(r, check, needed ? DOCTOR_FAIL : DOCTOR_WARN, bad_text, xstrdup(fix));
}

void doctor_nft_verdict(const DoctorFilterFacts *f, const DoctorScratchFacts *s, DoctorReport *r) {
        bool needed = f->backend != FILTER_KIND_NONE;
        _cleanup_free_ char *use = xasprintf("filter_backend = %s%s", filter_kind_to_string(f->backend),
                                             f->backend == FILTER_KIND_NONE ? " (not needed)" : "");
        _cleanup_free_ char *prog = f->nft_version ? xasprintf("; nft %s", f->nft_version) : xstrdup("");
        if (!f->as_root || scratch_not_run(s)) {
                doctor_add(r, "nft", needed ? DOCTOR_WARN : DOCTOR_OK,
                           xasprintf("%s%s; the bridge family was not tried (%s)", use, prog,
                                     f->as_root ? scratch_not_run(s) : "not root"),
                           xstrdup(RUN_AS_ROOT));
                return;
        }
        filter_item("nft", needed, s->nft_r,
                    xasprintf("%s%s; the kernel takes a bridge-family table with a base chain (libnftables, in "
                              "a scratch network namespace)", use, prog),
                    xasprintf("%s%s; %s", use, prog, s->nft_msg ? s->nft_msg : "the bridge family does not work"),
                    "load the module (modprobe nf_tables) of a kernel with CONFIG_NF_TABLES_BRIDGE, or set "
                    "filter_backend = none (then nothing isolates the VMs)", r);
}

void doctor_ebtables_verdict(const DoctorFilterFacts *f, const DoctorScratchFacts *s, DoctorReport *r) {
        bool needed = f->backend == FILTER_KIND_EBTABLES;
        _cleanup_free_ char *flavour =
                !f->ebtables ? xstrdup("no ebtables on PATH")
                : f->ebt_flavour ? xasprintf("ebtables is %s (%s)", streq(f->ebt_flavour, "nft") ? "ebtables-nft" : "ebtables-legacy", f->ebtables)
                                 : xasprintf("ebtables (%s) is of unknown kind", f->ebtables);
        _cleanup_free_ char *nft = f->ebt_path ? xasprintf("%s %s (%s)", FILTER_EBT_PROGRAM,
                                                           f->ebt_version ? f->ebt_version : "?", f->ebt_path)
                                               : xstrdup(FILTER_EBT_PROGRAM " is not installed");
        const char *use = needed ? "filter_backend = ebtables" : "not used (filter_backend is not ebtables)";
        if (!f->ebt_path) {
                doctor_add(r, "ebtables", needed ? DOCTOR_FAIL : DOCTOR_OK, xasprintf("%s; %s; %s", use, nft, flavour),
                           xstrdup("apt-get install iptables (it brings " FILTER_EBT_PROGRAM ")"));
                return;
        }
        if (needed && f->ebt_flavour && streq(f->ebt_flavour, "legacy")) {
                doctor_add(r, "ebtables", DOCTOR_WARN,
                           xasprintf("%s; %s; %s: this kernel has no legacy tables (vmbatch runs "
                                     FILTER_EBT_PROGRAM " itself, `ebtables -L` shows nothing of it)", use, nft,
                                     flavour),
                           xstrdup("update-alternatives --set ebtables /usr/sbin/ebtables-nft"));
                return;
        }
        if (!needed || !f->as_root || scratch_not_run(s)) {
                doctor_add(r, "ebtables", needed ? DOCTOR_WARN : DOCTOR_OK,
                           xasprintf("%s; %s; %s%s", use, nft, flavour,
                                     needed ? "; its tables were not tried" : ""),
                           xstrdup(RUN_AS_ROOT));
                return;
        }
        filter_item("ebtables", true, s->ebt_r,
                    xasprintf("%s; %s; %s; its bridge tables work (in a scratch network namespace)", use, nft, flavour),
                    xasprintf("%s; %s; %s", use, nft, s->ebt_msg ? s->ebt_msg : "its bridge tables do not work"),
                    "a kernel with CONFIG_NF_TABLES_BRIDGE, or set filter_backend = nft", r);
}

/* ---- programs ---------------------------------------------------------------- */

static bool program_ran(const DoctorProgram *p) {
        return p->path && p->run_r == 0 && !p->timed_out && p->exit_code == 0;
}

static char *program_problem(const DoctorProgram *p) {
        if (!p->path)
                return xasprintf("%s is not on PATH", p->name);
        if (p->run_r < 0 && p->run_r != 1)
                return xasprintf("%s (%s) cannot be run: %s", p->name, p->path, strerror(-p->run_r));
        if (p->timed_out)
                return xasprintf("%s (%s) did not answer --version in time", p->name, p->path);
        _cleanup_free_ char *line = strndup(p->output ? p->output : "", strcspn(p->output ? p->output : "", "\n"));
        return xasprintf("%s (%s) fails (exit %d)%s%s", p->name, p->path, p->exit_code, *line ? ": " : "", line);
}

static char *program_found(const DoctorProgram *p) {
        _cleanup_free_ char *v = doctor_program_version(p->output);
        return xasprintf("%s %s (%s)", p->name, v ? v : "(version unknown)", p->path);
}

void doctor_program_verdict(const char *check, const DoctorProgram *p, const char *what, const char *install,
                            DoctorReport *r) {
        if (program_ran(p))
                doctor_add(r, check, DOCTOR_OK, program_found(p), NULL);
        else {
                _cleanup_free_ char *why = program_problem(p);
                doctor_add(r, check, DOCTOR_FAIL, xasprintf("%s: %s", why, what),
                           xasprintf("%s (or put %s on vmbatchd's PATH)", install, p->name));
        }
}

void doctor_qemu_verdict(const DoctorProgram *p, const char *accels, bool want_kvm, DoctorReport *r) {
        if (!program_ran(p)) {
                _cleanup_free_ char *why = program_problem(p);
                doctor_add(r, "qemu", DOCTOR_FAIL, xasprintf("%s (qemu_binary): no guest can start", why),
                           xstrdup("apt-get install qemu-system-x86, or set qemu_binary to the emulator's path"));
                return;
        }
        _cleanup_free_ char *found = program_found(p);
        /* "Accelerators supported in QEMU binary:\ntcg\nkvm\n" */
        const char *list = accels ? strchr(accels, '\n') : NULL;
        bool tcg = list && doctor_flags_have(list, "tcg"), kvm = list && doctor_flags_have(list, "kvm");
        if (!accels)
                doctor_add(r, "qemu", DOCTOR_WARN, xasprintf("%s; -accel help does not answer", found),
                           xstrdup("check that qemu_binary is qemu-system-x86_64 (7.2 or newer)"));
        else if (!tcg || (want_kvm && !kvm))
                doctor_add(r, "qemu", DOCTOR_FAIL,
                           xasprintf("%s has no %s accelerator", found, !tcg ? "tcg" : "kvm"),
                           xstrdup("install Debian's qemu-system-x86 (it has kvm and tcg), or set qemu_binary"));
        else
                doctor_add(r, "qemu", DOCTOR_OK, xasprintf("%s; accelerators: %s%s", found, tcg ? "tcg" : "",
                                                           kvm ? " kvm" : ""),
                           NULL);
}

void doctor_dhcp_verdict(const DoctorDhcpFacts *f, DoctorReport *r) {
        switch (f->backend) {
        case DHCP_NONE:
                doctor_add(r, "dhcp", DOCTOR_OK, xstrdup("dhcp_backend = none: no DHCP server (guests need their "
                                                         "addresses some other way)"),
                           NULL);
                return;
        case DHCP_OMAPI:
                if (f->omapi_r < 0)
                        doctor_add(r, "dhcp", DOCTOR_FAIL,
                                   xasprintf("dhcp_backend = omapi: dhcpd's OMAPI at %s:%u (key %s): %s", f->omapi_server,
                                             f->omapi_port, f->omapi_key, f->omapi_msg ? f->omapi_msg : "?"),
                                   xstrdup("start dhcpd with omapi-port and the key of omapi_key_name/omapi_secret "
                                           "(apt-get install isc-dhcp-server), or fix omapi_server/omapi_port"));
                else
                        doctor_add(r, "dhcp", DOCTOR_OK,
                                   xasprintf("dhcp_backend = omapi: dhcpd's OMAPI at %s:%u answers, key %s accepted",
                                             f->omapi_server, f->omapi_port, f->omapi_key),
                                   NULL);
                return;
        case DHCP_DNSMASQ:
        default:
                break;
        }
        if (!program_ran(&f->dnsmasq)) {
                _cleanup_free_ char *why = program_problem(&f->dnsmasq);
                doctor_add(r, "dhcp", DOCTOR_FAIL, xasprintf("dhcp_backend = dnsmasq: %s: guests get no address", why),
                           xstrdup("apt-get install dnsmasq-base dnsmasq-utils (or put dnsmasq on vmbatchd's PATH, "
                                   "or set dhcp_backend)"));
                return;
        }
        _cleanup_free_ char *found = program_found(&f->dnsmasq);
        if (!f->dhcp_release)
                doctor_add(r, "dhcp", DOCTOR_WARN,
                           xasprintf("dhcp_backend = dnsmasq: %s; dhcp_release is not on PATH: a reused address "
                                     "keeps its old lease", found),
                           xstrdup("apt-get install dnsmasq-utils"));
        else
                doctor_add(r, "dhcp", DOCTOR_OK,
                           xasprintf("dhcp_backend = dnsmasq: %s; dhcp_release (%s)", found, f->dhcp_release), NULL);
}
