/* cmd_exam.c - "vmbatch exam create|list|show|start|stop|extend|collect|
 * receipt|verify" (issue 14). Times are read here, in the user's own time zone:
 * ISO 8601 local time or +MINUTES (core/exam.h); the daemon gets unix
 * seconds. "verify" runs here, offline: the receipt and the public key are
 * all it needs (main.c hands its request to cli_exam_verify_run). */
#include <stdio.h>
#include <time.h>

#include "cli/cmd_exam.h"
#include "cli/exam_collect.h"
#include "cli/print_exam_selftest.h"
#include "cli/rpc.h"
#include "cli/table.h"
#include "basic/config.h"
#include "core/exam.h"

static int put_time(json_t *args, const char *key, const char *value, const char *what, Error *err) {
        if (!value)
                return error_set(err, -EINVAL, "missing %s", what);
        int64_t t;
        int r = exam_time_parse(value, (int64_t)time(NULL), &t, err);
        if (r < 0) {
                error_prefix(err, "%s", what);
                return r;
        }
        json_object_set_new(args, key, json_integer((json_int_t)t));
        return 0;
}

static int build_create(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r;
        if ((r = cli_put_name(args, "name", a->pos[0], "NAME", err)) < 0 ||
            (r = cli_put_ref(args, "template", cli_args_value(a, "template"), "--template", err)) < 0 ||
            (r = cli_put_ref(args, "group", cli_args_value(a, "group"), "--group", err)) < 0 ||
            (r = put_time(args, "start", cli_args_value(a, "start"), "--start", err)) < 0 ||
            (r = put_time(args, "end", cli_args_value(a, "end"), "--end", err)) < 0 ||
            (r = cli_put_string(args, "allow", cli_args_value(a, "allow"), "--allow", err)) < 0)
                return r;
        if (!json_object_get(args, "template") || !json_object_get(args, "group"))
                return error_set(err, -EINVAL, "give the exam's --template VM and --group UG");
        const char *ready = cli_args_value(a, "warm-ready");
        if (cli_args_flag(a, "warm") || ready)
                json_object_set_new(args, "warm", json_true());
        if (cli_args_flag(a, "no-selftest"))
                json_object_set_new(args, "no_selftest", json_true());
        return ready ? cli_put_string(args, "warm_ready", ready, "--warm-ready", err) : 0;
}

static int build_exam(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return cli_put_ref(args, "exam", a->pos[0], "EXAM", err);
}

static int build_extend(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = build_exam(a, cwd, args, err);
        if (r >= 0)
                r = cli_put_ref(args, "user", a->pos[1], "USER", err);
        if (r >= 0)
                r = cli_put_count(args, "minutes", a->pos[2], "MINUTES", err);
        return r;
}

static int build_collect(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = build_exam(a, cwd, args, err);
        return r < 0 ? r : cli_put_path(args, "dir", a->pos[1], cwd, "DIR", err);
}

static int build_receipt(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        if (cli_args_flag(a, "pubkey")) {
                json_object_set_new(args, "pubkey", json_true());
                return a->n_pos ? error_set(err, -EINVAL, "--pubkey takes no EXAM") : 0;
        }
        if (a->n_pos == 0)
                return error_set(err, -EINVAL, "missing EXAM");
        int r = build_exam(a, cwd, args, err);
        return r < 0 ? r : cli_put_ref(args, "user", cli_args_value(a, "user"), "--user", err);
}

static int build_verify(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        int r = cli_put_path(args, "file", a->pos[0], cwd, "FILE", err);
        if (r >= 0)
                r = cli_put_string(args, "key", cli_args_value(a, "key"), "--key", err);
        if (r >= 0)
                r = cli_put_path(args, "key_file", cli_args_value(a, "key-file"), cwd, "--key-file", err);
        return r;
}

/* ---- printing ---- */

static const char *s_of(const json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static int64_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void add_time(Table *t, int64_t v) {
        char buf[32] = "";
        if (v > 0)
                exam_time_format(v, false, buf);
        table_add(t, buf);
}

/* "open, input 10:02:13", "input 09:58:40" (closed since), "" (none) */
static void add_console(Table *t, const json_t *m) {
        char at[32] = "";
        bool open = json_is_true(json_object_get(m, "console_open"));
        if (i_of(m, "console_input_at") > 0)
                exam_time_format(i_of(m, "console_input_at"), false, at);
        table_addf(t, "%s%s%s%s", open ? "open" : "", open && *at ? ", " : "", *at ? "input " : "", at);
}

static int print_created(FILE *f, const json_t *req, const json_t *d) {
        char s[32], e[32];
        exam_time_format(i_of(d, "start"), false, s);
        exam_time_format(i_of(d, "end"), false, e);
        fprintf(f, "created exam %s (id %lld): %lld vm(s) derived from %s for group %s, %s - %s\n", s_of(d, "name"),
                (long long)i_of(d, "id"), (long long)i_of(d, "members"), s_of(d, "template_name"),
                s_of(d, "group_name"), s, e);
        return 0;
}

static int print_list(FILE *f, const json_t *req, const json_t *d) {
        static const char *const h[] = {"id", "name", "state", "start", "end", "group", "template"};
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e) {
                table_add_json(t, json_object_get(e, "id"));
                table_add(t, s_of(e, "name"));
                table_add(t, s_of(e, "state"));
                add_time(t, i_of(e, "start"));
                add_time(t, i_of(e, "end"));
                table_add(t, s_of(e, "group_name"));
                table_add(t, s_of(e, "template_name"));
        }
        return table_print(t, f);
}

/* "reservation: ..." when the exam holds one or failed to (slurm) */
static void print_reservation(FILE *f, const json_t *r) {
        const char *state = s_of(r, "state");
        if (!*state || streq(state, "none"))
                return;
        char s[32], e[32];
        exam_time_format(i_of(r, "start"), false, s);
        exam_time_format(i_of(r, "end"), false, e);
        if (streq(state, "failed"))
                fprintf(f, "reservation: failed (%s): %s\n", s_of(r, "backend"), s_of(r, "error"));
        else
                fprintf(f, "reservation: %s %s (%s), %s - %s, made in %lld ms%s%s\n", state, s_of(r, "name"),
                        s_of(r, "backend"), s, e, (long long)i_of(r, "create_ms"), *s_of(r, "error") ? "; " : "",
                        s_of(r, "error"));
}

static int print_show(FILE *f, const json_t *req, const json_t *d) {
        char s[32], e[32];
        exam_time_format(i_of(d, "start"), false, s);
        exam_time_format(i_of(d, "end"), false, e);
        fprintf(f, "exam %s (id %lld): %s, %s - %s, group %s, template %s%s\ncollection: %s\n", s_of(d, "name"),
                (long long)i_of(d, "id"), s_of(d, "state"), s, e, s_of(d, "group_name"), s_of(d, "template_name"),
                json_is_true(json_object_get(d, "warm")) ? ", warm" : "", s_of(d, "collection"));
        if (json_is_true(json_object_get(d, "warm")))
                fprintf(f, "warm: booted before the start, paused once the console prints \"%s\"\n",
                        s_of(d, "warm_ready"));
        cli_exam_print_selftest(f, json_object_get(d, "selftest"));
        print_reservation(f, json_object_get(d, "reservation"));
        static const char *const h[] = {"user",     "vm",           "state",     "console", "extra",
                                        "deadline", "disc_written", "sealed_at", "sha256"};
        int64_t now_ms = (int64_t)time(NULL) * 1000;
        _cleanup_table_ Table *t = table_new(ELEMENTSOF(h), h);
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(d, "members"), i, m) {
                table_add(t, s_of(m, "user"));
                table_addf(t, "%lld %s", (long long)i_of(m, "vm"), s_of(m, "vm_name"));
                table_add(t, *s_of(m, "seal_error") ? "frozen (seal failed)" : s_of(m, "state"));
                add_console(t, m);
                table_addf(t, "%lld min", (long long)i_of(m, "extra_minutes"));
                add_time(t, i_of(m, "deadline"));
                int64_t w = i_of(m, "disc_written_ms"); /* the overlay's mtime: what the guest last wrote */
                if (w <= 0)
                        table_add(t, "-");
                else
                        table_addf(t, "%llds ago", (long long)((now_ms > w ? now_ms - w : 0) / 1000));
                add_time(t, i_of(m, "sealed_at"));
                table_add(t, s_of(m, "sha256"));
        }
        return table_print(t, f);
}

static int print_state(FILE *f, const json_t *req, const json_t *d) {
        fprintf(f, "exam %s is %s\n", s_of(d, "name"), s_of(d, "state"));
        return 0;
}

static int print_extended(FILE *f, const json_t *req, const json_t *d) {
        char at[32];
        exam_time_format(i_of(d, "deadline"), false, at);
        fprintf(f, "%s's deadline is %s (%lld extra minutes)\n", s_of(d, "user"), at,
                (long long)i_of(d, "extra_minutes"));
        return 0;
}

/* the receipt as it was signed: saved as is, it verifies */
static int print_receipt(FILE *f, const json_t *req, const json_t *d) {
        const char *text = json_string_value(json_object_get(d, "receipt"));
        if (text)
                fputs(text, f);
        else
                fprintf(f, "%s\n", s_of(d, "pubkey"));
        return 0;
}

/* ---- verify, here ---- */

static int read_text(const char *path, char **ret, Error *err) {
        FILE *f = fopen(path, "re");
        if (!f)
                return error_set(err, -errno, "cannot read %s: %m", path);
        char *buf = xcalloc(1, 65537);
        size_t n = fread(buf, 1, 65536, f);
        bool more = fgetc(f) != EOF;
        fclose(f);
        if (more || strlen(buf) != n) {
                free(buf);
                return error_set(err, -EINVAL, "%s is not a receipt (too long, or binary)", path);
        }
        *ret = buf;
        return 0;
}

/* The public key: --key, --key-file, else the daemon's (not offline). */
static int verify_key(const json_t *args, uint8_t pub[EXAM_KEY_SIZE], Error *err) {
        const char *key = json_string_value(json_object_get(args, "key"));
        const char *file = json_string_value(json_object_get(args, "key_file"));
        _cleanup_free_ char *text = NULL;
        int r;
        if (file) {
                if ((r = read_text(file, &text, err)) < 0)
                        return r;
                key = text;
        }
        json_t *data = NULL;
        if (!key) {
                _cleanup_free_ char *sock = config_client_socket_path();
                /* exam.pubkey reads (exam.receipt --pubkey would be audited as a receipt) */
                json_t *req = json_pack("{s:s, s:{}}", "op", "exam.pubkey", "args");
                r = rpc_call(sock, req, &data, err);
                json_decref(req);
                if (r < 0)
                        return r;
                key = json_string_value(json_object_get(data, "pubkey"));
        }
        r = key && exam_key_from_base64(key, pub) == 0 ? 0 : error_set(err, -EINVAL, "the key is not an Ed25519 "
                                                                                     "public key in base64");
        json_decref(data);
        return r;
}

int cli_exam_verify_run(const json_t *args, bool json) {
        Error err = {0};
        _cleanup_free_ char *text = NULL;
        uint8_t pub[EXAM_KEY_SIZE];
        const char *file = json_string_value(json_object_get(args, "file"));
        int r = read_text(file, &text, &err);
        if (r >= 0)
                r = verify_key(args, pub, &err);
        if (r >= 0)
                r = exam_receipt_verify(text, pub, &err);
        if (json)
                printf("{\"file\": \"%s\", \"valid\": %s%s%s%s}\n", file, r >= 0 ? "true" : "false",
                       r < 0 ? ", \"error\": \"" : "", r < 0 ? err.message : "", r < 0 ? "\"" : "");
        else if (r >= 0)
                printf("%s: a valid receipt, signed by the exam's key\n", file);
        else
                fprintf(stderr, "vmbatch: %s: %s\n", file, err.message);
        return r < 0 ? 1 : 0;
}

static const CliOpt create_opts[] = {
        {"template", CLI_OPT_VALUE}, {"group", CLI_OPT_VALUE}, {"start", CLI_OPT_VALUE},
        {"end", CLI_OPT_VALUE},      {"warm", CLI_OPT_FLAG},   {"warm-ready", CLI_OPT_VALUE},
        {"allow", CLI_OPT_VALUE},    {"no-selftest", CLI_OPT_FLAG}, {},
};
static const CliOpt receipt_opts[] = {{"user", CLI_OPT_VALUE}, {"pubkey", CLI_OPT_FLAG}, {}};
static const CliOpt verify_opts[] = {{"key", CLI_OPT_VALUE}, {"key-file", CLI_OPT_VALUE}, {}};

#define ONE_EXAM .pos_name = "EXAM", .min_pos = 1, .max_pos = 1, .opts = cli_no_opts, .build = build_exam

const CliVerb cli_exam_verbs[] = {
        {
                .name = "create",
                .op = "exam.create",
                .usage = "NAME --template VM --group UG --start TIME --end TIME [--warm [--warm-ready TEXT]]\n"
                         "       [--allow ADDR,...] [--no-selftest]",
                .pos_name = "NAME",
                .min_pos = 1,
                .max_pos = 1,
                .help = "Create an exam (admins): one vm per member of the group, derived from the\n"
                        "template, named exam-NAME-USER, owned by the student, forced isolated.\n"
                        "TIME is local time YYYY-MM-DDTHH:MM[:SS], or +MINUTES from now (+90s, +2h).\n"
                        "At each student's deadline (the end plus their extra time) their vm is\n"
                        "paused, cut off the network and its disc sealed in the collection folder.\n"
                        "--warm: each vm is booted exam_warm_lead (600 s) before the start, as its\n"
                        "student, and paused, its console closed, once its serial console prints\n"
                        "--warm-ready TEXT (default \"login:\"); the start resumes them all.\n"
                        "It is ready (may start) once its isolation self-test passed; --no-selftest\n"
                        "makes it ready without the test (audited).\n",
                .opts = create_opts,
                .build = build_create,
                .print = print_created,
        },
        {
                .name = "list",
                .op = "exam.list",
                .usage = "[--json]",
                .help = "List exams (a student: those they sit).\n",
                .opts = cli_no_opts,
                .build = cli_build_nothing,
                .print = print_list,
        },
        {.name = "show", .op = "exam.show", .usage = "EXAM [--json]",
         .help = "An exam and its members: state, vm, extra time, deadline, sealed hash\n"
                 "(a student sees only their own row).\n",
         ONE_EXAM, .print = print_show},
        {.name = "start", .op = "exam.start", .usage = "EXAM",
         .help = "Start an exam now (admins); one that is not ready is refused with the reason.\n", ONE_EXAM,
         .print = print_state},
        {.name = "selftest", .op = "exam.selftest", .usage = "EXAM",
         .help = "Run the exam's isolation self-test again (admins): two probe vms try every\n"
                 "attack on each other; the exam is not ready until it passes. 'exam show'\n"
                 "prints the result.\n",
         ONE_EXAM, .print = cli_exam_print_selftest_queued},
        {.name = "stop", .op = "exam.stop", .usage = "EXAM",
         .help = "End an exam now (admins): every vm not yet sealed is frozen and sealed.\n", ONE_EXAM,
         .print = print_state},
        {
                .name = "extend",
                .op = "exam.extend",
                .usage = "EXAM USER MINUTES",
                .pos_name = "EXAM USER MINUTES",
                .min_pos = 3,
                .max_pos = 3,
                .help = "Give one student MINUTES more (admins): only their deadline moves.\n",
                .opts = cli_no_opts,
                .build = build_extend,
                .print = print_extended,
        },
        {
                .name = "collect",
                .op = CLI_EXAM_COLLECT_OP,
                .usage = "EXAM DIR [--json]",
                .pos_name = "EXAM DIR",
                .min_pos = 2,
                .max_pos = 2,
                .help = "Copy every sealed disc of the exam into DIR, as you (admins; the discs are\n"
                        "the exam's creator's), each checked against its recorded sha256, with\n"
                        "manifest.json and manifest.csv (student, uid, vm, file, sha256, sealed_at,\n"
                        "late_minutes, extra_minutes, state, error). DIR is made 0700 if missing and\n"
                        "must be yours, writable by you only; nothing in it is overwritten or\n"
                        "followed. Exit status 0 all sealed and copied, 3 some members not sealed\n"
                        "yet (listed without a file), 1 refused or a copy failed or did not match.\n",
                .opts = cli_no_opts,
                .build = build_collect,
        },
        {
                .name = "receipt",
                .op = "exam.receipt",
                .usage = "EXAM [--user USER] | --pubkey",
                .max_pos = 1,
                .help = "Print your signed receipt of a sealed hand-in (exam, vm, sha256, sealed_at);\n"
                        "save it as it is. An admin may name --user. --pubkey prints the public key\n"
                        "that 'vmbatch exam verify' checks receipts with.\n",
                .opts = receipt_opts,
                .build = build_receipt,
                .print = print_receipt,
        },
        {
                .name = "verify",
                .op = CLI_EXAM_VERIFY_OP,
                .usage = "FILE [--key BASE64 | --key-file PATH]",
                .pos_name = "FILE",
                .min_pos = 1,
                .max_pos = 1,
                .help = "Check a receipt's signature here, offline, with the exam key's public half\n"
                        "(from 'vmbatch exam receipt --pubkey'); without --key or --key-file the\n"
                        "daemon is asked for it. Exit status 1 when it does not verify.\n",
                .opts = verify_opts,
                .build = build_verify,
        },
        {},
};
