/* tls_cert.h - the gateway's TLS identity when the admin gives none: a
 * self-signed certificate made at the first start (EC P-256, CN = the host
 * name, 10 years), kept in the state folder (key 0600) and reused after. */
#pragma once

#include <stddef.h>

#include "basic/error.h"

/* dir/cert.pem and dir/key.pem: loaded when both are there, else made
 * (dir too, 0700). ret_cert/ret_key get the paths. */
int tls_cert_ensure(const char *dir, const char *hostname, char *ret_cert, size_t cert_len, char *ret_key,
                    size_t key_len, Error *err);
