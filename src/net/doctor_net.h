/* doctor_net.h - munged as vmbatch doctor sees it (libmunge lives in
 * src/net). */
#pragma once

#include "basic/error.h"

/* The socket libmunge talks to (its default, or $MUNGE_SOCKET... as the
 * library has it), malloc'd. */
char *doctor_munge_socket(void);
/* Seal a message with munge_seal and, as root, open it again: 0, with
 * *ret_decoded saying whether it was opened; -errno with err set. May wait
 * for munged: call it where a deadline bounds it (a worker child). */
int doctor_munge_roundtrip(bool *ret_decoded, Error *err);
