/* exam_resv.h - an exam's reservation of the scheduler's nodes (issue 14:
 * batch/reservation.h), kept on its exam row: its state, the scheduler's
 * name (or id) for it, the window it holds and why the last attempt
 * failed. Written only by the daemon's reconciler
 * (daemon/exam_reservation.c); read by exam.show and by the submission of
 * a member's job (the job runs in the reservation). Migration 6. */
#pragma once

#include <stdint.h>

#include "store/store.h"

#define EXAM_RESV_ID_MAX 96 /* = BATCH_RESV_ID_MAX (batch/reservation.h; the store does not see batch) */

typedef enum ExamResvState {
        EXAM_RESV_NONE,     /* not made (yet), or the backend has none */
        EXAM_RESV_HELD,     /* the scheduler holds it: id, start, end */
        EXAM_RESV_FAILED,   /* the last attempt to make it failed: error */
        EXAM_RESV_RELEASED, /* deleted at the exam's end (or ended by its end time) */
        _EXAM_RESV_STATE_MAX,
        _EXAM_RESV_STATE_INVALID = -EINVAL,
} ExamResvState;

const char *exam_resv_state_to_string(ExamResvState s);
ExamResvState exam_resv_state_from_string(const char *s);

typedef struct ExamResvRec {
        ExamResvState state;
        char backend[16];          /* the batch backend it was made on */
        char id[EXAM_RESV_ID_MAX];   /* Slurm: its name; Grid Engine: the AR id */
        int64_t start, end;        /* the window as the scheduler holds it (unix seconds) */
        int64_t create_ms;         /* how long its creation took */
        char error[512];           /* why the last create, update or delete failed ("" none) */
} ExamResvRec;

int store_exam_resv_get(Store *s, uint32_t exam, ExamResvRec *ret); /* -ENOENT: no such exam */
int store_exam_resv_set(Store *s, uint32_t exam, const ExamResvRec *r, Error *err);
/* The id of the reservation held by the exam whose member's vm is vm, into
 * ret (len >= EXAM_RESV_ID_MAX); -ENOENT when vm is no exam's or its exam
 * holds none. */
int store_exam_resv_for_vm(Store *s, uint32_t vm, char *ret, size_t len);
