/* omapi_client.h - a small blocking OMAPI client for ISC dhcpd's fixed-address
 * host objects.
 *
 * One TCP connection, authenticated with an HMAC-MD5 key; one request
 * outstanding at a time; every read and write bounded by a deadline (poll)
 * and every reply bounded by the codec's caps and checked (signature, authid,
 * rid). After a transport or protocol error the connection is closed and
 * every later call fails with -ENOTCONN: free the client and connect again.
 *
 * Every function returns 0 or a negative errno and, on failure, fills err
 * (may be NULL) with one line for a human, prefixed with
 * "dhcpd OMAPI at ADDR:PORT: ". Errno values: -EACCES key problems, -EEXIST
 * host exists/conflicts, -ENOENT not found, -ETIMEDOUT, -ECONNREFUSED, ...,
 * -EBADMSG/-EPROTO for replies that break the protocol, -EINVAL bad args. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "net/omapi_msg.h"

#define OMAPI_CLIENT_DEFAULT_TIMEOUT_USEC (5ULL * 1000000ULL)

typedef struct OmapiClient OmapiClient;

/* Connect to server (a numeric IPv4/IPv6 address: no name resolution, so
 * nothing can block outside the timeout) and port, exchange the start
 * bytes and open an authenticator for key key_name with the base64
 * secret_b64 (as in dhcpd.conf). timeout_usec bounds the connect and each
 * later request/reply exchange; 0 = OMAPI_CLIENT_DEFAULT_TIMEOUT_USEC.
 *
 * A wrong key name fails here ("key NAME not found (NOTFOUND)"); dhcpd only
 * checks the secret on signed requests, so a wrong secret makes the first
 * operation fail with "key rejected (INVALIDKEY)". */
int omapi_client_connect(const char *server, uint16_t port, const char *key_name, const char *secret_b64,
                         uint64_t timeout_usec, OmapiClient **ret, Error *err);
void omapi_client_free(OmapiClient *c); /* closes the connection; accepts NULL */
static inline void omapi_client_freep(OmapiClient **c) { omapi_client_free(*c); }
#define _cleanup_omapi_client_ _cleanup_(omapi_client_freep)

/* Create host `name` with Ethernet mac and fixed-address ipv4 (network byte
 * order). Exclusive: -EEXIST if a host with this name or this MAC exists
 * (the message says which). */
int omapi_host_add(OmapiClient *c, const char *name, const uint8_t mac[6], struct in_addr ipv4, Error *err);
/* Same with optional statements; *ret_handle (may be NULL) = dhcpd's handle. */
int omapi_host_add_spec(OmapiClient *c, const OmapiHostSpec *spec, uint32_t *ret_handle, Error *err);

/* Look the host up by name and delete it. A host that does not exist is not
 * an error: 0 is returned and *ret_existed (may be NULL) says whether a host
 * was deleted. */
int omapi_host_remove_by_name(OmapiClient *c, const char *name, bool *ret_existed, Error *err);

/* -ENOENT ("host NAME not found") when there is none. */
int omapi_host_lookup(OmapiClient *c, const char *name, OmapiHostInfo *ret, Error *err);
int omapi_host_lookup_by_mac(OmapiClient *c, const uint8_t mac[6], OmapiHostInfo *ret, Error *err);
