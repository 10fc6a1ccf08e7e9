/* exams.h - the exam as a first-class object (issue 14): its window, the
 * user group that sits it, the template each member's VM is derived from,
 * and per member the VM, extra time and the sealed hand-in. Records and
 * statements only; the rules are core/ops_exam.c's and the clock's
 * (daemon/exam_clock.c). */
#pragma once

#include <stdint.h>

#include "store/store.h"

typedef enum ExamState {
        EXAM_CREATED, /* its VMs are derived */
        EXAM_READY,   /* (part B: the isolation self-test passed) */
        EXAM_RUNNING, /* students work; deadlines are watched */
        EXAM_ENDED,   /* every member is sealed, or it was stopped */
        _EXAM_STATE_MAX,
        _EXAM_STATE_INVALID = -EINVAL,
} ExamState;

typedef enum ExamMemberState {
        EXAM_MEMBER_PENDING, /* the exam has not started */
        EXAM_MEMBER_RUNNING, /* before their deadline */
        EXAM_MEMBER_FROZEN,  /* past it: paused, network cut, the seal under way */
        EXAM_MEMBER_SEALED,  /* the hand-in is in the collection folder with its sha256 */
        _EXAM_MEMBER_STATE_MAX,
        _EXAM_MEMBER_STATE_INVALID = -EINVAL,
} ExamMemberState;

const char *exam_state_to_string(ExamState s);
ExamState exam_state_from_string(const char *s);
const char *exam_member_state_to_string(ExamMemberState s);
ExamMemberState exam_member_state_from_string(const char *s);

#define EXAM_ALLOW_MAX 512
#define EXAM_WARM_READY_MAX 64

typedef struct ExamRec {
        uint32_t id;
        char name[STORE_NAME_MAX];
        uint32_t template_vm;
        uint32_t ugroup;
        int64_t start, end; /* unix seconds */
        bool warm;
        char allow[EXAM_ALLOW_MAX]; /* "ADDR,ADDR" the members' VMs may reach (part B) */
        uint32_t owner;             /* the admin who made it: the sealed discs are theirs */
        ExamState state;
        char collection[PATH_MAX]; /* where the sealed discs go */
        char warm_ready[EXAM_WARM_READY_MAX]; /* warm: what the console prints once the VM is up */
} ExamRec;

typedef struct ExamMemberRec {
        uint32_t exam;
        uint32_t uid;
        uint32_t vm; /* 0: deleted by an admin */
        uint32_t extra_minutes;
        ExamMemberState state;
        int64_t frozen_at_ms; /* when its instance was seen paused (0: not running then, or not yet) */
        char sealed_path[PATH_MAX];
        char sha256[65];
        int64_t sealed_at; /* unix seconds */
        uint32_t late_minutes;
        char seal_error[256]; /* why the last seal failed ("" none) */
        uint32_t warm_instance; /* a warm exam: the instance booted before the start, until resumed (0: none) */
} ExamMemberRec;

int store_exam_insert(Store *s, ExamRec *e, Error *err); /* e->id set */
int store_exam_update(Store *s, const ExamRec *e, Error *err);
int store_exam_get(Store *s, uint32_t id, ExamRec *ret);                  /* -ENOENT */
int store_exam_get_by_name(Store *s, const char *name, ExamRec *ret);     /* -ENOENT */
/* Every exam id (ordered), or those in state (state >= 0). */
int store_exam_ids(Store *s, int state, uint32_t **ret, size_t *ret_n);

int store_exam_member_insert(Store *s, const ExamMemberRec *m, Error *err);
int store_exam_member_update(Store *s, const ExamMemberRec *m, Error *err);
int store_exam_member_get(Store *s, uint32_t exam, uint32_t uid, ExamMemberRec *ret); /* -ENOENT */
/* The member whose VM is vm (-ENOENT: vm belongs to no exam). */
int store_exam_member_by_vm(Store *s, uint32_t vm, ExamMemberRec *ret);
/* Members of exam ordered by uid; *ret malloc'd. */
int store_exam_members(Store *s, uint32_t exam, ExamMemberRec **ret, size_t *ret_n);

/* The uids of the members of user group gid (ordered); *ret malloc'd. */
int store_group_member_uids(Store *s, uint32_t gid, uint32_t **ret, size_t *ret_n);
