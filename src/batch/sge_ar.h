/* sge_ar.h - an exam's Grid Engine advance reservation (batch/reservation.h):
 * the pure command lines and how their output reads. Golden-tested
 * (tests/unit/test-batch-resv.c, tests/golden/batch/sge-ar-*).
 *
 *   create  qrsub -N NAME [-a START] -e END -u U,U [-q Q] -pe smp SLOTS
 *           ("Your advance reservation ID has been granted")
 *   delete  qrdel ID
 *   a job   qsub ... -ar ID (sge_qsub_argv, BatchSubmit.reservation)
 *
 * Only managers, operators and the arusers access list may make one (root
 * is a manager of scripts/sge-up.sh's cell, which grants them as it is).
 * Nothing runs these: a granted reservation cannot be moved in Son of Grid
 * Engine 8.1.9 and its jobs end with it; vmbatch-exam(1), "Grid Engine". */
#pragma once

#include "batch/reservation.h"

/* An advance reservation id: 1-20 decimal digits. */
bool sge_ar_id_valid(const char *id);

/* "CCYYMMDDhhmm.SS" of t in UTC (qrsub reads it in the TZ it runs with,
 * which must be UTC0); t <= now: now's. */
const char *sge_ar_time(int64_t t, int64_t now, char *buf, size_t len);

/* qrsub for r, reserving slots slots (one per member's job; h_vmem is no
 * consumable there, so it is not reserved); no -a when r->start <= now.
 * -EINVAL for a name, user or queue qrsub would misread, no users, or an
 * empty window. */
int sge_qrsub_argv(const BatchReservation *r, int64_t now, unsigned slots, char ***ret, Error *err);
int sge_qrdel_argv(const char *id, char ***ret, Error *err);

/* qrsub's answer: the id of "Your advance reservation ID has been granted";
 * anything else (e.g. "... rejected: max_advance_reservations 0") is -EIO
 * with its first line in err (-EPERM for "only managers, operators or
 * arusers"). */
int sge_parse_qrsub(int exit_code, const char *out, const char *errout, char *ret_id, size_t len, Error *err);
/* qrdel: 0 (deleted, or "does not exist"); else -EIO. */
int sge_parse_qrdel(int exit_code, const char *out, const char *errout, Error *err);
