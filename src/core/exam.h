/* exam.h - the pure parts of an exam (issue 14): its members' VM names,
 * deadlines with extra time, the times the CLI accepts, and the signed
 * receipt a student gets for a sealed hand-in. No I/O but the receipt key's
 * file (exam_key_load); unit-tested in tests/unit/test-exam.c. */
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "basic/error.h"

/* "exam-EXAM-USER": what each member's VM is called (unique per owner, and
 * the teacher's vm list tells whose it is). -ENAMETOOLONG past 63 bytes. */
int exam_vm_name(const char *exam, const char *user, char *buf, size_t len);

/* A member's deadline: the exam's end plus their extra minutes. */
int64_t exam_deadline(int64_t end, uint32_t extra_minutes);
/* Whole minutes a hand-in sealed at sealed_at came after end (0 if not). */
uint32_t exam_late_minutes(int64_t end, int64_t sealed_at);

/* A time as the CLI takes it: "+MINUTES" (also "+90s", "+2h"), or ISO 8601
 * local time "YYYY-MM-DDTHH:MM[:SS]" (a space for the T works too). */
int exam_time_parse(const char *s, int64_t now, int64_t *ret, Error *err);
/* "YYYY-MM-DD HH:MM:SS" in local time; "YYYY-MM-DDTHH:MM:SSZ" for utc. */
void exam_time_format(int64_t t, bool utc, char buf[32]);

/* ---- receipts ----
 * The canonical text: "key=value" lines in this order, then
 * "signature=BASE64" (Ed25519 over every byte before that line). */
#define EXAM_KEY_SIZE 32
typedef struct ExamReceipt {
        const char *exam;
        const char *student;
        uint32_t uid;
        uint32_t vm;
        const char *vm_name;
        const char *sha256;
        int64_t sealed_at;
        uint32_t late_minutes;
} ExamReceipt;

/* The signed receipt (malloc'd), or -EINVAL when a value holds a newline. */
int exam_receipt_make(const ExamReceipt *r, const uint8_t priv[EXAM_KEY_SIZE], char **ret);
/* 0 when text is a well-formed receipt signed by pub; -EBADMSG (malformed)
 * or -EPERM (the signature does not match: tampered or another key). */
int exam_receipt_verify(const char *text, const uint8_t pub[EXAM_KEY_SIZE], Error *err);

void exam_key_public(const uint8_t priv[EXAM_KEY_SIZE], uint8_t pub[EXAM_KEY_SIZE]);
/* base64 (44 characters + NUL) and back (-EINVAL: not a key) */
void exam_key_to_base64(const uint8_t key[EXAM_KEY_SIZE], char buf[64]);
int exam_key_from_base64(const char *s, uint8_t key[EXAM_KEY_SIZE]);
/* The controller's receipt key, path (0600, made at first use from the
 * kernel's random pool). */
int exam_key_load(const char *path, uint8_t priv[EXAM_KEY_SIZE], Error *err);
