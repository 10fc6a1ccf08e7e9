#include "basic/config.h"

#include <ctype.h>
#include <stdio.h>

#include "build-config.h"

typedef struct Entry {
        char *key, *value;
} Entry;

struct Config {
        Entry *entries;
        size_t n;
};

void config_free(Config *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                free(c->entries[i].key);
                free(c->entries[i].value);
        }
        free(c->entries);
        free(c);
}

static char *trim(char *s, char *end) {
        while (s < end && isspace((unsigned char)*s))
                s++;
        while (end > s && isspace((unsigned char)end[-1]))
                end--;
        *end = 0;
        return s;
}

static bool valid_key(const char *k) {
        if (!*k)
                return false;
        for (; *k; k++)
                if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-' && *k != '.')
                        return false;
        return true;
}

int config_parse(const char *text, size_t len, const char *origin, Config **ret, Error *err) {
        Config *c = xcalloc(1, sizeof(*c));
        char section[128] = "";
        size_t lineno = 0;
        const char *p = text, *end = text + len;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *le = nl ? nl : end;
                lineno++;
                size_t ll = (size_t)(le - p);
                if (ll > 4096) {
                        config_free(c);
                        return error_set(err, -EINVAL, "%s:%zu: line too long", origin, lineno);
                }
                char line[4097];
                memcpy(line, p, ll);
                line[ll] = 0;
                p = nl ? nl + 1 : end;
                if (memchr(line, 0, ll)) {
                        config_free(c);
                        return error_set(err, -EINVAL, "%s:%zu: NUL byte", origin, lineno);
                }
                char *s = trim(line, line + ll);
                if (!*s || *s == '#' || *s == ';')
                        continue;
                if (*s == '[') {
                        char *close = strchr(s, ']');
                        if (!close || close[1]) {
                                config_free(c);
                                return error_set(err, -EINVAL, "%s:%zu: bad section header", origin, lineno);
                        }
                        char *name = trim(s + 1, close);
                        if (!valid_key(name) || strlen(name) >= sizeof(section)) {
                                config_free(c);
                                return error_set(err, -EINVAL, "%s:%zu: bad section name", origin, lineno);
                        }
                        strcpy(section, name);
                        continue;
                }
                char *eq = strchr(s, '=');
                if (!eq) {
                        config_free(c);
                        return error_set(err, -EINVAL, "%s:%zu: expected 'key = value'", origin, lineno);
                }
                char *line_end = s + strlen(s);
                char *key = trim(s, eq);
                char *value = trim(eq + 1, line_end);
                if (!valid_key(key)) {
                        config_free(c);
                        return error_set(err, -EINVAL, "%s:%zu: bad key '%s'", origin, lineno, key);
                }
                /* strip one pair of double quotes */
                size_t vl = strlen(value);
                if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
                        value[vl - 1] = 0;
                        value++;
                }
                char *full = *section ? xasprintf("%s.%s", section, key) : xstrdup(key);
                /* a later line overrides an earlier one */
                size_t i;
                for (i = 0; i < c->n; i++)
                        if (streq(c->entries[i].key, full))
                                break;
                if (i < c->n) {
                        free(full);
                        free(c->entries[i].value);
                        c->entries[i].value = xstrdup(value);
                } else {
                        c->entries = xrealloc(c->entries, (c->n + 1) * sizeof(Entry));
                        c->entries[c->n++] = (Entry){full, xstrdup(value)};
                }
        }
        *ret = c;
        return 0;
}

int config_load(const char *path, Config **ret, Error *err) {
        FILE *f = fopen(path, "re");
        if (!f)
                return error_set(err, -errno, "cannot open config %s: %m", path);
        char *buf = NULL;
        size_t cap = 0, len = 0;
        for (;;) {
                if (len + 4096 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        if (cap > 1024 * 1024) {
                                free(buf);
                                fclose(f);
                                return error_set(err, -EFBIG, "config %s is too large", path);
                        }
                        buf = xrealloc(buf, cap);
                }
                size_t n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
        }
        fclose(f);
        int r = config_parse(buf ? buf : "", len, path, ret, err);
        free(buf);
        return r;
}

const char *config_get(const Config *c, const char *key) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->entries[i].key, key))
                        return c->entries[i].value;
        return NULL;
}

size_t config_count(const Config *c) { return c ? c->n : 0; }
const char *config_key_at(const Config *c, size_t i) { return c && i < c->n ? c->entries[i].key : NULL; }

char *config_client_socket_path(void) {
        const char *env = getenv("VMBATCH_SOCKET");
        if (!isempty(env))
                return xstrdup(env);
        const char *conf = getenv("VMBATCH_CONF");
        Config *c = NULL;
        char *path = NULL;
        if (config_load(isempty(conf) ? VMBATCH_DEFAULT_CONFIG : conf, &c, NULL) == 0) {
                const char *s = config_get(c, "socket");
                if (!isempty(s))
                        path = xstrdup(s);
                config_free(c);
        }
        return path ? path : xstrdup(VMBATCH_DEFAULT_SOCKET);
}
