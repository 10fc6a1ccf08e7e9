/* qmp.h - a QMP (QEMU Machine Protocol) client for the per-VM monitor.
 *
 * Two layers:
 *
 *   1. Pure functions, no I/O: qmp_parse_message() classifies one line qemu sent
 *      (greeting, return, error, event) and checks the types of the fields vmbatch reads;
 *      qmp_build_command() makes the one line we send. Both are bounded (QMP_LINE_MAX)
 *      and fuzzed (tests/fuzz/fuzz-qmp.c).
 *
 *   2. A blocking client with timeouts over qemu's unix socket
 *      (-chardev socket,path=...,server=on,wait=off -mon chardev=...,mode=control, see
 *      cmdline.h). Every read is polled with a deadline, every write too; the fd is
 *      CLOEXEC and non-blocking; writes use MSG_NOSIGNAL (no SIGPIPE). Commands carry an
 *      increasing numeric "id" and only the reply with that id (or an id-less one: qemu
 *      could not parse the command) is taken as the answer, so a late reply to a command
 *      that timed out is discarded instead of answering the next one. Events that arrive
 *      while a command waits for its reply are queued in order and handed out by
 *      qmp_next_event().
 *
 * qemu serves one QMP client at a time: a second connection is accepted by the kernel but
 * gets no greeting until the first one closes (qmp_connect then times out saying so).
 *
 * Functions return 0 (or what is documented) or a negative errno; ret_* are set only on
 * success; functions with an Error * also fill it in (it may be NULL). Error codes:
 *   -ETIMEDOUT   the deadline passed
 *   -EPIPE       qemu closed the connection (or reset it)
 *   -EIO         qemu answered with an "error" reply; the message is "qemu: <desc>"
 *   -EBADMSG     qemu sent a line that is not a QMP message we understand
 *   -EPROTO      a well-formed message that is not what was expected (e.g. no greeting)
 *   -EINVAL      a bad argument (e.g. a VNC password longer than 8 bytes)
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/util.h"

/* Longest line accepted or built, without its newline. qemu's replies for vmbatch's
 * commands are well under 4 KiB; query-qmp-schema is ~200 KiB. */
#define QMP_LINE_MAX (1024u * 1024u)

/* VNC authentication (DES) uses the first 8 bytes of the password; qemu 7.2 silently
 * truncates longer ones. vmbatch refuses them instead. */
#define QMP_VNC_PASSWORD_MAX 8u

/* Events kept while nobody calls qmp_next_event(); past this the oldest are dropped
 * (counted by qmp_events_dropped()). */
#define QMP_EVENT_QUEUE_MAX 1024u

/* Timeout the convenience wrappers (qmp_stop() ...) use; see qmp_set_timeout(). */
#define QMP_DEFAULT_TIMEOUT_MS 10000

/* ---- pure layer ------------------------------------------------------------------- */

typedef enum QmpMessageType {
        QMP_MESSAGE_GREETING, /* {"QMP": {"version": {"qemu": {...}, "package": ...}, ...}} */
        QMP_MESSAGE_RETURN,   /* {"return": VALUE, "id": ID} (id optional) */
        QMP_MESSAGE_ERROR,    /* {"error": {"class": STR, "desc": STR}, "id": ID} */
        QMP_MESSAGE_EVENT,    /* {"event": STR, "data": OBJ, "timestamp": {...}} */
        _QMP_MESSAGE_TYPE_MAX,
        _QMP_MESSAGE_TYPE_INVALID = -EINVAL,
} QmpMessageType;

typedef struct QmpMessage {
        QmpMessageType type;
        json_t *json; /* the whole message; owned, released by qmp_message_done() */

        /* The rest points into json (borrowed; json_incref to keep). Unused fields are
         * NULL / 0. */
        json_t *id; /* RETURN, ERROR: the "id" member as sent (any JSON), NULL when absent */

        json_t *value; /* RETURN: the "return" member (any JSON value) */

        const char *error_class; /* ERROR: "GenericError", "CommandNotFound", ... */
        const char *error_desc;  /* ERROR: the human-readable description */

        const char *event;        /* EVENT: "SHUTDOWN", "STOP", ... */
        json_t *data;             /* EVENT: the "data" object, NULL when absent */
        int64_t timestamp_sec;    /* EVENT: timestamp.seconds */
        int64_t timestamp_usec;   /* EVENT: timestamp.microseconds */

        int version_major, version_minor, version_micro; /* GREETING: qemu's version */
        const char *package;                             /* GREETING: e.g. "Debian 1:7.2+..." */
} QmpMessage;

/* Parse one line (without or with its trailing "\n" / "\r\n"; len bytes, need not be
 * NUL-terminated). On success *ret owns the parsed JSON: release it with
 * qmp_message_done(). -EBADMSG when the line is longer than QMP_LINE_MAX, is not one JSON
 * object, has none or more than one of "QMP" / "return" / "error" / "event", or a field
 * vmbatch reads has the wrong type (error.class/desc not strings, event not a string,
 * data not an object, timestamp not {seconds, microseconds} integers, the greeting
 * without integer version.qemu.major/minor/micro, ...). Duplicate keys are refused. */
int qmp_parse_message(const char *line, size_t len, QmpMessage *ret);

/* Release m->json and zero m; accepts a zeroed or already released message. */
void qmp_message_done(QmpMessage *m);

/* The "id" of a RETURN or ERROR message as a number: 0 and *ret set when it is a
 * non-negative JSON integer; -ENOENT when absent; -EINVAL when of another type. */
int qmp_message_id(const QmpMessage *m, uint64_t *ret);

/* Build one command line: {"execute":CMD,"arguments":ARGS,"id":ID}\n (compact JSON,
 * members in that order, "arguments" left out when args is NULL, "id" left out when id is
 * 0). args is borrowed (not stolen) and must be an object or NULL. The only newline is
 * the final one (JSON escapes those in strings). -EINVAL for an empty cmd, args that are
 * not an object, strings that are not UTF-8; -ERANGE for id > INT64_MAX; -EMSGSIZE when
 * the line would exceed QMP_LINE_MAX. *ret_line is NUL-terminated; free() it. */
int qmp_build_command(const char *cmd, json_t *args, uint64_t id, char **ret_line);

/* ---- client ----------------------------------------------------------------------- */

typedef struct Qmp Qmp;

/* Connect to qemu's QMP socket at socket_path, retrying (every few ms) while the socket
 * does not exist yet or refuses connections, because qemu may still be starting; then
 * read the greeting and negotiate capabilities (qmp_capabilities). All within timeout_ms
 * (< 0: no limit). -ETIMEDOUT, -ENAMETOOLONG (path longer than sun_path), -EPROTO (not a
 * QMP server), -EPIPE, ... with a message in err. */
int qmp_connect(const char *socket_path, int timeout_ms, Qmp **ret, Error *err);

/* Run cmd with args (stolen, even on failure; may be NULL) and wait up to timeout_ms
 * (< 0: no limit) for its reply. Events arriving meanwhile are queued. On success
 * *ret_return (may be NULL) gets a new reference to the "return" value. An "error"
 * reply is -EIO with err "qemu: <desc>". */
int qmp_execute(Qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret_return,
                Error *err);

/* The socket, for an event loop: wait for EPOLLIN, then call qmp_next_event(q, 0, ...)
 * until it returns 0. Events already queued (by qmp_execute, or read together with a
 * reply) do not make the fd readable: drain them with qmp_next_event(q, 0, ...) after
 * every qmp_execute() too. Owned by q; do not read from it or close it. */
int qmp_fd(Qmp *q);

/* The next event: queued ones first, then whatever arrives within timeout_ms (0: do not
 * block, only take what is already readable; < 0: no limit). Returns 1 and a new
 * reference in *ret_event (the whole {"event", "data", "timestamp"} object), 0 when no
 * event came in time, -EPIPE once qemu has closed the connection and the queue is empty,
 * -EBADMSG when qemu sent something unparseable. Replies nobody waits for are dropped. */
int qmp_next_event(Qmp *q, int timeout_ms, json_t **ret_event);

/* Events dropped because the queue was full (QMP_EVENT_QUEUE_MAX). */
uint64_t qmp_events_dropped(Qmp *q);

/* qemu's version from the greeting. */
void qmp_qemu_version(Qmp *q, int *ret_major, int *ret_minor, int *ret_micro);

/* Timeout of the wrappers below (default QMP_DEFAULT_TIMEOUT_MS; < 0: no limit). */
void qmp_set_timeout(Qmp *q, int timeout_ms);

/* Close the connection and free the queue; accepts NULL. */
void qmp_free(Qmp *q);
static inline void qmp_freep(Qmp **q) { qmp_free(*q); }
#define _cleanup_qmp_ _cleanup_(qmp_freep)

/* ---- convenience wrappers (timeout: qmp_set_timeout) ------------------------------- */

/* set_password protocol=vnc (qemu 7.2). password: 1..QMP_VNC_PASSWORD_MAX bytes of UTF-8
 * without control characters, else -EINVAL before anything is sent. */
int qmp_set_vnc_password(Qmp *q, const char *password, Error *err);
/* The same for the VNC server of that -vnc id (NULL: the default one): a
 * password set without one reaches only the first server (qemu 7.2). */
int qmp_set_vnc_password_of(Qmp *q, const char *display, const char *password, Error *err);

/* ACPI power button: the guest decides whether and when to power off. */
int qmp_system_powerdown(Qmp *q, Error *err);
/* Pause / resume the vCPUs. */
int qmp_stop(Qmp *q, Error *err);
int qmp_cont(Qmp *q, Error *err);
/* Make qemu exit at once (like pulling the plug). Success also when qemu closes the
 * connection before its reply arrives: it is exiting either way. */
int qmp_quit(Qmp *q, Error *err);

/* query-status: "running", "paused", "prelaunch", "shutdown", "inmigrate", ... copied into
 * buf (NUL-terminated); -ERANGE when it does not fit, -EPROTO when qemu's reply has no
 * status string. */
int qmp_query_status(Qmp *q, char *buf, size_t len, Error *err);

/* query-vnc: the TCP port VNC actually listens on (qemu's "service"). -ENODEV when VNC is
 * not enabled, -EPROTO when the reply has no numeric port. */
int qmp_query_vnc_port(Qmp *q, int *ret_port, Error *err);
