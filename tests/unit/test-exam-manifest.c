/* test-exam-manifest - `vmbatch exam collect`'s manifest (core/exam_manifest.h)
 * against golden files in tests/golden/exam (VMBATCH_REGENERATE=1 rewrites
 * them): an exam with a member of each kind (copied, not sealed yet, a seal
 * that failed, a copy that did not match), and hostile names: commas,
 * quotes, CR and LF come back exactly from the CSV (read with an RFC 4180
 * reader here) and the JSON, other control characters and bytes that are
 * not UTF-8 are refused; the copies' file names. */
#include <jansson.h>
#include <stdlib.h>

#include "basic/util.h"
#include "core/exam_manifest.h"
#include "golden.h"

#define T0 1796300000 /* 2026-12-03T12:13:20Z */

static const ExamManifestRow plain_rows[] = {
        {.student = "ecstud1", .uid = 2001, .vm = "exam-final-ecstud1", .file = "ecstud1.qcow2",
         .sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", .sealed_at = T0 + 60,
         .late_minutes = 0, .extra_minutes = 0, .state = "sealed"},
        {.student = "ecstud2", .uid = 2002, .vm = "exam-final-ecstud2", .state = "running", .extra_minutes = 30},
        {.student = "ecstud3", .uid = 2003, .vm = "exam-final-ecstud3", .state = "frozen",
         .error = "seal failed: qemu-img convert: No space left on device"},
        {.student = "ecstud4", .uid = 2004, .vm = "exam-final-ecstud4",
         .sha256 = "0000000000000000000000000000000000000000000000000000000000000000", .sealed_at = T0 + 3725,
         .late_minutes = 61, .extra_minutes = 60, .state = "sealed",
         .error = "sha256 mismatch: the copy's is 5891b5b5..., the seal recorded 00000000..."},
};

static const ExamManifestRow hostile_rows[] = {
        {.student = "a,b\"c", .uid = 7, .vm = "vm\r\nx,\"y\"", .file = "", .sha256 = "", .state = "sealed",
         .error = "\"quoted\", and\nsplit"},
        {.student = "=HYPERLINK(\"x\")", .uid = 8, .vm = "é-ü", .state = "pending"},
};

/* ---- an RFC 4180 reader: fields of row `want_row` (0 the header) ---- */

static size_t csv_read_row(const char *s, size_t want_row, char fields[16][128]) {
        size_t row = 0, field = 0, len = 0;
        bool quoted = false;
        char cur[128];
        for (const char *p = s;; p++) {
                bool end_field = false, end_row = false;
                if (quoted) {
                        if (*p == '"' && p[1] == '"') {
                                cur[len++] = '"';
                                p++;
                        } else if (*p == '"')
                                quoted = false;
                        else if (*p)
                                cur[len++] = *p;
                        else
                                return 0; /* an open quote at the end: malformed */
                        continue;
                }
                if (*p == '"' && len == 0)
                        quoted = true;
                else if (*p == ',')
                        end_field = true;
                else if (*p == '\r' && p[1] == '\n') {
                        p++;
                        end_field = end_row = true;
                } else if (*p == 0)
                        return 0;
                else
                        cur[len++] = *p;
                if (end_field) {
                        cur[len] = 0;
                        if (row == want_row && field < 16)
                                snprintf(fields[field], 128, "%s", cur);
                        field++;
                        len = 0;
                }
                if (end_row) {
                        if (row == want_row)
                                return field;
                        row++;
                        field = 0;
                }
        }
}

static void test_plain(void) {
        ExamManifest m = {.exam = "final", .exam_id = 3, .collected_at = T0 + 7200, .rows = plain_rows,
                          .n_rows = ELEMENTSOF(plain_rows)};
        Error err = {0};
        _cleanup_free_ char *csv = NULL, *json = NULL;
        ok(exam_manifest_csv(&m, &csv, &err) == 0, "the CSV of four members of each kind");
        golden_check("plain.csv", csv);
        ok(exam_manifest_json(&m, &json, &err) == 0, "the JSON of the same");
        golden_check("plain.json", json);
        char f[16][128];
        is_int(csv_read_row(csv, 0, f), 10, "the header has ten columns");
        is_str(f[0], "student", "the first is student");
        is_str(f[9], "error", "the last is error");
        is_int(csv_read_row(csv, 1, f), 10, "row 1 has ten fields");
        is_str(f[5], "2026-12-03T12:14:20Z", "sealed_at is ISO 8601 UTC");
        is_int(csv_read_row(csv, 2, f), 10, "row 2 (not sealed) has ten fields");
        ok(!*f[3] && !*f[4] && !*f[5] && streq(f[8], "running"), "not sealed: no file, no sha256, no time, its state");
        json_t *j = json_loads(json, 0, NULL);
        json_t *r4 = json_array_get(json_object_get(j, "members"), 3);
        ok(json_is_null(json_object_get(r4, "file")) && json_integer_value(json_object_get(r4, "late_minutes")) == 61,
           "JSON: the mismatched member has file null and its late minutes");
        json_decref(j);
}

static void test_hostile(void) {
        ExamManifest m = {.exam = "final", .exam_id = 3, .collected_at = T0, .rows = hostile_rows,
                          .n_rows = ELEMENTSOF(hostile_rows)};
        Error err = {0};
        _cleanup_free_ char *csv = NULL, *json = NULL;
        ok(exam_manifest_csv(&m, &csv, &err) == 0, "commas, quotes, CR LF and non-ASCII UTF-8 are written");
        golden_check("hostile.csv", csv);
        ok(exam_manifest_json(&m, &json, &err) == 0, "and as JSON");
        golden_check("hostile.json", json);
        char f[16][128];
        is_int(csv_read_row(csv, 1, f), 10, "the hostile row reads back as ten fields (nothing split)");
        is_str(f[0], "a,b\"c", "a comma and a quote in the student come back exactly");
        is_str(f[2], "vm\r\nx,\"y\"", "CR LF, comma and quotes in the vm come back exactly");
        is_str(f[9], "\"quoted\", and\nsplit", "and in the error");
        is_int(csv_read_row(csv, 2, f), 10, "the next row is still a row of its own");
        is_str(f[2], "é-ü", "UTF-8 passes");
        is_int(csv_read_row(csv, 3, f), 0, "and there is no third");
        json_t *j = json_loads(json, 0, NULL);
        is_str(json_string_value(json_object_get(json_array_get(json_object_get(j, "members"), 0), "vm")),
               "vm\r\nx,\"y\"", "JSON: the vm name comes back exactly");
        json_decref(j);

        static const char *const bad[] = {"esc\x1b[2J", "tab\there", "del\x7f", "bad\xff utf8", "nul\x01"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ExamManifestRow row = hostile_rows[1];
                row.vm = bad[i];
                ExamManifest one = {.exam = "final", .collected_at = T0, .rows = &row, .n_rows = 1};
                char *out = NULL;
                err = (Error){0};
                ok(exam_manifest_csv(&one, &out, &err) == -EINVAL && !out && strstr(err.message, "row 1's vm"),
                   "CSV refuses a vm name with byte %zu of case %zu: %s", strcspn(bad[i], "\x1b\t\x7f\xff\x01"), i,
                   err.message);
                err = (Error){0};
                ok(exam_manifest_json(&one, &out, &err) == -EINVAL && !out, "and so does the JSON");
        }
        ExamManifest badexam = {.exam = "x\x1b", .collected_at = T0};
        char *out = NULL;
        ok(exam_manifest_csv(&badexam, &out, &err) == -EINVAL, "an exam name with an escape is refused");
}

static void test_file_names(void) {
        char buf[256];
        Error err = {0};
        ok(exam_collect_file_name("ecstud1", buf, sizeof(buf), &err) == 0 && streq(buf, "ecstud1.qcow2"),
           "a student's copy is STUDENT.qcow2");
        static const char *const bad[] = {"", ".", "..", "../etc", "a/b", ".hidden", "a b", "a\nb", "é", "a,\x1b"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = (Error){0};
                ok(exam_collect_file_name(bad[i], buf, sizeof(buf), &err) == -EINVAL, "file name case %zu refused: %s",
                   i, err.message);
        }
        char small[8];
        ok(exam_collect_file_name("ecstud1", small, sizeof(small), &err) == -ENAMETOOLONG, "too long for the buffer");
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/exam");
        test_plain();
        test_hostile();
        test_file_names();
        return tap_done();
}
