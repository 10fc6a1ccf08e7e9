/* exam_manifest.h - what `vmbatch exam collect` writes beside the copies of
 * an exam's sealed discs: the manifest, as JSON and as CSV (RFC 4180), and
 * the name each student's copy gets in the collection folder. Pure (no I/O),
 * golden-tested in tests/unit/test-exam-manifest.c; the copying is
 * src/cli/exam_collect.c's.
 *
 * Every text here came from the daemon's records, which a student's name
 * or a vm's name reached: a value is either written so that it reads back
 * exactly (JSON escapes, CSV quotes) or refused (-EINVAL, naming the row),
 * never written so that it could start another field or row. */
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "basic/error.h"

/* The columns, in this order (the CSV's header line). */
#define EXAM_MANIFEST_COLUMNS "student,uid,vm,file,sha256,sealed_at,late_minutes,extra_minutes,state,error"

typedef struct ExamManifestRow {
        const char *student;
        uint32_t uid;
        const char *vm;     /* the vm's name */
        const char *file;   /* the copy's name in the folder; NULL or "": no file */
        const char *sha256; /* as recorded at the seal; NULL or "": not sealed */
        int64_t sealed_at;  /* unix seconds; 0: not sealed */
        uint32_t late_minutes;
        uint32_t extra_minutes;
        const char *state;  /* the member's (pending, running, frozen, sealed) */
        const char *error;  /* why a sealed disc has no file (a mismatch...); NULL or "" */
} ExamManifestRow;

typedef struct ExamManifest {
        const char *exam;
        uint32_t exam_id;
        int64_t collected_at; /* unix seconds */
        const ExamManifestRow *rows;
        size_t n_rows;
} ExamManifest;

/* The CSV: the header line, then one line per row, CRLF-terminated; a field
 * holding a comma, a double quote, CR or LF is quoted (its quotes doubled).
 * Times are ISO 8601 UTC ("2026-12-03T13:36:13Z"), empty when 0. -EINVAL
 * (err names the row and column) for a value that is not UTF-8 or holds
 * another control character. *ret is malloc'd. */
int exam_manifest_csv(const ExamManifest *m, char **ret, Error *err);

/* The JSON: {"exam", "exam_id", "collected_at", "columns", "members": [one
 * object per row, the CSV's columns as keys; null for what is empty]},
 * indented, newline-terminated. Refuses what the CSV refuses. */
int exam_manifest_json(const ExamManifest *m, char **ret, Error *err);

/* The copy's name for a student: "STUDENT.qcow2". -EINVAL for a name that
 * could be anything but one plain file in the folder (empty, a '/', a
 * leading '.', a control character or a byte past ASCII, too long). */
int exam_collect_file_name(const char *student, char *buf, size_t len, Error *err);
