/* rpc.h - the CLI's side of the vmbatchd protocol (docs/protocol.md): one
 * connection, one request, one answer. Nothing here prints; failures come
 * back as an Error whose message is ready for the user. */
#pragma once

#include <jansson.h>

#include "basic/error.h"

/* Connect to the daemon's socket. Returns the fd or -errno with err set to
 * "cannot reach vmbatchd at PATH: <reason>". */
int rpc_connect(const char *path, Error *err);

/* Send request on fd and wait for the answer; on {"ok": true} *ret_data is
 * its data (a new reference; JSON null when absent). On {"ok": false}
 * returns the errno named by error.code with err->message = error.message. */
int rpc_call_fd(int fd, const json_t *request, json_t **ret_data, Error *err);

/* Connect to path and call. */
int rpc_call(const char *path, const json_t *request, json_t **ret_data, Error *err);

/* Interpret one answer object (pure). */
int rpc_response_data(const json_t *resp, json_t **ret_data, Error *err);
