/* activity.h - console.activity, the gateway's report of one console to
 * vmbatchd (docs/protocol.md): sent without waiting, its answer read on
 * lws's loop (adopted like a redeem's socket, its own raw protocol) only to
 * log a refusal. When the reports go is activity_clock.h's. */
#pragma once

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct ActivityEnv {
        struct lws_vhost *vhost;
        const char *socket_path;  /* vmbatchd's */
        const char *raw_protocol; /* the protocol the answer's socket is adopted with */
} ActivityEnv;

typedef struct ActivityReport {
        uint64_t instance;
        uint64_t conn; /* the gateway's id of the connection */
        bool open;
        bool input;            /* an input came (input_ago_ms says when) */
        uint64_t input_ago_ms;
} ActivityReport;

/* Send it; a failure to send is logged (the next report may do better). */
void activity_send(const ActivityEnv *env, const ActivityReport *r);
/* An event on a report's socket: the raw protocol's callback. */
int activity_raw_event(struct lws *wsi, enum lws_callback_reasons reason);
