/* test-settings-conf.c - core/settings.h's commented configuration file (the
 * package's /etc/vmbatch/vmbatch.conf): every key once, commented out; with
 * every '#' removed it parses back to exactly the settings it was written
 * from (the defaults, and settings changed in every key type); the control:
 * one changed value no longer compares equal. Every key is documented in
 * vmbatch.conf(5) (argv[1]). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/settings.h"
#include "tap.h"

static char *conf_text(const Settings *s) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        settings_write_conf(f, s);
        fclose(f);
        return buf;
}

/* "#key = v" lines lose their '#'; comments ("# ...") stay */
static void uncomment(char *text) {
        char *w = text;
        for (const char *r = text; *r;) {
                bool line_start = r == text || r[-1] == '\n';
                if (line_start && r[0] == '#' && islower((unsigned char)r[1]))
                        r++;
                *w++ = *r++;
        }
        *w = 0;
}

/* the settings the text means, applied over the defaults; 0 or -errno */
static int parse_back(const char *text, Settings *ret) {
        Config *c = NULL;
        Error err = {0};
        settings_defaults(ret);
        int r = config_parse(text, strlen(text), "test", &c, &err);
        if (r >= 0)
                r = settings_apply(ret, c, &err);
        if (r < 0)
                printf("#   %s\n", err.message);
        config_free(c);
        return r;
}

static bool man_documents(const char *man, const char *key) {
        for (const char *p = man; (p = strstr(p, key)); p++) {
                const char *line = p;
                while (line > man && line[-1] != '\n')
                        line--;
                bool word = (p == man || (!isalnum((unsigned char)p[-1]) && p[-1] != '_')) &&
                            !isalnum((unsigned char)p[strlen(key)]) && p[strlen(key)] != '_';
                if (word && (strncmp(line, ".B ", 3) == 0 || strncmp(line, ".BR ", 4) == 0))
                        return true;
        }
        return false;
}

int main(int argc, char **argv) {
        Settings def, back;
        settings_defaults(&def);
        char *text = conf_text(&def);

        size_t n = settings_key_count();
        ok(n >= 40, "%zu keys", n);
        size_t once = 0;
        for (size_t i = 0; i < n; i++) {
                char pat[128];
                snprintf(pat, sizeof(pat), "\n#%s =", settings_key_name(i));
                char *first = strstr(text, pat);
                if (first && !strstr(first + 1, pat))
                        once++;
                else
                        printf("#   %s: %s\n", settings_key_name(i), first ? "twice" : "missing");
        }
        is_int(once, n, "every key is in the file once, commented out");
        Settings none;
        is_int(parse_back(text, &none), 0, "as written (all commented) it parses");
        ok(memcmp(&none, &def, sizeof(def)) == 0, "and changes nothing");

        uncomment(text);
        is_int(parse_back(text, &back), 0, "with every '#key' line uncommented it parses");
        ok(memcmp(&back, &def, sizeof(def)) == 0, "to exactly the defaults");

        /* control: the comparison sees one changed value */
        char *mem = strstr(text, "\ndefault_mem = ");
        ok(mem != NULL, "default_mem is in the file");
        if (mem) {
                char *edited = NULL;
                if (asprintf(&edited, "%.*s\ndefault_mem = 1G\n%s", (int)(mem - text), text,
                             strchr(mem + 1, '\n') + 1) < 0)
                        abort();
                is_int(parse_back(edited, &back), 0, "control: with default_mem = 1G it parses");
                ok(memcmp(&back, &def, sizeof(def)) != 0, "control: and differs from the defaults");
                free(edited);
        }
        free(text);

        /* every key type written from other values comes back as written */
        Settings other = def;
        other.default_mem = 3ULL << 30;
        other.serial_log_max = 1536ULL << 10;
        other.default_max_running = 7;
        other.node = false;
        other.accel = ACCEL_TCG;
        other.dhcp_backend = DHCP_OMAPI;
        other.log_level = 3;
        snprintf(other.admin_user, sizeof(other.admin_user), "teacher");
        snprintf(other.host_ports_allow, sizeof(other.host_ports_allow), "tcp/22, udp/123");
        text = conf_text(&other);
        uncomment(text);
        is_int(parse_back(text, &back), 0, "settings changed in every key type: the file parses");
        ok(memcmp(&back, &other, sizeof(other)) == 0, "and gives them back (size, number, yes/no, enum, string)");
        free(text);

        /* vmbatch.conf(5) */
        FILE *f = argc > 1 ? fopen(argv[1], "re") : NULL;
        ok(f != NULL, "vmbatch.conf(5) at %s", argc > 1 ? argv[1] : "(none given)");
        if (f) {
                char man[1 << 17];
                size_t len = fread(man, 1, sizeof(man) - 1, f);
                man[len] = 0;
                fclose(f);
                size_t documented = 0;
                for (size_t i = 0; i < n; i++)
                        if (man_documents(man, settings_key_name(i)))
                                documented++;
                        else
                                printf("#   vmbatch.conf(5) has no .B line naming %s\n", settings_key_name(i));
                is_int(documented, n, "every key has a .B line in vmbatch.conf(5)");
                ok(!man_documents(man, "no_such_key"), "control: a key that does not exist has none");
        }
        return tap_done();
}
