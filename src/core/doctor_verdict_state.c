/* doctor_verdict_state.c - the checks of vmbatch's own state (storage
 * folders, socket, database) and of the cluster (munge, the controller) as
 * pure functions of their facts. See doctor_verdict.h. */
#include "core/doctor_verdict.h"

#include <stdio.h>

static char *owner_text(const DoctorPathFacts *f) {
        return f->owner ? xstrdup(f->owner) : xasprintf("uid %u", (unsigned)f->uid);
}

void doctor_path_verdict(const DoctorPathFacts *f, const DoctorPathWant *w, DoctorReport *r) {
        if (f->stat_errno == ENOENT) {
                unsigned mode = doctor_mode_fixed(0755, w->forbid, w->need);
                _cleanup_free_ char *mkdir_line = xasprintf("mkdir -p -m %04o %s", mode, f->path);
                const char *fix = w->missing_fix ? w->missing_fix : mkdir_line;
                if (!w->made_mode)
                        doctor_add(r, w->check, DOCTOR_FAIL, xasprintf("%s (%s) does not exist", f->path, w->what),
                                   xstrdup(fix));
                else if (f->parent_errno)
                        doctor_add(r, w->check, DOCTOR_FAIL,
                                   xasprintf("%s (%s) does not exist, nor does its parent (%s): vmbatchd makes "
                                             "only the last level", f->path, w->what, strerror(f->parent_errno)),
                                   xstrdup(mkdir_line));
                else if (w->need & ~w->made_mode)
                        doctor_add(r, w->check, DOCTOR_WARN,
                                   xasprintf("%s (%s) does not exist: vmbatchd would make it %04o, without %04o (%s)",
                                             f->path, w->what, w->made_mode, w->need & ~w->made_mode,
                                             w->need_why ? w->need_why : "needed"),
                                   xstrdup(mkdir_line));
                else
                        doctor_add(r, w->check, DOCTOR_OK,
                                   xasprintf("%s (%s) does not exist yet: vmbatchd makes it (%04o root) when it starts",
                                             f->path, w->what, w->made_mode),
                                   NULL);
                return;
        }
        if (f->stat_errno == EACCES && !f->as_root) {
                doctor_add(r, w->check, DOCTOR_WARN,
                           xasprintf("%s (%s): not looked at: %s", f->path, w->what, strerror(f->stat_errno)),
                           xstrdup("run vmbatch doctor as root"));
                return;
        }
        if (f->stat_errno) {
                doctor_add(r, w->check, DOCTOR_FAIL, xasprintf("%s (%s): %s", f->path, w->what, strerror(f->stat_errno)),
                           xasprintf("make %s reachable for root (ls -ld %s)", f->path, f->path));
                return;
        }
        if (w->dir ? !f->is_dir : !f->is_reg) {
                doctor_add(r, w->check, DOCTOR_FAIL,
                           xasprintf("%s (%s) is not a %s", f->path, w->what, w->dir ? "directory" : "regular file"),
                           xasprintf("move %s away (vmbatchd wants a %s there)", f->path, w->dir ? "directory" : "file"));
                return;
        }
        _cleanup_free_ char *owner = owner_text(f);
        _cleanup_free_ char *found = xasprintf("%s (%s): %04o %s", f->path, w->what, f->mode, owner);
        bool bad_owner = f->uid != w->uid;
        unsigned extra = f->mode & w->forbid, missing = w->need & ~f->mode;
        if (!bad_owner && !extra && !missing) {
                doctor_add(r, w->check, DOCTOR_OK, TAKE_PTR(found), NULL);
                return;
        }
        char why[512] = "";
        size_t o = 0;
        if (bad_owner)
                o += (size_t)snprintf(why, sizeof(why), "owned by %s, not %s", owner, w->owner);
        if (extra && o < sizeof(why))
                o += (size_t)snprintf(why + o, sizeof(why) - o, "%sothers may %s it", o ? "; " : "",
                                      extra & 0222 ? "write to" : "read");
        if (missing && o < sizeof(why))
                snprintf(why + o, sizeof(why) - o, "%sit lacks %04o: %s", o ? "; " : "", missing,
                         w->need_why ? w->need_why : "needed");
        _cleanup_free_ char *chown_line = bad_owner ? xasprintf("chown %s:%s %s", w->owner, w->group, f->path) : NULL;
        _cleanup_free_ char *chmod_line =
                extra || missing ? xasprintf("chmod %04o %s", doctor_mode_fixed(f->mode, w->forbid, w->need), f->path)
                                 : NULL;
        doctor_add(r, w->check, DOCTOR_FAIL, xasprintf("%s: %s", found, why),
                   xasprintf("%s%s%s", chown_line ? chown_line : "", chown_line && chmod_line ? " && " : "",
                             chmod_line ? chmod_line : ""));
}

void doctor_socket_verdict(const DoctorSocketFacts *f, DoctorReport *r) {
        if (f->stat_errno == ENOENT) {
                doctor_add(r, "socket", DOCTOR_WARN, xasprintf("no socket at %s: vmbatchd is not running", f->path),
                           xstrdup("start vmbatchd (vmbatchd -c CONFIG) if this host should serve"));
                return;
        }
        if (f->stat_errno) {
                doctor_add(r, "socket", DOCTOR_FAIL, xasprintf("%s: %s", f->path, strerror(f->stat_errno)),
                           xasprintf("make the directory of %s reachable", f->path));
                return;
        }
        if (!f->is_sock) {
                doctor_add(r, "socket", DOCTOR_FAIL, xasprintf("%s is not a socket", f->path),
                           xasprintf("remove %s (vmbatchd makes its socket there)", f->path));
                return;
        }
        if (f->connect_errno == ECONNREFUSED) {
                doctor_add(r, "socket", DOCTOR_WARN,
                           xasprintf("%s is a stale socket: nobody listens, vmbatchd is not running", f->path),
                           xstrdup("start vmbatchd (it replaces the stale socket)"));
                return;
        }
        if (f->connect_errno) {
                doctor_add(r, "socket", DOCTOR_FAIL, xasprintf("cannot connect to %s: %s", f->path, strerror(f->connect_errno)),
                           xstrdup(f->connect_errno == EACCES ? "run vmbatch doctor as root"
                                                              : "restart vmbatchd and look at its log"));
                return;
        }
        if (!f->answered) {
                doctor_add(r, "socket", DOCTOR_FAIL,
                           xasprintf("%s accepts, but vmbatchd does not answer a ping (%s)", f->path,
                                     f->error ? f->error : "no answer"),
                           xstrdup("look at vmbatchd's log; restart it"));
                return;
        }
        if ((f->mode & 0666) != 0666) {
                doctor_add(r, "socket", DOCTOR_WARN,
                           xasprintf("vmbatchd %s answers a ping at %s, but the socket is %04o: not every user can "
                                     "connect", f->version ? f->version : "?", f->path, f->mode),
                           xasprintf("chmod 0666 %s (vmbatchd makes it so)", f->path));
                return;
        }
        doctor_add(r, "socket", DOCTOR_OK,
                   xasprintf("vmbatchd %s answers a ping at %s", f->version ? f->version : "?", f->path), NULL);
}

void doctor_db_verdict(const DoctorDbFacts *f, DoctorReport *r) {
        const char *path = f->file.path;
        if (f->file.stat_errno == ENOENT) {
                doctor_add(r, "database", DOCTOR_WARN,
                           xasprintf("%s does not exist: vmbatchd creates it when it starts", path),
                           xstrdup("start vmbatchd, then run vmbatch init as admin_user"));
                return;
        }
        DoctorPathWant want = {.check = "database", .what = "the database", .uid = 0, .owner = "root",
                               .group = "root", .forbid = 077};
        DoctorReport mode = {0};
        doctor_path_verdict(&f->file, &want, &mode);
        if (mode.n && mode.items[0].status != DOCTOR_OK) {
                doctor_add(r, "database", mode.items[0].status, TAKE_PTR(mode.items[0].detail),
                           TAKE_PTR(mode.items[0].fix));
                doctor_report_clear(&mode);
                return;
        }
        doctor_report_clear(&mode);
        if (f->check_r == 1 || (f->check_r < 0 && !f->as_root && f->check_r != -ETIMEDOUT)) {
                doctor_add(r, "database", DOCTOR_WARN,
                           xasprintf("%s: not checked%s%s", path, f->error ? ": " : "", f->error ? f->error : ""),
                           xstrdup("run vmbatch doctor as root"));
                return;
        }
        if (f->check_r == -ETIMEDOUT) {
                doctor_add(r, "database", DOCTOR_WARN, xasprintf("%s: integrity_check did not finish in time", path),
                           xasprintf("check it with vmbatchd stopped: sqlite3 %s 'PRAGMA integrity_check'", path));
                return;
        }
        if (f->check_r < 0) {
                doctor_add(r, "database", DOCTOR_FAIL, xasprintf("%s cannot be read: %s", path, f->error ? f->error : "?"),
                           xasprintf("restore %s from a backup (vmbatchd stopped)", path));
                return;
        }
        if (!streq(f->integrity, "ok")) {
                doctor_add(r, "database", DOCTOR_FAIL, xasprintf("%s: integrity_check: %s", path, f->integrity),
                           xasprintf("stop vmbatchd and restore %s from a backup (or sqlite3 %s .recover)", path, path));
                return;
        }
        if (f->schema > f->schema_max) {
                doctor_add(r, "database", DOCTOR_FAIL,
                           xasprintf("%s: schema %d is newer than this vmbatchd's (%d)", path, f->schema, f->schema_max),
                           xstrdup("install the vmbatch that wrote it (a downgrade cannot read it)"));
                return;
        }
        _cleanup_free_ char *found = xasprintf("%s: integrity ok, schema %d%s, 0%03o root", path, f->schema,
                                               f->schema < f->schema_max ? " (migrated when vmbatchd starts)" : "",
                                               f->file.mode);
        if (!f->initialized)
                doctor_add(r, "database", DOCTOR_WARN, xasprintf("%s; not initialised", found),
                           xstrdup("run vmbatch init (as admin_user or root)"));
        else
                doctor_add(r, "database", DOCTOR_OK, TAKE_PTR(found), NULL);
}

void doctor_munge_verdict(const DoctorMungeFacts *f, DoctorReport *r) {
        const char *sock = f->socket ? f->socket : "munged's socket";
        if (f->stat_errno || !f->is_sock) {
                doctor_add(r, "munge", DOCTOR_FAIL,
                           f->stat_errno ? xasprintf("no munged: %s: %s", sock, strerror(f->stat_errno))
                                         : xasprintf("%s is not a socket", sock),
                           xstrdup("start munged (apt-get install munge; the same /etc/munge/munge.key on every "
                                   "host)"));
                return;
        }
        if (f->r < 0 || f->r == 1)
                doctor_add(r, "munge", DOCTOR_FAIL,
                           xasprintf("munged at %s: cannot encode a credential: %s", sock,
                                     f->msg ? f->msg : f->r == 1 ? "not tried" : strerror(-f->r)),
                           xstrdup("look at munged's log (/var/log/munge/munged.log) and restart it"));
        else
                doctor_add(r, "munge", DOCTOR_OK,
                           xasprintf("munged at %s encodes a credential%s", sock,
                                     f->decoded ? " and decodes it for root" : " (decoding needs root: not tried)"),
                           NULL);
}

void doctor_controller_verdict(const DoctorControllerFacts *f, DoctorReport *r) {
        if (isempty(f->address)) {
                doctor_add(r, "controller", DOCTOR_FAIL,
                           xstrdup("controller is not set: vmbatchd --node cannot reach a controller"),
                           xstrdup("set controller = ADDRESS:PORT (the controller's cluster_listen)"));
                return;
        }
        if (f->r < 0)
                doctor_add(r, "controller", DOCTOR_FAIL,
                           xasprintf("cannot connect to %s: %s", f->address, f->msg ? f->msg : strerror(-f->r)),
                           xstrdup("start the controller's vmbatchd (with cluster_listen), check controller = and "
                                   "what filters the way"));
        else
                doctor_add(r, "controller", DOCTOR_OK, xasprintf("%s accepts a TCP connection (%u ms)", f->address, f->ms),
                           NULL);
}
