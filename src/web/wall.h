/* wall.h - the teacher's wall's list (issue 13): GET PATH/api/wall?token=T
 * from wall.html. The gateway spends the wall token with vmbatchd
 * (console.wall_redeem, over the same non-blocking client as a console's
 * redeem, redeem.h) and answers its JSON: the selection's running
 * instances, each with the one-time console token its thumbnail then opens
 * PATH/ws with, as any console. Nothing of VNC is here: no password, no
 * fd. A refusal is 403 (or 502 when vmbatchd fails) with {"error": why}. */
#pragma once

#include <libwebsockets.h>
#include <stdbool.h>

#include "web/console.h"

/* One request's state: the wall protocol's per-session data (lws allocates
 * and zeroes it; it is POD for that). */
typedef struct WallHttp {
        const ConsoleEnv *env;
        struct lws *http, *daemon;
        struct RedeemReader *reader;
        char *body;
        size_t body_len;
        unsigned status;
        char from[80];
} WallHttp;

/* LWS_CALLBACK_HTTP: token is well-formed (else NULL: refused at once);
 * from is the browser's ADDR:PORT. Returns what the callback returns. */
int wall_http_start(const ConsoleEnv *env, struct lws *wsi, WallHttp *w, const char *token, const char *from);
/* LWS_CALLBACK_HTTP_WRITEABLE: the answer, once it is there. */
int wall_http_writeable(struct lws *wsi, WallHttp *w);
/* The request is over (CLOSED_HTTP, or the protocol dropped at the end of
 * the transaction): let go of everything. w may be NULL. */
void wall_http_done(WallHttp *w);
/* The raw protocol's callback for the daemon's socket. */
int wall_raw_event(struct lws *wsi, enum lws_callback_reasons reason);
