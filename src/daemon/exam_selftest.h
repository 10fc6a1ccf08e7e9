/* exam_selftest.h - the runner of exams' isolation self-tests (issue 14).
 *
 * An exam whose self-test is pending (exam create, exam selftest) gets two
 * probe vms, owned by the exam's owner (the teacher; root never runs qemu),
 * in the template's VM group, forced isolated, booting exam_probe_kernel
 * and exam_probe_initrd (the test guest): a listener (vmb.listen) and, once
 * it listens, an attacker (vmb.attack=LISTENER'S IP) that tries on it
 * everything tests/guest/vmb-attack.c knows. Meanwhile the host listens on
 * the gateway's address (daemon/selftest_gateway.h): a TCP service the
 * attacker must not reach, DNS it may. Their serial logs are read in a
 * worker process (never in the loop), the verdict is core/selftest_verdict.h's,
 * recorded with exam_selftest_record (the exam ready, or not with the
 * reason), audited ("exam.selftest.result"). Whatever happens (a probe that
 * never answers: exam_selftest_timeout) the probes' instances are killed and
 * their vm rows deleted. One self-test at a time; the node role must be in
 * this process (it reads the serial logs and owns the gateway's address). */
#pragma once

#include "basic/event.h"
#include "core/controller.h"

typedef struct ExamSelftest ExamSelftest;

int exam_selftest_new(EventLoop *loop, Controller *controller, ExamSelftest **ret, Error *err);
/* A run under way is abandoned (its probes stay until the next vmbatchd,
 * which runs the test again and removes them first). Accepts NULL. */
void exam_selftest_free(ExamSelftest *k);
