/* exam.c - names, deadlines, times and receipts of exams. See exam.h. */
#include "core/exam.h"

#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/eddsa.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"

int exam_vm_name(const char *exam, const char *user, char *buf, size_t len) {
        int n = snprintf(buf, len, "exam-%s-%s", exam, user);
        return n < 0 || (size_t)n >= len || n > 63 ? -ENAMETOOLONG : 0;
}

int64_t exam_deadline(int64_t end, uint32_t extra_minutes) {
        return end + (int64_t)extra_minutes * 60;
}

uint32_t exam_late_minutes(int64_t end, int64_t sealed_at) {
        return sealed_at > end ? (uint32_t)((sealed_at - end) / 60) : 0;
}

static int parse_relative(const char *s, int64_t now, int64_t *ret, Error *err) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s + 1, &end, 10);
        int64_t unit = 60;
        if (end && streq(end, "s"))
                unit = 1;
        else if (end && streq(end, "h"))
                unit = 3600;
        else if (end && !streq(end, "") && !streq(end, "m"))
                end = NULL;
        if (errno || !end || end == s + 1 || v < 0 || v > 525600LL * 60)
                return error_set(err, -EINVAL, "'%s' is not +MINUTES (or +SECONDSs, +HOURSh)", s);
        *ret = now + v * unit;
        return 0;
}

int exam_time_parse(const char *s, int64_t now, int64_t *ret, Error *err) {
        if (isempty(s))
                return error_set(err, -EINVAL, "an empty time");
        if (s[0] == '+')
                return parse_relative(s, now, ret, err);
        struct tm tm = {0};
        int used = 0;
        char sep = 0;
        int n = sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep, &tm.tm_hour,
                       &tm.tm_min, &used);
        if (n == 6 && s[used] == ':') {
                int more = 0;
                if (sscanf(s + used, ":%2d%n", &tm.tm_sec, &more) != 1)
                        n = 0;
                used += more;
        }
        if (n != 6 || (sep != 'T' && sep != ' ') || s[used] || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
            tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
                return error_set(err, -EINVAL, "'%s' is not a local time YYYY-MM-DDTHH:MM[:SS] nor +MINUTES", s);
        int mday = tm.tm_mday, mon = tm.tm_mon;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_isdst = -1; /* the zone says whether summer time applies */
        time_t t = mktime(&tm);
        if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon - 1)
                return error_set(err, -EINVAL, "'%s' is not a valid date", s);
        *ret = (int64_t)t;
        return 0;
}

void exam_time_format(int64_t t, bool utc, char buf[32]) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (utc)
                strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
        else
                strftime(buf, 32, "%Y-%m-%d %H:%M:%S", localtime_r(&tt, &tm));
}

/* ---- receipts ---- */

#define RECEIPT_MAGIC "vmbatch-exam-receipt=1\n"
#define SIGNATURE_KEY "signature="

static bool one_line(const char *s) { return s && !strpbrk(s, "\r\n"); }

int exam_receipt_make(const ExamReceipt *r, const uint8_t priv[EXAM_KEY_SIZE], char **ret) {
        if (!one_line(r->exam) || !one_line(r->student) || !one_line(r->vm_name) || !one_line(r->sha256))
                return -EINVAL;
        char at[32];
        exam_time_format(r->sealed_at, true, at);
        char *body = xasprintf(RECEIPT_MAGIC "exam=%s\nstudent=%s\nuid=%u\nvm=%u\nvm_name=%s\nsha256=%s\n"
                               "sealed_at=%s\nsealed_at_unix=%lld\nlate_minutes=%u\n",
                               r->exam, r->student, r->uid, r->vm, r->vm_name, r->sha256, at,
                               (long long)r->sealed_at, r->late_minutes);
        uint8_t pub[EXAM_KEY_SIZE], sig[ED25519_SIGNATURE_SIZE];
        ed25519_sha512_public_key(pub, priv);
        ed25519_sha512_sign(pub, priv, strlen(body), (const uint8_t *)body, sig);
        char b64[BASE64_ENCODE_RAW_LENGTH(ED25519_SIGNATURE_SIZE) + 1];
        base64_encode_raw(b64, sizeof(sig), sig);
        b64[sizeof(b64) - 1] = 0;
        *ret = xasprintf("%s" SIGNATURE_KEY "%s\n", body, b64);
        free(body);
        return 0;
}

/* Decode exactly len bytes of base64 from s (n characters). */
static int base64_exact(const char *s, size_t n, uint8_t *out, size_t len) {
        if (n != BASE64_ENCODE_RAW_LENGTH(len))
                return -EINVAL;
        uint8_t buf[BASE64_DECODE_LENGTH(128)];
        if (n > 128)
                return -EINVAL;
        struct base64_decode_ctx ctx;
        size_t got = sizeof(buf);
        base64_decode_init(&ctx);
        if (!base64_decode_update(&ctx, &got, buf, n, s) || !base64_decode_final(&ctx) || got != len)
                return -EINVAL;
        memcpy(out, buf, len);
        return 0;
}

int exam_receipt_verify(const char *text, const uint8_t pub[EXAM_KEY_SIZE], Error *err) {
        if (strncmp(text, RECEIPT_MAGIC, strlen(RECEIPT_MAGIC)) != 0)
                return error_set(err, -EBADMSG, "not a vmbatch exam receipt (it does not begin with %.22s)",
                                 RECEIPT_MAGIC);
        const char *line = strstr(text, "\n" SIGNATURE_KEY);
        if (!line)
                return error_set(err, -EBADMSG, "the receipt has no signature line");
        size_t body_len = (size_t)(line - text) + 1;
        const char *b64 = line + 1 + strlen(SIGNATURE_KEY);
        size_t n = strcspn(b64, "\n");
        /* nothing may follow the signature but its newline: no line can be
         * added after signing */
        if (b64[n] && !streq(b64 + n, "\n"))
                return error_set(err, -EBADMSG, "the receipt has text after its signature");
        uint8_t sig[ED25519_SIGNATURE_SIZE];
        if (base64_exact(b64, n, sig, sizeof(sig)) < 0)
                return error_set(err, -EBADMSG, "the receipt's signature is not base64 of 64 bytes");
        if (!ed25519_sha512_verify(pub, body_len, (const uint8_t *)text, sig))
                return error_set(err, -EPERM, "the signature does not match: the receipt was changed, or another "
                                              "key signed it");
        return 0;
}

void exam_key_public(const uint8_t priv[EXAM_KEY_SIZE], uint8_t pub[EXAM_KEY_SIZE]) {
        ed25519_sha512_public_key(pub, priv);
}

void exam_key_to_base64(const uint8_t key[EXAM_KEY_SIZE], char buf[64]) {
        base64_encode_raw(buf, EXAM_KEY_SIZE, key);
        buf[BASE64_ENCODE_RAW_LENGTH(EXAM_KEY_SIZE)] = 0;
}

int exam_key_from_base64(const char *s, uint8_t key[EXAM_KEY_SIZE]) {
        size_t n = strcspn(s, "\r\n");
        if (s[n] && s[n + strspn(s + n, "\r\n")])
                return -EINVAL; /* more than one line */
        return base64_exact(s, n, key, EXAM_KEY_SIZE);
}

int exam_key_load(const char *path, uint8_t priv[EXAM_KEY_SIZE], Error *err) {
        char buf[128];
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                buf[n > 0 ? n : 0] = 0;
                if (exam_key_from_base64(buf, priv) < 0)
                        return error_set(err, -EINVAL, "%s is not a receipt key (base64 of 32 bytes)", path);
                return 0;
        }
        if (errno != ENOENT)
                return error_set(err, -errno, "cannot read the receipt key %s: %m", path);
        if (getrandom(priv, EXAM_KEY_SIZE, 0) != EXAM_KEY_SIZE)
                return error_set(err, -EIO, "cannot make a receipt key: getrandom: %m");
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_set(err, -errno, "cannot create the receipt key %s: %m", path);
        exam_key_to_base64(priv, buf);
        strcat(buf, "\n");
        int r = write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf) && fsync(fd) == 0 ? 0 : -EIO;
        close(fd);
        if (r < 0) {
                unlink(path);
                return error_set(err, r, "cannot write the receipt key %s", path);
        }
        return 0;
}
