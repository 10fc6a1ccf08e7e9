/* test-fleet-password.c - the VNC password of an attach comes from
 * getrandom(2) or the attach fails: with getrandom made to fail (a seccomp
 * filter in a child, /dev/urandom still there), fleet_attach refuses with a
 * message naming it and leaves the instance waiting; the control, without
 * the filter, attaches with a random 8-character password. Runs the real
 * fleet on the unit tests' in-memory store (no DHCP, local backend). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/fleet.h"
#include "tap.h"
#include "unit/helpers.h"

static int no_signal(void *data, uint32_t instance, InstanceAction action, Error *err) { return 0; }

/* From here on getrandom(2) fails with EIO. */
static int break_getrandom(void) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getrandom, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EIO & SECCOMP_RET_DATA)),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = ELEMENTSOF(f), .filter = f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
                return -errno;
        return 0;
}

static InstanceState state_of(TEnv *e, uint32_t id) {
        InstanceRec inst;
        return store_instance_get(e->store, id, &inst) == 0 ? inst.state : _INSTANCE_STATE_INVALID;
}

int main(void) {
        TEnv e;
        tenv_open(&e);
        e.settings.dhcp_backend = DHCP_NONE;
        snprintf(e.settings.batch_backend, sizeof(e.settings.batch_backend), "local");
        snprintf(e.settings.state_dir, sizeof(e.settings.state_dir), "%s", tenv_mkdir(&e, 0, true));
        Error err = {0};
        json_t *d = NULL;
        if (call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'exam', 'disc_sizes': [1048576]}") < 0 ||
            call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'exam', 'no_start': true}") < 0)
                bail("setup: %s", err.message);
        /* as if its job had been submitted to the local backend */
        InstanceRec inst;
        if (store_instance_get(e.store, (uint32_t)json_integer_value(json_object_get(d, "id")), &inst) < 0)
                bail("no instance");
        json_decref(d);
        d = NULL;
        inst.state = INSTANCE_SUBMITTED;
        snprintf(inst.backend, sizeof(inst.backend), "local");
        if (store_instance_update(e.store, &inst, &err) < 0)
                bail("instance: %s", err.message);

        EventLoop *loop = NULL;
        Fleet *f = NULL;
        if (event_loop_new(&loop) < 0 || fleet_new(loop, &e.c, &f, &err) < 0)
                bail("fleet: %s", err.message);
        static const NodeOps ops = {.signal = no_signal};
        FleetNode *node = fleet_node_add(f, "n1", &ops, NULL);
        ClusterAttach req = {.instance = inst.id, .uid = e.admin, .tap = "vmbtest0", .vnc_display = 3};

        /* the attack: no randomness (a broken or exhausted source) */
        int p[2];
        if (pipe(p) < 0)
                bail("pipe: %m");
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
                close(p[0]);
                int r = break_getrandom();
                if (r < 0)
                        _exit(2);
                r = fleet_attach(f, node, &req, &d, &err);
                const char *msg = r < 0 ? err.message : json_string_value(json_object_get(d, "vnc_password"));
                if (write(p[1], msg ? msg : "", msg ? strlen(msg) : 0) < 0)
                        _exit(3);
                _exit(r < 0 && strstr(err.message, "getrandom") && state_of(&e, inst.id) == INSTANCE_SUBMITTED ? 0 : 1);
        }
        close(p[1]);
        char buf[512];
        ssize_t n = read(p[0], buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = 0;
        close(p[0]);
        int status = 0;
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "getrandom failing: the attach fails loudly, the instance still waits (%s)", buf);
        ok(!strchr(buf, '\n') && strstr(buf, "VNC password"), "... with one line naming what failed: %s", buf);

        /* control: the same attach with getrandom working */
        int r = fleet_attach(f, node, &req, &d, &err);
        const char *pw = json_string_value(json_object_get(d, "vnc_password"));
        ok(r == 0 && pw && strlen(pw) == 8 && strspn(pw, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") == 8 &&
                   !streq(pw, "aaaaaaaa"),
           "control: getrandom working, the attach succeeds with a random password (%s)", r ? err.message : pw);
        ok(state_of(&e, inst.id) == INSTANCE_STARTING, "... and the instance is starting");
        json_decref(d);
        fleet_free(f);
        event_loop_free(loop);
        tenv_close(&e);
        return tap_done();
}
