/* modern.c - "vmbatch NOUN VERB [ARGS]": the verb table and the pure
 * translation of a command line into a protocol request. */
#include "cli/cli.h"

#include <stdio.h>

#include "cli/cmd_exam.h"
#include "cli/memtext.h"

const CliOpt cli_no_opts[] = {{}};

int cli_build_nothing(CliArgs *a, const char *cwd, json_t *args, Error *err) {
        return 0;
}

static const CliNoun nouns[] = {
        {"user", "users known to vmbatch", cli_user_verbs},
        {"group", "user groups", cli_group_verbs},
        {"vmgroup", "VM groups and their IP ranges", cli_vmgroup_verbs},
        {"vm", "virtual machines: define, change, run, stop", cli_vm_verbs},
        {"instance", "running or reserved instances", cli_instance_verbs},
        {"perm", "permissions of users and groups on VMs and VM groups", cli_perm_verbs},
        {"map", "where instances run and how to reach them (the same as instance)", cli_instance_verbs},
        {"audit", "the audit log", cli_audit_verbs},
        {"exam", "exams: a window, one vm per student, sealed hand-ins, receipts", cli_exam_verbs},
        {"init", "initialise the database (once)", cli_init_verbs},
        {"ping", "check that the daemon answers", cli_ping_verbs},
        {"doctor", "check this host: KVM, network, qemu, storage, database", cli_doctor_verbs},
        {"console", "open an instance's console in a browser (a one-time URL)", cli_console_verbs},
};

const CliNoun *cli_modern_nouns(size_t *ret_n) {
        *ret_n = ELEMENTSOF(nouns);
        return nouns;
}

void cli_command_done(CliCommand *c) {
        json_decref(c->request);
        free(c->usage_text);
        *c = (CliCommand){0};
}

int cli_command_build(CliCommand *c, CliArgs *a, const char *cwd, const char *op, cli_build_fn build,
                      cli_print_fn print, const char *where, Error *err) {
        json_t *args = json_object();
        int r = build(a, cwd, args, err);
        if (r >= 0) {
                const CliArgItem *u = cli_args_unused(a);
                if (u)
                        r = error_set(err, -EINVAL, "option '--%s' cannot be used %s", u->opt->name, where);
        }
        if (r < 0) {
                json_decref(args);
                return r;
        }
        c->request = json_pack("{s:s, s:o}", "op", op, "args", args);
        if (!c->request)
                return error_set(err, -ENOMEM, "out of memory");
        c->print = print;
        return 0;
}

static void set_usage(CliCommand *c, char *text) {
        free(c->usage_text);
        c->usage_text = text;
}

static char *global_usage(void) {
        MemText text;
        FILE *f = memtext_open(&text);
        fputs("Usage: vmbatch [--json] COMMAND [ARGS]...\n"
              "\n"
              "Run KVM virtual machines as batch jobs. Every command is carried out by\n"
              "vmbatchd, which checks who you are and what you may do.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(nouns); i++) {
                char verbs[128] = "";
                size_t o = 0;
                for (const CliVerb *v = nouns[i].verbs; v->op && v->name; v++)
                        o += (size_t)snprintf(verbs + o, sizeof(verbs) - o, "%s%s", o ? "|" : "", v->name);
                char left[160];
                snprintf(left, sizeof(left), "%s%s%s", nouns[i].name, o ? " " : "", verbs);
                if (strlen(left) > 28)
                        fprintf(f, "  %s\n  %-28s %s\n", left, "", nouns[i].summary);
                else
                        fprintf(f, "  %-28s %s\n", left, nouns[i].summary);
        }
        fputs("\n"
              "Options:\n"
              "  --json      print the daemon's answer as JSON (lists and show)\n"
              "  --help      show help (also after any command)\n"
              "  --version   show the version\n"
              "\n"
              "Run 'vmbatch COMMAND --help' for a command's options. Invoked as vmapp, the\n"
              "syntax of the original paper is accepted instead (see vmapp(1)).\n",
              f);
        return memtext_close(&text);
}

static char *noun_usage(const CliNoun *n) {
        MemText text;
        FILE *f = memtext_open(&text);
        bool first = true;
        for (const CliVerb *v = n->verbs; v->op; v++) {
                fprintf(f, "%s vmbatch %s%s%s%s%s\n", first ? "Usage:" : "      ", n->name, v->name ? " " : "",
                        v->name ? v->name : "", *v->usage ? " " : "", v->usage);
                first = false;
        }
        fprintf(f, "\n%s: %s.\n", n->name, n->summary);
        if (n->verbs[0].name)
                fprintf(f, "Run 'vmbatch %s VERB --help' for details.\n", n->name);
        return memtext_close(&text);
}

static char *verb_usage(const CliNoun *n, const CliVerb *v) {
        return xasprintf("Usage: vmbatch %s%s%s%s%s\n\n%s", n->name, v->name ? " " : "", v->name ? v->name : "",
                         *v->usage ? " " : "", v->usage, v->help ? v->help : "");
}

static const CliNoun *find_noun(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(nouns); i++)
                if (streq(nouns[i].name, name))
                        return &nouns[i];
        return NULL;
}

static const CliVerb *find_verb(const CliNoun *n, const char *name) {
        for (const CliVerb *v = n->verbs; v->op; v++)
                if (streq(v->name, name))
                        return v;
        return NULL;
}

static bool is_help(const char *w) {
        return streq(w, "--help") || streq(w, "-h");
}

/* Build the request for verb v from the words argv[0..argc). */
static int run_verb(const CliVerb *v, int argc, char **argv, const char *cwd, CliCommand *c, Error *err) {
        _cleanup_(cli_args_done) CliArgs a = {0};
        int r;

        r = cli_args_parse(&a, argc, argv, v->opts, v->parse_flags, err);
        if (r < 0)
                return r;
        c->json = c->json || a.json;
        if (a.help || a.version) {
                c->help = a.help;
                c->version = !a.help && a.version;
                return CLI_HELP;
        }
        if (v->select)
                v = v->select(&a);
        if (a.n_pos < v->min_pos)
                return error_set(err, -EINVAL, "missing %s", v->pos_name ? v->pos_name : "argument");
        if (a.n_pos > v->max_pos)
                return error_set(err, -EINVAL, "unexpected argument '%s'", a.pos[v->max_pos]);

        return cli_command_build(c, &a, cwd, v->op, v->build, v->print, "here", err);
}

int cli_modern_parse(int argc, char **argv, const char *cwd, CliCommand *c, Error *err) {
        int i = 1;

        snprintf(c->hint, sizeof(c->hint), "vmbatch --help");
        set_usage(c, global_usage());

        for (; i < argc; i++) {
                const char *w = argv[i];
                if (streq(w, "--json"))
                        c->json = true;
                else if (is_help(w))
                        c->help = true;
                else if (streq(w, "--version"))
                        c->version = true;
                else if (streq(w, "--"))
                        continue;
                else if (w[0] == '-' && w[1])
                        return error_set(err, -EINVAL, "unknown option '%s'", w);
                else
                        break;
        }
        if (i < argc && streq(argv[i], "help")) {
                c->help = true;
                i++;
        }
        if (i == argc) {
                if (c->help || c->version)
                        return CLI_HELP;
                return error_set(err, -EINVAL, "missing command");
        }

        const CliNoun *n = find_noun(argv[i]);
        if (!n)
                return error_set(err, -EINVAL, "unknown command '%s'", argv[i]);
        i++;

        const CliVerb *v;
        if (!n->verbs[0].name)
                v = &n->verbs[0];
        else {
                snprintf(c->hint, sizeof(c->hint), "vmbatch %s --help", n->name);
                set_usage(c, noun_usage(n));
                for (; i < argc && argv[i][0] == '-'; i++) {
                        if (is_help(argv[i]))
                                c->help = true;
                        else if (streq(argv[i], "--json"))
                                c->json = true;
                        else
                                return error_set(err, -EINVAL, "unknown option '%s'", argv[i]);
                }
                if (i == argc) {
                        if (c->help || c->version)
                                return CLI_HELP;
                        return error_set(err, -EINVAL, "missing subcommand for '%s'", n->name);
                }
                v = find_verb(n, argv[i]);
                if (!v)
                        return error_set(err, -EINVAL, "unknown %s command '%s'", n->name, argv[i]);
                i++;
        }

        snprintf(c->hint, sizeof(c->hint), "vmbatch %s%s%s --help", n->name, v->name ? " " : "",
                 v->name ? v->name : "");
        set_usage(c, verb_usage(n, v));
        if (c->help || c->version)
                return CLI_HELP;
        return run_verb(v, argc - i, argv + i, cwd, c, err);
}

int cli_modern_to_request(int argc, char **argv, const char *cwd, json_t **ret_req, Error *err) {
        _cleanup_(cli_command_done) CliCommand c = {0};
        int r = cli_modern_parse(argc, argv, cwd, &c, err);
        if (r != 0)
                return r;
        *ret_req = TAKE_PTR(c.request);
        return 0;
}
