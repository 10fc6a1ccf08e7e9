/* slurm_resv.h - an exam's Slurm reservation (batch/reservation.h): the pure
 * command lines and how their output reads. Golden-tested
 * (tests/unit/test-batch-resv.c, tests/golden/batch/slurm-resv-*); the
 * reserver in slurm_resv.c runs them as root with TZ=UTC0, the zone the
 * times are written in.
 *
 *   create  scontrol create reservation ReservationName=N StartTime=T|now
 *           EndTime=T Users=U,U Nodes=ALL [PartitionName=Q] Flags=IGNORE_JOBS
 *   update  scontrol update ReservationName=N [StartTime=T|now] EndTime=T Users=U,U
 *   delete  scontrol delete ReservationName=N
 *
 * Nodes=ALL (of the partition, with batch_queue): an exam holds the lab's
 * nodes for its window, so nobody else's job starts there meanwhile;
 * IGNORE_JOBS: a VM running there now (lab VMs often have no wall time)
 * does not keep the reservation from being made. */
#pragma once

#include "batch/reservation.h"

/* A reservation name: 1-95 characters of [A-Za-z0-9._-], not starting with
 * '-'. */
bool slurm_resv_name_is_valid(const char *name);

/* "YYYY-MM-DDTHH:MM:SS" of t in UTC (Slurm reads it in the TZ it runs with:
 * UTC0), or "now" when t <= now. buf >= 20 bytes. */
const char *slurm_resv_time(int64_t t, int64_t now, char *buf, size_t len);

/* The argv (NULL-terminated, malloc'd: batch_argv_free). -EINVAL for a
 * name, user or partition that is not valid, no users, or end <= max(start,
 * now). */
int slurm_resv_create_argv(const BatchReservation *r, int64_t now, char ***ret, Error *err);
int slurm_resv_update_argv(const char *id, const BatchReservation *r, bool with_start, int64_t now, char ***ret,
                           Error *err);
int slurm_resv_delete_argv(const char *id, char ***ret, Error *err);

/* scontrol create's answer: exit 0 and "Reservation created: NAME" -> NAME
 * into ret_id; else the first line of what it said in err (-EIO; -EEXIST
 * for "Duplicate reservation name"). */
int slurm_parse_resv_create(int exit_code, const char *out, const char *errout, char *ret_id, size_t len,
                            Error *err);
/* update: 0; "Requested reservation is invalid" -> -ENOENT; else -EIO. */
int slurm_parse_resv_update(int exit_code, const char *errout, Error *err);
/* delete: 0 (deleted, or "Requested reservation is invalid": gone already,
 * e.g. ended by its EndTime); "Requested reservation is in use" -> -EBUSY;
 * else -EIO. */
int slurm_parse_resv_delete(int exit_code, const char *errout, Error *err);
