/* doctor_store.c - see doctor_store.h. */
#include "store/doctor_store.h"

#include <sqlite3.h>
#include <stdio.h>

/* sqlite3's progress handler: nonzero interrupts the statement */
static int past_deadline(void *userdata) {
        return now_usec() > *(uint64_t *)userdata;
}

/* Each row's first column joined by "; " (at most a few), or NULL on an error. */
static char *rows_joined(sqlite3 *db, const char *sql, int *ret_rc) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        char buf[1024] = "";
        size_t o = 0, n = 0;
        while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                rc = SQLITE_OK; /* the next row */
                const char *v = (const char *)sqlite3_column_text(st, 0);
                if (n++ < 5 && o < sizeof(buf))
                        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "; " : "", v ? v : "");
        }
        sqlite3_finalize(st);
        *ret_rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        if (*ret_rc != SQLITE_OK)
                return NULL;
        if (n > 5 && o < sizeof(buf))
                snprintf(buf + o, sizeof(buf) - o, "; ... (%zu in all)", n);
        return xstrdup(buf);
}

int store_doctor_check(const char *path, int timeout_ms, StoreDoctorFacts *ret, Error *err) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                int r = error_set(err, -EIO, "cannot open it read-only: %s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
                sqlite3_close(db);
                return r;
        }
        uint64_t deadline = now_usec() + (uint64_t)timeout_ms * 1000;
        sqlite3_busy_timeout(db, timeout_ms);
        sqlite3_progress_handler(db, 1000, past_deadline, &deadline);
        StoreDoctorFacts f = {0};
        f.integrity = rows_joined(db, "PRAGMA integrity_check", &rc);
        _cleanup_free_ char *version = rc == SQLITE_OK ? rows_joined(db, "PRAGMA user_version", &rc) : NULL;
        /* no meta table (not a vmbatch database, or never opened by vmbatchd): not initialised */
        int meta_rc = SQLITE_OK;
        _cleanup_free_ char *init = rc == SQLITE_OK
                ? rows_joined(db, "SELECT value FROM meta WHERE key = 'initialized'", &meta_rc) : NULL;
        int r = 0;
        if (rc == SQLITE_INTERRUPT)
                r = error_set(err, -ETIMEDOUT, "integrity_check did not finish in %d ms", timeout_ms);
        else if (rc != SQLITE_OK)
                r = error_set(err, -EIO, "%s", sqlite3_errmsg(db));
        sqlite3_close(db);
        if (r < 0) {
                store_doctor_facts_clear(&f);
                return r;
        }
        f.schema = version ? atoi(version) : 0;
        f.initialized = init && *init;
        *ret = f;
        return 0;
}

void store_doctor_facts_clear(StoreDoctorFacts *f) {
        free(f->integrity);
        *f = (StoreDoctorFacts){0};
}
