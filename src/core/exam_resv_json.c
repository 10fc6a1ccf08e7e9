/* exam_resv_json.c - an exam's reservation as JSON (exam_resv_json.h). */
#include "core/exam_resv_json.h"

#include "store/exam_resv.h"

json_t *exam_resv_json(Store *s, uint32_t exam) {
        ExamResvRec r;
        if (store_exam_resv_get(s, exam, &r) < 0 || (r.state == EXAM_RESV_NONE && !*r.error))
                return json_pack("{s:s}", "state", "none");
        return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "state", exam_resv_state_to_string(r.state), "backend",
                         r.backend, "name", r.id, "start", (json_int_t)r.start, "end", (json_int_t)r.end, "create_ms",
                         (json_int_t)r.create_ms, "error", r.error);
}
