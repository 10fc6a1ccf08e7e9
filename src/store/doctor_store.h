/* doctor_store.h - the database as vmbatch doctor sees it: opened
 * read-only (never created, never migrated, no write lock taken), checked
 * with PRAGMA integrity_check under a deadline. The SQL is here because
 * every statement of the project is in src/store. */
#pragma once

#include "basic/error.h"

typedef struct StoreDoctorFacts {
        char *integrity;  /* "ok", or its first problems joined by "; " */
        int schema;       /* PRAGMA user_version */
        bool initialized; /* the meta row init writes */
} StoreDoctorFacts;

/* 0 with *ret filled (free with store_doctor_facts_clear); -ETIMEDOUT when
 * the check did not finish in timeout_ms; -errno with err set when the file
 * cannot be opened or read. */
int store_doctor_check(const char *path, int timeout_ms, StoreDoctorFacts *ret, Error *err);
void store_doctor_facts_clear(StoreDoctorFacts *f);
