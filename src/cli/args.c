/* args.c - see args.h */
#include "cli/args.h"

#include <arpa/inet.h>
#include <ctype.h>

static const CliOpt *find_opt(const CliOpt *opts, const char *name, size_t len) {
        for (const CliOpt *o = opts; o && o->name; o++)
                if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                        return o;
        return NULL;
}

static bool looks_like_long_option(const char *s) {
        return s[0] == '-' && s[1] == '-' && s[2] != 0;
}

static bool is_global(const char *body, size_t len, const char *name) {
        return strlen(name) == len && strncmp(body, name, len) == 0;
}

int cli_args_parse(CliArgs *a, int argc, char **argv, const CliOpt *opts, unsigned flags, Error *err) {
        Error first = {0};
        bool only_pos = false;

        a->items = xcalloc((size_t)argc + 1, sizeof(CliArgItem));
        a->pos = xcalloc((size_t)argc + 1, sizeof(char *));

        for (int i = 0; i < argc; i++) {
                const char *w = argv[i];
                const char *body;

                if (only_pos || w[0] != '-' || w[1] == 0) {
                        a->pos[a->n_pos++] = w;
                        continue;
                }
                if (streq(w, "--")) {
                        only_pos = true;
                        continue;
                }
                if (streq(w, "-h")) {
                        a->help = true;
                        continue;
                }
                if (w[1] == '-')
                        body = w + 2;
                else if (flags & CLI_PARSE_SINGLE_DASH_LONG && w[2] != 0 &&
                         find_opt(opts, w + 1, strcspn(w + 1, "=")))
                        body = w + 1;
                else if (flags & CLI_PARSE_DASH_POSITIONAL) {
                        a->pos[a->n_pos++] = w;
                        continue;
                } else {
                        error_set(&first, -EINVAL, "unknown option '%s'", w);
                        continue;
                }

                size_t len = strcspn(body, "=");
                const char *inline_value = body[len] == '=' ? body + len + 1 : NULL;

                if (is_global(body, len, "help")) {
                        a->help = true;
                        continue;
                }
                if (is_global(body, len, "json") && !inline_value) {
                        a->json = true;
                        continue;
                }
                if (is_global(body, len, "version") && !inline_value && !find_opt(opts, body, len)) {
                        a->version = true;
                        continue;
                }

                const CliOpt *o = find_opt(opts, body, len);
                if (!o) {
                        error_set(&first, -EINVAL, "unknown option '%.*s'", (int)(body - w + len), w);
                        continue;
                }

                const char *value = NULL;
                if (o->flags & CLI_OPT_VALUE) {
                        if (inline_value)
                                value = inline_value;
                        else if (i + 1 < argc && !looks_like_long_option(argv[i + 1]))
                                value = argv[++i];
                        else {
                                error_set(&first, -EINVAL, "option '--%s' requires a value", o->name);
                                continue;
                        }
                } else if (inline_value) {
                        error_set(&first, -EINVAL, "option '--%s' does not take a value", o->name);
                        continue;
                }

                if (!(o->flags & CLI_OPT_MULTI)) {
                        bool dup = false;
                        for (size_t k = 0; k < a->n_items; k++)
                                if (a->items[k].opt == o)
                                        dup = true;
                        if (dup) {
                                error_set(&first, -EINVAL, "option '--%s' given more than once", o->name);
                                continue;
                        }
                }
                a->items[a->n_items++] = (CliArgItem){.opt = o, .value = value};
        }

        if (first.code < 0 && !a->help) {
                if (err && err->code == 0)
                        *err = first;
                return first.code;
        }
        return 0;
}

void cli_args_done(CliArgs *a) {
        free(a->items);
        free(a->pos);
        *a = (CliArgs){0};
}

const char *cli_args_value(CliArgs *a, const char *name) {
        for (size_t k = 0; k < a->n_items; k++)
                if (streq(a->items[k].opt->name, name)) {
                        a->items[k].used = true;
                        return a->items[k].value;
                }
        return NULL;
}

bool cli_args_flag(CliArgs *a, const char *name) {
        for (size_t k = 0; k < a->n_items; k++)
                if (streq(a->items[k].opt->name, name)) {
                        a->items[k].used = true;
                        return true;
                }
        return false;
}

const char *cli_args_next(CliArgs *a, const char *name, size_t *idx) {
        for (; *idx < a->n_items; (*idx)++)
                if (streq(a->items[*idx].opt->name, name)) {
                        a->items[*idx].used = true;
                        return a->items[(*idx)++].value;
                }
        return NULL;
}

const CliArgItem *cli_args_unused(const CliArgs *a) {
        for (size_t k = 0; k < a->n_items; k++)
                if (!a->items[k].used)
                        return &a->items[k];
        return NULL;
}

/* ---- values ---- */

int cli_parse_u32(const char *value, const char *what, uint32_t *ret, Error *err) {
        if (parse_u32(value, ret) < 0)
                return error_set(err, -EINVAL, "invalid number '%s' for %s", value, what);
        return 0;
}

int cli_parse_size(const char *value, const char *what, uint64_t *ret, Error *err) {
        if (parse_size(value, ret) < 0)
                return error_set(err, -EINVAL, "invalid size '%s' for %s (use e.g. 512M, 5G)", value, what);
        return 0;
}

int cli_put_string(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        if (!value)
                return 0;
        json_t *s = json_string(value);
        if (!s)
                return error_set(err, -EINVAL, "%s is not valid UTF-8", what);
        json_object_set_new(o, key, s);
        return 0;
}

int cli_put_u32(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        uint32_t v;
        if (!value)
                return 0;
        int r = cli_parse_u32(value, what, &v, err);
        if (r < 0)
                return r;
        json_object_set_new(o, key, json_integer(v));
        return 0;
}

int cli_put_count(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        uint32_t v;
        if (!value)
                return 0;
        if (parse_u32(value, &v) < 0 || v == 0)
                return error_set(err, -EINVAL, "invalid number '%s' for %s (must be at least 1)", value, what);
        json_object_set_new(o, key, json_integer(v));
        return 0;
}

int cli_put_duration(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        uint64_t v;
        if (!value)
                return 0;
        if (parse_duration(value, &v) < 0 || v == 0 || v > 366ULL * 86400)
                return error_set(err, -EINVAL, "invalid duration '%s' for %s (e.g. 90m, 2h; at most 366d)", value,
                                 what);
        json_object_set_new(o, key, json_integer((json_int_t)v));
        return 0;
}

static int put_size(json_t *o, const char *key, const char *value, const char *what, bool nonzero, Error *err) {
        uint64_t v;
        if (!value)
                return 0;
        int r = cli_parse_size(value, what, &v, err);
        if (r < 0)
                return r;
        if (nonzero && v == 0)
                return error_set(err, -EINVAL, "invalid size '%s' for %s (must not be zero)", value, what);
        if (v > (uint64_t)INT64_MAX)
                return error_set(err, -EINVAL, "invalid size '%s' for %s (too large)", value, what);
        json_object_set_new(o, key, json_integer((json_int_t)v));
        return 0;
}

int cli_put_size(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        return put_size(o, key, value, what, false, err);
}

int cli_put_nzsize(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        return put_size(o, key, value, what, true, err);
}

static bool all_digits(const char *s) {
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isdigit((unsigned char)*s))
                        return false;
        return true;
}

static int make_ref(const char *value, const char *what, json_t **ret, Error *err) {
        if (isempty(value))
                return error_set(err, -EINVAL, "empty name or id for %s", what);
        if (all_digits(value)) {
                uint32_t id;
                if (parse_u32(value, &id) < 0)
                        return error_set(err, -EINVAL, "invalid id '%s' for %s", value, what);
                *ret = json_integer(id);
                return 0;
        }
        json_t *s = json_string(value);
        if (!s)
                return error_set(err, -EINVAL, "%s is not valid UTF-8", what);
        *ret = s;
        return 0;
}

int cli_put_ref(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        json_t *v;
        if (!value)
                return 0;
        int r = make_ref(value, what, &v, err);
        if (r < 0)
                return r;
        json_object_set_new(o, key, v);
        return 0;
}

int cli_put_path(json_t *o, const char *key, const char *value, const char *cwd, const char *what, Error *err) {
        _cleanup_free_ char *abs = NULL;
        if (!value)
                return 0;
        if (isempty(value))
                return error_set(err, -EINVAL, "empty path for %s", what);
        if (cli_path_absolute(value, cwd, &abs) < 0)
                return error_set(err, -EINVAL, "cannot make path '%s' for %s absolute", value, what);
        return cli_put_string(o, key, abs, what, err);
}

static int parse_ipv4(const char *s, size_t len, uint32_t *ret) {
        char buf[INET_ADDRSTRLEN];
        struct in_addr a;
        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        if (inet_pton(AF_INET, buf, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

int cli_check_iprange(const char *value, const char *what, Error *err) {
        const char *dash = strchr(value, '-');
        uint32_t first, last;
        if (!dash || parse_ipv4(value, (size_t)(dash - value), &first) < 0 ||
            parse_ipv4(dash + 1, strlen(dash + 1), &last) < 0)
                return error_set(err, -EINVAL, "invalid IP range '%s' for %s (expected A.B.C.D-E.F.G.H)", value,
                                 what);
        if (first > last)
                return error_set(err, -EINVAL, "invalid IP range '%s' for %s (first address after last)", value,
                                 what);
        return 0;
}

int cli_put_iprange(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        if (!value)
                return 0;
        int r = cli_check_iprange(value, what, err);
        if (r < 0)
                return r;
        json_object_set_new(o, key, json_string(value));
        return 0;
}

void cli_put_bool(json_t *o, const char *key, bool flag, bool b) {
        if (flag)
                json_object_set_new(o, key, json_boolean(b));
}

/* Split a comma list; one trailing comma is allowed ("5G,"), other empty
 * items are not. Calls fn for each item. */
typedef int (*item_fn)(json_t *arr, const char *item, const char *what, const char *cwd, Error *err);

static int split_list(json_t *arr, const char *value, const char *what, const char *cwd, item_fn fn,
                      Error *err) {
        _cleanup_free_ char *copy = xstrdup(value);
        size_t n = 0;
        char *p = copy;

        if (!value)
                return 0;
        for (;;) {
                char *comma = strchr(p, ',');
                if (comma)
                        *comma = 0;
                if (*p == 0) {
                        if (!comma && n > 0)
                                break; /* trailing comma */
                        return error_set(err, -EINVAL, "empty item in list '%s' for %s", value, what);
                }
                int r = fn(arr, p, what, cwd, err);
                if (r < 0)
                        return r;
                n++;
                if (!comma)
                        break;
                p = comma + 1;
        }
        return 0;
}

static int size_item(json_t *arr, const char *item, const char *what, const char *cwd, Error *err) {
        uint64_t v;
        int r = cli_parse_size(item, what, &v, err);
        if (r < 0)
                return r;
        if (v == 0 || v > (uint64_t)INT64_MAX)
                return error_set(err, -EINVAL, "invalid size '%s' for %s (must not be zero)", item, what);
        json_array_append_new(arr, json_integer((json_int_t)v));
        return 0;
}

static int ref_item(json_t *arr, const char *item, const char *what, const char *cwd, Error *err) {
        json_t *v;
        int r = make_ref(item, what, &v, err);
        if (r < 0)
                return r;
        json_array_append_new(arr, v);
        return 0;
}

static int path_item(json_t *arr, const char *item, const char *what, const char *cwd, Error *err) {
        _cleanup_free_ char *abs = NULL;
        if (cli_path_absolute(item, cwd, &abs) < 0)
                return error_set(err, -EINVAL, "cannot make path '%s' for %s absolute", item, what);
        json_t *s = json_string(abs);
        if (!s)
                return error_set(err, -EINVAL, "%s is not valid UTF-8", what);
        json_array_append_new(arr, s);
        return 0;
}

static const struct {
        char letter;
        const char *word;
        const char *key;
} perm_bits[] = {
        {'r', "run", "run"},
        {'m', "modify", "modify"},
        {'d', "derive", "derive"},
        {'i', "force_isolated", "force_isolated"},
};

static int perm_item(json_t *o, const char *item, const char *spec, Error *err) {
        bool grant;
        if (item[0] == '+')
                grant = true;
        else if (item[0] == '-')
                grant = false;
        else
                return error_set(err, -EINVAL,
                                 "invalid permission '%s' in '%s' (expected + or - followed by r, m, d or i)", item,
                                 spec);
        const char *letters = item + 1;
        if (*letters == 0)
                return error_set(err, -EINVAL, "invalid permission '%s' in '%s' (no permission letter)", item,
                                 spec);

        /* a whole word? */
        for (size_t k = 0; k < ELEMENTSOF(perm_bits); k++)
                if (streq(letters, perm_bits[k].word) ||
                    (streq(perm_bits[k].word, "force_isolated") && streq(letters, "isolated"))) {
                        json_object_set_new(o, perm_bits[k].key, json_boolean(grant));
                        return 0;
                }

        for (const char *p = letters; *p; p++) {
                size_t k;
                for (k = 0; k < ELEMENTSOF(perm_bits); k++)
                        if (perm_bits[k].letter == *p)
                                break;
                if (k == ELEMENTSOF(perm_bits))
                        return error_set(err, -EINVAL,
                                         "invalid permission '%s' in '%s' (letters are r=run, m=modify, d=derive, "
                                         "i=force_isolated)",
                                         item, spec);
                json_object_set_new(o, perm_bits[k].key, json_boolean(grant));
        }
        return 0;
}

int cli_perm_spec(json_t *o, const char *spec, Error *err) {
        _cleanup_free_ char *copy = xstrdup(spec);
        char *p = copy;

        if (isempty(spec))
                return error_set(err, -EINVAL, "empty permission list");
        for (;;) {
                char *comma = strchr(p, ',');
                if (comma)
                        *comma = 0;
                if (*p == 0) {
                        if (!comma && p != copy)
                                break; /* trailing comma */
                        return error_set(err, -EINVAL, "empty item in permission list '%s'", spec);
                }
                int r = perm_item(o, p, spec, err);
                if (r < 0)
                        return r;
                if (!comma)
                        break;
                p = comma + 1;
        }
        return 0;
}

int cli_path_absolute(const char *path, const char *cwd, char **ret) {
        if (isempty(path))
                return -EINVAL;
        if (path[0] != '/' && (isempty(cwd) || cwd[0] != '/'))
                return -EINVAL;

        _cleanup_free_ char *joined = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", cwd, path);
        size_t n = strlen(joined);
        _cleanup_free_ char *out = xcalloc(n + 2, 1);
        size_t o = 0;

        /* walk the components of joined, building out */
        const char *p = joined;
        while (*p) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                size_t len = strcspn(p, "/");
                if (len == 1 && p[0] == '.') {
                        /* skip */
                } else if (len == 2 && p[0] == '.' && p[1] == '.') {
                        /* drop the last component of out ("/.." is "/") */
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        if (o > 0)
                                o--;
                } else {
                        out[o++] = '/';
                        memcpy(out + o, p, len);
                        o += len;
                }
                p += len;
        }
        if (o == 0)
                out[o++] = '/';
        out[o] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int cli_put_name(json_t *o, const char *key, const char *value, const char *what, Error *err) {
        if (!value)
                return 0;
        if (*value == 0)
                return error_set(err, -EINVAL, "empty name for %s", what);
        return cli_put_string(o, key, value, what, err);
}

/* All values of the multi option opt, each a comma list of items for fn,
 * as the array o[key]: 1 when anything was given, 0 (o[key] not set) when
 * not, or -EINVAL. */
static int put_lists(CliArgs *a, const char *opt, item_fn fn, const char *cwd, json_t *o, const char *key,
                     Error *err) {
        json_t *arr = json_array();
        size_t idx = 0;
        const char *v;
        _cleanup_free_ char *what = xasprintf("--%s", opt);

        while ((v = cli_args_next(a, opt, &idx))) {
                int r = split_list(arr, v, what, cwd, fn, err);
                if (r < 0) {
                        json_decref(arr);
                        return r;
                }
        }
        if (json_array_size(arr) == 0) {
                json_decref(arr);
                return 0;
        }
        json_object_set_new(o, key, arr);
        return 1;
}

int cli_put_ref_lists(CliArgs *a, const char *opt, json_t *o, const char *key, Error *err) {
        return put_lists(a, opt, ref_item, NULL, o, key, err);
}

/* mem, vcpus, derivable, desc, kernel, initrd, cmdline (initrd/cmdline need
 * a kernel) */
static int put_vm_settings(CliArgs *a, const char *cwd, bool derivable, json_t *args, Error *err) {
        const char *kernel = cli_args_value(a, "kernel"), *initrd = cli_args_value(a, "initrd"),
                   *cmdline = cli_args_value(a, "cmdline");
        int r;
        if (!kernel && (initrd || cmdline))
                return error_set(err, -EINVAL, "--initrd and --cmdline need --kernel");
        if ((r = cli_put_nzsize(args, "mem", cli_args_value(a, "mem"), "--mem", err)) < 0 ||
            (r = cli_put_count(args, "vcpus", cli_args_value(a, "vcpus"), "--vcpus", err)) < 0)
                return r;
        cli_put_bool(args, "derivable", derivable, true);
        if ((r = cli_put_string(args, "desc", cli_args_value(a, "desc"), "--desc", err)) < 0 ||
            (r = cli_put_path(args, "kernel", kernel, cwd, "--kernel", err)) < 0 ||
            (r = cli_put_path(args, "initrd", initrd, cwd, "--initrd", err)) < 0 ||
            (r = cli_put_string(args, "cmdline", cmdline, "--cmdline", err)) < 0)
                return r;
        return 0;
}

int cli_put_vm_add_options(CliArgs *a, const char *cwd, const char *sizes_opt, json_t *args, Error *err) {
        const char *base = cli_args_value(a, "base");
        bool derivable = cli_args_flag(a, "derivable");
        int sizes, copies, r;

        if ((sizes = put_lists(a, sizes_opt, size_item, NULL, args, "disc_sizes", err)) < 0)
                return sizes;
        if ((copies = put_lists(a, "usediscs", path_item, cwd, args, "usediscs", err)) < 0)
                return copies;
        if ((r = cli_put_ref(args, "base", base, "--base", err)) < 0)
                return r;
        if (sizes + copies + !!base != 1)
                return error_set(err, -EINVAL, "give exactly one of --%s, --usediscs or --base", sizes_opt);
        if (base && derivable)
                return error_set(err, -EINVAL, "a VM derived with --base cannot be --derivable");
        return put_vm_settings(a, cwd, derivable, args, err);
}

int cli_put_vm_mod_options(CliArgs *a, const char *cwd, bool set_derivable, bool derivable,
                           const char *vmgroup_opt, json_t *args, Error *err) {
        _cleanup_free_ char *vmgroup_what = xasprintf("--%s", vmgroup_opt);
        int r;

        if ((r = cli_put_nzsize(args, "mem", cli_args_value(a, "mem"), "--mem", err)) < 0 ||
            (r = cli_put_count(args, "vcpus", cli_args_value(a, "vcpus"), "--vcpus", err)) < 0)
                return r;
        cli_put_bool(args, "derivable", set_derivable, derivable);
        if ((r = cli_put_string(args, "desc", cli_args_value(a, "desc"), "--desc", err)) < 0 ||
            (r = cli_put_ref(args, "vmgroup", cli_args_value(a, vmgroup_opt), vmgroup_what, err)) < 0 ||
            (r = cli_put_path(args, "kernel", cli_args_value(a, "kernel"), cwd, "--kernel", err)) < 0 ||
            (r = cli_put_path(args, "initrd", cli_args_value(a, "initrd"), cwd, "--initrd", err)) < 0 ||
            (r = cli_put_string(args, "cmdline", cli_args_value(a, "cmdline"), "--cmdline", err)) < 0)
                return r;
        if (json_object_size(args) < 2)
                return error_set(err, -EINVAL, "nothing to change");
        return 0;
}

int cli_put_vm_or_instance(CliArgs *a, json_t *args, Error *err) {
        const char *instance = cli_args_value(a, "instance");
        const char *vm = a->n_pos > 0 ? a->pos[0] : NULL;
        if (!!instance + !!vm != 1)
                return error_set(err, -EINVAL, "give either VM or --instance N");
        if (instance)
                return cli_put_u32(args, "instance", instance, "--instance", err);
        return cli_put_ref(args, "vm", vm, "VM", err);
}

int cli_put_run_options(CliArgs *a, const char *cwd, const char *no_start_flag, json_t *args, Error *err) {
        bool install = cli_args_flag(a, "install");
        const char *cdrom = cli_args_value(a, "cdrom");
        int r;
        if (install && !cdrom)
                return error_set(err, -EINVAL, "--install needs --cdrom ISO");
        if ((r = cli_put_nzsize(args, "mem", cli_args_value(a, "mem"), "--mem", err)) < 0 ||
            (r = cli_put_count(args, "vcpus", cli_args_value(a, "vcpus"), "--vcpus", err)) < 0 ||
            (r = cli_put_duration(args, "walltime", cli_args_value(a, "walltime"), "--walltime", err)) < 0)
                return r;
        cli_put_bool(args, "isolate", cli_args_flag(a, "isolate"), true);
        cli_put_bool(args, "install", install, true);
        if ((r = cli_put_path(args, "cdrom", cdrom, cwd, "--cdrom", err)) < 0)
                return r;
        cli_put_bool(args, "no_start", cli_args_flag(a, no_start_flag), true);
        /* for the CLI itself, taken out before the request goes */
        cli_put_bool(args, CLI_NO_WAIT_KEY, cli_args_flag(a, "no-wait") || cli_args_flag(a, "nowait"), true);
        return cli_put_string(args, "host", cli_args_value(a, "host"), "--host", err);
}
