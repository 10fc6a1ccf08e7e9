/* exam_manifest.c - an exam collection's manifest, JSON and CSV. See
 * exam_manifest.h. */
#include "core/exam_manifest.h"

#include <jansson.h>
#include <stdio.h>

#include "basic/util.h"
#include "core/exam.h"

static const char *const columns[] = {"student", "uid",           "vm",    "file",  "sha256",
                                      "sealed_at", "late_minutes", "extra_minutes", "state", "error"};
enum { N_COLUMNS = ELEMENTSOF(columns) };

static const char *or_empty(const char *s) { return s ? s : ""; }

/* UTF-8 (jansson's own check: what it would refuse to encode) and no
 * control character but CR and LF, which the CSV quotes. */
static bool value_ok(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p < 0x20 && *p != '\r' && *p != '\n') || *p == 0x7f)
                        return false;
        json_t *j = json_string(s);
        json_decref(j);
        return j != NULL;
}

/* A row's values as text, in column order (times and numbers formatted). */
typedef struct RowText {
        char v[N_COLUMNS][32];
        const char *s[N_COLUMNS];
} RowText;

static int row_text(const ExamManifestRow *r, size_t i, RowText *t, Error *err) {
        snprintf(t->v[1], sizeof(t->v[1]), "%u", r->uid);
        if (r->sealed_at > 0)
                exam_time_format(r->sealed_at, true, t->v[5]);
        snprintf(t->v[6], sizeof(t->v[6]), "%u", r->late_minutes);
        snprintf(t->v[7], sizeof(t->v[7]), "%u", r->extra_minutes);
        const char *strings[N_COLUMNS] = {or_empty(r->student), t->v[1], or_empty(r->vm), or_empty(r->file),
                                          or_empty(r->sha256),  t->v[5], t->v[6],         t->v[7],
                                          or_empty(r->state),   or_empty(r->error)};
        for (size_t k = 0; k < N_COLUMNS; k++) {
                if (!value_ok(strings[k]))
                        return error_set(err, -EINVAL,
                                         "row %zu's %s holds a control character or is not UTF-8: refused", i + 1,
                                         columns[k]);
                t->s[k] = strings[k];
        }
        return 0;
}

static int check_header(const ExamManifest *m, Error *err) {
        if (!value_ok(or_empty(m->exam)))
                return error_set(err, -EINVAL, "the exam's name holds a control character or is not UTF-8: refused");
        return 0;
}

/* RFC 4180: quoted when it holds a comma, a quote, CR or LF */
static void csv_field(FILE *f, const char *s) {
        if (!strpbrk(s, ",\"\r\n")) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

int exam_manifest_csv(const ExamManifest *m, char **ret, Error *err) {
        int r = check_header(m, err);
        if (r < 0)
                return r;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return error_set(err, -ENOMEM, "out of memory");
        fputs(EXAM_MANIFEST_COLUMNS "\r\n", f);
        for (size_t i = 0; i < m->n_rows && r >= 0; i++) {
                RowText t = {0};
                if ((r = row_text(&m->rows[i], i, &t, err)) < 0)
                        break;
                for (size_t k = 0; k < N_COLUMNS; k++) {
                        if (k)
                                fputc(',', f);
                        csv_field(f, t.s[k]);
                }
                fputs("\r\n", f);
        }
        fclose(f);
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}

static json_t *string_or_null(const char *s) { return isempty(s) ? json_null() : json_string(s); }

int exam_manifest_json(const ExamManifest *m, char **ret, Error *err) {
        int r = check_header(m, err);
        if (r < 0)
                return r;
        char at[32];
        exam_time_format(m->collected_at, true, at);
        json_t *cols = json_array();
        for (size_t k = 0; k < N_COLUMNS; k++)
                json_array_append_new(cols, json_string(columns[k]));
        json_t *rows = json_array();
        for (size_t i = 0; i < m->n_rows; i++) {
                const ExamManifestRow *row = &m->rows[i];
                RowText t = {0};
                if ((r = row_text(row, i, &t, err)) < 0)
                        break;
                json_array_append_new(
                        rows, json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:o}", "student", t.s[0], "uid",
                                        (json_int_t)row->uid, "vm", t.s[2], "file", string_or_null(row->file),
                                        "sha256", string_or_null(row->sha256), "sealed_at",
                                        string_or_null(t.s[5]), "late_minutes", (json_int_t)row->late_minutes,
                                        "extra_minutes", (json_int_t)row->extra_minutes, "state", t.s[8], "error",
                                        string_or_null(row->error)));
        }
        json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o}", "exam", or_empty(m->exam), "exam_id", (json_int_t)m->exam_id,
                              "collected_at", at, "columns", cols, "members", rows);
        char *text = r >= 0 && o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (r < 0)
                return r;
        if (!text)
                return error_set(err, -ENOMEM, "cannot write the manifest's JSON");
        *ret = xasprintf("%s\n", text);
        free(text);
        return 0;
}

int exam_collect_file_name(const char *student, char *buf, size_t len, Error *err) {
        for (const unsigned char *p = (const unsigned char *)student; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f) /* not echoed: it could be a terminal's escape */
                        return error_set(err, -EINVAL, "a student name holds a character a file name must not: "
                                                       "refused");
        size_t n = strlen(student);
        if (n == 0 || n > 200 || student[0] == '.' || strchr(student, '/'))
                return error_set(err, -EINVAL, "student name '%.64s' is not a file name: refused", student);
        if ((size_t)snprintf(buf, len, "%s.qcow2", student) >= len)
                return error_set(err, -ENAMETOOLONG, "student name '%.64s' is too long for a file name", student);
        return 0;
}
