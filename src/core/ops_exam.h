/* ops_exam.h - what the exams' operations (ops_exam.c) share with the other
 * operations and with the daemon's exam clock (daemon/exam_clock.c). */
#pragma once

#include "core/ops.h"
#include "store/exams.h"

/* Whether who may VERB ("run", "modify", "delete", "resume", "console") vm:
 * admins always; a student not before their exam starts (run, resume,
 * console: a warm VM waits paused, its console closed) nor after their
 * deadline ("the exam NAME ended at TIME: this vm is sealed"), and never
 * delete it. 0 for a vm of no exam. */
int exam_check_vm_use(Controller *c, const Caller *who, const VmRec *vm, const char *verb, Error *err);

/* Start e now (also before its start time: the start moves), its members
 * running; inside the caller's transaction. */
int exam_start(Controller *c, ExamRec *e, Error *err);

/* An entry of the audit log by the daemon itself (uid 0) about exam e, or
 * about its member uid ((uint32_t)-1: the exam); takes detail. A failure
 * to write it is logged, not returned: the clock's work goes on. */
void exam_audit(Store *s, const char *op, const ExamRec *e, uint32_t uid, json_t *detail);

/* --warm exams (the clock boots their VMs exam_warm_lead before the start):
 * whether vm is a VM of a warm exam not yet started, and then what its
 * console prints once it is up (the starter pauses it on seeing that). */
bool exam_warm_marker(Controller *c, uint32_t vm, char marker[EXAM_WARM_READY_MAX]);
/* Run member m's VM now, as the member, isolated (the rules of vm.run but
 * the exam's start): inside the caller's transaction. */
int exam_warm_launch(Controller *c, const ExamRec *e, const ExamMemberRec *m, InstanceRec *ret, Error *err);
