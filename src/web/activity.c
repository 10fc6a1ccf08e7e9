/* activity.c - console.activity sent from the gateway's loop. See activity.h. */
#include "web/activity.h"

#include <jansson.h>
#include <inttypes.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "web/redeem.h"

#define ANSWER_TIMEOUT_S 10 /* vmbatchd answers at once or not at all */

typedef struct Pending {
        RedeemReader *reader;
        uint64_t instance;
} Pending;

static void pending_free(Pending *p) {
        if (!p)
                return;
        redeem_reader_free(p->reader);
        free(p);
}

void activity_send(const ActivityEnv *env, const ActivityReport *r) {
        json_t *req = json_pack("{s:s, s:{s:I, s:I, s:b}}", "op", "console.activity", "args", "instance",
                                (json_int_t)r->instance, "conn", (json_int_t)(r->conn & INT64_MAX), "open", r->open);
        if (req && r->input)
                json_object_set_new(json_object_get(req, "args"), "input_ago_ms", json_integer((json_int_t)r->input_ago_ms));
        Pending *p = calloc(1, sizeof(*p));
        int fd = !req || !p || !(p->reader = redeem_reader_new()) ? -ENOMEM : rpc_start(env->socket_path, req);
        json_decref(req);
        if (fd < 0) {
                log_warn("console of instance %" PRIu64 ": cannot report its activity to vmbatchd: %s", r->instance,
                         strerror(-fd));
                pending_free(p);
                return;
        }
        p->instance = r->instance;
        lws_adopt_desc_t a = {.vh = env->vhost, .type = LWS_ADOPT_RAW_FILE_DESC, .fd.filefd = fd,
                              .vh_prot_name = env->raw_protocol, .opaque = p};
        struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&a); /* closes fd when it fails */
        if (!wsi) {
                log_warn("console of instance %" PRIu64 ": cannot wait for vmbatchd's answer to its activity",
                         r->instance);
                pending_free(p);
                return;
        }
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, ANSWER_TIMEOUT_S);
}

int activity_raw_event(struct lws *wsi, enum lws_callback_reasons reason) {
        Pending *p = lws_get_opaque_user_data(wsi);
        if (!p)
                return reason == LWS_CALLBACK_RAW_RX_FILE || reason == LWS_CALLBACK_RAW_WRITEABLE_FILE ? -1 : 0;
        json_t *msg;
        int fd = -1, r;
        switch (reason) {
        case LWS_CALLBACK_RAW_RX_FILE:
                r = redeem_read(p->reader, lws_get_socket_fd(wsi), &msg, &fd);
                if (r == 0)
                        return 0;
                if (fd >= 0)
                        close(fd); /* no answer of this op carries one */
                if (r < 0)
                        log_warn("console of instance %" PRIu64 ": vmbatchd's answer to its activity: %s", p->instance,
                                 strerror(-r));
                else if (!json_is_true(json_object_get(msg, "ok"))) {
                        json_t *e = json_object_get(msg, "error");
                        const char *why = json_string_value(json_object_get(e, "message")) ?: "?";
                        if (streq(json_string_value(json_object_get(e, "code")), "ENOENT")) /* it ended first */
                                log_info("console of instance %" PRIu64 ": %s", p->instance, why);
                        else
                                log_warn("console of instance %" PRIu64 ": vmbatchd refused its activity: %s",
                                         p->instance, why);
                }
                lws_set_opaque_user_data(wsi, NULL);
                pending_free(p);
                return -1;
        case LWS_CALLBACK_RAW_CLOSE_FILE: /* a timeout or a hang-up before the answer */
                lws_set_opaque_user_data(wsi, NULL);
                pending_free(p);
                return 0;
        default:
                return 0;
        }
}
