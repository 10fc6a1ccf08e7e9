/* doctor_report.h - the report of vmbatch doctor (core/doctor.h): items of
 * ok, warn or fail, what was found and the fix; as text and as JSON. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "basic/util.h"

typedef enum DoctorStatus { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL, _DOCTOR_STATUS_MAX } DoctorStatus;
const char *doctor_status_to_string(DoctorStatus s);
DoctorStatus doctor_status_from_string(const char *s);

typedef struct DoctorItem {
        char *check;  /* "kvm", "state_dir", ... */
        DoctorStatus status;
        char *detail; /* what was found, one line */
        char *fix;    /* one line; NULL for ok */
} DoctorItem;

typedef struct DoctorReport {
        DoctorItem *items;
        size_t n;
} DoctorReport;

/* Append an item; takes detail and fix (malloc'd, fix may be NULL; it is
 * dropped for ok). */
void doctor_add(DoctorReport *r, const char *check, DoctorStatus status, char *detail, char *fix);
void doctor_report_clear(DoctorReport *r);
/* The item of that check, NULL if none (for tests). */
const DoctorItem *doctor_find(const DoctorReport *r, const char *check);
/* 0 when no item failed, else 1. */
int doctor_exit_status(const DoctorReport *r);

/* One line per item: "STATUS  CHECK  DETAIL", then "fix: ..." indented under
 * it for warn and fail; a last line counts them. */
int doctor_print_text(FILE *f, const DoctorReport *r);
/* [{"check", "status", "detail", "fix"}, ...] (fix null for ok). */
json_t *doctor_report_json(const DoctorReport *r);
/* As text, or as that JSON (indented); 0 or -EIO. */
int doctor_print(FILE *f, const DoctorReport *r, bool json);
