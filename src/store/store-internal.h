/* store-internal.h - shared by the files of src/store only. */
#pragma once

#include <sqlite3.h>

#include "store/store.h"

struct Store {
        sqlite3 *db;
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } cache[128];
        size_t n_cache;
        bool in_txn;
};

/* A cached, reset prepared statement for a static SQL string. NULL on error
 * (logged to err if given). Do not finalize it. */
sqlite3_stmt *store_stmt(Store *s, const char *sql, Error *err);
/* The same with parameter 1 bound to an id, or to a text (not copied: it
 * must outlive the statement's use). */
sqlite3_stmt *store_stmt_id(Store *s, const char *sql, int64_t id, Error *err);
sqlite3_stmt *store_stmt_text(Store *s, const char *sql, const char *text, Error *err);
/* Map the result of a final sqlite3_step to -errno, filling err. */
int store_step_error(Store *s, int rc, const char *what, Error *err);
/* Step a statement that returns no rows, reset it, map errors. */
/* Step st (NULL: preparing it failed, -EIO) for at most one row, read by
 * from_row into ret, then reset it: 0, or -ENOENT when there is no row. */
typedef void (*store_row_fn)(sqlite3_stmt *st, void *ret);
int store_one_row(sqlite3_stmt *st, store_row_fn from_row, void *ret);
/* The one number a query answers (a count, a sum): -EIO without a row. */
int store_one_int(sqlite3_stmt *st, int64_t *ret);
int store_one_u32(sqlite3_stmt *st, uint32_t *ret);
int store_step_done(Store *s, sqlite3_stmt *st, const char *what, Error *err);
/* Step an INSERT of a row with a numeric key and a unique name (then reset
 * it): the constraint that failed says which, "a user with uid 5 already
 * exists" or "a user named 'ana' already exists" (-EEXIST). */
int store_step_insert(Store *s, sqlite3_stmt *st, const char *what, const char *key, uint32_t id, const char *name,
                      Error *err);
/* Bind a u32 or NULL. */
void store_bind_opt_u32(sqlite3_stmt *st, int idx, const uint32_t *v);
/* Run a statement without results with parameter 1 bound to id. */
int store_exec_id(Store *s, const char *sql, int64_t id, const char *what, Error *err);
/* Run a statement without results, binding nothing. */
int store_exec(Store *s, const char *sql, Error *err);

void store_copy_text(char *dst, size_t len, sqlite3_stmt *st, int col);
void store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);
/* ISO 8601 UTC "now" */
void store_now(char buf[32]);
/* Read a column of u32 ids into a malloc'd array. */
int store_collect_u32(Store *s, sqlite3_stmt *st, uint32_t **ret, size_t *ret_n);
