/* exam_resv_json.h - an exam's reservation (store/exam_resv.h) as exam.show
 * and exam.list answer it. */
#pragma once

#include <jansson.h>

#include "store/store.h"

/* {"state", "backend", "name", "start", "end", "create_ms", "error"}; state
 * "none" (and nothing else) when the exam holds none. A new reference. */
json_t *exam_resv_json(Store *s, uint32_t exam);
