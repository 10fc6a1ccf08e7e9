/* test-munge-seal.c - net/munge_seal.h against the machine's munged: a
 * sealed controller <-> node message decodes for root only (the credential
 * is uid-restricted to 0), while a credential made without the restriction
 * (the control) is readable by any local user, here nobody. Needs root and
 * a running munged (scripts/munge-up.sh); skipped otherwise. */
#include <grp.h>
#include <munge.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/munge_seal.h"
#include "tap.h"

/* munge_open of cred as nobody, in a child: 0 when it decoded; the
 * message (or the payload) in buf. */
static int open_as_nobody(const json_t *sealed, char *buf, size_t len) {
        struct passwd *pw = getpwnam("nobody");
        int p[2];
        if (!pw || pipe(p) < 0)
                return -1;
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                        _exit(3);
                json_t *msg = NULL;
                uid_t uid;
                Error err = {0};
                int r = munge_open(sealed, &msg, &uid, &err);
                char *text = r == 0 ? json_dumps(msg, JSON_COMPACT) : NULL;
                const char *out = r == 0 ? (text ? text : "") : err.message;
                if (write(p[1], out, strlen(out)) < 0)
                        _exit(4);
                _exit(r == 0 ? 0 : 1);
        }
        close(p[1]);
        ssize_t n = read(p[0], buf, len - 1);
        buf[n > 0 ? n : 0] = 0;
        close(p[0]);
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
                return -1;
        return WEXITSTATUS(status) == 0 ? 0 : -WEXITSTATUS(status);
}

int main(void) {
        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (decodes as nobody)\n");
                return 0;
        }
        char *probe = NULL;
        munge_err_t e = munge_encode(&probe, NULL, NULL, 0);
        free(probe);
        if (e != EMUNGE_SUCCESS) {
                printf("1..0 # SKIP munged does not answer (scripts/munge-up.sh): %s\n", munge_strerror(e));
                return 0;
        }
        json_t *msg = json_pack("{s:s, s:I}", "op", "cluster.attach", "instance", (json_int_t)7);
        json_t *sealed = NULL, *opened = NULL;
        Error err = {0};
        char buf[512];

        /* attack: another local user decodes a sealed message */
        int r = munge_seal(msg, &sealed, &err);
        ok(r == 0 && json_is_string(json_object_get(sealed, "munge")), "munge_seal: %s", r ? err.message : "ok");
        r = open_as_nobody(sealed, buf, sizeof(buf));
        ok(r == -1 && strstr(buf, "munge:") && !strstr(buf, "cluster.attach"),
           "nobody cannot decode a sealed message (uid restriction 0): %s", buf);
        json_decref(sealed);
        sealed = NULL;

        /* root can */
        uid_t uid = 1;
        r = munge_seal(msg, &sealed, &err);
        if (r == 0)
                r = munge_open(sealed, &opened, &uid, &err);
        ok(r == 0 && uid == 0 && json_equal(opened, msg), "root decodes it: the message, sealed by uid 0");
        json_decref(opened);
        json_decref(sealed);

        /* control: the same message in a credential without the restriction
         * (as munge_seal made them before) is readable by nobody */
        char *text = json_dumps(msg, JSON_COMPACT), *cred = NULL;
        e = munge_encode(&cred, NULL, text, (int)strlen(text));
        sealed = json_pack("{s:s}", "munge", cred ? cred : "");
        r = e == EMUNGE_SUCCESS ? open_as_nobody(sealed, buf, sizeof(buf)) : -2;
        ok(r == 0 && strstr(buf, "cluster.attach"), "control: an unrestricted credential is decoded by nobody: %s",
           buf);
        free(cred);
        free(text);
        json_decref(sealed);
        json_decref(msg);
        return tap_done();
}
