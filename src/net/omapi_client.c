/* omapi_client.c - blocking OMAPI client. See omapi_client.h. */
#include "net/omapi_client.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

struct OmapiClient {
        int fd;               /* -1 once the connection is broken */
        char peer[64];        /* "127.0.0.1:7911", "[::1]:7911" */
        OmapiKey *key;
        uint32_t authid;      /* 0 until the authenticator is open */
        uint32_t next_id;
        uint64_t timeout_usec;
        uint8_t *buf;         /* OMAPI_MAX_MSG_SIZE bytes for one reply */
};

void omapi_client_free(OmapiClient *c) {
        if (!c)
                return;
        if (c->fd >= 0)
                close(c->fd);
        omapi_key_free(c->key);
        free(c->buf);
        free(c);
}

static void mark_broken(OmapiClient *c) {
        if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
        }
}

/* "de:af:de:af:64:02" */
static void format_mac(const uint8_t *mac, size_t len, char *buf, size_t size) {
        size_t off = 0;
        buf[0] = 0;
        for (size_t i = 0; i < len && off + 3 < size; i++)
                off += (size_t)snprintf(buf + off, size - off, i ? ":%02x" : "%02x", mac[i]);
}

/* ---- I/O with a deadline ------------------------------------------------ */

static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        return -ETIMEDOUT;
                uint64_t left_ms = (deadline - now + 999) / 1000;
                struct pollfd p = {.fd = fd, .events = events};
                int r = poll(&p, 1, left_ms > INT32_MAX ? INT32_MAX : (int)left_ms);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r > 0)
                        return 0; /* readable, writable, or an error the next call reports */
        }
}

/* All len bytes sent (writing) or received, waiting for the socket up to
 * deadline; a receive is -ECONNRESET if the peer closes first. */
static int transfer_all(int fd, uint8_t *p, size_t len, bool writing, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT) : recv(fd, p, len, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        int r = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n == 0 && !writing)
                        return -ECONNRESET;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int send_all(int fd, const uint8_t *p, size_t len, uint64_t deadline) {
        return transfer_all(fd, (uint8_t *)p, len, true, deadline);
}

static int recv_exact(int fd, uint8_t *p, size_t len, uint64_t deadline) {
        return transfer_all(fd, p, len, false, deadline);
}

static int io_error(OmapiClient *c, int r, const char *what, Error *err) {
        mark_broken(c);
        if (r == -ETIMEDOUT)
                return error_set(err, r, "dhcpd OMAPI at %s: timed out after %.1fs %s", c->peer,
                                 (double)c->timeout_usec / 1e6, what);
        if (r == -ECONNRESET || r == -EPIPE)
                return error_set(err, -ECONNRESET, "dhcpd OMAPI at %s: connection closed by dhcpd %s", c->peer,
                                 what);
        return error_set(err, r, "dhcpd OMAPI at %s: %s %s", c->peer, strerror(-r), what);
}

/* Read one message into c->buf, never past its end. */
static int read_message(OmapiClient *c, uint64_t deadline, size_t *ret_len, Error *err) {
        size_t have = 0, need;
        for (;;) {
                int r = omapi_msg_scan(c->buf, have, &need);
                if (r < 0) {
                        mark_broken(c);
                        return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: malformed reply", c->peer);
                }
                if (r > 0)
                        break;
                /* scan caps need at OMAPI_MAX_MSG_SIZE, the size of buf */
                r = recv_exact(c->fd, c->buf + have, need - have, deadline);
                if (r < 0)
                        return io_error(c, r, "waiting for a reply", err);
                have = need;
        }
        *ret_len = need;
        return 0;
}

static int status_error(OmapiClient *c, const OmapiMsg *reply, const char *what, Error *err) {
        uint32_t result;
        char text[256];
        if (omapi_status_from_msg(reply, &result, text, sizeof(text)) < 0)
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: %s: malformed STATUS reply", c->peer, what);
        const char *name = omapi_status_name(result);
        char code[32];
        if (name)
                snprintf(code, sizeof(code), "%s", name);
        else
                snprintf(code, sizeof(code), "status %" PRIu32, result);

        int r = omapi_status_to_errno(result);
        if (r == 0) /* SUCCESS where an UPDATE was expected */
                r = -EPROTO;
        if (result == OMAPI_STATUS_INVALIDKEY)
                return error_set(err, r,
                                 "dhcpd OMAPI at %s: key rejected (INVALIDKEY): the signature did not verify, "
                                 "check the secret of key %s",
                                 c->peer, omapi_key_name(c->key));
        if (result == OMAPI_STATUS_NOKEYS)
                return error_set(err, r, "dhcpd OMAPI at %s: dhcpd requires a signed request (NOKEYS)", c->peer);
        return error_set(err, r, "dhcpd OMAPI at %s: %s: %s%s(%s)", c->peer, what, text, *text ? " " : "", code);
}

/* Send req (signed once the authenticator is open) and read its reply,
 * which is checked: signature, authid, rid, opcode UPDATE or STATUS. An
 * unsigned reply to a signed request is accepted only as a failure STATUS
 * (dhcpd's answer to a bad signature); it can never pass for success. */
static int transact(OmapiClient *c, OmapiMsg *req, OmapiMsg **ret_reply, Error *err) {
        if (c->fd < 0)
                return error_set(err, -ENOTCONN, "dhcpd OMAPI at %s: connection closed after an earlier error",
                                 c->peer);

        uint32_t id = c->next_id++;
        if (c->next_id == 0)
                c->next_id = 1;
        omapi_msg_set_id(req, id);
        omapi_msg_set_authid(req, c->authid);

        _cleanup_free_ uint8_t *out = NULL;
        size_t out_len;
        int r = omapi_msg_encode(req, c->authid ? c->key : NULL, &out, &out_len);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: cannot encode request: %s", c->peer, strerror(-r));

        uint64_t deadline = now_usec() + c->timeout_usec;
        r = send_all(c->fd, out, out_len, deadline);
        if (r < 0)
                return io_error(c, r, "sending a request", err);

        size_t len = 0;
        r = read_message(c, deadline, &len, err);
        if (r < 0)
                return r;

        _cleanup_omapi_msg_ OmapiMsg *reply = NULL;
        r = omapi_msg_decode(c->buf, len, &reply);
        if (r < 0) {
                mark_broken(c);
                return error_set(err, r, "dhcpd OMAPI at %s: malformed reply", c->peer);
        }

        uint32_t op = omapi_msg_get_op(reply);
        if (c->authid) {
                if (omapi_msg_get_authlen(reply) == 0) {
                        uint32_t result;
                        if (op != OMAPI_OP_STATUS || omapi_status_from_msg(reply, &result, NULL, 0) < 0 ||
                            result == OMAPI_STATUS_SUCCESS) {
                                mark_broken(c);
                                return error_set(err, -EBADMSG,
                                                 "dhcpd OMAPI at %s: unsigned reply to a signed request", c->peer);
                        }
                } else {
                        r = omapi_msg_verify(c->buf, len, c->key);
                        if (r < 0 || omapi_msg_get_authid(reply) != c->authid) {
                                mark_broken(c);
                                return error_set(err, -EBADMSG,
                                                 "dhcpd OMAPI at %s: reply signature does not verify", c->peer);
                        }
                }
        } else if (omapi_msg_get_authlen(reply) != 0) {
                mark_broken(c);
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: signed reply before authentication", c->peer);
        }

        if (omapi_msg_get_rid(reply) != id) {
                mark_broken(c);
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: reply answers request %" PRIu32 ", not %" PRIu32,
                                 c->peer, omapi_msg_get_rid(reply), id);
        }
        if (op != OMAPI_OP_UPDATE && op != OMAPI_OP_STATUS) {
                mark_broken(c);
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: unexpected reply opcode %" PRIu32, c->peer, op);
        }
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

/* transact(); *ret_status: the result when dhcpd answered with a status
 * message, -1 when it sent an object. */
static int transact_status(OmapiClient *c, OmapiMsg *req, OmapiMsg **reply, int64_t *ret_status, Error *err) {
        int r = transact(c, req, reply, err);
        if (r < 0)
                return r;
        *ret_status = -1;
        if (omapi_msg_get_op(*reply) == OMAPI_OP_STATUS) {
                uint32_t result = 0;
                (void)omapi_status_from_msg(*reply, &result, NULL, 0);
                *ret_status = result;
        }
        return 0;
}

/* ---- connect ------------------------------------------------------------ */

static int connect_tcp(OmapiClient *c, const char *server, uint16_t port, uint64_t deadline, Error *err) {
        char port_s[8];
        snprintf(port_s, sizeof(port_s), "%u", (unsigned)port);
        struct addrinfo hints = {
                .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_STREAM,
        };
        struct addrinfo *ai = NULL;
        int g = getaddrinfo(server, port_s, &hints, &ai);
        if (g != 0 || !ai) {
                if (ai)
                        freeaddrinfo(ai);
                return error_set(err, -EINVAL, "dhcpd OMAPI at %s: not a numeric IP address", c->peer);
        }

        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
        if (fd < 0) {
                int r = -errno;
                freeaddrinfo(ai);
                return error_set(err, r, "dhcpd OMAPI at %s: socket: %s", c->peer, strerror(-r));
        }
        c->fd = fd;
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
        freeaddrinfo(ai);
        if (r == -EINPROGRESS) {
                r = wait_fd(fd, POLLOUT, deadline);
                if (r == 0) {
                        int so_error = 0;
                        socklen_t sl = sizeof(so_error);
                        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &sl) < 0)
                                r = -errno;
                        else
                                r = -so_error;
                }
        }
        if (r == -ETIMEDOUT)
                return error_set(err, r, "dhcpd OMAPI at %s: connect timed out after %.1fs", c->peer,
                                 (double)c->timeout_usec / 1e6);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: connect: %s", c->peer, strerror(-r));
        return 0;
}

static int authenticate(OmapiClient *c, Error *err) {
        _cleanup_omapi_msg_ OmapiMsg *req = NULL, *reply = NULL;
        const char *name = omapi_key_name(c->key);
        int r = omapi_build_authenticator_open(c->next_id, name, &req);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: invalid key name", c->peer);
        int64_t result;
        if ((r = transact_status(c, req, &reply, &result, err)) < 0)
                return r;
        if (result >= 0) {
                if (result == OMAPI_STATUS_NOTFOUND)
                        return error_set(err, -EACCES,
                                         "dhcpd OMAPI at %s: key %s not found (NOTFOUND): dhcpd has no hmac-md5 "
                                         "key of that name",
                                         c->peer, name);
                if (result == OMAPI_STATUS_INVALIDKEY)
                        return error_set(err, -EACCES,
                                         "dhcpd OMAPI at %s: key %s rejected (INVALIDKEY): it is not dhcpd's "
                                         "omapi-key",
                                         c->peer, name);
                return status_error(c, reply, "opening the authenticator failed", err);
        }
        uint32_t h = omapi_msg_get_handle(reply);
        if (h == 0) {
                mark_broken(c);
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: authenticator reply without a handle", c->peer);
        }
        c->authid = h;
        return 0;
}

int omapi_client_connect(const char *server, uint16_t port, const char *key_name, const char *secret_b64,
                         uint64_t timeout_usec, OmapiClient **ret, Error *err) {
        if (isempty(server) || port == 0)
                return error_set(err, -EINVAL, "dhcpd OMAPI: server address and port are required");

        _cleanup_omapi_client_ OmapiClient *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = -1;
        c->next_id = 1;
        c->timeout_usec = timeout_usec ? timeout_usec : OMAPI_CLIENT_DEFAULT_TIMEOUT_USEC;
        if (strchr(server, ':'))
                snprintf(c->peer, sizeof(c->peer), "[%.46s]:%u", server, (unsigned)port);
        else
                snprintf(c->peer, sizeof(c->peer), "%.46s:%u", server, (unsigned)port);

        if (isempty(key_name) || strlen(key_name) > OMAPI_MAX_KEY_NAME_LEN)
                return error_set(err, -EINVAL, "dhcpd OMAPI at %s: invalid key name", c->peer);
        int r = omapi_key_new(key_name, secret_b64, &c->key);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: the secret of key %s is not valid base64", c->peer,
                                 key_name);
        c->buf = malloc(OMAPI_MAX_MSG_SIZE);
        if (!c->buf)
                return -ENOMEM;

        uint64_t deadline = now_usec() + c->timeout_usec;
        r = connect_tcp(c, server, port, deadline, err);
        if (r < 0)
                return r;

        uint8_t hs[OMAPI_HANDSHAKE_SIZE];
        omapi_handshake_encode(hs);
        r = send_all(c->fd, hs, sizeof(hs), deadline);
        if (r < 0)
                return io_error(c, r, "sending the start bytes", err);
        r = recv_exact(c->fd, hs, sizeof(hs), deadline);
        if (r < 0)
                return io_error(c, r, "waiting for the start bytes", err);
        r = omapi_handshake_check(hs);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: not an OMAPI server (protocol %" PRIu32
                                 ", header size %" PRIu32 ")",
                                 c->peer, (uint32_t)hs[0] << 24 | (uint32_t)hs[1] << 16 | (uint32_t)hs[2] << 8 | hs[3],
                                 (uint32_t)hs[4] << 24 | (uint32_t)hs[5] << 16 | (uint32_t)hs[6] << 8 | hs[7]);

        r = authenticate(c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- hosts -------------------------------------------------------------- */

static int lookup(OmapiClient *c, OmapiMsg *req, const char *what, OmapiHostInfo *ret, Error *err) {
        _cleanup_omapi_msg_ OmapiMsg *reply = NULL;
        int64_t result;
        int r = transact_status(c, req, &reply, &result, err);
        if (r < 0)
                return r;
        if (result >= 0) {
                if (result == OMAPI_STATUS_NOTFOUND)
                        return error_set(err, -ENOENT, "dhcpd OMAPI at %s: %s not found", c->peer, what);
                char ctx[160];
                snprintf(ctx, sizeof(ctx), "looking up %s", what);
                return status_error(c, reply, ctx, err);
        }
        r = omapi_host_info_from_msg(reply, ret);
        if (r == -ENOENT)
                return error_set(err, -ENOENT, "dhcpd OMAPI at %s: %s not found", c->peer, what);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: malformed host object for %s", c->peer, what);
        return 0;
}

int omapi_host_lookup(OmapiClient *c, const char *name, OmapiHostInfo *ret, Error *err) {
        _cleanup_omapi_msg_ OmapiMsg *req = NULL;
        int r = omapi_build_host_lookup_name(c->next_id, name, &req);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: invalid host name '%.64s'", c->peer, name ? name : "");
        char what[160];
        snprintf(what, sizeof(what), "host %s", name);
        return lookup(c, req, what, ret, err);
}

int omapi_host_lookup_by_mac(OmapiClient *c, const uint8_t mac[6], OmapiHostInfo *ret, Error *err) {
        _cleanup_omapi_msg_ OmapiMsg *req = NULL;
        int r = omapi_build_host_lookup_mac(c->next_id, mac, &req);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: invalid MAC address", c->peer);
        char m[32], what[64];
        format_mac(mac, 6, m, sizeof(m));
        snprintf(what, sizeof(what), "host with MAC %s", m);
        return lookup(c, req, what, ret, err);
}

/* EXISTS (name or MAC matched one host) or KEYCONFLICT (dhcpd 4.4 also
 * answers this when only the MAC is taken): look both up to say which. */
static int explain_conflict(OmapiClient *c, const OmapiHostSpec *spec, uint32_t result, Error *err) {
        char mac[32];
        format_mac(spec->mac, 6, mac, sizeof(mac));
        OmapiHostInfo by_name, by_mac;
        bool name_taken = omapi_host_lookup(c, spec->name, &by_name, NULL) == 0;
        bool mac_taken = c->fd >= 0 && omapi_host_lookup_by_mac(c, spec->mac, &by_mac, NULL) == 0;
        const char *owner = mac_taken && *by_mac.name ? by_mac.name : "(unnamed)";

        if (name_taken && mac_taken && !streq(by_mac.name, spec->name))
                return error_set(err, -EEXIST,
                                 "dhcpd OMAPI at %s: host %s already exists, and MAC %s belongs to host %s", c->peer,
                                 spec->name, mac, owner);
        if (name_taken)
                return error_set(err, -EEXIST, "dhcpd OMAPI at %s: host %s already exists", c->peer, spec->name);
        if (mac_taken)
                return error_set(err, -EEXIST, "dhcpd OMAPI at %s: cannot add host %s: MAC %s already belongs to host %s",
                                 c->peer, spec->name, mac, owner);
        return error_set(err, -EEXIST, "dhcpd OMAPI at %s: cannot add host %s: it or MAC %s already exists (%s)",
                         c->peer, spec->name, mac, omapi_status_name(result));
}

int omapi_host_add_spec(OmapiClient *c, const OmapiHostSpec *spec, uint32_t *ret_handle, Error *err) {
        _cleanup_omapi_msg_ OmapiMsg *req = NULL, *reply = NULL;
        int r = omapi_build_host_create(c->next_id, spec, &req);
        if (r < 0)
                return error_set(err, r, "dhcpd OMAPI at %s: invalid host '%.64s' (name must be 1-%u of "
                                 "[A-Za-z0-9._-])",
                                 c->peer, spec && spec->name ? spec->name : "", OMAPI_HOST_NAME_MAX);
        r = transact(c, req, &reply, err);
        if (r < 0)
                return r;

        char ctx[192];
        if (omapi_msg_get_op(reply) == OMAPI_OP_UPDATE) {
                if (omapi_msg_get_handle(reply) == 0)
                        return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: host %s created without a handle",
                                         c->peer, spec->name);
                if (ret_handle)
                        *ret_handle = omapi_msg_get_handle(reply);
                return 0;
        }

        uint32_t result = 0;
        (void)omapi_status_from_msg(reply, &result, NULL, 0);
        if (result == OMAPI_STATUS_EXISTS || result == OMAPI_STATUS_KEYCONFLICT)
                return explain_conflict(c, spec, result, err);
        snprintf(ctx, sizeof(ctx), "cannot add host %s", spec->name);
        return status_error(c, reply, ctx, err);
}

int omapi_host_add(OmapiClient *c, const char *name, const uint8_t mac[6], struct in_addr ipv4, Error *err) {
        if (!mac)
                return error_set(err, -EINVAL, "dhcpd OMAPI at %s: no MAC address", c->peer);
        OmapiHostSpec spec = {.name = name, .ip = ipv4};
        memcpy(spec.mac, mac, 6);
        return omapi_host_add_spec(c, &spec, NULL, err);
}

int omapi_host_remove_by_name(OmapiClient *c, const char *name, bool *ret_existed, Error *err) {
        OmapiHostInfo info;
        Error lookup_err = {};
        int r = omapi_host_lookup(c, name, &info, &lookup_err);
        if (r == -ENOENT) {
                if (ret_existed)
                        *ret_existed = false;
                return 0;
        }
        if (r < 0) {
                if (err && err->code == 0)
                        *err = lookup_err;
                return r;
        }

        _cleanup_omapi_msg_ OmapiMsg *req = NULL, *reply = NULL;
        r = omapi_build_delete(c->next_id, info.handle, &req);
        if (r < 0)
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: host %s has no handle", c->peer, name);
        r = transact(c, req, &reply, err);
        if (r < 0)
                return r;
        if (omapi_msg_get_op(reply) != OMAPI_OP_STATUS) {
                mark_broken(c);
                return error_set(err, -EBADMSG, "dhcpd OMAPI at %s: DELETE answered with %s", c->peer,
                                 omapi_op_name(omapi_msg_get_op(reply)));
        }
        uint32_t result = 0;
        (void)omapi_status_from_msg(reply, &result, NULL, 0);
        if (result == OMAPI_STATUS_SUCCESS || result == OMAPI_STATUS_NOTFOUND) {
                /* NOTFOUND: deleted by someone else since the lookup. */
                if (ret_existed)
                        *ret_existed = result == OMAPI_STATUS_SUCCESS;
                return 0;
        }
        char ctx[192];
        snprintf(ctx, sizeof(ctx), "cannot delete host %s", name);
        return status_error(c, reply, ctx, err);
}
