/* test-store-vmgroup.c - store/store.h: a VM group's run limits (max_mem,
 * max_vcpus, max_walltime) and IPv6 switch, schema 4. They round-trip
 * through insert, get, get_by_name, update, the overlap lookup and the
 * list; an instance keeps its own ipv6; the database refuses negative
 * limits; and a database of schema 3 with groups in it migrates to 4
 * keeping them, with no caps and no IPv6. */
#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>

#include "store/store.h"
#include "tap.h"

#define G (1ULL << 30)

static json_int_t jint(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static Store *open_or_die(const char *path) {
        Store *s = NULL;
        Error err = {0};
        if (store_open(path, &s, &err) < 0) {
                printf("Bail out! store_open(%s): %s\n", path, err.message);
                exit(1);
        }
        return s;
}

static bool same_limits(const VmGroupRec *a, const VmGroupRec *b) {
        return a->id == b->id && streq(a->name, b->name) && a->first == b->first && a->last == b->last &&
               a->max_mem == b->max_mem && a->max_vcpus == b->max_vcpus && a->max_walltime_s == b->max_walltime_s &&
               a->ipv6 == b->ipv6;
}

static void test_round_trip(void) {
        Store *s = open_or_die(":memory:");
        Error err = {0};
        VmGroupRec g = {.id = 2, .name = "lab1", .first = 0xc0a86402, .last = 0xc0a864fe, .max_mem = 2 * G,
                        .max_vcpus = 2, .max_walltime_s = 7200, .ipv6 = true};
        is_int(store_vmgroup_insert(s, &g, &err), 0, "insert a vm group with limits and IPv6");
        VmGroupRec plain = {.name = "lab2", .first = 0x0a000001, .last = 0x0a000010};
        is_int(store_vmgroup_insert(s, &plain, &err), 0, "insert one without (next id %u)", plain.id);

        VmGroupRec got;
        ok(store_vmgroup_get(s, 2, &got) == 0 && same_limits(&got, &g), "get: limits and IPv6 as inserted");
        ok(store_vmgroup_get_by_name(s, "lab1", &got) == 0 && same_limits(&got, &g), "get_by_name: the same");
        ok(store_vmgroup_get(s, plain.id, &got) == 0 && got.max_mem == 0 && got.max_vcpus == 0 &&
                   got.max_walltime_s == 0 && !got.ipv6,
           "a group without limits: all 0, no IPv6");
        ok(store_vmgroup_find_overlap(s, 0xc0a86410, 0xc0a86420, 0, &got) == 0 && same_limits(&got, &g),
           "the overlap lookup reads the whole record");

        g.max_mem = 4 * G;
        g.max_vcpus = 0;
        g.max_walltime_s = 60;
        g.ipv6 = false;
        snprintf(g.name, sizeof(g.name), "lab1b");
        is_int(store_vmgroup_update(s, &g, &err), 0, "update limits, IPv6 and name");
        ok(store_vmgroup_get(s, 2, &got) == 0 && same_limits(&got, &g), "... read back");

        json_t *list = NULL;
        is_int(store_vmgroup_list(s, &list), 0, "list");
        json_t *j = json_array_get(list, 0);
        ok(json_array_size(list) == 2 && jint(j, "id") == 2 && jint(j, "max_mem") == (json_int_t)(4 * G) &&
                   jint(j, "max_vcpus") == 0 && jint(j, "max_walltime") == 60 &&
                   json_is_false(json_object_get(j, "ipv6")) &&
                   streq(json_string_value(json_object_get(j, "iprange")), "192.168.100.2-192.168.100.254"),
           "the list has max_mem, max_vcpus, max_walltime, ipv6 (and the range)");
        json_t *one = vmgroup_to_json(&g);
        ok(json_equal(one, j), "vmgroup_to_json is what the list shows");
        json_decref(one);
        json_decref(list);

        /* an instance records the IPv6 its group gave it */
        UserRec u = {.uid = 4242, .name = "u", .stordir = "/tmp", .max_running = 2, .max_storage = G};
        VmRec vm = {.name = "v", .owner = 4242, .vm_group = 2, .mem = G, .vcpus = 1};
        InstanceRec in6 = {.vm = 0, .uid = 4242, .ip = 0xc0a86402, .mac = "de:af:de:af:64:02", .ipv6 = true,
                           .state = INSTANCE_RESERVED, .mem = G, .vcpus = 1, .vnc_display = -1};
        InstanceRec in4 = in6;
        in4.ip = 0xc0a86403;
        snprintf(in4.mac, sizeof(in4.mac), "de:af:de:af:64:03");
        in4.ipv6 = false;
        ok(store_user_insert(s, &u, &err) == 0 && store_vm_insert(s, &vm, &err) == 0 &&
                   (in6.vm = in4.vm = vm.id, store_instance_insert(s, &in6, &err)) == 0 &&
                   store_instance_insert(s, &in4, &err) == 0,
           "two instances, one with IPv6: %s", err.message);
        InstanceRec back;
        ok(store_instance_get(s, in6.id, &back) == 0 && back.ipv6 && store_instance_get(s, in4.id, &back) == 0 &&
                   !back.ipv6,
           "... read back with their ipv6");
        json_t *ij = instance_to_json(&in6);
        ok(json_is_true(json_object_get(ij, "ipv6")), "... and in the instance's JSON");
        json_decref(ij);
        store_close(s);
}

static int sql(const char *path, const char *text) {
        sqlite3 *db;
        if (sqlite3_open(path, &db) != SQLITE_OK)
                return -1;
        char *msg = NULL;
        int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
                printf("#   sqlite: %s\n", msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(db);
        return rc == SQLITE_OK ? 0 : -1;
}

static int user_version(const char *path) {
        sqlite3 *db;
        sqlite3_stmt *st;
        int v = -1;
        if (sqlite3_open(path, &db) != SQLITE_OK)
                return -1;
        if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_constraints_and_migration(void) {
        char dir[] = "/tmp/vmbatch-store-vmg-XXXXXX";
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp: %m\n");
                exit(1);
        }
        char path[sizeof(dir) + 16];
        snprintf(path, sizeof(path), "%s/db", dir);
        Store *s = open_or_die(path);
        store_close(s);
        is_int(user_version(path), STORE_SCHEMA_VERSION, "a new database is at schema %d", STORE_SCHEMA_VERSION);
        is_int(STORE_SCHEMA_VERSION, 8, "... which is 8 (warm exams, exams' self-tests, exams' reservations)");
        ok(sql(path, "INSERT INTO vm_groups(id, name, ip_first, ip_last, max_mem) VALUES (7, 'x', 1, 2, -1)") < 0,
           "a negative max_mem is refused by the database");
        ok(sql(path, "INSERT INTO vm_groups(id, name, ip_first, ip_last, ipv6) VALUES (7, 'x', 1, 2, 2)") < 0,
           "ipv6 other than 0/1 is refused");

        /* the shape of schema 3: vm_groups without the new columns, rows in it */
        ok(sql(path, "ALTER TABLE vm_groups DROP COLUMN max_mem; ALTER TABLE vm_groups DROP COLUMN max_vcpus;"
                     "ALTER TABLE vm_groups DROP COLUMN max_walltime; ALTER TABLE vm_groups DROP COLUMN ipv6;"
                     "ALTER TABLE instances DROP COLUMN ipv6;"
                     "DROP TABLE exam_selftests; DROP TABLE exam_members; DROP TABLE exams;"
                     "INSERT INTO vm_groups(id, name, ip_first, ip_last) VALUES (1, 'all_vms', 3232235521, 3232235774);"
                     "INSERT INTO vm_groups(id, name, ip_first, ip_last) VALUES (2, 'lab1', 3232261122, 3232261374);"
                     "PRAGMA user_version = 3;") == 0 &&
                   user_version(path) == 3,
           "a database made back into schema 3, with two vm groups");
        s = open_or_die(path);
        VmGroupRec got;
        ok(store_vmgroup_get(s, 2, &got) == 0 && streq(got.name, "lab1") && got.first == 3232261122u &&
                   got.max_mem == 0 && got.max_vcpus == 0 && got.max_walltime_s == 0 && !got.ipv6,
           "migrated to 4: lab1 kept, no caps, no IPv6");
        ok(store_vmgroup_get(s, 1, &got) == 0 && streq(got.name, "all_vms"), "... and all_vms");
        Error err = {0};
        ok(store_vmgroup_get(s, 2, &got) == 0 && (got.max_vcpus = 3, store_vmgroup_update(s, &got, &err)) == 0 &&
                   store_vmgroup_get(s, 2, &got) == 0 && got.max_vcpus == 3,
           "the migrated database takes limits");
        store_close(s);
        is_int(user_version(path), STORE_SCHEMA_VERSION, "its schema is the newest now");
        char wal[sizeof(path) + 8];
        unlink(path);
        snprintf(wal, sizeof(wal), "%s-wal", path);
        unlink(wal);
        snprintf(wal, sizeof(wal), "%s-shm", path);
        unlink(wal);
        rmdir(dir);
}

int main(void) {
        test_round_trip();
        test_constraints_and_migration();
        return tap_done();
}
