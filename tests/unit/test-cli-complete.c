/* test-cli-complete.c - the pure part of the shell completion
 * (cli/complete.h): which words, names or paths each position of a modern
 * or paper command line gets, and how a daemon's lists become names. No
 * daemon: tests/integration/test-completion.sh runs the real thing. */
#include <stdio.h>

#include "basic/util.h"
#include "cli/complete.h"
#include "tap.h"

/* Split at blanks; a trailing blank leaves an empty current word. */
static char **split(const char *line, int *ret_n) {
        char **v = xcalloc(strlen(line) + 2, sizeof(char *));
        int n = 0;
        const char *p = line;
        for (;;) {
                size_t len = strcspn(p, " ");
                v[n++] = strndup(p, len);
                if (!p[len])
                        break;
                p += len + 1;
        }
        *ret_n = n;
        return v;
}

static CliCompletion plan(bool paper, const char *line) {
        int n;
        char **v = split(line, &n);
        CliCompletion c;
        cli_complete_plan(paper, n, v, &c);
        /* prefix points into v: keep it valid for the checks */
        c.prefix = c.prefix ? xstrdup(c.prefix) : NULL;
        strv_free(v);
        return c;
}

static void done(CliCompletion *c) {
        free((char *)c->prefix);
        cli_completion_done(c);
}

static bool has(const CliCompletion *c, const char *w) {
        for (char **p = c->words; *p; p++)
                if (streq(*p, w))
                        return true;
        return false;
}

static bool all_start_with(const CliCompletion *c, const char *pre) {
        for (char **p = c->words; *p; p++)
                if (strncmp(*p, pre, strlen(pre)) != 0)
                        return false;
        return true;
}

/* Words that get names (or a path) and nothing else: one row each. */
static const struct {
        bool paper;
        const char *line;
        CliNameKind names;
        bool files;
        const char *name;
} name_rows[] = {
        {false, "vm stop ", CLI_NAMES_VM, false, "vmbatch vm stop <TAB>: VM names (usage 'VM | --instance N')"},
        {false, "vm add x --base ", CLI_NAMES_VM, false, "vm add --base <TAB>: VM names"},
        {false, "perm set --user ", CLI_NAMES_USER, false, "perm set --user <TAB>: users"},
        {false, "user add x --group ", CLI_NAMES_GROUP, false, "user add --group <TAB>: user groups"},
        {false, "group del ", CLI_NAMES_GROUP, false, "group del <TAB>: user groups"},
        {false, "vmgroup mod ", CLI_NAMES_VMGROUP, false, "vmgroup mod <TAB>: VM groups"},
        {true, "--vmadd --name x --vmg ", CLI_NAMES_VMGROUP, false, "vmapp --vmadd --vmg <TAB>: VM groups"},
        {true, "--uadd --name x --ug ", CLI_NAMES_GROUP, false, "vmapp --uadd --ug <TAB>: user groups"},
        {true, "--permset +r --u ", CLI_NAMES_USER, false, "vmapp --permset +r --u <TAB>: users"},
        {false, "vm add x --kernel ", CLI_NAMES_NONE, true, "vm add --kernel <TAB>: a path"},
        {true, "--vmadd --usediscs ", CLI_NAMES_NONE, true, "vmapp --vmadd --usediscs <TAB>: a path"},
};

static void test_name_rows(void) {
        for (size_t i = 0; i < ELEMENTSOF(name_rows); i++) {
                CliCompletion c = plan(name_rows[i].paper, name_rows[i].line);
                ok(c.names == name_rows[i].names && c.files == name_rows[i].files && c.n_words == 0, "%s",
                   name_rows[i].name);
                done(&c);
        }
}

static void test_modern(void) {
        CliCompletion c = plan(false, "");
        ok(has(&c, "vm") && has(&c, "user") && has(&c, "vmgroup") && has(&c, "doctor") && has(&c, "help"),
           "vmbatch <TAB>: the nouns and help");
        ok(!has(&c, "run") && c.names == CLI_NAMES_NONE && !c.files, "vmbatch <TAB>: no verb, no names");
        done(&c);

        c = plan(false, "v");
        ok(has(&c, "vm") && has(&c, "vmgroup") && !has(&c, "user") && c.n_words == 2, "vmbatch v<TAB>: vm, vmgroup");
        done(&c);

        c = plan(false, "--");
        ok(has(&c, "--json") && has(&c, "--help") && has(&c, "--version") && !has(&c, "vm"),
           "vmbatch --<TAB>: the global options");
        done(&c);

        c = plan(false, "vm ");
        ok(has(&c, "run") && has(&c, "list") && has(&c, "add") && has(&c, "resume") && !has(&c, "vm"),
           "vmbatch vm <TAB>: the vm verbs");
        is_int(c.n_words, 9, "vmbatch vm <TAB>: as many as the table has");
        done(&c);

        c = plan(false, "--json vm r");
        ok(has(&c, "run") && has(&c, "resume") && c.n_words == 2, "vmbatch --json vm r<TAB>: run, resume");
        done(&c);

        c = plan(false, "vm run ");
        is_int(c.names, CLI_NAMES_VM, "vmbatch vm run <TAB>: VM names");
        is_int(c.n_words, 0, "vmbatch vm run <TAB>: nothing else");
        done(&c);

        c = plan(false, "vm run my");
        ok(c.names == CLI_NAMES_VM && streq(c.prefix, "my"), "vmbatch vm run my<TAB>: VM names starting with my");
        done(&c);

        c = plan(false, "vm run --");
        ok(has(&c, "--isolate") && has(&c, "--no-start") && has(&c, "--help") && c.names == CLI_NAMES_NONE,
           "vmbatch vm run --<TAB>: run's options");
        ok(!has(&c, "--keep-discs"), "vmbatch vm run --<TAB>: not another verb's");
        done(&c);

        c = plan(false, "vm run myvm --isolate ");
        ok(has(&c, "--mem") && !has(&c, "--isolate") && c.names == CLI_NAMES_NONE,
           "vmbatch vm run myvm --isolate <TAB>: the options left (its VM is given)");
        done(&c);

        c = plan(false, "vm add x ");
        ok(c.names == CLI_NAMES_NONE && has(&c, "--base"), "vm add NAME <TAB>: the new name is given, options");
        done(&c);

        c = plan(false, "vm add ");
        ok(c.names == CLI_NAMES_NONE && c.n_words == 0, "vm add <TAB>: a new name, nothing to offer");
        done(&c);

        c = plan(false, "vm add x --vmgroup=la");
        ok(c.names == CLI_NAMES_VMGROUP && streq(c.prefix, "la"), "vm add --vmgroup=la<TAB>: VM groups from la");
        done(&c);

        c = plan(false, "vm add x --mem ");
        ok(!c.files && c.names == CLI_NAMES_NONE && c.n_words == 0, "vm add --mem <TAB>: a size, nothing to offer");
        done(&c);

        c = plan(false, "nosuch ");
        ok(c.n_words == 0 && c.names == CLI_NAMES_NONE, "an unknown noun: nothing");
        done(&c);

        c = plan(false, "doctor --");
        ok(has(&c, "--config") && has(&c, "--node"), "doctor (no verbs) --<TAB>: its options");
        done(&c);
}

static void test_paper(void) {
        CliCompletion c = plan(true, "--vm");
        ok(has(&c, "--vmrun") && has(&c, "--vmadd") && has(&c, "--vmlist") && has(&c, "--vmdel") &&
                   has(&c, "--vm") && has(&c, "--vmg"),
           "vmapp --vm<TAB>: the actions and options from --vm");
        ok(all_start_with(&c, "--vm") && !has(&c, "--ulist"), "vmapp --vm<TAB>: only those");
        done(&c);

        c = plan(true, "");
        ok(has(&c, "--ulist") && has(&c, "--vmrun") && has(&c, "--isolate") && has(&c, "--json"),
           "vmapp <TAB>: every option");
        done(&c);

        c = plan(true, "--vmrun --");
        ok(has(&c, "--isolate") && has(&c, "--vm") && !has(&c, "--vmrun") && !has(&c, "--vmadd"),
           "vmapp --vmrun --<TAB>: options, no second action");
        done(&c);

        c = plan(true, "--vmrun --vm ");
        ok(c.names == CLI_NAMES_VM && c.n_words == 0, "vmapp --vmrun --vm <TAB>: VM names");
        done(&c);

        c = plan(true, "--vmrun --vm=my");
        ok(c.names == CLI_NAMES_VM && streq(c.prefix, "my"), "vmapp --vmrun --vm=my<TAB>: VM names from my");
        done(&c);

        c = plan(true, "--vmrun --vm myvm ");
        ok(c.names == CLI_NAMES_NONE && has(&c, "--isolate") && !has(&c, "--vm"),
           "vmapp --vmrun --vm myvm <TAB>: the options left");
        done(&c);

        c = plan(true, "--uadd --ug a --");
        ok(has(&c, "--ug"), "vmapp --ug a --<TAB>: --ug again (it repeats)");
        done(&c);

        c = plan(true, "--permset ");
        ok(c.names == CLI_NAMES_NONE && c.n_words == 0, "vmapp --permset <TAB>: its value, nothing to offer");
        done(&c);

        c = plan(true, "--vmrun -is");
        ok(has(&c, "-isolate") && c.n_words == 1, "vmapp --vmrun -is<TAB>: the paper's single-dash spelling");
        done(&c);
}

static json_t *vms(void) {
        return json_loads("[{\"id\": 1, \"name\": \"tmpl\", \"owner\": 1000},"
                          " {\"id\": 2, \"name\": \"myvm\", \"owner\": 1001},"
                          " {\"id\": 3, \"name\": \"other\", \"owner\": 1002},"
                          " {\"id\": 4, \"name\": \"myvm\", \"owner\": 1002},"
                          " {\"id\": 5, \"name\": \"mine2\", \"owner\": 1001},"
                          " {\"id\": 6, \"name\": \"other\", \"owner\": 1003}]",
                          0, NULL);
}

static void test_names(void) {
        json_t *list = vms();
        char **own, **other;
        cli_complete_vm_names(list, 1001, "", &own, &other);
        ok(own[0] && streq(own[0], "myvm") && own[1] && streq(own[1], "mine2") && !own[2],
           "vm names: the caller's own, in order");
        ok(other[0] && streq(other[0], "tmpl") && other[1] && streq(other[1], "other") && !other[2],
           "vm names: the others to ask about, once each, none shadowed by an own name");
        strv_free(own);
        strv_free(other);

        cli_complete_vm_names(list, 1001, "mi", &own, &other);
        ok(own[0] && streq(own[0], "mine2") && !own[1] && !other[0], "vm names: the prefix");
        strv_free(own);
        strv_free(other);

        cli_complete_vm_names(NULL, 1001, "", &own, &other);
        ok(!own[0] && !other[0], "vm names: no answer, no names");
        strv_free(own);
        strv_free(other);
        json_decref(list);

        list = json_loads("[{\"id\": 0, \"name\": \"admin\"}, {\"id\": 1, \"name\": \"all_users\"},"
                          " {\"id\": 10, \"name\": \"studs\"}, {\"id\": 11}]",
                          0, NULL);
        char **names = cli_complete_list_names(list, "a");
        ok(names[0] && streq(names[0], "admin") && names[1] && streq(names[1], "all_users") && !names[2],
           "list names: those from the prefix, an object without a name skipped");
        strv_free(names);
        json_decref(list);
}

int main(void) {
        test_modern();
        test_paper();
        test_name_rows();
        test_names();
        return tap_done();
}
