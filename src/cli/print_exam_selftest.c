/* print_exam_selftest.c - see print_exam_selftest.h. */
#include "cli/print_exam_selftest.h"

#include <string.h>

static const char *s_of(const json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

/* "  through (3): a, b, c" for the attacks of that outcome */
static void outcome_line(FILE *f, const json_t *attacks, const char *outcome) {
        const char *name;
        json_t *v;
        size_t n = 0;
        json_object_foreach((json_t *)attacks, name, v) n += json_is_string(v) && !strcmp(json_string_value(v), outcome);
        if (n == 0)
                return;
        fprintf(f, "  %s (%zu):", outcome, n);
        size_t k = 0;
        json_object_foreach((json_t *)attacks, name, v) if (json_is_string(v) && !strcmp(json_string_value(v), outcome))
                fprintf(f, "%s %s", k++ ? "," : "", name);
        fputc('\n', f);
}

void cli_exam_print_selftest(FILE *f, const json_t *t) {
        if (!json_is_object(t))
                return;
        long long ms = (long long)json_integer_value(json_object_get(t, "duration_ms"));
        fprintf(f, "self-test: %s", s_of(t, "state"));
        if (ms > 0)
                fprintf(f, " in %lld.%lld s", ms / 1000, ms % 1000 / 100);
        fprintf(f, "%s%s\n", *s_of(t, "reason") ? ": " : "", s_of(t, "reason"));
        const json_t *res = json_object_get(t, "results");
        const json_t *attacks = json_object_get(res, "attacks");
        if (!json_is_object(attacks))
                return;
        outcome_line(f, attacks, "through");
        outcome_line(f, attacks, "untried");
        outcome_line(f, attacks, "blocked");
        const char *name;
        json_t *v;
        fprintf(f, "  controls:");
        size_t k = 0;
        json_object_foreach((json_t *)json_object_get(res, "controls"), name, v)
                fprintf(f, "%s %s %s", k++ ? "," : "", name, json_is_true(v) ? "ok" : "FAILED");
        const json_t *tcp = json_object_get(res, "host_tcp");
        fprintf(f, "\n  host service tcp/%lld on the gateway: %s, %lld connection(s) accepted (filter_backend %s)\n",
                (long long)json_integer_value(json_object_get(tcp, "port")), s_of(tcp, "state"),
                (long long)json_integer_value(json_object_get(tcp, "accepts")), s_of(res, "filter_backend"));
}

int cli_exam_print_selftest_queued(FILE *f, const json_t *req, const json_t *d) {
        fprintf(f, "isolation self-test of exam %s queued: 'vmbatch exam show %s' prints its result\n", s_of(d, "name"),
                s_of(d, "name"));
        return 0;
}
