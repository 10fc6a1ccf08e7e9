#include "core/settings.h"

#include <stdio.h>

void settings_defaults(Settings *s) {
        memset(s, 0, sizeof(*s));
        snprintf(s->socket, sizeof(s->socket), "%s", VMBATCH_DEFAULT_SOCKET);
        snprintf(s->database, sizeof(s->database), "/var/lib/vmbatch/vmbatch.db");
        snprintf(s->admin_user, sizeof(s->admin_user), "root");
        s->default_max_running = 2;
        s->default_max_storage = 13ULL << 30;
        s->default_mem = 512ULL << 20;
        s->default_vcpus = 1;
        snprintf(s->log_level, sizeof(s->log_level), "info");
}

static int set_string(char *dst, size_t len, const char *key, const char *v, Error *err) {
        if (strlen(v) >= len)
                return error_set(err, -EINVAL, "config %s: value too long", key);
        snprintf(dst, len, "%s", v);
        return 0;
}

int settings_apply(Settings *s, const Config *c, Error *err) {
        for (size_t i = 0; i < config_count(c); i++) {
                const char *k = config_key_at(c, i), *v = config_get(c, k);
                uint64_t n;
                int r = 0;
                if (streq(k, "socket"))
                        r = set_string(s->socket, sizeof(s->socket), k, v, err);
                else if (streq(k, "database"))
                        r = set_string(s->database, sizeof(s->database), k, v, err);
                else if (streq(k, "admin_user"))
                        r = set_string(s->admin_user, sizeof(s->admin_user), k, v, err);
                else if (streq(k, "admin_stordir"))
                        r = set_string(s->admin_stordir, sizeof(s->admin_stordir), k, v, err);
                else if (streq(k, "log_level")) {
                        if (!streq(v, "error") && !streq(v, "warning") && !streq(v, "info") && !streq(v, "debug"))
                                return error_set(err, -EINVAL, "config log_level: '%s' is not error|warning|info|debug",
                                                 v);
                        r = set_string(s->log_level, sizeof(s->log_level), k, v, err);
                } else if (streq(k, "default_max_running")) {
                        if (parse_u64(v, &n) < 0 || n > 100000)
                                return error_set(err, -EINVAL, "config %s: bad number '%s'", k, v);
                        s->default_max_running = (uint32_t)n;
                } else if (streq(k, "default_vcpus")) {
                        if (parse_u64(v, &n) < 0 || n < 1 || n > 256)
                                return error_set(err, -EINVAL, "config %s: bad number '%s'", k, v);
                        s->default_vcpus = (uint32_t)n;
                } else if (streq(k, "default_max_storage") || streq(k, "default_mem")) {
                        if (parse_size(v, &n) < 0)
                                return error_set(err, -EINVAL, "config %s: bad size '%s'", k, v);
                        if (streq(k, "default_mem"))
                                s->default_mem = n;
                        else
                                s->default_max_storage = n;
                } else if (strchr(k, '.')) {
                        /* sections belong to later subsystems (dhcp., batch., net.) */
                        continue;
                } else
                        return error_set(err, -EINVAL, "config: unknown key '%s'", k);
                if (r < 0)
                        return r;
        }
        return 0;
}
