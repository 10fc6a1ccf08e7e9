/* wall.c - the teacher's wall's list over HTTP. See wall.h. */
#include "web/wall.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "web/redeem.h"

#define REDEEM_TIMEOUT_S 10 /* as a console's: vmbatchd answers at once or not at all */

/* The answer to send: status and {"error": why} or the daemon's data. */
static void answer(WallHttp *w, unsigned status, json_t *body) {
        free(w->body);
        w->body = json_dumps(body, JSON_COMPACT);
        w->body_len = w->body ? strlen(w->body) : 0;
        w->status = w->body ? status : 500;
        json_decref(body);
        if (w->http)
                lws_callback_on_writable(w->http);
}

static void refuse(WallHttp *w, unsigned status, const char *why) {
        log_info("wall refused: from %s: %s", w->from, why);
        answer(w, status, json_pack("{s:s}", "error", why));
}

int wall_http_start(const ConsoleEnv *env, struct lws *wsi, WallHttp *w, const char *token, const char *from) {
        if (!w)
                return -1;
        wall_http_done(w); /* a second request on a kept-alive connection */
        w->env = env;
        w->http = wsi;
        snprintf(w->from, sizeof(w->from), "%s", from);
        if (!token) {
                refuse(w, 403, "no wall token in the address (run \"vmbatch console --wall\" for a new one)");
                return 0;
        }
        if (!(w->reader = redeem_reader_new())) {
                refuse(w, 500, "out of memory");
                return 0;
        }
        int fd = redeem_start_op(env->socket_path, "console.wall_redeem", token, from);
        if (fd < 0) {
                log_warn("wall from %s: cannot reach vmbatchd at %s: %s", from, env->socket_path, strerror(-fd));
                refuse(w, 502, "the console service is not available (vmbatchd)");
                return 0;
        }
        lws_adopt_desc_t a = {.vh = env->vhost, .type = LWS_ADOPT_RAW_FILE_DESC, .fd.filefd = fd,
                              .vh_prot_name = env->raw_protocol, .opaque = w};
        w->daemon = lws_adopt_descriptor_vhost_via_info(&a); /* closes fd when it fails */
        if (!w->daemon)
                refuse(w, 502, "the console service is not available");
        else
                lws_set_timeout(w->daemon, PENDING_TIMEOUT_USER_OK, REDEEM_TIMEOUT_S);
        return 0;
}

/* vmbatchd's answer: its data as it is for the page (the list, the tokens),
 * or its refusal's words. */
static void answered(WallHttp *w, const json_t *msg) {
        json_t *data = json_object_get(msg, "data");
        json_t *list = json_object_get(data, "instances");
        if (json_is_true(json_object_get(msg, "ok")) && json_is_array(list)) {
                log_info("wall open: %s for %s from %s: %zu instances",
                         json_string_value(json_object_get(data, "wall")) ?: "?",
                         json_string_value(json_object_get(data, "issued_to")) ?: "?", w->from, json_array_size(list));
                answer(w, 200, json_incref(data));
                return;
        }
        const char *why = json_string_value(json_object_get(json_object_get(msg, "error"), "message"));
        const char *code = json_string_value(json_object_get(json_object_get(msg, "error"), "code"));
        bool said_no = streq(code, "EACCES") || streq(code, "EPERM");
        refuse(w, said_no ? 403 : 502, why ? why : "the wall token was refused");
}

static int daemon_readable(WallHttp *w, struct lws *wsi) {
        json_t *msg;
        int fd = -1;
        int r = redeem_read(w->reader, lws_get_socket_fd(wsi), &msg, &fd);
        if (r == 0)
                return 0;
        if (fd >= 0)
                close(fd); /* a wall's answer carries none */
        w->daemon = NULL; /* returning -1 closes it */
        lws_set_opaque_user_data(wsi, NULL);
        if (r < 0) {
                log_warn("wall from %s: vmbatchd's answer: %s", w->from, strerror(-r));
                refuse(w, 502, "the console service failed");
        } else
                answered(w, msg);
        return -1;
}

int wall_raw_event(struct lws *wsi, enum lws_callback_reasons reason) {
        WallHttp *w = lws_get_opaque_user_data(wsi);
        if (!w) /* let go of (wall_http_done) */
                return reason == LWS_CALLBACK_RAW_RX_FILE || reason == LWS_CALLBACK_RAW_WRITEABLE_FILE ? -1 : 0;
        switch (reason) {
        case LWS_CALLBACK_RAW_RX_FILE:
                return daemon_readable(w, wsi);
        case LWS_CALLBACK_RAW_CLOSE_FILE: /* a timeout or a hang-up before the answer */
                w->daemon = NULL;
                if (!w->body)
                        refuse(w, 502, "the console service did not answer");
                return 0;
        default:
                return 0;
        }
}

int wall_http_writeable(struct lws *wsi, WallHttp *w) {
        if (!w || !w->body)
                return 0; /* not yet: the daemon's answer asks again */
        uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
        if (lws_add_http_common_headers(wsi, w->status, "application/json", w->body_len, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
                return -1;
        /* lws_write wants LWS_PRE bytes of room before what it sends */
        _cleanup_free_ uint8_t *out = malloc(LWS_PRE + w->body_len);
        if (!out)
                return -1;
        memcpy(out + LWS_PRE, w->body, w->body_len);
        explicit_bzero(w->body, w->body_len); /* console tokens: used once, kept nowhere */
        int n = lws_write(wsi, out + LWS_PRE, w->body_len, LWS_WRITE_HTTP_FINAL);
        explicit_bzero(out, LWS_PRE + w->body_len);
        wall_http_done(w);
        if (n < 0)
                return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void wall_http_done(WallHttp *w) {
        if (!w)
                return;
        if (w->daemon) {
                lws_set_opaque_user_data(w->daemon, NULL);
                lws_set_timeout(w->daemon, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
                w->daemon = NULL;
        }
        redeem_reader_free(w->reader);
        w->reader = NULL;
        if (w->body)
                explicit_bzero(w->body, w->body_len);
        free(w->body);
        w->body = NULL;
        w->body_len = 0;
        w->http = NULL;
}
