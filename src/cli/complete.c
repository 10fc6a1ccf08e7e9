/* complete.c - see complete.h */
#include "cli/complete.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/config.h"
#include "basic/util.h"
#include "cli/cli.h"
#include "cli/paper.h"
#include "cli/rpc.h"

/* A NULL-terminated list that keeps only the words starting with its
 * prefix, once each (the daemon's lists may repeat a name: VMs of two
 * owners). */
typedef struct Words {
        char **v;
        size_t n;
        const char *prefix;
} Words;

static void words_add(Words *w, const char *s) {
        if (!s || strncmp(s, w->prefix, strlen(w->prefix)) != 0)
                return;
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->v[i], s))
                        return;
        w->v = xrealloc(w->v, (w->n + 2) * sizeof(char *));
        w->v[w->n++] = xstrdup(s);
        w->v[w->n] = NULL;
}

static void words_addf(Words *w, const char *dashes, const char *name) {
        _cleanup_free_ char *s = xasprintf("%s%s", dashes, name);
        words_add(w, s);
}

static char **words_take(Words *w) {
        if (!w->v)
                return xcalloc(1, sizeof(char *));
        return TAKE_PTR(w->v);
}

static bool words_have(char **v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* What an option's value is. The parser's tables say only whether an
 * option takes a value; which values make sense is known here alone. The
 * two syntaxes share the names they have in common (--vm, --base, paths). */
typedef struct ValueKind {
        const char *opt;
        CliNameKind names;
        bool files;
} ValueKind;

#define NAMES(o, k) {o, k, false}
#define FILES(o) {o, CLI_NAMES_NONE, true}
static const ValueKind value_kinds[] = {
        NAMES("vm", CLI_NAMES_VM),       NAMES("base", CLI_NAMES_VM),         NAMES("vmgroup", CLI_NAMES_VMGROUP),
        NAMES("vmg", CLI_NAMES_VMGROUP), NAMES("group", CLI_NAMES_GROUP),     NAMES("add-group", CLI_NAMES_GROUP),
        NAMES("del-group", CLI_NAMES_GROUP), NAMES("ug", CLI_NAMES_GROUP),   NAMES("delug", CLI_NAMES_GROUP),
        NAMES("user", CLI_NAMES_USER),   NAMES("u", CLI_NAMES_USER),          FILES("usediscs"),
        FILES("kernel"),                 FILES("initrd"),                     FILES("cdrom"),
        FILES("stordir"),                FILES("dbpath"),                     FILES("config"),
};
#undef NAMES
#undef FILES

static void plan_value(const CliOpt *o, CliCompletion *c) {
        for (size_t i = 0; i < ELEMENTSOF(value_kinds); i++)
                if (streq(value_kinds[i].opt, o->name)) {
                        c->names = value_kinds[i].names;
                        c->files = value_kinds[i].files;
                }
}

/* A positional's kind, from the first word of the verb's usage ("VM
 * [--keep-discs]", "VM | --instance N"): the same text the help shows. */
static CliNameKind positional_kind(const CliVerb *v) {
        static const struct {
                const char *word;
                CliNameKind kind;
        } kinds[] = {{"VM", CLI_NAMES_VM}, {"VMGROUP", CLI_NAMES_VMGROUP}, {"GROUP", CLI_NAMES_GROUP},
                     {"USER", CLI_NAMES_USER}};
        size_t len = strcspn(v->usage, " \n");
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (strlen(kinds[i].word) == len && strncmp(v->usage, kinds[i].word, len) == 0)
                        return kinds[i].kind;
        return CLI_NAMES_NONE;
}

static const CliOpt *find_opt(const CliOpt *opts, const char *name, size_t len) {
        for (const CliOpt *o = opts; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        return NULL;
}

/* The words of one option list read as cli_args_parse reads them (args.c),
 * only as far as completion needs: which options were given, how many
 * positionals, and whether the last word wants a value. */
typedef struct Scan {
        const CliOpt *given[64];
        size_t n_given;
        size_t n_pos;
        const CliOpt *pending; /* the last word was this option, its value comes next */
        bool only_pos;         /* after "--" */
        bool action;           /* the paper: an action was given */
} Scan;

/* The option a word names ("--vm", "--vm=x", "-vm" for the paper), or NULL. */
static const CliOpt *word_opt(const char *w, const CliOpt *opts, unsigned flags, const char **ret_value) {
        const char *body;
        *ret_value = NULL;
        if (w[0] != '-' || !w[1])
                return NULL;
        if (w[1] == '-')
                body = w + 2;
        else if (flags & CLI_PARSE_SINGLE_DASH_LONG)
                body = w + 1;
        else
                return NULL;
        size_t len = strcspn(body, "=");
        if (body[len] == '=')
                *ret_value = body + len + 1;
        return find_opt(opts, body, len);
}

static void scan(Scan *s, int n, char **words, const CliOpt *opts, unsigned flags) {
        for (int i = 0; i < n; i++) {
                const char *w = words[i], *inline_value;
                if (s->pending) {
                        /* a value, unless it looks like the next long option */
                        bool is_long = w[0] == '-' && w[1] == '-' && w[2];
                        s->pending = NULL;
                        if (!is_long)
                                continue;
                }
                if (s->only_pos || w[0] != '-' || !w[1]) {
                        s->n_pos++;
                        continue;
                }
                if (streq(w, "--")) {
                        s->only_pos = true;
                        continue;
                }
                const CliOpt *o = word_opt(w, opts, flags, &inline_value);
                if (!o) {
                        if (w[1] != '-' && flags & CLI_PARSE_DASH_POSITIONAL)
                                s->n_pos++;
                        continue;
                }
                if (s->n_given < ELEMENTSOF(s->given))
                        s->given[s->n_given++] = o;
                if (o->flags & CLI_OPT_ACTION)
                        s->action = true;
                if (o->flags & CLI_OPT_VALUE && !inline_value)
                        s->pending = o;
        }
}

static bool scan_given(const Scan *s, const CliOpt *o) {
        for (size_t i = 0; i < s->n_given; i++)
                if (s->given[i] == o)
                        return true;
        return false;
}

/* The options still to offer: those not given yet (a repeatable one
 * always), no second action, and the ones every command takes. */
static void plan_options(const Scan *s, const CliOpt *opts, const char *dashes, Words *w) {
        for (const CliOpt *o = opts; o && o->name; o++) {
                if (scan_given(s, o) && !(o->flags & CLI_OPT_MULTI))
                        continue;
                if (s->action && o->flags & CLI_OPT_ACTION)
                        continue;
                words_addf(w, dashes, o->name);
        }
        words_addf(w, dashes, "help");
        words_addf(w, dashes, "json");
}

/* The current word of an option list: an option's value, an option, or a
 * positional of kind pos_kind while max_pos allow one. */
static void plan_args(int n, char **words, const CliOpt *opts, unsigned flags, CliNameKind pos_kind,
                      size_t max_pos, CliCompletion *c, Words *w) {
        Scan s = {0};
        const char *cur = words[n - 1], *inline_value;
        scan(&s, n - 1, words, opts, flags);

        bool is_long = cur[0] == '-' && cur[1] == '-';
        if (s.pending && !is_long) {
                plan_value(s.pending, c);
                return;
        }
        if (!s.only_pos && cur[0] == '-') {
                const CliOpt *o = strchr(cur, '=') ? word_opt(cur, opts, flags, &inline_value) : NULL;
                if (o) {
                        if (o->flags & CLI_OPT_VALUE) {
                                w->prefix = c->prefix = inline_value;
                                plan_value(o, c);
                        }
                        return;
                }
                /* the paper's prose spells "-isolate": complete in the form begun */
                bool single = !is_long && cur[1] && flags & CLI_PARSE_SINGLE_DASH_LONG;
                plan_options(&s, opts, single ? "-" : "--", w);
                return;
        }
        if (s.n_pos < max_pos) {
                if (s.n_pos == 0)
                        c->names = pos_kind;
                return;
        }
        if (!*cur)
                plan_options(&s, opts, "--", w);
}

static const CliNoun *find_noun(const CliNoun *nouns, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(nouns[i].name, name))
                        return &nouns[i];
        return NULL;
}

/* vmbatch [--json|--help|--version]... [help] NOUN [VERB] ARGS: the words
 * walked as cli_modern_parse walks them (modern.c). */
static void plan_modern(int n, char **words, CliCompletion *c, Words *w) {
        size_t n_nouns;
        const CliNoun *nouns = cli_modern_nouns(&n_nouns);
        const char *cur = words[n - 1];
        int i = 0;

        for (; i < n - 1 && (words[i][0] == '-' || streq(words[i], "help")); i++)
                ;
        if (i == n - 1) {
                if (cur[0] == '-') {
                        words_add(w, "--json");
                        words_add(w, "--help");
                        words_add(w, "--version");
                        return;
                }
                for (size_t k = 0; k < n_nouns; k++)
                        words_add(w, nouns[k].name);
                words_add(w, "help");
                return;
        }
        const CliNoun *noun = find_noun(nouns, n_nouns, words[i++]);
        if (!noun)
                return;

        const CliVerb *verb = &noun->verbs[0];
        if (noun->verbs[0].name) {
                for (; i < n - 1 && words[i][0] == '-'; i++)
                        ;
                if (i == n - 1) {
                        if (cur[0] == '-') {
                                words_add(w, "--help");
                                words_add(w, "--json");
                                return;
                        }
                        for (const CliVerb *v = noun->verbs; v->op; v++)
                                words_add(w, v->name);
                        return;
                }
                for (verb = noun->verbs; verb->op && !streq(verb->name, words[i]); verb++)
                        ;
                if (!verb->op)
                        return;
                i++;
        }
        plan_args(n - i, words + i, verb->opts, verb->parse_flags, positional_kind(verb), verb->max_pos, c, w);
}

void cli_complete_plan(bool paper, int n, char **words, CliCompletion *ret) {
        static char empty[] = "";
        static char *only_empty[] = {empty};
        if (n < 1) {
                n = 1;
                words = only_empty;
        }
        *ret = (CliCompletion){.prefix = words[n - 1]};
        Words w = {.prefix = words[n - 1]};
        if (paper)
                /* no positionals: an empty word gets the options */
                plan_args(n, words, cli_paper_options(), CLI_PARSE_SINGLE_DASH_LONG, CLI_NAMES_NONE, 0, ret, &w);
        else
                plan_modern(n, words, ret, &w);
        ret->words = words_take(&w);
        ret->n_words = w.n;
}

void cli_completion_done(CliCompletion *c) {
        strv_free(c->words);
        *c = (CliCompletion){0};
}

char **cli_complete_list_names(const json_t *list, const char *prefix) {
        Words w = {.prefix = prefix};
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o) words_add(&w, json_string_value(json_object_get(o, "name")));
        return words_take(&w);
}

void cli_complete_vm_names(const json_t *list, uint32_t uid, const char *prefix, char ***ret_own,
                           char ***ret_other) {
        Words own = {.prefix = prefix}, other = {.prefix = prefix};
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o) {
                json_t *owner = json_object_get(o, "owner");
                if (json_is_integer(owner) && json_integer_value(owner) == (json_int_t)uid)
                        words_add(&own, json_string_value(json_object_get(o, "name")));
        }
        json_array_foreach(list, i, o) {
                const char *name = json_string_value(json_object_get(o, "name"));
                if (name && !words_have(own.v, name))
                        words_add(&other, name);
        }
        *ret_own = words_take(&own);
        *ret_other = words_take(&other);
}

/* ---- the daemon, with a deadline: TAB must never hang ---- */

#define CALL_TIMEOUT_USEC 400000ULL
#define TOTAL_BUDGET_USEC 1000000ULL
/* at most this many names of other owners checked one by one (an admin sees
 * every student's VMs, mostly of a few repeated names) */
#define MAX_OTHER_CHECKS 64

/* A connection whose connect, sends and reads give up after
 * CALL_TIMEOUT_USEC (a stopped daemon still accepts into its backlog). */
static int connect_quick(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct timeval tv = {.tv_sec = 0, .tv_usec = CALL_TIMEOUT_USEC};
        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
            connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* One request on fd; NULL on any failure (the completion then just offers
 * less). */
static json_t *ask(int fd, const char *op, json_t *args) {
        json_t *req = json_pack("{s:s, s:o}", "op", op, "args", args ? args : json_object()), *data = NULL;
        Error err = {0};
        int r = req ? rpc_call_fd(fd, req, &data, &err) : -ENOMEM;
        json_decref(req);
        return r < 0 ? NULL : data;
}

static void print_words(char **v) {
        for (; v && *v; v++)
                if (!strpbrk(*v, "\n\t "))
                        printf("%s\n", *v);
}

/* The VM names the caller may type: their own, and those of other owners
 * that resolve, by name, to that very VM (the one admin-owned VM of the
 * name, docs/protocol.md "References"); vm.show tells, as the caller. */
static void print_vm_names(int fd, const json_t *list, const char *prefix, uint64_t deadline) {
        char **own = NULL, **other = NULL;
        cli_complete_vm_names(list, (uint32_t)getuid(), prefix, &own, &other);
        print_words(own);
        for (size_t k = 0; other[k] && k < MAX_OTHER_CHECKS && now_usec() < deadline; k++) {
                json_t *vm = ask(fd, "vm.show", json_pack("{s:s}", "vm", other[k]));
                json_int_t got = json_integer_value(json_object_get(vm, "id"));
                json_decref(vm);
                size_t i;
                json_t *o;
                json_array_foreach(list, i, o) {
                        if (got && streq(json_string_value(json_object_get(o, "name")), other[k]) &&
                            json_integer_value(json_object_get(o, "id")) == got) {
                                printf("%s\n", other[k]);
                                break;
                        }
                }
        }
        strv_free(own);
        strv_free(other);
}

static void print_names(CliNameKind kind, const char *prefix) {
        static const char *const list_ops[] = {
                [CLI_NAMES_VM] = "vm.list",
                [CLI_NAMES_VMGROUP] = "vmgroup.list",
                [CLI_NAMES_GROUP] = "ugroup.list",
                [CLI_NAMES_USER] = "user.list",
        };
        uint64_t deadline = now_usec() + TOTAL_BUDGET_USEC;
        _cleanup_free_ char *path = config_client_socket_path();
        _cleanup_close_ int fd = connect_quick(path);
        if (fd < 0)
                return;
        json_t *list = ask(fd, list_ops[kind], NULL);
        if (kind == CLI_NAMES_VM)
                print_vm_names(fd, list, prefix, deadline);
        else {
                char **names = cli_complete_list_names(list, prefix);
                print_words(names);
                strv_free(names);
        }
        json_decref(list);
}

int cli_complete_main(bool paper, int argc, char **argv) {
        CliCompletion c;
        cli_complete_plan(paper, argc, argv, &c);
        print_words(c.words);
        if (c.names != CLI_NAMES_NONE)
                print_names(c.names, c.prefix);
        int r = c.files ? CLI_COMPLETE_FILES : 0;
        cli_completion_done(&c);
        return fflush(stdout) == 0 ? r : 1;
}
