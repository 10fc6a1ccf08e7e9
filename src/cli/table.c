/* table.c - see table.h */
#include "cli/table.h"

#include <stdarg.h>

typedef struct Line {
        char **cells; /* n_columns cells, or NULL for a raw line */
        size_t n;
        char *raw;
} Line;

struct Table {
        size_t n_columns;
        Line *lines; /* lines[0] is the header */
        size_t n_lines;
};

static Line *append_line(Table *t) {
        Line *l = reallocarray(t->lines, t->n_lines + 1, sizeof(Line));
        if (!l)
                abort();
        t->lines = l;
        l = &t->lines[t->n_lines++];
        *l = (Line){0};
        return l;
}

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t = xcalloc(1, sizeof(Table));
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++)
                table_add(t, headers[i]);
        return t;
}

void table_free(Table *t) {
        if (!t)
                return;
        for (size_t i = 0; i < t->n_lines; i++) {
                for (size_t k = 0; k < t->lines[i].n; k++)
                        free(t->lines[i].cells[k]);
                free(t->lines[i].cells);
                free(t->lines[i].raw);
        }
        free(t->lines);
        free(t);
}

static char *sanitize(const char *s) {
        char *c = xstrdup(s ? s : "");
        for (char *p = c; *p; p++)
                if (*p == '\t' || *p == '\n' || *p == '\r')
                        *p = ' ';
        return c;
}

void table_add(Table *t, const char *cell) {
        Line *l = t->n_lines > 0 ? &t->lines[t->n_lines - 1] : NULL;
        if (!l || l->raw || l->n == t->n_columns) {
                l = append_line(t);
                l->cells = xcalloc(t->n_columns, sizeof(char *));
        }
        l->cells[l->n++] = sanitize(cell);
}

void table_addf(Table *t, const char *fmt, ...) {
        va_list ap;
        char *s;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        table_add(t, s);
        free(s);
}

char *json_cell_text(const json_t *v) {
        if (!v || json_is_null(v))
                return xstrdup("");
        if (json_is_string(v))
                return xstrdup(json_string_value(v));
        if (json_is_integer(v))
                return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (json_is_boolean(v))
                return xstrdup(json_is_true(v) ? "1" : "0");
        if (json_is_real(v))
                return xasprintf("%g", json_real_value(v));
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        return s ? s : xstrdup("");
}

void table_add_json(Table *t, const json_t *v) {
        _cleanup_free_ char *s = json_cell_text(v);
        table_add(t, s);
}

void table_add_raw(Table *t, const char *line) {
        Line *l = append_line(t);
        l->raw = xstrdup(line);
}

int table_print(const Table *t, FILE *f) {
        for (size_t i = 0; i < t->n_lines; i++) {
                const Line *l = &t->lines[i];
                if (l->raw) {
                        fputs(l->raw, f);
                        fputc('\n', f);
                        continue;
                }
                for (size_t k = 0; k < t->n_columns; k++) {
                        if (k > 0)
                                fputc('\t', f);
                        if (k < l->n)
                                fputs(l->cells[k], f);
                }
                fputc('\n', f);
        }
        return ferror(f) ? -EIO : 0;
}
