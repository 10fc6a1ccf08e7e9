/* print.c - how answers are shown: the paper's tab-separated tables for
 * lists, one-line messages for the rest. Pure: they write to the FILE they
 * are given and read nothing else (dates use the local time zone). */
#include "cli/cli.h"

#include <assert.h>
#include <inttypes.h>
#include <time.h>

#include "cli/memtext.h"
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

/* "(1,10,)", the way the paper prints a Python tuple. */
static char *gid_list(const json_t *groups) {
        MemText text;
        FILE *m = memtext_open(&text);
        size_t i;
        json_t *g;
        fputc('(', m);
        json_array_foreach(groups, i, g) {
                _cleanup_free_ char *s = json_cell_text(g);
                fprintf(m, "%s,", s);
        }
        fputc(')', m);
        return memtext_close(&text);
}

/* "{'/home/doraz/502_myvm_0.qcow2': 5120}": each disc's virtual size in
 * MiB, the way the paper prints a Python dict. */
static char *storage_text(const json_t *discs) {
        MemText text;
        FILE *m = memtext_open(&text);
        size_t i;
        json_t *d;
        fputc('{', m);
        json_array_foreach(discs, i, d) {
                const char *path = str_of(d, "path");
                json_int_t size = int_of(d, "size");
                fprintf(m, "%s'%s': %" PRIu64, i ? ", " : "", path ? path : "",
                        size > 0 ? (uint64_t)size / MIB : (uint64_t)0);
        }
        fputc('}', m);
        char *buf = memtext_close(&text);
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return buf;
}

/* How a column of a list shows the value of its key. */
typedef enum CellKind {
        CELL_VALUE,    /* as table_add_json() shows it */
        CELL_FLAG,     /* 1 or 0 */
        CELL_SIZE,     /* "133G" (add_size) */
        CELL_TIME,     /* time_text() */
        CELL_STARTED,  /* the time, or "created"'s for an instance that never started */
        CELL_PORT,     /* a positive number, else empty */
        CELL_GID_LIST, /* gid_list() */
        /* storage_text() on a line of its own, indented by a tab, under the
         * row (its header likewise under the header line): the VM list */
        CELL_STORAGE_LINE,
} CellKind;

typedef struct Column {
        const char *header;
        const char *key;
        CellKind kind;
} Column;

static void add_cell(Table *t, const json_t *e, const Column *c) {
        json_t *v = json_object_get(e, c->key);
        _cleanup_free_ char *text = NULL;

        switch (c->kind) {
        case CELL_VALUE:
                table_add_json(t, v);
                break;
        case CELL_FLAG:
                table_addf(t, "%d", int_of(e, c->key) ? 1 : 0);
                break;
        case CELL_SIZE:
                add_size(t, e, c->key);
                break;
        case CELL_TIME:
        case CELL_STARTED:
                if (c->kind == CELL_STARTED && !time_set(v))
                        v = json_object_get(e, "created");
                text = time_text(v);
                table_add(t, text);
                break;
        case CELL_PORT:
                if (int_of(e, c->key) > 0)
                        table_addf(t, "%" JSON_INTEGER_FORMAT, int_of(e, c->key));
                else
                        table_add(t, "");
                break;
        case CELL_GID_LIST:
                text = gid_list(v);
                table_add(t, text);
                break;
        case CELL_STORAGE_LINE: {
                text = storage_text(v);
                _cleanup_free_ char *line = xasprintf("\t%s", text);
                table_add_raw(t, line);
                break;
        }
        }
}

/* A list answer as the paper's table: a row for each object, a column for
 * each of cols. CELL_STORAGE_LINE columns come last (a line of their own
 * ends the row). */
static int print_list(FILE *f, const json_t *data, const Column *cols, size_t n_cols) {
        const char *headers[16];
        size_t n_cells = 0, i;
        json_t *e;

        assert(n_cols <= ELEMENTSOF(headers));
        if (need_list(data) < 0)
                return bad_answer();
        while (n_cells < n_cols && cols[n_cells].kind != CELL_STORAGE_LINE) {
                headers[n_cells] = cols[n_cells].header;
                n_cells++;
        }
        _cleanup_table_ Table *t = table_new(n_cells, headers);
        for (size_t k = n_cells; k < n_cols; k++) {
                _cleanup_free_ char *line = xasprintf("\t%s", cols[k].header);
                table_add_raw(t, line);
        }
        json_array_foreach(data, i, e)
                for (size_t k = 0; k < n_cols; k++)
                        add_cell(t, e, &cols[k]);
        return table_print(t, f);
}

int cli_print_groups(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"id", "id", CELL_VALUE},
                {"name", "name", CELL_VALUE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
}

int cli_print_users(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"uid", "uid", CELL_VALUE},
                {"name", "name", CELL_VALUE},
                {"ip_range", "ip_range", CELL_VALUE}, /* not in the protocol: empty, as in the paper */
                {"gid_list", "groups", CELL_GID_LIST},
                {"max_running_vm", "max_running", CELL_VALUE},
                {"max_storage", "max_storage", CELL_SIZE},
                {"storage_folder", "stordir", CELL_VALUE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
}

int cli_print_vmgroups(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"id", "id", CELL_VALUE},
                {"name", "name", CELL_VALUE},
                {"ip_range", "iprange", CELL_VALUE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
}

int cli_print_vms(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"vmid", "id", CELL_VALUE},
                {"name", "name", CELL_VALUE},
                {"owner_id", "owner", CELL_VALUE},
                {"vm_group", "vmgroup", CELL_VALUE},
                {"derivable", "derivable", CELL_FLAG},
                {"base_id", "base", CELL_VALUE},
                {"desc", "desc", CELL_VALUE},
                {"storage", "discs", CELL_STORAGE_LINE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
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
        static const Column cols[] = {
                {"uid", "subject", CELL_VALUE},
                {"vmid", "object", CELL_VALUE},
                {"run", "run", CELL_FLAG},
                {"modify", "modify", CELL_FLAG},
                {"derive", "derive", CELL_FLAG},
                {"force_isolated", "force_isolated", CELL_FLAG},
                {"subject_type", "subject_type", CELL_VALUE},
                {"object_type", "object_type", CELL_VALUE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
}

int cli_print_map(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"uid", "uid", CELL_VALUE},
                {"vmid", "vm", CELL_VALUE},
                {"ip", "ip", CELL_VALUE},
                {"mac", "mac", CELL_VALUE},
                {"isolated", "isolated", CELL_FLAG},
                {"exehost", "exehost", CELL_VALUE},
                {"vnc", "vnc_port", CELL_PORT},
                {"tap", "tap", CELL_VALUE},
                {"date", "started", CELL_STARTED},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
}

int cli_print_audit(FILE *f, const json_t *req_args, const json_t *data) {
        static const Column cols[] = {
                {"id", "id", CELL_VALUE},
                {"time", "time", CELL_TIME},
                {"uid", "uid", CELL_VALUE},
                {"op", "op", CELL_VALUE},
                {"object", "object", CELL_VALUE},
                {"detail", "detail", CELL_VALUE},
        };
        return print_list(f, data, cols, ELEMENTSOF(cols));
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

/* instance show: the line of stop/suspend/resume, and what the console
 * gateway saw of its browser console (when vmbatchd keeps that) */
int cli_print_instance(FILE *f, const json_t *req_args, const json_t *data) {
        int r = cli_print_stopped(f, req_args, data);
        json_t *open = json_object_get(data, "console_open");
        if (r < 0 || !json_is_boolean(open))
                return r;
        _cleanup_free_ char *at = time_text(json_object_get(data, "console_input_at"));
        fprintf(f, "Console: %s; last input: %s\n", json_is_true(open) ? "open in a browser" : "not open",
                *at ? at : "none");
        return ferror(f) ? -EIO : 0;
}

int cli_print_console(FILE *f, const json_t *req_args, const json_t *data) {
        if (!json_is_object(data))
                return bad_answer();
        const char *url = str_of(data, "url");
        if (!url)
                return bad_answer();
        fprintf(f, "%s\n", url);
        fprintf(f, "Console of instance %" JSON_INTEGER_FORMAT ": open the URL in a browser; it is valid once, for %"
                   JSON_INTEGER_FORMAT " s.\n", int_of(data, "instance"), int_of(data, "expires_in"));
        return ferror(f) ? -EIO : 0;
}

int cli_print_wall(FILE *f, const json_t *req_args, const json_t *data) {
        if (!json_is_object(data))
                return bad_answer();
        const char *url = str_of(data, "url"), *wall = str_of(data, "wall");
        if (!url)
                return bad_answer();
        fprintf(f, "%s\n", url);
        fprintf(f, "The wall of %s: open the URL in a browser; it is valid once, for %" JSON_INTEGER_FORMAT " s.\n",
                wall ? wall : "?", int_of(data, "expires_in"));
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
