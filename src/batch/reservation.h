/* reservation.h - a scheduler's reservation of its nodes for a time window
 * (issue 14: an exam holds one for its window, and its members' jobs run
 * in it). Slurm: `scontrol create reservation` (slurm_resv.c); Grid
 * Engine: an advance reservation, `qrsub` (sge_ar.c). The local backend has
 * none (batch_reserver_find gives NULL).
 *
 * Each call runs the scheduler's command and waits for it (tens of ms): the
 * daemon calls them in worker processes only (daemon/exam_reservation.c),
 * never in its loop. */
#pragma once

#include <stdint.h>

#include "basic/error.h"

#define BATCH_RESV_ID_MAX 96 /* a reservation's name (Slurm) or id (Grid Engine), with its NUL */

typedef struct BatchReservation {
        const char *name;         /* what we call it: "vmbatch-exam-NAME" */
        int64_t start, end;       /* unix seconds; start <= now means "now" */
        const char *const *users; /* the users whose jobs may run in it (NULL-terminated, at least one) */
        const char *queue;        /* Slurm partition / Grid Engine queue; NULL: every node */
} BatchReservation;

typedef struct BatchReserver {
        const char *backend; /* the batch backend it belongs to ("slurm", "sge") */
        /* Make r; its id (what sbatch --reservation= / qsub -ar take) into ret_id. */
        int (*create)(const BatchReservation *r, char *ret_id, size_t len, Error *err);
        /* Move the window of reservation id to r's (and its users to r's);
         * start is changed only when with_start. */
        int (*update)(const char *id, const BatchReservation *r, bool with_start, Error *err);
        /* Remove it: 0 when it is gone (or was: ended by its end time);
         * -EBUSY when the scheduler refuses because jobs are still in it. */
        int (*remove)(const char *id, Error *err);
} BatchReserver;

/* The reserver of batch backend `backend`, NULL when it has none. */
const BatchReserver *batch_reserver_find(const char *backend);

/* A user name a scheduler's user list may carry: 1-32 characters of
 * [A-Za-z0-9._-], not starting with '-' (nothing a ',' '=' or ' ' could
 * split). Pure. */
bool batch_resv_user_is_valid(const char *name);

/* The users of r joined with ',' into *ret (malloc'd), every one checked
 * with batch_resv_user_is_valid and the whole no longer than 16 KiB;
 * -EINVAL/-E2BIG with what is wrong in err (what: "slurm", "qrsub"). */
int batch_resv_users_join(const char *const *users, const char *what, char **ret, Error *err);

/* The first non-blank line of a, or else of b, trimmed, into buf; "no
 * message" when both are blank. For the errors of scontrol and qrsub. */
const char *batch_resv_said(const char *a, const char *b, char *buf, size_t len);
