/* doctor_report.c - see doctor_report.h. */
#include "core/doctor_report.h"

static const char *const doctor_status_table[_DOCTOR_STATUS_MAX] = {
        [DOCTOR_OK] = "ok", [DOCTOR_WARN] = "warn", [DOCTOR_FAIL] = "fail"};
DEFINE_STRING_TABLE(doctor_status, DoctorStatus)

void doctor_add(DoctorReport *r, const char *check, DoctorStatus status, char *detail, char *fix) {
        r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
        if (status == DOCTOR_OK) {
                free(fix);
                fix = NULL;
        }
        r->items[r->n++] = (DoctorItem){.check = xstrdup(check), .status = status,
                                        .detail = detail ? detail : xstrdup(""), .fix = fix};
}

void doctor_report_clear(DoctorReport *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->items[i].check);
                free(r->items[i].detail);
                free(r->items[i].fix);
        }
        free(r->items);
        *r = (DoctorReport){0};
}

const DoctorItem *doctor_find(const DoctorReport *r, const char *check) {
        for (size_t i = 0; i < r->n; i++)
                if (streq(r->items[i].check, check))
                        return &r->items[i];
        return NULL;
}

int doctor_exit_status(const DoctorReport *r) {
        for (size_t i = 0; i < r->n; i++)
                if (r->items[i].status == DOCTOR_FAIL)
                        return 1;
        return 0;
}

#define CHECK_WIDTH 14

int doctor_print_text(FILE *f, const DoctorReport *r) {
        unsigned count[_DOCTOR_STATUS_MAX] = {0};
        for (size_t i = 0; i < r->n; i++) {
                const DoctorItem *it = &r->items[i];
                count[it->status]++;
                fprintf(f, "%-4s  %-*s  %s\n", doctor_status_to_string(it->status), CHECK_WIDTH, it->check,
                        it->detail);
                if (it->fix)
                        fprintf(f, "%-4s  %-*s  fix: %s\n", "", CHECK_WIDTH, "", it->fix);
        }
        fprintf(f, "%zu checks: %u ok, %u warn, %u fail\n", r->n, count[DOCTOR_OK], count[DOCTOR_WARN],
                count[DOCTOR_FAIL]);
        return ferror(f) ? -EIO : 0;
}

json_t *doctor_report_json(const DoctorReport *r) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->n; i++) {
                const DoctorItem *it = &r->items[i];
                json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:o}", "check", it->check, "status",
                                                   doctor_status_to_string(it->status), "detail", it->detail,
                                                   "fix", it->fix ? json_string(it->fix) : json_null()));
        }
        return a;
}

int doctor_print(FILE *f, const DoctorReport *r, bool json) {
        if (!json)
                return doctor_print_text(f, r);
        json_t *a = doctor_report_json(r);
        int w = json_dumpf(a, f, JSON_INDENT(2));
        json_decref(a);
        return w < 0 || fputc('\n', f) == EOF || ferror(f) ? -EIO : 0;
}
