/* sge_ar.h - an exam's Grid Engine advance reservation (batch/reservation.h):
 * the pure command lines and how their output reads. Golden-tested
 * (tests/unit/test-batch-resv.c, tests/golden/batch/sge-ar-*).
 *
 *   create  qrsub -N NAME -a START -e END -u U,U [-q Q] -l h_vmem=MiBM -pe smp SLOTS
 *           ("Your advance reservation ID has been granted")
 *   delete  qrdel ID
 *   a job   qsub ... -ar ID (sge_qsub_argv, BatchSubmit.reservation)
 *
 * A cell takes advance reservations only when its global configuration's
 * max_advance_reservations is above 0 (Grid Engine's default is 0: qrsub
 * says "advance reservation rejected: max_advance_reservations 0") and the
 * submitting user is a manager, an operator or in the arusers access list.
 * See vmbatch-exam(1), "Grid Engine", for what vmbatch does with that. */
#pragma once

#include "batch/reservation.h"

/* An advance reservation id: 1-20 decimal digits. */
bool sge_ar_id_valid(const char *id);

/* "[[CC]YY]MMDDhhmm.SS" of t in UTC (qrsub reads it in the TZ it runs with:
 * UTC0); t <= now: now. */
const char *sge_ar_time(int64_t t, int64_t now, char *buf, size_t len);

/* qrsub for r, reserving slots slots of vmem_mib MiB h_vmem each (the
 * members' jobs' requests, sge_qsub_argv). -EINVAL for a name, user or
 * queue qrsub would misread, no users, or an empty window. */
int sge_qrsub_argv(const BatchReservation *r, int64_t now, unsigned slots, uint64_t vmem_mib, char ***ret,
                   Error *err);
int sge_qrdel_argv(const char *id, char ***ret, Error *err);

/* qrsub's answer: the id of "Your advance reservation ID has been granted";
 * anything else (e.g. "... rejected: max_advance_reservations 0") is -EIO
 * with its first line in err (-EPERM for "only managers, operators or
 * arusers"). */
int sge_parse_qrsub(int exit_code, const char *out, const char *errout, char *ret_id, size_t len, Error *err);
/* qrdel: 0 (deleted, or "does not exist"); else -EIO. */
int sge_parse_qrdel(int exit_code, const char *out, const char *errout, Error *err);
