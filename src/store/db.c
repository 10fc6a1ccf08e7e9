/* db.c - opening the database, the versioned schema and its migrations,
 * transactions, the statement cache and the meta table. */
#include <stdio.h>
#include <time.h>

#include <stdarg.h>

#include "store/store-internal.h"

/* Migration i brings the schema from version i to i+1. Never edit a
 * released migration: append a new one. */
static const char *const migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE users ("
        "  uid INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  stordir TEXT NOT NULL,"
        "  max_running INTEGER NOT NULL,"
        "  max_storage INTEGER NOT NULL,"
        "  created TEXT NOT NULL);"
        "CREATE TABLE user_groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE memberships ("
        "  uid INTEGER NOT NULL REFERENCES users(uid) ON DELETE CASCADE,"
        "  gid INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,"
        "  PRIMARY KEY (uid, gid));"
        "CREATE TABLE vm_groups ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  ip_first INTEGER NOT NULL,"
        "  ip_last INTEGER NOT NULL,"
        "  CHECK (ip_first <= ip_last));"
        "CREATE TABLE vms ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL,"
        "  owner INTEGER NOT NULL REFERENCES users(uid),"
        "  vm_group INTEGER NOT NULL REFERENCES vm_groups(id),"
        "  derivable INTEGER NOT NULL DEFAULT 0,"
        "  base INTEGER REFERENCES vms(id),"
        "  mem INTEGER NOT NULL,"
        "  vcpus INTEGER NOT NULL,"
        "  descr TEXT NOT NULL DEFAULT '',"
        "  kernel TEXT, initrd TEXT, cmdline TEXT,"
        "  created TEXT NOT NULL,"
        "  force_isolated INTEGER NOT NULL DEFAULT 0,"
        "  UNIQUE (owner, name));"
        "CREATE INDEX vms_base ON vms(base);"
        "CREATE TABLE discs ("
        "  id INTEGER PRIMARY KEY,"
        "  vm INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
        "  idx INTEGER NOT NULL,"
        "  path TEXT NOT NULL UNIQUE,"
        "  size INTEGER NOT NULL,"
        "  allocated INTEGER NOT NULL,"
        "  backing INTEGER REFERENCES discs(id),"
        "  UNIQUE (vm, idx));"
        "CREATE TABLE permissions ("
        "  subject_type TEXT NOT NULL CHECK (subject_type IN ('user', 'group')),"
        "  subject INTEGER NOT NULL,"
        "  object_type TEXT NOT NULL CHECK (object_type IN ('vm', 'vmgroup')),"
        "  object INTEGER NOT NULL,"
        "  run INTEGER NOT NULL, modify INTEGER NOT NULL,"
        "  derive INTEGER NOT NULL, force_isolated INTEGER NOT NULL,"
        "  PRIMARY KEY (subject_type, subject, object_type, object));"
        "CREATE INDEX permissions_object ON permissions(object_type, object);"
        "CREATE TABLE instances ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  vm INTEGER NOT NULL REFERENCES vms(id),"
        "  uid INTEGER NOT NULL REFERENCES users(uid),"
        "  ip INTEGER NOT NULL UNIQUE,"
        "  mac TEXT NOT NULL UNIQUE,"
        "  isolated INTEGER NOT NULL,"
        "  state TEXT NOT NULL,"
        "  backend TEXT NOT NULL DEFAULT '',"
        "  job_id TEXT NOT NULL DEFAULT '',"
        "  exehost TEXT NOT NULL DEFAULT '',"
        "  vnc_display INTEGER NOT NULL DEFAULT -1,"
        "  tap TEXT NOT NULL DEFAULT '',"
        "  vnc_password TEXT NOT NULL DEFAULT '',"
        "  cdrom TEXT NOT NULL DEFAULT '',"
        "  mem INTEGER NOT NULL,"
        "  vcpus INTEGER NOT NULL,"
        "  created TEXT NOT NULL,"
        "  started TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX instances_uid ON instances(uid);"
        "CREATE TABLE audit ("
        "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  time TEXT NOT NULL,"
        "  uid INTEGER NOT NULL,"
        "  op TEXT NOT NULL,"
        "  object TEXT NOT NULL,"
        "  detail TEXT NOT NULL);"
        "CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit"
        "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        "CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit"
        "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        /* 1 -> 2: the device and inode each disc file had when vmbatch made
         * it (0: made before this version); the node opens the file and
         * refuses another one found at that path */
        "ALTER TABLE discs ADD COLUMN dev INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE discs ADD COLUMN ino INTEGER NOT NULL DEFAULT 0;",
        /* 2 -> 3: audit_keep_days expires old entries (store_audit_expire);
         * those younger than a day stay undeletable */
        "DROP TRIGGER audit_append_only_delete;"
        "CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit"
        "  WHEN old.time > datetime('now', '-1 day')"
        "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        "CREATE INDEX audit_time ON audit(time);",
        /* 3 -> 4: what a VM group allows one run of its VMs (vm.run refuses
         * more; 0: no cap) and whether its VMs get IPv6 beyond their
         * link-local address (src/net/filter.h); an instance keeps what its
         * group said when it was run */
        "ALTER TABLE vm_groups ADD COLUMN max_mem INTEGER NOT NULL DEFAULT 0 CHECK (max_mem >= 0);"
        "ALTER TABLE vm_groups ADD COLUMN max_vcpus INTEGER NOT NULL DEFAULT 0 CHECK (max_vcpus >= 0);"
        "ALTER TABLE vm_groups ADD COLUMN max_walltime INTEGER NOT NULL DEFAULT 0 CHECK (max_walltime >= 0);"
        "ALTER TABLE vm_groups ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0 CHECK (ipv6 IN (0, 1));"
        "ALTER TABLE instances ADD COLUMN ipv6 INTEGER NOT NULL DEFAULT 0 CHECK (ipv6 IN (0, 1));",
        /* 4 -> 5: exams (issue 14, store/exams.h): the window in unix
         * seconds, the group that sits it, its template; per member the
         * derived VM (kept NULL when an admin deletes it), extra time and
         * the sealed hand-in with its sha256 */
        "CREATE TABLE exams ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  template INTEGER NOT NULL REFERENCES vms(id),"
        "  ugroup INTEGER NOT NULL REFERENCES user_groups(id),"
        "  start_time INTEGER NOT NULL,"
        "  end_time INTEGER NOT NULL,"
        "  warm INTEGER NOT NULL DEFAULT 0 CHECK (warm IN (0, 1)),"
        "  allow TEXT NOT NULL DEFAULT '',"
        "  owner INTEGER NOT NULL,"
        "  state TEXT NOT NULL CHECK (state IN ('created', 'ready', 'running', 'ended')),"
        "  collection TEXT NOT NULL,"
        "  created TEXT NOT NULL,"
        "  CHECK (start_time < end_time));"
        "CREATE TABLE exam_members ("
        "  exam INTEGER NOT NULL REFERENCES exams(id) ON DELETE CASCADE,"
        "  uid INTEGER NOT NULL,"
        "  vm INTEGER REFERENCES vms(id) ON DELETE SET NULL,"
        "  extra_minutes INTEGER NOT NULL DEFAULT 0 CHECK (extra_minutes >= 0),"
        "  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'frozen', 'sealed')),"
        "  frozen_at INTEGER NOT NULL DEFAULT 0,"
        "  sealed_path TEXT NOT NULL DEFAULT '',"
        "  sha256 TEXT NOT NULL DEFAULT '',"
        "  sealed_at INTEGER NOT NULL DEFAULT 0,"
        "  late_minutes INTEGER NOT NULL DEFAULT 0,"
        "  seal_error TEXT NOT NULL DEFAULT '',"
        "  PRIMARY KEY (exam, uid));"
        "CREATE UNIQUE INDEX exam_members_vm ON exam_members(vm);",
        /* 5 -> 6: what a warm exam VM's serial console prints once it is up
         * (its starter pauses it then, until the exam starts), and the
         * instance the exam clock booted so, until the start resumes it */
        "ALTER TABLE exams ADD COLUMN warm_ready TEXT NOT NULL DEFAULT 'login:';"
        "ALTER TABLE exam_members ADD COLUMN warm_instance INTEGER NOT NULL DEFAULT 0;",
        /* 6 -> 7: exams' isolation self-tests (issue 14, store/exam_selftests.h):
         * one row per exam, its state, its one-line reason and per-probe
         * results (JSON text); start_refused: the clock's refusal to start
         * a not-ready exam is audited once */
        "CREATE TABLE exam_selftests ("
        "  exam INTEGER PRIMARY KEY REFERENCES exams(id) ON DELETE CASCADE,"
        "  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'passed', 'failed', 'skipped')),"
        "  started INTEGER NOT NULL DEFAULT 0,"
        "  finished INTEGER NOT NULL DEFAULT 0,"
        "  duration_ms INTEGER NOT NULL DEFAULT 0,"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  results TEXT NOT NULL DEFAULT '',"
        "  start_refused INTEGER NOT NULL DEFAULT 0 CHECK (start_refused IN (0, 1)));",
        /* 7 -> 8: an exam's reservation of the scheduler's nodes
         * (store/exam_resv.h, daemon/exam_reservation.c): its state, the
         * scheduler's name for it, the window it holds, how long making it
         * took and why the last attempt failed */
        "ALTER TABLE exams ADD COLUMN resv_state TEXT NOT NULL DEFAULT 'none'"
        "  CHECK (resv_state IN ('none', 'held', 'failed', 'released'));"
        "ALTER TABLE exams ADD COLUMN resv_backend TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE exams ADD COLUMN resv_id TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE exams ADD COLUMN resv_start INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE exams ADD COLUMN resv_end INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE exams ADD COLUMN resv_create_ms INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE exams ADD COLUMN resv_error TEXT NOT NULL DEFAULT '';",
};

_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "STORE_SCHEMA_VERSION is the number of migrations");

int store_exec(Store *s, const char *sql, Error *err) {
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                int r = error_set(err, rc == SQLITE_BUSY ? -EBUSY : -EIO, "database: %s",
                                  msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return r;
        }
        return 0;
}

static int migrate(Store *s, Error *err) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
                return error_set(err, -EIO, "database: %s", sqlite3_errmsg(s->db));
        int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        if (version > (int)ELEMENTSOF(migrations))
                return error_set(err, -EPROTO, "database schema version %d is newer than this vmbatchd (%zu)",
                                 version, ELEMENTSOF(migrations));
        for (int v = version; v < (int)ELEMENTSOF(migrations); v++) {
                int r = store_exec(s, "BEGIN IMMEDIATE", err);
                if (r < 0)
                        return r;
                r = store_exec(s, migrations[v], err);
                if (r >= 0) {
                        char sql[64];
                        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
                        r = store_exec(s, sql, err);
                }
                if (r < 0) {
                        store_exec(s, "ROLLBACK", NULL);
                        error_prefix(err, "migrating schema %d -> %d", v, v + 1);
                        return r;
                }
                r = store_exec(s, "COMMIT", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_open(const char *path, Store **ret, Error *err) {
        Store *s = xcalloc(1, sizeof(*s));
        int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
                int r = error_set(err, -EIO, "cannot open database %s: %s", path,
                                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                sqlite3_close(s->db);
                free(s);
                return r;
        }
        sqlite3_busy_timeout(s->db, 5000);
        int r = store_exec(s,
                           "PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = NORMAL;"
                           "PRAGMA foreign_keys = ON;",
                           err);
        if (r >= 0)
                r = migrate(s, err);
        if (r < 0) {
                error_prefix(err, "%s", path);
                store_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

void store_close(Store *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_cache; i++)
                sqlite3_finalize(s->cache[i].stmt);
        sqlite3_close(s->db);
        free(s);
}

sqlite3_stmt *store_stmt(Store *s, const char *sql, Error *err) {
        for (size_t i = 0; i < s->n_cache; i++)
                if (s->cache[i].sql == sql) {
                        sqlite3_reset(s->cache[i].stmt);
                        sqlite3_clear_bindings(s->cache[i].stmt);
                        return s->cache[i].stmt;
                }
        sqlite3_stmt *st;
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
                error_set(err, -EIO, "database: %s", sqlite3_errmsg(s->db));
                return NULL;
        }
        if (s->n_cache < ELEMENTSOF(s->cache))
                s->cache[s->n_cache++] = (typeof(s->cache[0])){sql, st};
        else
                abort(); /* more distinct statements than the cache holds: grow it */
        return st;
}

sqlite3_stmt *store_stmt_id(Store *s, const char *sql, int64_t id, Error *err) {
        sqlite3_stmt *st = store_stmt(s, sql, err);
        if (st)
                sqlite3_bind_int64(st, 1, id);
        return st;
}

sqlite3_stmt *store_stmt_text(Store *s, const char *sql, const char *text, Error *err) {
        sqlite3_stmt *st = store_stmt(s, sql, err);
        if (st)
                sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        return st;
}

int store_exec_id(Store *s, const char *sql, int64_t id, const char *what, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, sql, id, err);
        return st ? store_step_done(s, st, what, err) : -EIO;
}

int store_step_error(Store *s, int rc, const char *what, Error *err) {
        if (rc == SQLITE_DONE || rc == SQLITE_ROW)
                return 0;
        int ext = sqlite3_extended_errcode(s->db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
                return error_set(err, -EEXIST, "%s already exists", what);
        if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
                return error_set(err, -EBUSY, "%s is still referenced", what);
        if (rc == SQLITE_BUSY)
                return error_set(err, -EBUSY, "database is busy");
        return error_set(err, -EIO, "database: %s: %s", what, sqlite3_errmsg(s->db));
}

int store_step_insert(Store *s, sqlite3_stmt *st, const char *what, const char *key, uint32_t id, const char *name,
                      Error *err) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        int ext = rc == SQLITE_DONE ? 0 : sqlite3_extended_errcode(s->db);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
                return error_set(err, -EEXIST, "a %s with %s %u already exists", what, key, id);
        if (ext == SQLITE_CONSTRAINT_UNIQUE)
                return error_set(err, -EEXIST, "a %s named '%s' already exists", what, name);
        return store_step_error(s, rc, what, err);
}

int store_one_row(sqlite3_stmt *st, store_row_fn from_row, void *ret) {
        if (!st)
                return -EIO;
        int r = -ENOENT;
        if (sqlite3_step(st) == SQLITE_ROW) {
                from_row(st, ret);
                r = 0;
        }
        sqlite3_reset(st);
        return r;
}

int store_one_int(sqlite3_stmt *st, int64_t *ret) {
        if (!st)
                return -EIO;
        int r = sqlite3_step(st) == SQLITE_ROW ? 0 : -EIO;
        if (r == 0)
                *ret = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return r;
}

int store_one_u32(sqlite3_stmt *st, uint32_t *ret) {
        int64_t v;
        int r = store_one_int(st, &v);
        if (r == 0)
                *ret = (uint32_t)v;
        return r;
}

int store_step_done(Store *s, sqlite3_stmt *st, const char *what, Error *err) {
        int rc = sqlite3_step(st);
        int r = store_step_error(s, rc, what, err);
        sqlite3_reset(st);
        return r;
}

void store_bind_opt_u32(sqlite3_stmt *st, int idx, const uint32_t *v) {
        if (v)
                sqlite3_bind_int64(st, idx, *v);
        else
                sqlite3_bind_null(st, idx);
}

int store_begin(Store *s, Error *err) {
        if (s->in_txn)
                return error_set(err, -EBUSY, "nested transaction");
        int r = store_exec(s, "BEGIN IMMEDIATE", err);
        if (r >= 0)
                s->in_txn = true;
        return r;
}

int store_commit(Store *s, Error *err) {
        int r = store_exec(s, "COMMIT", err);
        if (r < 0)
                store_rollback(s);
        s->in_txn = false;
        return r;
}

void store_rollback(Store *s) {
        if (!sqlite3_get_autocommit(s->db))
                store_exec(s, "ROLLBACK", NULL);
        s->in_txn = false;
}

void store_copy_text(char *dst, size_t len, sqlite3_stmt *st, int col) {
        const unsigned char *t = sqlite3_column_text(st, col);
        snprintf(dst, len, "%s", t ? (const char *)t : "");
}

void store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s) {
        if (isempty(s))
                sqlite3_bind_null(st, idx);
        else
                sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

void store_now(char buf[32]) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

void store_now_utc(char *buf, size_t len) {
        char b[32];
        store_now(b);
        snprintf(buf, len, "%s", b);
}

int store_collect_u32(Store *s, sqlite3_stmt *st, uint32_t **ret, size_t *ret_n) {
        uint32_t *v = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = (uint32_t)sqlite3_column_int64(st, 0);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(v);
                return store_step_error(s, rc, "query", NULL);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = ?";
static const char SQL_META_SET[] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)";

int store_get_error(Store *s, int r, Error *err, const char *fmt, ...) {
        if (r != -ENOENT)
                return error_set(err, r < 0 ? r : -EIO, "database: %s", sqlite3_errmsg(s->db));
        va_list ap;
        va_start(ap, fmt);
        char *text = xvasprintf(fmt, ap);
        va_end(ap);
        r = error_set(err, -ENOENT, "%s", text);
        free(text);
        return r;
}

int store_meta_get(Store *s, const char *key, char *buf, size_t len) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_META_GET, key, NULL);
        if (!st)
                return -EIO;
        int r = -ENOENT;
        if (sqlite3_step(st) == SQLITE_ROW) { /* a buffer and its size: not a row reader */
                store_copy_text(buf, len, st, 0);
                r = 0;
        }
        sqlite3_reset(st);
        return r;
}

int store_meta_set(Store *s, const char *key, const char *value, Error *err) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_META_SET, key, err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        return store_step_error(s, rc, key, err);
}

const char *subject_type_to_string(enum subject_type t) {
        return t == SUBJECT_USER ? "user" : t == SUBJECT_GROUP ? "group" : "invalid";
}
int subject_type_from_string(const char *s) {
        return streq(s, "user") ? SUBJECT_USER : streq(s, "group") ? SUBJECT_GROUP : -EINVAL;
}
const char *object_type_to_string(enum object_type t) {
        return t == OBJECT_VM ? "vm" : t == OBJECT_VMGROUP ? "vmgroup" : "invalid";
}
int object_type_from_string(const char *s) {
        return streq(s, "vm") ? OBJECT_VM : streq(s, "vmgroup") ? OBJECT_VMGROUP : -EINVAL;
}
