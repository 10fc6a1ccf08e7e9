/* doctor_probe.c - the probes of vmbatch doctor that run in this process:
 * stat, open, ioctl, one connect to a unix socket, the programs' --version
 * (spawn API, each under DOCTOR_PROGRAM_TIMEOUT_MS), the database read-only.
 * See doctor_probe.h. */
#include "core/doctor_probe.h"

#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>

#include "basic/frame.h"
#include "basic/spawn.h"
#include "net/filter.h"
#include "net/link.h"
#include "net/omapi_client.h"
#include "store/doctor_store.h"
#include "store/store.h"

const char *doctor_keep(DoctorProbe *p, char *s) {
        if (!s)
                return NULL;
        p->strings = xrealloc(p->strings, (p->n + 1) * sizeof(char *));
        p->strings[p->n++] = s;
        return s;
}

void doctor_probe_done(DoctorProbe *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->strings[i]);
        free(p->strings);
        *p = (DoctorProbe){0};
}

static const char *user_name(DoctorProbe *p, uid_t uid) {
        struct passwd *pw = getpwuid(uid);
        return pw ? doctor_keep(p, xstrdup(pw->pw_name)) : NULL;
}

static const char *group_name(DoctorProbe *p, gid_t gid) {
        struct group *gr = getgrgid(gid);
        return gr ? doctor_keep(p, xstrdup(gr->gr_name)) : NULL;
}

/* ---- programs --------------------------------------------------------------- */

const char *doctor_which(DoctorProbe *p, const char *name) {
        if (isempty(name))
                return NULL;
        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? doctor_keep(p, xstrdup(name)) : NULL;
        /* exec's search (execvpe looks at this process's PATH, as spawn does) */
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path ? path : "/bin:/usr/bin");
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *full = xasprintf("%s/%s", *dir ? dir : ".", name);
                struct stat st;
                if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
                        return doctor_keep(p, TAKE_PTR(full));
        }
        return NULL;
}

void doctor_probe_program(DoctorProbe *p, const char *name, const char *const *args, DoctorProgram *ret) {
        *ret = (DoctorProgram){.name = name, .path = doctor_which(p, name), .run_r = 1};
        if (!ret->path)
                return;
        char *argv[8] = {(char *)ret->path};
        for (size_t i = 0; args && args[i] && i + 2 < ELEMENTSOF(argv); i++)
                argv[i + 1] = (char *)args[i];
        SpawnOpts o = {.argv = argv, .timeout_ms = DOCTOR_PROGRAM_TIMEOUT_MS, .capture_max = 16u << 10};
        SpawnResult res = {0};
        ret->run_r = spawn_run(&o, &res);
        if (ret->run_r >= 0) {
                ret->run_r = 0;
                ret->exit_code = res.exit_code;
                ret->timed_out = res.timed_out;
                ret->output = doctor_keep(p, xstrdup(!isempty(res.out) ? res.out : res.err ? res.err : ""));
        }
        spawn_result_clear(&res);
}

/* ---- devices ------------------------------------------------------------------ */

static char *read_text(const char *path, size_t max) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *buf = xcalloc(1, max + 1);
        size_t len = 0;
        ssize_t n;
        while (len < max && (n = read(fd, buf + len, max - len)) > 0)
                len += (size_t)n;
        return buf;
}

static bool module_loaded(const char *name) {
        _cleanup_free_ char *dir = xasprintf("/sys/module/%s", name);
        return access(dir, F_OK) == 0;
}

void doctor_probe_kvm(DoctorProbe *p, DoctorKvmFacts *ret) {
        *ret = (DoctorKvmFacts){.open_errno = DOCTOR_NOT_TRIED, .create_errno = DOCTOR_NOT_TRIED, .api_version = -1,
                                .as_root = geteuid() == 0};
        struct stat st;
        ret->stat_errno = stat("/dev/kvm", &st) < 0 ? errno : 0;
        if (!ret->stat_errno) {
                ret->is_char = S_ISCHR(st.st_mode);
                ret->mode = st.st_mode & 07777;
                ret->uid = st.st_uid;
                ret->gid = st.st_gid;
                ret->owner = user_name(p, st.st_uid);
                ret->group = group_name(p, st.st_gid);
        }
        if (!ret->stat_errno && ret->is_char) {
                _cleanup_close_ int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC | O_NOCTTY);
                ret->open_errno = fd < 0 ? errno : 0;
                if (fd >= 0) {
                        ret->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
                        int vm = ioctl(fd, KVM_CREATE_VM, 0);
                        ret->create_errno = vm < 0 ? errno : 0;
                        if (vm >= 0)
                                close(vm);
                }
        }
        _cleanup_free_ char *cpuinfo = read_text("/proc/cpuinfo", 1u << 20);
        ret->flags = doctor_keep(p, doctor_cpuinfo_flags(cpuinfo));
        static const char *const modules[] = {"kvm_intel", "kvm_amd", "kvm_pvm"};
        for (size_t i = 0; i < ELEMENTSOF(modules) && !ret->module; i++)
                if (module_loaded(modules[i]))
                        ret->module = modules[i];
        if (!ret->module && module_loaded("kvm"))
                ret->module = "kvm";
}

void doctor_probe_tun(DoctorProbe *p, DoctorTunFacts *ret) {
        *ret = (DoctorTunFacts){.open_errno = DOCTOR_NOT_TRIED, .as_root = geteuid() == 0};
        struct stat st;
        ret->stat_errno = stat("/dev/net/tun", &st) < 0 ? errno : 0;
        if (ret->stat_errno)
                return;
        ret->is_char = S_ISCHR(st.st_mode);
        ret->major = major(st.st_rdev);
        ret->minor = minor(st.st_rdev);
        ret->mode = st.st_mode & 07777;
        ret->owner = user_name(p, st.st_uid);
        ret->group = group_name(p, st.st_gid);
        if (ret->is_char && ret->as_root) {
                int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
                ret->open_errno = fd < 0 ? errno : 0;
                if (fd >= 0)
                        close(fd);
        }
}

void doctor_probe_bridge(const char *name, DoctorBridgeFacts *ret) {
        LinkInfo info = {0};
        *ret = (DoctorBridgeFacts){.name = name, .module = module_loaded("bridge"), .as_root = geteuid() == 0};
        ret->link_r = link_get_info(name, &info);
        ret->is_bridge = info.is_bridge;
        ret->up = info.up;
}

void doctor_probe_filters(DoctorProbe *p, FilterKind backend, DoctorFilterFacts *ret) {
        *ret = (DoctorFilterFacts){.backend = backend, .as_root = geteuid() == 0};
        DoctorProgram nft, ebt;
        doctor_probe_program(p, "nft", (const char *const[]){"--version", NULL}, &nft);
        if (nft.run_r == 0 && nft.exit_code == 0)
                ret->nft_version = doctor_keep(p, doctor_program_version(nft.output));
        doctor_probe_program(p, FILTER_EBT_PROGRAM, (const char *const[]){"--version", NULL}, &ebt);
        ret->ebt_path = ebt.path;
        if (ebt.run_r == 0 && ebt.exit_code == 0)
                ret->ebt_version = doctor_keep(p, doctor_program_version(ebt.output));
        /* the names `ebtables` leads through: /usr/sbin/ebtables ->
         * /etc/alternatives/ebtables -> /usr/sbin/ebtables-nft -> xtables-nft-multi */
        ret->ebtables = doctor_which(p, "ebtables");
        const char *names[10];
        size_t n = 0;
        char link[PATH_MAX];
        for (const char *at = ret->ebtables; at && n < ELEMENTSOF(names);) {
                names[n++] = at;
                ssize_t len = readlink(at, link, sizeof(link) - 1);
                if (len <= 0)
                        break;
                link[len] = 0;
                if (link[0] == '/')
                        at = doctor_keep(p, xstrdup(link));
                else {
                        _cleanup_free_ char *dir = xstrdup(at);
                        *strrchr(dir, '/') = 0;
                        at = doctor_keep(p, xasprintf("%s/%s", dir, link));
                }
        }
        ret->ebt_flavour = doctor_ebtables_flavour(names, n);
}

/* ---- DHCP ---------------------------------------------------------------------- */

void doctor_probe_dhcp(DoctorProbe *p, const Settings *s, DoctorDhcpFacts *ret) {
        *ret = (DoctorDhcpFacts){.backend = s->dhcp_backend, .omapi_server = s->omapi_server,
                                 .omapi_port = s->omapi_port, .omapi_key = s->omapi_key_name, .omapi_r = 1};
        if (s->dhcp_backend == DHCP_DNSMASQ) {
                doctor_probe_program(p, "dnsmasq", (const char *const[]){"--version", NULL}, &ret->dnsmasq);
                ret->dhcp_release = doctor_which(p, "dhcp_release");
        } else if (s->dhcp_backend == DHCP_OMAPI) {
                /* numeric address only, connect and every exchange under the timeout */
                Error err = {0};
                OmapiClient *c = NULL;
                OmapiHostInfo info;
                int r = omapi_client_connect(s->omapi_server, (uint16_t)s->omapi_port, s->omapi_key_name,
                                             s->omapi_secret, DOCTOR_CONNECT_TIMEOUT_MS * 1000ULL, &c, &err);
                /* a signed request: a wrong secret shows here; no such host is the right answer */
                if (r >= 0 && (r = omapi_host_lookup(c, "vmbatch-doctor-probe", &info, &err)) == -ENOENT)
                        r = 0;
                omapi_client_free(c);
                ret->omapi_r = r;
                if (r < 0)
                        ret->omapi_msg = doctor_keep(p, xstrdup(err.message));
        }
}

/* ---- the state ------------------------------------------------------------------ */

void doctor_probe_path(DoctorProbe *p, const char *path, DoctorPathFacts *ret) {
        struct stat st;
        *ret = (DoctorPathFacts){.path = doctor_keep(p, xstrdup(path)), .as_root = geteuid() == 0};
        ret->stat_errno = stat(path, &st) < 0 ? errno : 0;
        if (ret->stat_errno) {
                _cleanup_free_ char *copy = xstrdup(path);
                ret->parent_errno = stat(dirname(copy), &st) < 0 ? errno : 0;
                return;
        }
        ret->is_dir = S_ISDIR(st.st_mode);
        ret->is_reg = S_ISREG(st.st_mode);
        ret->mode = st.st_mode & 07777;
        ret->uid = st.st_uid;
        ret->gid = st.st_gid;
        ret->owner = user_name(p, st.st_uid);
}

/* Connect with both directions bounded by the timeout (a unix connect to a
 * full backlog waits for the send timeout). */
static int unix_connect_timeout(const char *path, int timeout_ms) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

void doctor_probe_socket(DoctorProbe *p, const char *path, DoctorSocketFacts *ret) {
        *ret = (DoctorSocketFacts){.path = path, .connect_errno = DOCTOR_NOT_TRIED,
                                   .timeout_ms = DOCTOR_SOCKET_TIMEOUT_MS};
        struct stat st;
        ret->stat_errno = lstat(path, &st) < 0 ? errno : 0;
        if (ret->stat_errno)
                return;
        ret->is_sock = S_ISSOCK(st.st_mode);
        ret->mode = st.st_mode & 07777;
        if (!ret->is_sock)
                return;
        _cleanup_close_ int fd = unix_connect_timeout(path, DOCTOR_SOCKET_TIMEOUT_MS);
        ret->connect_errno = fd < 0 ? -fd : 0;
        if (fd < 0)
                return;
        json_t *req = json_pack("{s:s, s:{}}", "op", "ping", "args"), *resp = NULL;
        int r = frame_send(fd, req);
        json_decref(req);
        if (r >= 0)
                r = frame_recv(fd, &resp);
        if (r < 0) {
                ret->error = doctor_keep(p, xstrdup(r == -EAGAIN || r == -EWOULDBLOCK ? "no answer in time"
                                                                                      : strerror(-r)));
                return;
        }
        json_t *data = json_object_get(resp, "data");
        ret->answered = json_is_true(json_object_get(resp, "ok"));
        ret->version = doctor_keep(p, json_string_value(json_object_get(data, "version"))
                                              ? xstrdup(json_string_value(json_object_get(data, "version")))
                                              : NULL);
        if (!ret->answered)
                ret->error = doctor_keep(p, xstrdup("the ping was refused"));
        json_decref(resp);
}

void doctor_probe_db(DoctorProbe *p, const char *path, DoctorDbFacts *ret) {
        *ret = (DoctorDbFacts){.check_r = 1, .schema_max = STORE_SCHEMA_VERSION, .as_root = geteuid() == 0};
        doctor_probe_path(p, path, &ret->file);
        if (ret->file.stat_errno || !ret->file.is_reg)
                return;
        Error err = {0};
        StoreDoctorFacts f = {0};
        ret->check_r = store_doctor_check(path, DOCTOR_DB_TIMEOUT_MS, &f, &err);
        if (ret->check_r < 0) {
                ret->error = doctor_keep(p, xstrdup(err.message));
                return;
        }
        ret->integrity = doctor_keep(p, TAKE_PTR(f.integrity));
        ret->schema = f.schema;
        ret->initialized = f.initialized;
        store_doctor_facts_clear(&f);
}
