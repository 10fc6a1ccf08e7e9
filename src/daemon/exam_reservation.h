/* exam_reservation.h - an exam's reservation of the scheduler's nodes
 * (issue 14): on a batch backend that makes them (batch/reservation.h:
 * Slurm), every exam that has not ended holds one for its window, from
 * exam_warm_lead seconds before its start (warm VMs boot then) to its latest
 * member deadline plus EXAM_RESV_END_GRACE_S; its users are the members and
 * the teacher. The members' jobs are submitted into it (daemon/fleet.c asks
 * store_exam_resv_for_vm).
 *
 * A reconciler: a tick reads the exams and their recorded reservation
 * (store/exam_resv.h) and does what differs, one command per exam at a
 * time, in a worker process (scontrol waits for slurmctld): a new exam's is
 * created (within a tick of exam create, or of vmbatchd's start); a moved
 * deadline (exam extend) or start (exam start by hand) updates it; an ended
 * exam's (its last seal, or exam stop) is deleted. A failure is recorded
 * with the scheduler's reason on the exam (exam show), logged and audited
 * ("exam.reservation", uid 0), and tried again after a minute. */
#pragma once

#include "basic/event.h"
#include "core/controller.h"
#include "store/exam_resv.h"
#include "store/exams.h"

/* Past the latest deadline the reservation holds this long: Slurm ends a
 * reservation's running jobs at its end (ResvOverRun=0 by default), and the
 * clock must have frozen each VM (within 1 s of its deadline) before that. */
#define EXAM_RESV_END_GRACE_S 60

typedef struct ExamReservations ExamReservations;

/* *ret NULL (and 0) when settings' batch backend makes no reservations. */
int exam_reservations_new(EventLoop *loop, Controller *controller, ExamReservations **ret, Error *err);
/* Commands under way are abandoned (their workers killed); the next
 * vmbatchd looks again. Accepts NULL. */
void exam_reservations_free(ExamReservations *x);

/* The window an exam's reservation should hold (pure): start = the exam's
 * start - lead_s, end = its members' latest deadline + EXAM_RESV_END_GRACE_S
 * (the exam's end when it has no members, or has ended: exam stop sets the
 * end to the stop, and no member has time left then). */
void exam_resv_window(const ExamRec *e, const ExamMemberRec *m, size_t n, uint32_t lead_s, int64_t *ret_start,
                      int64_t *ret_end);
/* The reservation's name for exam name (pure): "vmbatch-exam-NAME". */
void exam_resv_name(const char *exam, char *buf, size_t len);
