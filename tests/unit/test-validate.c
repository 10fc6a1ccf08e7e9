/* test-validate.c - the checks of user-supplied values (validate.c), and
 * every controller error path a user can reach with bad input: each must
 * fail with the right errno and a one-line message naming the bad value,
 * and leave the database (every list, and the audit log) and the storage
 * folders exactly as they were. */
#include <limits.h>
#include <stdio.h>

#include "core/validate.h"
#include "tap.h"
#include "unit/helpers.h"

#define NAME63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define NAME64 NAME63 "l"

static bool one_line(const char *s) { return s && *s && !strchr(s, '\n') && !strchr(s, '\r'); }

/* ---- validate.c ---- */

static void test_names(void) {
        static const char *const good[] = {"a", "A", "_", "gsr_vm", "lab-1.2", "a1", "1a", "_0", NAME63, "x.y-z_"};
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                Error err = {0};
                int r = validate_name("vm", good[i], &err);
                ok(r == 0, "validate_name accepts '%s'", good[i]);
        }
        static const struct {
                const char *name, *needle;
        } bad[] = {
                {"", "empty"},
                {NAME64, "abcdefghijklmnopqrst"},
                {"my vm", "'my vm'"},
                {"-lead", "'-lead'"},
                {".hidden", "'.hidden'"},
                {"a/b", "'a/b'"},
                {"a,b", "'a,b'"},
                {"tab\there", "name"},
                {"caf\xc3\xa9", "name"},
                {"123", "'123'"},
                {"0", "'0'"},
                {"a;rm", "'a;rm'"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Error err = {0};
                int r = validate_name("vm", bad[i].name, &err);
                ok(r == -EINVAL && one_line(err.message) && strstr(err.message, bad[i].needle) &&
                           strstr(err.message, "vm"),
                   "validate_name rejects bad name #%zu with a message naming it", i);
                printf("#   %s\n", err.message);
        }
        Error err = {0};
        validate_name("vm", "a\nb", &err);
        ok(err.code == -EINVAL && one_line(err.message), "validate_name: a name with a newline gives a one-line message");
        if (!one_line(err.message))
                printf("#   message: '%s'\n", err.message);
}

static void test_paths(void) {
        static const char *const good[] = {"/", "/tmp/x.qcow2", "/a/..b", "/a/b..", "/a/.../b", "/a b/c"};
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                Error err = {0};
                ok(validate_path("disc", good[i], &err) == 0, "validate_path accepts '%s'", good[i]);
        }
        static const struct {
                const char *path, *needle;
        } bad[] = {
                {"", "absolute"},         {"disc.qcow2", "'disc.qcow2'"}, {"./x", "'./x'"},
                {"~/x", "'~/x'"},         {"/tmp/a,b", "'/tmp/a,b'"},     {"/a/../etc", "'/a/../etc'"},
                {"/a/..", "'/a/..'"},     {"/..", "'/..'"},              {"/a\x01" "b", "control"},
                {"/a\x7f", "control"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Error err = {0};
                int r = validate_path("disc", bad[i].path, &err);
                ok(r == -EINVAL && one_line(err.message) && strstr(err.message, bad[i].needle),
                   "validate_path rejects bad path #%zu", i);
                printf("#   %s\n", err.message);
        }
        char *longp = malloc(PATH_MAX + 2);
        longp[0] = '/';
        memset(longp + 1, 'a', PATH_MAX);
        longp[PATH_MAX + 1] = 0;
        Error err = {0};
        ok(validate_path("disc", longp, &err) == -ENAMETOOLONG && one_line(err.message), "validate_path: too long");
        longp[PATH_MAX - 1] = 0;
        error_clear(&err);
        ok(validate_path("disc", longp, &err) == 0, "validate_path: PATH_MAX-1 bytes is fine");
        free(longp);
        error_clear(&err);
        validate_path("stordir", "rel\npath", &err);
        ok(err.code == -EINVAL && one_line(err.message), "validate_path: a relative path with a newline gives one line");
        if (!one_line(err.message))
                printf("#   message: '%s'\n", err.message);
}

static void test_sizes(void) {
        static const struct {
                uint64_t v;
                int want;
                const char *needle; /* '|' separates alternatives */
        } mem[] = {
                {16ULL << 20, 0, NULL},
                {1ULL << 40, 0, NULL},
                {2048ULL << 20, 0, NULL},
                {(16ULL << 20) - (1 << 20), -EINVAL, "15728640"},
                {0, -EINVAL, "0"},
                {(1ULL << 40) + (1 << 20), -EINVAL, "1099512676352"},
                {2ULL << 40, -EINVAL, "2097152|2199023255552|2T"},
        };
        for (size_t i = 0; i < ELEMENTSOF(mem); i++) {
                Error err = {0};
                int r = validate_mem(mem[i].v, &err);
                bool named = true;
                if (mem[i].needle) {
                        named = false;
                        char alts[64];
                        snprintf(alts, sizeof(alts), "%s", mem[i].needle);
                        for (char *s = strtok(alts, "|"); s; s = strtok(NULL, "|"))
                                named |= strstr(err.message, s) != NULL;
                }
                ok(r == mem[i].want && (r == 0 || (one_line(err.message) && named)), "validate_mem(%llu)",
                   (unsigned long long)mem[i].v);
                if (r)
                        printf("#   %s\n", err.message);
        }
        Error err = {0};
        ok(validate_vcpus(1, &err) == 0 && validate_vcpus(VCPUS_MAX, &err) == 0, "validate_vcpus 1 and 256");
        ok(validate_vcpus(0, &err) == -EINVAL && strstr(err.message, "vcpus 0"), "validate_vcpus 0: %s", err.message);
        error_clear(&err);
        ok(validate_vcpus(257, &err) == -EINVAL && strstr(err.message, "257"), "validate_vcpus 257: %s", err.message);
        error_clear(&err);
        ok(validate_disc_size(1 << 20, &err) == 0 && validate_disc_size(64ULL << 40, &err) == 0,
           "validate_disc_size 1M and 64T");
        ok(validate_disc_size((1 << 20) - 1, &err) == -EINVAL && strstr(err.message, "1048575"),
           "validate_disc_size 1M-1: %s", err.message);
        error_clear(&err);
        ok(validate_disc_size((64ULL << 40) + 1, &err) == -EINVAL && strstr(err.message, "70368744177665"),
           "validate_disc_size 64T+1: %s", err.message);
        error_clear(&err);
        char cmd[1025];
        memset(cmd, 'x', 1023);
        cmd[1023] = 0;
        ok(validate_cmdline(cmd, &err) == 0, "validate_cmdline: 1023 bytes");
        cmd[1023] = 'x';
        cmd[1024] = 0;
        ok(validate_cmdline(cmd, &err) == -EINVAL && one_line(err.message), "validate_cmdline: 1024 bytes");
        error_clear(&err);
        ok(validate_cmdline("console=ttyS0\n", &err) == -EINVAL, "validate_cmdline: control character");
}

/* ---- controller errors ---- */

enum who { ROOT, ADMIN, STUDENT, STUDENT2, UNKNOWN_UID, SYSTEM_NONMEMBER };

typedef struct Case {
        enum who who;
        const char *op;
        const char *args; /* ' for " ; NULL: no args */
        int code;
        const char *needle, *needle2;
        const char *todo;
} Case;

/* set up by main */
static uint32_t uid_admin, uid_student, uid_student2, uid_games;
static char mesg_dir[PATH_MAX];

static const Case cases[] = {
        /* names */
        {ROOT, "ugroup.add", "{'name': ''}", -EINVAL, "empty", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': '" NAME64 "'}", -EINVAL, "abcdefghijklmnopqrst", "63", NULL},
        {ROOT, "ugroup.add", "{'name': 'my group'}", -EINVAL, "'my group'", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': '12345'}", -EINVAL, "'12345'", NULL, NULL},
        {ROOT, "ugroup.mod", "{'group': 'studs', 'name': 'x y'}", -EINVAL, "'x y'", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': '-lab', 'iprange': '10.5.0.1-10.5.0.9'}", -EINVAL, "'-lab'", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': '2', 'iprange': '10.5.0.1-10.5.0.9'}", -EINVAL, "'2'", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'a b', 'disc_sizes': [1048576]}", -EINVAL, "'a b'", NULL, NULL},
        {STUDENT, "vm.add", "{'name': '999', 'disc_sizes': [1048576]}", -EINVAL, "'999'", NULL, NULL},
        {STUDENT, "vm.add", "{'name': '', 'disc_sizes': [1048576]}", -EINVAL, "empty", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'name': 'bad name'}", -EINVAL, "'bad name'", NULL, NULL},
        {ROOT, "user.add", "{'name': 'no such user'}", -EINVAL, "'no such user'", NULL, NULL},
        {ROOT, "user.add", "{'name': 'nosuchuser_xyz'}", -ENOENT, "'nosuchuser_xyz'", NULL, NULL},
        {ROOT, "user.add", "{'name': 'games', 'uid': 4242}", -EINVAL, "games", "4242", NULL},
        {ROOT, "ugroup.add", "{'name': 'a\\nb'}", -EINVAL, "name", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'gh\\nost', 'isolate': true}", -ENOENT, "no such vm", NULL, NULL},
        /* ip ranges */
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '10.0.0.9-10.0.0.1'}", -EINVAL, "'10.0.0.9-10.0.0.1'",
         "above", NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '192.168.100.200-192.168.101.10'}", -EEXIST, "'lab1'",
         "192.168.100.200-192.168.101.10", NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '192.168.99.0-192.168.102.0'}", -EEXIST, "'lab1'", NULL,
         NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '192.168.0.254-192.168.0.254'}", -EEXIST, "'all_vms'",
         NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '192.168.100.254-192.168.100.254'}", -EEXIST, "'lab1'",
         NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '10.0.0.256-10.0.1.1'}", -EINVAL, "'10.0.0.256-10.0.1.1'",
         NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': '010.0.0.1-10.0.0.5'}", -EINVAL, "'010.0.0.1-10.0.0.5'",
         NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': 'lots'}", -EINVAL, "'lots'", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9'}", -EINVAL, "missing iprange", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab9', 'iprange': 10}", -EINVAL, "iprange", NULL, NULL},
        {ROOT, "vmgroup.mod", "{'vmgroup': 'lab1', 'iprange': '192.168.0.1-192.168.0.9'}", -EEXIST, "'all_vms'",
         NULL, NULL},
        {ROOT, "vmgroup.mod", "{'vmgroup': 'lab1', 'iprange': '192.168.100.9-192.168.100.2'}", -EINVAL,
         "'192.168.100.9-192.168.100.2'", NULL, NULL},
        /* reserved ids and duplicates */
        {ROOT, "ugroup.add", "{'name': 'zero', 'id': 0}", -EINVAL, "id 0", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': 'one', 'id': 1}", -EINVAL, "id 1", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': 'big', 'id': 4294967296}", -EINVAL, "4294967296", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'one', 'id': 1, 'iprange': '10.5.0.1-10.5.0.9'}", -EINVAL, "id 1", NULL,
         NULL},
        {ROOT, "vmgroup.add", "{'name': 'zero', 'id': 0, 'iprange': '10.5.0.1-10.5.0.9'}", -EINVAL, "id 0", NULL,
         NULL},
        {ROOT, "ugroup.add", "{'name': 'tens', 'id': 10}", -EEXIST, "10", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': 'studs'}", -EEXIST, "'studs'", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'two', 'id': 2, 'iprange': '10.5.0.1-10.5.0.9'}", -EEXIST, "2", NULL, NULL},
        {ROOT, "vmgroup.add", "{'name': 'lab1', 'iprange': '10.5.0.1-10.5.0.9'}", -EEXIST, "'lab1'", NULL, NULL},
        {ROOT, "user.add", "{'name': 'lp'}", -EEXIST, "7", NULL, NULL},
        {ROOT, "user.add", "{'name': 'root'}", -EPERM, "root", NULL, NULL},
        {ROOT, "ugroup.mod", "{'group': 'admin', 'name': 'wheel'}", -EPERM, "'admin'", NULL, NULL},
        {ROOT, "ugroup.mod", "{'group': 1, 'name': 'everyone'}", -EPERM, "'all_users'", NULL, NULL},
        /* sizes */
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': 12345}", -EINVAL, "12345", NULL,
         "validate_mem names bytes>>20 ('memory 0 MiB'), not the value given"},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': 1}", -EINVAL, "memory", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': 2199023255552}", -EINVAL, "memory",
         "2199023255552", NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': 16777217}", -EINVAL, "16777217", NULL,
         "validate_mem: 'memory must be a whole number of MiB' does not name the value"},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [0]}", -EINVAL, "0 bytes", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576, 0]}", -EINVAL, "0 bytes", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [70368744177665]}", -EINVAL, "70368744177665", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': []}", -EINVAL, "disc_sizes", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'vcpus': 0}", -EINVAL, "vcpus 0", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'vcpus': 1000}", -EINVAL, "vcpus 1000", NULL,
         NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'vcpus': 1000}", -EINVAL, "vcpus 1000", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'mem': 1}", -EINVAL, "memory", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'isolate': true, 'no_start': true, 'mem': 2199023255552}", -EINVAL,
         "memory", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'isolate': true, 'no_start': true, 'vcpus': 0}", -EINVAL, "vcpus 0",
         NULL, NULL},
        {ROOT, "user.mod", "{'user': 'lp', 'max_running': 100001}", -EINVAL, "100001", NULL, NULL},
        {ROOT, "audit.list", "{'limit': 0}", -EINVAL, "limit 0", NULL, NULL},
        /* paths */
        {ROOT, "user.mod", "{'user': 'lp', 'stordir': 'relative/dir'}", -EINVAL, "'relative/dir'", "absolute", NULL},
        {ROOT, "user.mod", "{'user': 'lp', 'stordir': '/tmp/a,b'}", -EINVAL, "'/tmp/a,b'", ",", NULL},
        {ROOT, "user.mod", "{'user': 'lp', 'stordir': '/tmp/../etc'}", -EINVAL, "'/tmp/../etc'", "..", NULL},
        {ROOT, "user.add", "{'name': 'news', 'stordir': 'home/news'}", -EINVAL, "'home/news'", NULL, NULL},
        {ROOT, "user.mod", "{'user': 'lp', 'stordir': 'rel\\npath'}", -EINVAL, "absolute", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'usediscs': ['disc.qcow2']}", -EINVAL, "'disc.qcow2'", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'usediscs': ['/tmp/x,y.qcow2']}", -EINVAL, "'/tmp/x,y.qcow2'", NULL,
         NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'usediscs': []}", -EINVAL, "usediscs", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'kernel': 'vmlinuz'}", -EINVAL, "'vmlinuz'",
         NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'initrd': '/boot/initrd.img'}", -EINVAL,
         "kernel", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'kernel': '/boot/a,b'}", -EINVAL, "'/boot/a,b'", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'isolate': true, 'no_start': true, 'cdrom': 'cd.iso'}", -EINVAL,
         "'cd.iso'", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'isolate': true, 'no_start': true, 'install': true}", -EINVAL, "cdrom",
         NULL, NULL},
        /* unknown argument keys and operations */
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'colour': 'red'}", -EINVAL, "'colour'", NULL,
         NULL},
        {STUDENT, "user.list", "{'verbose': true}", -EINVAL, "'verbose'", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'vm': 'tmpl', 'run': true, 'write': true}", -EINVAL, "'write'", NULL,
         NULL},
        {ROOT, "vm.explode", "{}", -EINVAL, "'vm.explode'", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': 'g', 'gid': 12}", -EINVAL, "'gid'", NULL, NULL},
        /* wrong JSON types */
        {ROOT, "ugroup.add", "{'name': 5}", -EINVAL, "name", "string", NULL},
        {ROOT, "ugroup.add", "{'name': 'g', 'id': -3}", -EINVAL, "id", NULL, NULL},
        {ROOT, "ugroup.add", "{'name': 'g', 'id': '12'}", -EINVAL, "id", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': '2G'}", -EINVAL, "mem", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'mem': 1.5}", -EINVAL, "mem", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'derivable': 1}", -EINVAL, "derivable", NULL,
         NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': '5G'}", -EINVAL, "disc_sizes", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': ['5G']}", -EINVAL, "#1", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [-1048576]}", -EINVAL, "#1", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'usediscs': [5]}", -EINVAL, "#1", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'usediscs': '/tmp/x.qcow2'}", -EINVAL, "usediscs", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'desc': 7}", -EINVAL, "desc", NULL, NULL},
        {ROOT, "user.add", "{'name': 'news', 'groups': 'studs'}", -EINVAL, "groups", "list", NULL},
        {ROOT, "user.add", "{'name': 'news', 'groups': ['studs', 'nosuchgroup']}", -ENOENT, "'nosuchgroup'", NULL,
         NULL},
        {ROOT, "user.add", "{'name': 'news', 'max_storage': '13G'}", -EINVAL, "max_storage", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'vm': 'tmpl', 'run': 'yes'}", -EINVAL, "run", NULL, NULL},
        {ROOT, "perm.set", "{'user': {}, 'vm': 'tmpl', 'run': true}", -EINVAL, "user", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'vm': -1, 'run': true}", -EINVAL, "vm", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'isolate': 'true'}", -EINVAL, "isolate", NULL, NULL},
        {STUDENT, "instance.release", "{'instance': 'one'}", -EINVAL, "instance", NULL, NULL},
        /* exactly one of */
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'base': 'tmpl'}", -EINVAL, "exactly one", NULL,
         NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'usediscs': ['/tmp/a.qcow2']}", -EINVAL,
         "exactly one", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x'}", -EINVAL, "exactly one", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'base': 'tmpl', 'derivable': true}", -EINVAL, "derivable", NULL, NULL},
        {ADMIN, "vm.add", "{'name': 'x', 'base': 'tmpl', 'vmgroup': 'all_vms'}", -EINVAL, "vm group", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'derivable': true}", -EINVAL, "derivable", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'group': 'studs', 'vm': 'tmpl', 'run': true}", -EINVAL, "exactly one",
         NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'vm': 'tmpl', 'vmgroup': 'lab1', 'run': true}", -EINVAL, "exactly one",
         NULL, NULL},
        {ROOT, "perm.set", "{'vm': 'tmpl', 'run': true}", -EINVAL, "exactly one", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'run': true}", -EINVAL, "exactly one", NULL, NULL},
        {ROOT, "perm.set", "{'user': 'lp', 'vm': 'tmpl'}", -EINVAL, "nothing to set", NULL, NULL},
        {STUDENT, "instance.release", "{}", -EINVAL, "instance", NULL, NULL},
        /* reserved groups, things in use */
        {ROOT, "ugroup.del", "{'group': 'admin'}", -EPERM, "'admin'", NULL, NULL},
        {ROOT, "ugroup.del", "{'group': 0}", -EPERM, "'admin'", NULL, NULL},
        {ROOT, "ugroup.del", "{'group': 'all_users'}", -EPERM, "'all_users'", NULL, NULL},
        {ROOT, "vmgroup.del", "{'vmgroup': 'all_vms'}", -EPERM, "'all_vms'", NULL, NULL},
        {ROOT, "vmgroup.del", "{'vmgroup': 1}", -EPERM, "'all_vms'", NULL, NULL},
        {ROOT, "vmgroup.del", "{'vmgroup': 'lab1'}", -EBUSY, "'lab1'", NULL, NULL},
        {ROOT, "ugroup.del", "{'group': 'studs'}", -EBUSY, "'studs'", NULL, NULL},
        {ROOT, "vm.del", "{'vm': 'tmpl'}", -EBUSY, "'tmpl'", "base", NULL},
        {ROOT, "user.del", "{'user': 'lp'}", -EBUSY, "'lp'", NULL, NULL},
        {ADMIN, "user.del", "{'user': '" TENV_ADMIN "'}", -EPERM, "yourself", NULL, NULL},
        /* root administers, but is no vmbatch user: it owns and runs nothing */
        {ROOT, "user.del", "{'user': 0}", -ENOENT, "uid 0", NULL, NULL},
        {ROOT, "vm.run", "{'vm': 'tmpl', 'no_start': true}", -EPERM, "root never runs qemu", "normal user", NULL},
        {ROOT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576]}", -EACCES, "uid 0", NULL, NULL},
        {ROOT, "user.mod", "{'user': 'lp', 'del_groups': ['all_users']}", -EPERM, "all_users", NULL, NULL},
        {ROOT, "init", "{}", -EEXIST, "already initialized", NULL, NULL},
        {STUDENT, "init", "{}", -EEXIST, "already initialized", NULL, NULL},
        /* who may do what */
        {UNKNOWN_UID, "vm.list", "{}", -EACCES, "4242", NULL, NULL},
        {UNKNOWN_UID, "vm.add", "{'name': 'x', 'disc_sizes': [1048576]}", -EACCES, "4242", NULL, NULL},
        {UNKNOWN_UID, "perm.list", "{}", -EACCES, "4242", NULL, NULL},
        {SYSTEM_NONMEMBER, "vm.add", "{'name': 'x', 'disc_sizes': [1048576]}", -EACCES, "5", NULL, NULL},
        {SYSTEM_NONMEMBER, "vm.run", "{'vm': 'tmpl', 'isolate': true, 'no_start': true}", -EACCES, "5", NULL, NULL},
        {STUDENT, "ugroup.add", "{'name': 'mine'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "ugroup.del", "{'group': 'studs'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "user.add", "{'name': 'mail'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "user.mod", "{'user': 'lp', 'max_storage': 1099511627776}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "user.mod", "{'user': 'lp', 'add_groups': ['admin']}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "vmgroup.add", "{'name': 'mylab', 'iprange': '10.7.0.1-10.7.0.9'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "vmgroup.mod", "{'vmgroup': 'lab1', 'iprange': '10.7.0.1-10.7.0.9'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "audit.list", "{}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "perm.set", "{'user': 'lp', 'vm': 'mine', 'force_isolated': false}", -EPERM, "force_isolated",
         NULL, NULL},
        {STUDENT, "perm.set", "{'user': 'lp', 'vm': 'mine', 'derive': true}", -EPERM, "your own", NULL, NULL},
        {STUDENT, "perm.set", "{'group': 'studs', 'vm': 'mine', 'run': true}", -EPERM, "group you belong to", NULL,
         NULL},
        {STUDENT, "perm.set", "{'user': 'mail', 'vm': 'tmpl', 'derive': true}", -EPERM, "do not own", NULL, NULL},
        {STUDENT, "perm.set", "{'user': 'mail', 'vmgroup': 'lab1', 'run': true}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "perm.del", "{'group': 'studs', 'vm': 'tmpl'}", -EPERM, "admin", NULL, NULL},
        {STUDENT, "perm.del", "{'user': 'lp', 'vm': 'mine'}", -EPERM, NULL, NULL, NULL},
        {STUDENT, "vm.del", "{'vm': 'tmpl'}", -EPERM, "delete this vm", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'tmpl', 'desc': 'mine now'}", -EPERM, "modify this vm", NULL, NULL},
        {STUDENT, "vm.mod", "{'vm': 'mine', 'vmgroup': 'all_vms'}", -EPERM, "admins", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'vmgroup': 'lab1'}", -EPERM, "'lab1'", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'mine', 'no_start': true}", -EPERM, "unisolated", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'tmpl', 'isolate': true, 'no_start': true}", -EPERM, "run this vm", NULL, NULL},
        {STUDENT2, "vm.run", "{'vm': 'mine', 'isolate': true, 'no_start': true}", -ENOENT, "'mine'", NULL, NULL},
        {STUDENT2, "vm.del", "{'vm': 1002}", -EPERM, "You don't have permission to delete this vm", NULL, NULL},
        {STUDENT2, "vm.show", "{'vm': 1002}", -EPERM, "You don't have permission to use this vm", NULL, NULL},
        {STUDENT2, "vm.run", "{'vm': 1002, 'isolate': true, 'no_start': true}", -EPERM,
         "You don't have permission to run this vm", NULL, NULL},
        {STUDENT2, "vm.add", "{'name': 'x', 'base': 1002}", -EPERM, "You don't have permission to derive this vm", NULL,
         NULL},
        {STUDENT2, "instance.release", "{'vm': 'mine'}", -ENOENT, "'mine'", NULL, NULL},
        /* references to nothing */
        {ROOT, "perm.set", "{'user': 'nobody_here', 'vm': 'tmpl', 'run': true}", -ENOENT, "'nobody_here'", NULL,
         NULL},
        {ROOT, "perm.set", "{'user': 'mail', 'vm': 'tmpl', 'run': true}", 0, NULL, NULL, NULL}, /* control */
        {ROOT, "perm.set", "{'group': 77, 'vm': 'tmpl', 'run': true}", -ENOENT, "77", NULL, NULL},
        {ROOT, "perm.del", "{'user': 'mail', 'vm': 'tmpl'}", -ENOENT, "permission", NULL, NULL},
        {STUDENT, "vm.run", "{'vm': 'ghost', 'isolate': true}", -ENOENT, "'ghost'", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'x', 'base': 'ghost'}", -ENOENT, "'ghost'", NULL, NULL},
        {ADMIN, "vm.add", "{'name': 'x', 'disc_sizes': [1048576], 'vmgroup': 'ghost'}", -ENOENT, "'ghost'", NULL,
         NULL},
        {ROOT, "user.mod", "{'user': 4242, 'max_running': 3}", -ENOENT, "4242", NULL, NULL},
        {ROOT, "vmgroup.del", "{'vmgroup': 'ghost'}", -ENOENT, "'ghost'", NULL, NULL},
        {STUDENT, "instance.release", "{'instance': 99}", -ENOENT, "99", NULL, NULL},
        {STUDENT, "vm.add", "{'name': 'mine', 'disc_sizes': [1048576]}", -EEXIST, "'mine'", NULL, NULL},
        /* a derivative cannot become a template; a template with derivatives stays one */
        {ROOT, "vm.mod", "{'vm': 'tmpl', 'derivable': false}", -EBUSY, "'tmpl'", NULL, NULL},
};

static uint32_t uid_of(enum who w) {
        switch (w) {
        case ROOT:
                return 0;
        case ADMIN:
                return uid_admin;
        case STUDENT:
                return uid_student;
        case STUDENT2:
                return uid_student2;
        case UNKNOWN_UID:
                return 4242;
        case SYSTEM_NONMEMBER:
                return uid_games;
        }
        return 0;
}

static void run_cases(TEnv *e, const char *stu_dir) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                json_t *before = snapshot(e);
                int files_stu = count_files(stu_dir), files_adm = count_files(e->admin_dir);
                json_t *args = c->args ? Jt(c->args) : NULL;
                Error err;
                json_t *d = NULL;
                int r = call_j(e, uid_of(c->who), c->op, args, &d, &err);
                json_t *after = snapshot(e);
                char why[400] = "";
                if (r != c->code)
                        snprintf(why, sizeof(why), "code %d, want %d", r, c->code);
                else if (c->code == 0) {
                        /* a control case: must change something */
                        if (json_equal(before, after))
                                snprintf(why, sizeof(why), "succeeded without a change");
                } else if (!one_line(err.message))
                        snprintf(why, sizeof(why), "not one line");
                else if ((c->needle && !strstr(err.message, c->needle)) || (c->needle2 && !strstr(err.message, c->needle2)))
                        snprintf(why, sizeof(why), "message does not name '%s'%s%s", c->needle ? c->needle : "",
                                 c->needle2 ? " / " : "", c->needle2 ? c->needle2 : "");
                else if (!json_equal(before, after))
                        snprintf(why, sizeof(why), "the database changed");
                else if (count_files(stu_dir) != files_stu || count_files(e->admin_dir) != files_adm)
                        snprintf(why, sizeof(why), "files were left behind");
                char label[200];
                snprintf(label, sizeof(label), "%s as %s: %.100s", c->op,
                         c->who == ROOT ? "root" : c->who == ADMIN ? "admin" : c->who == STUDENT ? "student"
                         : c->who == STUDENT2 ? "student2"
                         : c->who == UNKNOWN_UID ? "uid 4242" : "games",
                         c->args ? c->args : "");
                for (char *p = label; *p; p++)
                        if (*p == '\n' || *p == '#')
                                *p = ' ';
                if (c->todo)
                        ok_todo(!*why, c->todo, "%s", label);
                else
                        ok(!*why, "%s", label);
                if (*why)
                        printf("#   %s\n", why);
                if (r < 0) {
                        char m[600];
                        snprintf(m, sizeof(m), "%s", err.message);
                        for (char *p = m; *p; p++)
                                if (*p == '\n')
                                        *p = '|';
                        printf("#   -> %s\n", m);
                }
                if (c->code == 0 && r == 0) {
                        /* undo the control case */
                        call(e, 0, "perm.del", NULL, &err, "{'user': 'mail', 'vm': 'tmpl'}");
                }
                json_decref(d);
                json_decref(args);
                json_decref(before);
                json_decref(after);
        }
}

static void test_shadow(TEnv *e, const char *stu_dir) {
        json_t *before = snapshot(e);
        int files = count_files(stu_dir);
        Error err;
        int r = call(e, uid_student, "vm.add", NULL, &err, "{'name': 'stolen', 'usediscs': ['/etc/shadow']}");
        json_t *after = snapshot(e);
        ok(r < 0 && r != -EINVAL, "a student's usediscs of /etc/shadow fails (qemu-img runs as the student)");
        ok(strstr(err.message, "/etc/shadow") && strstr(err.message, "ermission denied") && one_line(err.message),
           "... with a permission error naming the file: %s", err.message);
        ok(json_equal(before, after), "... the database is unchanged");
        ok(count_files(stu_dir) == files, "... and no disc file was created");
        json_decref(before);
        json_decref(after);

        /* the same through a second, readable disc: the first copy must be removed again */
        before = snapshot(e);
        r = call(e, uid_student, "vm.add", NULL, &err, "{'name': 'stolen', 'usediscs': ['%s/%u_tmpl_0.qcow2', '/etc/shadow']}",
                 e->admin_dir, e->admin);
        after = snapshot(e);
        ok(r < 0 && json_equal(before, after) && count_files(stu_dir) == files,
           "a readable disc then /etc/shadow: fails, the first copy is removed, nothing recorded (%s)", err.message);
        json_decref(before);
        json_decref(after);
}

static void test_controller_errors(void) {
        TEnv e;
        tenv_open(&e);
        uid_admin = e.admin;
        uid_student = sys_uid("lp");
        uid_student2 = sys_uid("mail");
        uid_games = sys_uid("games");
        const char *stu_dir = tenv_mkdir(&e, uid_student, false);
        snprintf(mesg_dir, sizeof(mesg_dir), "%s", tenv_mkdir(&e, uid_student2, false));
        Error err;
        json_t *d = NULL;
        if (call(&e, 0, "ugroup.add", NULL, &err, "{'name': 'studs', 'id': 10}") < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'groups': ['studs'], 'stordir': '%s'}", stu_dir) < 0 ||
            call(&e, 0, "vmgroup.add", NULL, &err,
                 "{'name': 'lab1', 'id': 2, 'iprange': '192.168.100.2-192.168.100.254'}") < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err,
                 "{'name': 'tmpl', 'disc_sizes': [1048576], 'derivable': true, 'vmgroup': 'lab1'}") < 0 ||
            call(&e, 0, "perm.set", NULL, &err,
                 "{'group': 'studs', 'vm': 'tmpl', 'derive': true, 'force_isolated': true}") < 0 ||
            call(&e, uid_student, "vm.add", &d, &err, "{'name': 'mine', 'base': 'tmpl'}") < 0)
                bail("setup: %s", err.message);
        if (json_integer_value(json_object_get(d, "id")) != 1002)
                bail("setup: mine is not vm 1002");
        json_decref(d);
        /* student2 exists only for the cases that name it */
        if (call(&e, 0, "user.add", NULL, &err, "{'name': 'mail', 'stordir': '%s'}", mesg_dir) < 0)
                bail("setup: %s", err.message);
        run_cases(&e, stu_dir);
        test_shadow(&e, stu_dir);

        /* args that are not an object */
        json_t *before = snapshot(&e);
        json_t *arr = json_array();
        int r = call_j(&e, 0, "ugroup.add", arr, NULL, &err);
        json_decref(arr);
        json_t *after = snapshot(&e);
        ok(r == -EINVAL && strstr(err.message, "object") && json_equal(before, after), "args must be an object: %s",
           err.message);
        json_decref(before);
        json_decref(after);

        /* controller_request: the wire shape of an error */
        json_t *req = Jt("{'op': 'ugroup.add', 'args': {'name': 'bad name'}}");
        json_t *resp = controller_request(&e.c, 0, req);
        json_t *ejs = json_object_get(resp, "error");
        ok(json_is_false(json_object_get(resp, "ok")) && streq(json_string_value(json_object_get(ejs, "code")), "EINVAL") &&
                   strstr(json_string_value(json_object_get(ejs, "message")), "'bad name'"),
           "controller_request: {ok: false, error: {code: EINVAL, message}}");
        json_decref(req);
        json_decref(resp);
        req = Jt("{'op': 'ping', 'args': {}, 'extra': 1}");
        resp = controller_request(&e.c, 0, req);
        ejs = json_object_get(resp, "error");
        ok(json_is_false(json_object_get(resp, "ok")) && strstr(json_string_value(json_object_get(ejs, "message")), "extra"),
           "controller_request: unknown top-level key refused");
        json_decref(req);
        json_decref(resp);
        tenv_close(&e);
}

int main(void) {
        test_names();
        test_paths();
        test_sizes();
        test_controller_errors();
        return tap_done();
}
