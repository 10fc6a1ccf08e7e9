/* doctor.c - which checks, in which order. See doctor.h. */
#include "core/doctor.h"

#include <libgen.h>
#include <pwd.h>
#include <grp.h>

#include "core/doctor_probe.h"
#include "net/filter.h"

/* ---- which checks ---------------------------------------------------------- */

DoctorRole doctor_role(const Settings *s, bool node_only) {
        return (DoctorRole){
                .controller = !node_only,
                .node = node_only || s->node,
                .cluster = node_only || !isempty(s->cluster_listen),
        };
}

static const char *role_name(DoctorRole role) {
        if (!role.controller)
                return "node (vmbatchd --node)";
        if (role.node)
                return role.cluster ? "controller and node, nodes connect over TCP" : "controller and node (embedded)";
        return role.cluster ? "controller of a cluster" : "controller only (node = no)";
}

static char *dir_of(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        return xstrdup(dirname(copy));
}

/* A storage folder: its facts, then its verdict; whether it exists. */
static bool check_path(DoctorProbe *p, const char *path, const DoctorPathWant *w, DoctorReport *r) {
        DoctorPathFacts f;
        doctor_probe_path(p, path, &f);
        doctor_path_verdict(&f, w, r);
        return f.stat_errno == 0;
}

#define ROOT_DIR(c, wh)                                                                                    \
        {.check = c, .what = wh, .dir = true, .uid = 0, .owner = "root", .group = "root", .forbid = 022,    \
         .made_mode = 0755}

static void check_storage(DoctorProbe *p, const Settings *s, DoctorRole role, DoctorReport *r) {
        static const char pass_why_state[] = "VM owners' starters reach their runtime directories through it";
        _cleanup_free_ char *dbdir = dir_of(s->database);
        DoctorPathWant state = ROOT_DIR("state_dir", "job logs, runtime directories, DHCP state");
        state.need = role.node ? 001 : 0;
        state.need_why = pass_why_state;
        /* vmbatchd makes the database's directory first, 0700 */
        if (role.controller && streq(dbdir, s->state_dir))
                state.made_mode = 0700;
        /* its subfolders are made with it */
        if (check_path(p, s->state_dir, &state, r)) {
                _cleanup_free_ char *jobs = xasprintf("%s/jobs", s->state_dir);
                check_path(p, jobs, &(DoctorPathWant)ROOT_DIR("state_dir/jobs", "job logs, serial logs"), r);
                if (role.node) {
                        _cleanup_free_ char *run = xasprintf("%s/run", s->state_dir);
                        DoctorPathWant w = ROOT_DIR("state_dir/run", "the instances' runtime directories");
                        w.need = 001;
                        w.need_why = pass_why_state;
                        check_path(p, run, &w, r);
                }
                if (role.controller && s->dhcp_backend == DHCP_DNSMASQ) {
                        _cleanup_free_ char *dhcp = xasprintf("%s/dhcp", s->state_dir);
                        check_path(p, dhcp, &(DoctorPathWant)ROOT_DIR("state_dir/dhcp", "dnsmasq's hosts and leases"),
                                   r);
                }
        }

        _cleanup_free_ char *rundir = dir_of(s->socket);
        DoctorPathWant w = ROOT_DIR("runtime_dir", "the socket's directory");
        w.need = 001;
        w.need_why = "users reach the socket through it";
        check_path(p, rundir, &w, r);

        if (!role.controller)
                return;
        if (!streq(dbdir, s->state_dir)) {
                DoctorPathWant db = ROOT_DIR("database_dir", "the database's directory");
                db.made_mode = 0700;
                check_path(p, dbdir, &db, r);
        }

        /* the admin's templates and discs */
        if (isempty(s->admin_user)) {
                doctor_add(r, "admin_stordir", DOCTOR_WARN,
                           xstrdup("admin_user is not set: vmbatch init refuses to run, no admin has a folder"),
                           xstrdup("set admin_user = NAME (a normal account, not root) in the config"));
                return;
        }
        struct passwd *pw = getpwnam(s->admin_user);
        if (!pw) {
                doctor_add(r, "admin_stordir", DOCTOR_FAIL, xasprintf("admin_user %s: no such account", s->admin_user),
                           xasprintf("create the account (useradd -m %s) or name another in admin_user", s->admin_user));
                return;
        }
        struct group *gr = getgrgid(pw->pw_gid);
        _cleanup_free_ char *group = gr ? xstrdup(gr->gr_name) : xasprintf("%u", (unsigned)pw->pw_gid);
        const char *dir = isempty(s->admin_stordir) ? pw->pw_dir : s->admin_stordir;
        _cleanup_free_ char *owner = xstrdup(pw->pw_name);
        _cleanup_free_ char *mkfix = xasprintf("install -d -o %s -g %s -m 0750 %s", owner, group, dir);
        DoctorPathWant admin = {.check = "admin_stordir", .what = "the admin's VM folder", .dir = true,
                                .uid = pw->pw_uid, .owner = owner, .group = group, .forbid = 002,
                                .missing_fix = mkfix};
        check_path(p, dir, &admin, r);
}

static void check_host(DoctorProbe *p, const Settings *s, const DoctorScratchFacts *scratch, DoctorReport *r) {
        DoctorKvmFacts kvm;
        doctor_probe_kvm(p, &kvm);
        doctor_kvm_verdict(&kvm, s->accel, r);

        DoctorTunFacts tun;
        doctor_probe_tun(p, &tun);
        doctor_tun_verdict(&tun, scratch, r);

        DoctorBridgeFacts br;
        doctor_probe_bridge(s->bridge, &br);
        doctor_bridge_verdict(&br, scratch, r);

        DoctorFilterFacts fl;
        doctor_probe_filters(p, s->filter_backend, &fl);
        doctor_nft_verdict(&fl, scratch, r);
        doctor_ebtables_verdict(&fl, scratch, r);

        DoctorProgram qemu, accels;
        doctor_probe_program(p, s->qemu_binary, (const char *const[]){"--version", NULL}, &qemu);
        doctor_probe_program(p, s->qemu_binary, (const char *const[]){"-accel", "help", NULL}, &accels);
        bool want_kvm = s->accel == ACCEL_KVM;
        doctor_qemu_verdict(&qemu, accels.run_r == 0 && accels.exit_code == 0 ? accels.output : NULL, want_kvm, r);
}

void doctor_run(const Settings *s, bool node_only, const char *config_origin, DoctorReport *r) {
        DoctorRole role = doctor_role(s, node_only);
        DoctorProbe p = {0};
        doctor_add(r, "config", DOCTOR_OK, xasprintf("%s; role: %s", config_origin, role_name(role)), NULL);

        /* the probes in children first, all at once */
        DoctorScratchFacts scratch;
        DoctorMungeFacts munge;
        DoctorControllerFacts ctl;
        DoctorChildWant want = {
                .scratch = role.node && geteuid() == 0,
                .ebtables = role.node && geteuid() == 0 && s->filter_backend == FILTER_KIND_EBTABLES &&
                            doctor_which(&p, FILTER_EBT_PROGRAM),
                .munge = role.cluster,
                .controller = node_only ? s->controller : NULL,
        };
        if (want.controller && isempty(want.controller))
                want.controller = NULL;
        doctor_probe_children(&p, &want, &scratch, &munge, &ctl);

        if (role.node)
                check_host(&p, s, &scratch, r);
        if (role.controller) {
                DoctorProgram img;
                doctor_probe_program(&p, "qemu-img", (const char *const[]){"--version", NULL}, &img);
                doctor_program_verdict("qemu-img", &img, "VM discs are made and checked with it",
                                       "apt-get install qemu-utils", r);
                DoctorDhcpFacts dhcp;
                doctor_probe_dhcp(&p, s, &dhcp);
                doctor_dhcp_verdict(&dhcp, r);
        }
        check_storage(&p, s, role, r);

        DoctorSocketFacts sock;
        doctor_probe_socket(&p, s->socket, &sock);
        doctor_socket_verdict(&sock, r);
        if (role.controller) {
                DoctorDbFacts db;
                doctor_probe_db(&p, s->database, &db);
                doctor_db_verdict(&db, r);
        }
        if (role.cluster)
                doctor_munge_verdict(&munge, r);
        if (node_only) {
                ctl.address = s->controller;
                doctor_controller_verdict(&ctl, r);
        }
        doctor_probe_done(&p);
}

int doctor_main(FILE *f, const Settings *s, bool node_only, const char *config_origin, bool json) {
        DoctorReport r = {0};
        fflush(f); /* the children must not inherit buffered output */
        doctor_run(s, node_only, config_origin, &r);
        int status = doctor_exit_status(&r), w = doctor_print(f, &r, json);
        doctor_report_clear(&r);
        if (w < 0 || fflush(f) != 0)
                return 1;
        return status;
}

int doctor_settings_load(const char *path, Settings *ret, char **ret_origin, Error *err) {
        const char *env = getenv("VMBATCH_CONF");
        bool named = !isempty(path) || !isempty(env);
        const char *file = !isempty(path) ? path : named ? env : VMBATCH_DEFAULT_CONFIG;
        Config *c = NULL;
        settings_defaults(ret);
        int r = config_load(file, &c, err);
        if (r == -ENOENT && !named) {
                error_clear(err);
                *ret_origin = xasprintf("no %s: the built-in defaults", file);
                return 0;
        }
        if (r >= 0 && (r = settings_apply(ret, c, err)) < 0)
                error_prefix(err, "%s", file); /* its messages do not name the file */
        config_free(c);
        if (r < 0)
                return r;
        *ret_origin = xstrdup(file);
        return 0;
}
