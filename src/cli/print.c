/* print.c - how answers are shown: the paper's tab-separated tables for
 * lists, one-line messages for the rest. Pure: they write to the FILE they
 * are given and read nothing else (dates use the local time zone). */
#include "cli/cli.h"

#include <inttypes.h>
#include <time.h>

#include "cli/table.h"

#define MIB ((uint64_t)1024 * 1024)

static int bad_answer(void) {
        return -EBADMSG;
}

static json_int_t int_of(const json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        if (json_is_integer(v))
                return json_integer_value(v);
        if (json_is_boolean(v))
                return json_is_true(v);
        return 0;
}

static const char *str_of(const json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A size field as "133G"; empty when absent. */
static void add_size(Table *t, const json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);
        char buf[32] = "";
        if (json_is_integer(v) && json_integer_value(v) >= 0)
                format_size((uint64_t)json_integer_value(v), buf, sizeof(buf));
        else if (v)
                return table_add_json(t, v);
        table_add(t, buf);
}

/* A time: unix seconds are shown as local "YYYY-MM-DD HH:MM:SS", strings as
 * they come. */
static char *time_text(const json_t *v) {
        if (json_is_integer(v) && json_integer_value(v) > 0) {
                time_t tt = (time_t)json_integer_value(v);
                struct tm tm;
                char buf[64];
                if (localtime_r(&tt, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) > 0)
                        return xstrdup(buf);
        }
        if (json_is_integer(v))
                return xstrdup("");
        return json_cell_text(v);
}

static bool time_set(const json_t *v) {
        return (json_is_string(v) && json_string_length(v) > 0) || (json_is_integer(v) && json_integer_value(v) > 0);
}

/* Check that data is an array of objects. */
static int need_list(const json_t *data) {
        size_t i;
        json_t *e;
        if (!json_is_array(data))
                return bad_answer();
        json_array_foreach(data, i, e) if (!json_is_object(e)) return bad_answer();
        return 0;
}

int cli_print_json(FILE *f, const json_t *data) {
        if (json_dumpf(data ? data : json_null(), f, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
                return -EIO;
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}

int cli_print_groups(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"id", "name"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                table_add_json(t, json_object_get(e, "id"));
                table_add_json(t, json_object_get(e, "name"));
        }
        return table_print(t, f);
}

/* "(1,10,)", the way the paper prints a Python tuple. */
static char *gid_list(const json_t *groups) {
        char *buf = NULL;
        size_t len = 0, i;
        json_t *g;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                abort();
        fputc('(', m);
        json_array_foreach(groups, i, g) {
                _cleanup_free_ char *s = json_cell_text(g);
                fprintf(m, "%s,", s);
        }
        fputc(')', m);
        fclose(m);
        return buf;
}

int cli_print_users(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"uid",           "name",        "ip_range",      "gid_list",
                                        "max_running_vm", "max_storage", "storage_folder"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                _cleanup_free_ char *gids = gid_list(json_object_get(e, "groups"));
                table_add_json(t, json_object_get(e, "uid"));
                table_add_json(t, json_object_get(e, "name"));
                table_add_json(t, json_object_get(e, "ip_range")); /* not in the protocol: empty, as in the paper */
                table_add(t, gids);
                table_add_json(t, json_object_get(e, "max_running"));
                add_size(t, e, "max_storage");
                table_add_json(t, json_object_get(e, "stordir"));
        }
        return table_print(t, f);
}

int cli_print_vmgroups(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"id", "name", "ip_range"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                table_add_json(t, json_object_get(e, "id"));
                table_add_json(t, json_object_get(e, "name"));
                table_add_json(t, json_object_get(e, "iprange"));
        }
        return table_print(t, f);
}

/* "{'/home/doraz/502_myvm_0.qcow2': 5120}": each disc's virtual size in
 * MiB, the way the paper prints a Python dict. */
static char *storage_text(const json_t *discs) {
        char *buf = NULL;
        size_t len = 0, i;
        json_t *d;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                abort();
        fputc('{', m);
        json_array_foreach(discs, i, d) {
                const char *path = str_of(d, "path");
                json_int_t size = int_of(d, "size");
                fprintf(m, "%s'%s': %" PRIu64, i ? ", " : "", path ? path : "",
                        size > 0 ? (uint64_t)size / MIB : (uint64_t)0);
        }
        fputc('}', m);
        fclose(m);
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return buf;
}

int cli_print_vms(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"vmid", "name", "owner_id", "vm_group", "derivable", "base_id", "desc"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        table_add_raw(t, "\tstorage");
        json_array_foreach(data, i, e) {
                _cleanup_free_ char *st = storage_text(json_object_get(e, "discs"));
                _cleanup_free_ char *line = xasprintf("\t%s", st);
                table_add_json(t, json_object_get(e, "id"));
                table_add_json(t, json_object_get(e, "name"));
                table_add_json(t, json_object_get(e, "owner"));
                table_add_json(t, json_object_get(e, "vmgroup"));
                table_addf(t, "%d", int_of(e, "derivable") ? 1 : 0);
                table_add_json(t, json_object_get(e, "base"));
                table_add_json(t, json_object_get(e, "desc"));
                table_add_raw(t, line);
        }
        return table_print(t, f);
}

static void kv(FILE *f, const char *key, const char *value) {
        fprintf(f, "%-10s %s\n", key, value ? value : "");
}

static void kv_json(FILE *f, const json_t *o, const char *key, const char *label) {
        _cleanup_free_ char *s = json_cell_text(json_object_get(o, key));
        kv(f, label, s);
}

int cli_print_vm(FILE *f, const json_t *req_args, const json_t *data) {
        char mem[32] = "";
        size_t i;
        json_t *d;

        if (!json_is_object(data))
                return bad_answer();
        if (int_of(data, "mem") > 0)
                format_size((uint64_t)int_of(data, "mem"), mem, sizeof(mem));

        kv_json(f, data, "id", "vmid:");
        kv_json(f, data, "name", "name:");
        kv_json(f, data, "owner", "owner_id:");
        kv_json(f, data, "vmgroup", "vm_group:");
        kv(f, "derivable:", int_of(data, "derivable") ? "1" : "0");
        kv_json(f, data, "base", "base_id:");
        kv(f, "mem:", mem);
        kv_json(f, data, "vcpus", "vcpus:");
        kv_json(f, data, "desc", "desc:");
        if (!isempty(str_of(data, "kernel"))) {
                kv_json(f, data, "kernel", "kernel:");
                kv_json(f, data, "initrd", "initrd:");
                kv_json(f, data, "cmdline", "cmdline:");
        }
        json_array_foreach(json_object_get(data, "discs"), i, d) {
                char size[32] = "", alloc[32] = "";
                _cleanup_free_ char *label = xasprintf("disc%zu:", i);
                _cleanup_free_ char *backing = json_cell_text(json_object_get(d, "backing"));
                format_size((uint64_t)(int_of(d, "size") > 0 ? int_of(d, "size") : 0), size, sizeof(size));
                format_size((uint64_t)(int_of(d, "allocated") > 0 ? int_of(d, "allocated") : 0), alloc, sizeof(alloc));
                _cleanup_free_ char *line =
                        xasprintf("%s size %s allocated %s%s%s", str_of(d, "path") ? str_of(d, "path") : "", size,
                                  alloc, isempty(backing) || streq(backing, "0") ? "" : " backing ",
                                  isempty(backing) || streq(backing, "0") ? "" : backing);
                kv(f, label, line);
        }
        return ferror(f) ? -EIO : 0;
}

int cli_print_perms(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"uid",    "vmid",           "run",          "modify",
                                        "derive", "force_isolated", "subject_type", "object_type"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                table_add_json(t, json_object_get(e, "subject"));
                table_add_json(t, json_object_get(e, "object"));
                table_addf(t, "%d", int_of(e, "run") ? 1 : 0);
                table_addf(t, "%d", int_of(e, "modify") ? 1 : 0);
                table_addf(t, "%d", int_of(e, "derive") ? 1 : 0);
                table_addf(t, "%d", int_of(e, "force_isolated") ? 1 : 0);
                table_add_json(t, json_object_get(e, "subject_type"));
                table_add_json(t, json_object_get(e, "object_type"));
        }
        return table_print(t, f);
}

int cli_print_map(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"uid",     "vmid", "ip",  "mac", "isolated",
                                        "exehost", "vnc",  "tap", "date"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                json_t *started = json_object_get(e, "started");
                _cleanup_free_ char *date = time_text(time_set(started) ? started : json_object_get(e, "created"));
                table_add_json(t, json_object_get(e, "uid"));
                table_add_json(t, json_object_get(e, "vm"));
                table_add_json(t, json_object_get(e, "ip"));
                table_add_json(t, json_object_get(e, "mac"));
                table_addf(t, "%d", int_of(e, "isolated") ? 1 : 0);
                table_add_json(t, json_object_get(e, "exehost"));
                if (int_of(e, "vnc_port") > 0)
                        table_addf(t, "%" JSON_INTEGER_FORMAT, int_of(e, "vnc_port"));
                else
                        table_add(t, "");
                table_add_json(t, json_object_get(e, "tap"));
                table_add(t, date);
        }
        return table_print(t, f);
}

int cli_print_audit(FILE *f, const json_t *req_args, const json_t *data) {
        static const char *const h[] = {"id", "time", "uid", "op", "object", "detail"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        if (need_list(data) < 0)
                return bad_answer();
        json_array_foreach(data, i, e) {
                _cleanup_free_ char *when = time_text(json_object_get(e, "time"));
                table_add_json(t, json_object_get(e, "id"));
                table_add(t, when);
                table_add_json(t, json_object_get(e, "uid"));
                table_add_json(t, json_object_get(e, "op"));
                table_add_json(t, json_object_get(e, "object"));
                table_add_json(t, json_object_get(e, "detail"));
        }
        return table_print(t, f);
}

int cli_print_run(FILE *f, const json_t *req_args, const json_t *data) {
        const char *ip = str_of(data, "ip"), *mac = str_of(data, "mac");
        if (!json_is_object(data))
                return bad_answer();

        json_int_t port = int_of(data, "vnc_port");
        if (port > 0) {
                json_t *d = json_object_get(data, "vnc_display");
                json_int_t display = json_is_integer(d) && json_integer_value(d) >= 0 ? json_integer_value(d)
                                                                                      : port - 5900;
                const char *host = str_of(data, "exehost");
                fprintf(f, "Your vm is accessible via host %s vnc port %" JSON_INTEGER_FORMAT
                           ", display %" JSON_INTEGER_FORMAT "\n",
                        host ? host : "", port, display);
                const char *pw = str_of(data, "vnc_password");
                if (!isempty(pw))
                        fprintf(f, "VNC password: %s\n", pw);
        } else if (json_is_true(json_object_get(req_args, "no_start")))
                fprintf(f, "Instance %" JSON_INTEGER_FORMAT " reserved: ip %s mac %s (not started)\n",
                        int_of(data, "id"), ip ? ip : "", mac ? mac : "");
        else {
                const char *job = str_of(data, "job_id"), *state = str_of(data, "state");
                fprintf(f,
                        "Instance %" JSON_INTEGER_FORMAT " %s%s%s: ip %s mac %s; its vnc port shows in the map "
                        "list once it runs\n",
                        int_of(data, "id"), state ? state : "submitted", isempty(job) ? "" : ", job ",
                        isempty(job) ? "" : job, ip ? ip : "", mac ? mac : "");
        }
        return ferror(f) ? -EIO : 0;
}

int cli_print_stopped(FILE *f, const json_t *req_args, const json_t *data) {
        if (!json_is_object(data))
                return bad_answer();
        const char *state = str_of(data, "state");
        fprintf(f, "Instance %" JSON_INTEGER_FORMAT " of vm %" JSON_INTEGER_FORMAT ": %s\n", int_of(data, "id"),
                int_of(data, "vm"), state ? state : "stopping");
        return ferror(f) ? -EIO : 0;
}

int cli_print_ping(FILE *f, const json_t *req_args, const json_t *data) {
        if (!json_is_object(data))
                return bad_answer();
        const char *version = str_of(data, "version"), *user = str_of(data, "user");
        fprintf(f, "vmbatchd %s: you are %s (uid %" JSON_INTEGER_FORMAT ")%s\n", version ? version : "?",
                user ? user : "not a vmbatch user", int_of(data, "uid"),
                json_is_true(json_object_get(data, "admin")) ? ", admin" : "");
        if (json_is_false(json_object_get(data, "initialized")))
                fputs("The database is not initialized yet (vmbatch init).\n", f);
        return ferror(f) ? -EIO : 0;
}

int cli_print_init(FILE *f, const json_t *req_args, const json_t *data) {
        if (!json_is_object(data))
                return bad_answer();
        const char *name = str_of(data, "admin_name");
        fprintf(f, "Database initialized; admin user %s (uid %" JSON_INTEGER_FORMAT ")\n", name ? name : "?",
                int_of(data, "admin_uid"));
        return ferror(f) ? -EIO : 0;
}

static int added(FILE *f, const json_t *data, const char *what, const char *id_key) {
        if (!json_is_object(data))
                return bad_answer();
        const char *name = str_of(data, "name");
        fprintf(f, "Added %s %s (%s %" JSON_INTEGER_FORMAT ")\n", what, name ? name : "?", id_key,
                int_of(data, id_key));
        return ferror(f) ? -EIO : 0;
}

int cli_print_added_group(FILE *f, const json_t *req_args, const json_t *data) {
        return added(f, data, "user group", "id");
}

int cli_print_added_user(FILE *f, const json_t *req_args, const json_t *data) {
        return added(f, data, "user", "uid");
}

int cli_print_added_vmgroup(FILE *f, const json_t *req_args, const json_t *data) {
        return added(f, data, "vm group", "id");
}

int cli_print_added_vm(FILE *f, const json_t *req_args, const json_t *data) {
        return added(f, data, "vm", "id");
}
