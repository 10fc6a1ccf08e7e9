/* ops_exam.h - what the exams' operations (ops_exam.c) share with the other
 * operations and with the daemon's exam clock (daemon/exam_clock.c). */
#pragma once

#include "core/ops.h"
#include "store/exams.h"

/* Whether who may VERB ("run", "modify", "delete", "resume") vm: admins
 * always; a student not before their exam starts (run) nor after their
 * deadline ("the exam NAME ended at TIME: this vm is sealed"), and never
 * delete it. 0 for a vm of no exam. */
int exam_check_vm_use(Controller *c, const Caller *who, const VmRec *vm, const char *verb, Error *err);

/* Start e now (also before its start time: the start moves), its members
 * running; inside the caller's transaction. */
int exam_start(Controller *c, ExamRec *e, Error *err);
