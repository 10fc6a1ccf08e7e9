/* config.h - /etc/vmbatch/vmbatch.conf: "key = value" lines, "# comments",
 * optional "[section]" headers (keys become "section.key"). Unknown keys are
 * the caller's business; syntax errors name the line. */
#pragma once

#include "basic/error.h"
#include "build-config.h"

typedef struct Config Config;

/* Parse text (need not be NUL-terminated). */
int config_parse(const char *text, size_t len, const char *origin, Config **ret, Error *err);
/* Read and parse a file. A missing file is -ENOENT (callers may ignore it). */
int config_load(const char *path, Config **ret, Error *err);
void config_free(Config *c);

const char *config_get(const Config *c, const char *key); /* NULL if absent */
size_t config_count(const Config *c);
const char *config_key_at(const Config *c, size_t i);

#define VMBATCH_DEFAULT_CONFIG VMBATCH_SYSCONFDIR "/vmbatch/vmbatch.conf"
#define VMBATCH_DEFAULT_SOCKET "/run/vmbatch/vmbatchd.sock"

/* The socket the CLI talks to: $VMBATCH_SOCKET, else "socket" in the
 * config file ($VMBATCH_CONF or the default), else the default path. */
char *config_client_socket_path(void);
