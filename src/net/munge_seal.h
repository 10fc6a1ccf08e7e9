/* munge_seal.h - controller <-> node messages sealed with MUNGE.
 *
 * In a cluster the controller and the vmbatchd --node of each execution
 * host talk over TCP. Every message (a JSON object) travels as the payload
 * of a MUNGE credential, the service Slurm authenticates with: munged on
 * the sending host signs it with the cluster's shared key and the uid of
 * the sender, munged on the receiving host checks the signature, the time
 * to live and that the credential was never seen before (no replay). So a
 * message is believed only when it was made by root on a host holding the
 * key, whatever the TCP connection it came through. Credentials are sealed
 * with a uid restriction of 0: only root can decode them. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "basic/error.h"

/* The wire form of msg: {"munge": "MUNGE:..."} (a new object). */
int munge_seal(const json_t *msg, json_t **ret, Error *err);

/* The message inside a sealed object, with the uid that made it. Fails
 * (-EACCES) on a bad, expired or replayed credential. */
int munge_open(const json_t *sealed, json_t **ret_msg, uid_t *ret_uid, Error *err);

/* munge_open() that also requires uid 0: what nodes and controller accept. */
int munge_open_root(const json_t *sealed, json_t **ret_msg, Error *err);
