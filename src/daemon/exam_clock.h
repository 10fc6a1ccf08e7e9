/* exam_clock.h - the controller's watch over exams (issue 14): it starts an
 * exam at its start time and, at each member's deadline (the end plus their
 * extra minutes; at once when an admin stops the exam), freezes the
 * member's VM (the node cuts its tap and pauses it: InstanceAction
 * ACTION_FREEZE), waits until it is paused (or killed, if its monitor does
 * not pause it within 15 s), then seals its disc in a worker process
 * (disk/seal.h) and records the sha256. Timers of the event loop only: a
 * tick every half second reads the store for what is due and arms a
 * one-shot timer for the exact millisecond of the next deadline; no thread,
 * no sleep. Every step is audited (uid 0: "exam.start", "exam.freeze",
 * "exam.seal", "exam.end"). */
#pragma once

#include "basic/event.h"
#include "core/controller.h"

typedef struct ExamClock ExamClock;

int exam_clock_new(EventLoop *loop, Controller *controller, ExamClock **ret, Error *err);
/* Seals under way are abandoned (their workers killed): their members stay
 * frozen, and the next vmbatchd seals them again. Accepts NULL. */
void exam_clock_free(ExamClock *k);
