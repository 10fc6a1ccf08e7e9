/* filter_nft.c - the nft isolation backend: applies what filter_nft_rules.c
 * generates to `table bridge vmbatch` in-process through libnftables (no
 * `nft` process per change), reads the table back for filter_sync, and
 * checks and purges that table for vmbatchd's start (filter.h). */
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdio.h>

#include "net/filter_nft-internal.h"
#include "net/link.h"

/* ---- libnftables ------------------------------------------------------- */

/* What we last wrote for each tap. filter_remove needs the tap's MAC and
 * IP (set elements are deleted by their whole key); asking the kernel
 * (`get element`) makes libnftables fetch every element of the table,
 * a cost that grows with the number of VMs, so that is only the fallback
 * when a tap is not known here (after a restart, before filter_sync). A
 * stale entry cannot do harm: the vm map element is deleted with its data,
 * so a wrong MAC or IP fails the transaction and the slow path runs. */
typedef struct Known {
        char tap[LINK_NAME_MAX + 1];
        char mac[18];
        char ip[16];
} Known;

typedef struct Nft {
        struct nft_ctx *ctx;
        Known *known;
        size_t n_known;
} Nft;

static Known *known_find(Nft *n, const char *tap) {
        for (size_t i = 0; i < n->n_known; i++)
                if (streq(n->known[i].tap, tap))
                        return &n->known[i];
        return NULL;
}

static void known_forget(Nft *n, const char *tap) {
        Known *k = known_find(n, tap);
        if (k)
                *k = n->known[--n->n_known];
}

static void known_set(Nft *n, const char *tap, const char *mac, const char *ip) {
        Known *k = known_find(n, tap);
        if (!k) {
                n->known = xrealloc(n->known, (n->n_known + 1) * sizeof(Known));
                k = &n->known[n->n_known++];
        }
        snprintf(k->tap, sizeof(k->tap), "%s", tap);
        snprintf(k->mac, sizeof(k->mac), "%s", mac);
        snprintf(k->ip, sizeof(k->ip), "%s", ip);
}

static struct nft_ctx *ctx_new(Error *err) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                error_set(err, -ENOMEM, "filter: cannot create an nftables context");
                return NULL;
        }
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                nft_ctx_free(ctx);
                error_set(err, -ENOMEM, "filter: cannot buffer nftables output");
                return NULL;
        }
        return ctx;
}

static int nft_init(FilterBackend *b, Error *err) {
        struct nft_ctx *ctx = ctx_new(err);
        if (!ctx)
                return err ? err->code : -ENOMEM;
        Nft *n = xcalloc(1, sizeof(*n));
        n->ctx = ctx;
        b->priv = n;
        return 0;
}

static void nft_done(FilterBackend *b) {
        Nft *n = b->priv;
        if (!n)
                return;
        nft_ctx_free(n->ctx);
        free(n->known);
        free(n);
        b->priv = NULL;
}

/* Hand an error collected in a local on to the caller's (may be NULL). */
static int error_pass(Error *err, const Error *e) {
        return error_set(err, e->code ? e->code : -EIO, "%s", e->message);
}

/* libnftables reports errors as text only: map the kernel's strerror()
 * back to an errno. */
static int errno_from_text(const char *text) {
        static const int codes[] = {EEXIST, ENOENT, EPERM, EACCES, EBUSY, ENOMEM, EINVAL, EOPNOTSUPP, ENOSPC, E2BIG,
                                    EAFNOSUPPORT, EPROTONOSUPPORT};
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (strstr(text, strerror(codes[i])))
                        return -codes[i];
        return -EIO;
}

/* First line of libnftables' error text, without "Error: ". */
static void first_error_line(const char *text, char *buf, size_t size) {
        const char *p = text ? text : "";
        const char *e = strstr(p, "Error: ");
        if (e)
                p = e + strlen("Error: ");
        size_t len = strcspn(p, "\n");
        if (len >= size)
                len = size - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
}

/* Run cmds as one transaction. *ret_out (may be NULL) gets the output. */
static int nft_run(Nft *n, const char *cmds, bool json, char **ret_out, Error *err, const char *what) {
        nft_ctx_output_set_flags(n->ctx, json ? NFT_CTX_OUTPUT_JSON : 0);
        int r = nft_run_cmd_from_buffer(n->ctx, cmds);
        const char *out = nft_ctx_get_output_buffer(n->ctx);
        const char *errtext = nft_ctx_get_error_buffer(n->ctx);
        if (r != 0) {
                char line[400];
                first_error_line(errtext, line, sizeof(line));
                return error_set(err, errno_from_text(errtext ? errtext : ""), "filter: nft: %s: %s", what,
                                 *line ? line : "failed");
        }
        if (ret_out)
                *ret_out = xstrdup(out ? out : "");
        return 0;
}

/* ---- the table as it is now -------------------------------------------- */

typedef struct Pair {
        char *key;   /* tap */
        char *value; /* a set's value (below) / "mac . ip" / NULL */
} Pair;

typedef struct PairList {
        Pair *p;
        size_t n;
} PairList;

/* The "tap . value" sets of the VMs, and each VM's value in them; the hex
 * digits nft's JSON gives a raw payload of up to 64 bits as a number. */
enum { PS_MAC, PS_IP4, PS_CHADDR, PS_LL6, PS_IID6, PS_MAX };
static const char *const pair_set_names[PS_MAX] = {"vm_mac", "vm_ip4", "vm_chaddr", "vm_ll6", "vm_iid6"};
static const int pair_set_digits[PS_MAX] = {[PS_CHADDR] = 12, [PS_IID6] = 16};

/* false: v has no element in that set (vm_iid6 without its group's IPv6) */
static bool vm_value(const VmNorm *v, int set, char ret[48]) {
        switch (set) {
        case PS_MAC: snprintf(ret, 48, "%s", v->mac); break;
        case PS_IP4: snprintf(ret, 48, "%s", v->ip); break;
        case PS_CHADDR: nft_vm_chaddr(v, ret); break;
        case PS_IID6:
                if (!v->ipv6)
                        return false;
                nft_vm_iid6(v, ret);
                break;
        default: nft_vm_ll6(v, ret); break;
        }
        return true;
}

typedef struct State {
        bool exists;
        bool base_ok; /* fingerprint and rule counts as generated */
        PairList vm;  /* the vm map: "mac . ip" */
        PairList sets[PS_MAX];
        char **iso;
        size_t n_iso;
} State;

static void pairs_free(PairList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->p[i].key);
                free(l->p[i].value);
        }
        free(l->p);
}

static void state_clear(State *s) {
        pairs_free(&s->vm);
        for (int k = 0; k < PS_MAX; k++)
                pairs_free(&s->sets[k]);
        for (size_t i = 0; i < s->n_iso; i++)
                free(s->iso[i]);
        free(s->iso);
        *s = (State){0};
}

static void pair_push(PairList *l, const char *key, const char *value) {
        l->p = xrealloc(l->p, (l->n + 1) * sizeof(Pair));
        l->p[l->n++] = (Pair){xstrdup(key), value ? xstrdup(value) : NULL};
}

/* An element as JSON: "x", {"concat": [..]}, or {"elem": {"val": ..}}. */
static const json_t *elem_val(const json_t *e) {
        const json_t *inner = json_object_get(e, "elem");
        if (inner)
                return json_object_get(inner, "val");
        return e;
}

/* The two parts of a concatenation as text: a string as it is, a number
 * (a raw payload of up to 64 bits: the chaddr, the interface identifier;
 * signed in the JSON) as "0x" and digits hex digits, the form
 * nft_vm_chaddr and nft_vm_iid6 write. */
static bool concat_parts(const json_t *v, int digits, char parts[2][64]) {
        const json_t *c = json_object_get(v, "concat");
        if (!json_is_array(c) || json_array_size(c) != 2)
                return false;
        for (size_t i = 0; i < 2; i++) {
                const json_t *x = json_array_get(c, i);
                if (json_is_string(x))
                        snprintf(parts[i], 64, "%s", json_string_value(x));
                else if (json_is_integer(x))
                        snprintf(parts[i], 64, "0x%0*llx", digits, (unsigned long long)json_integer_value(x));
                else
                        return false;
        }
        return true;
}

static void state_read_set(State *s, const char *name, const json_t *elems) {
        size_t i;
        const json_t *e;
        json_array_foreach(elems, i, e) {
                const json_t *v = elem_val(e);
                char parts[2][64];
                if (streq(name, "vm")) {
                        /* map: [key, data] */
                        const char *key = json_string_value(json_array_get(v, 0));
                        if (key && concat_parts(json_array_get(v, 1), 0, parts)) {
                                char *val = xasprintf("%s . %s", parts[0], parts[1]);
                                pair_push(&s->vm, key, val);
                                free(val);
                        }
                } else if (streq(name, "isolated")) {
                        const char *key = json_string_value(v);
                        if (key) {
                                s->iso = xrealloc(s->iso, (s->n_iso + 1) * sizeof(char *));
                                s->iso[s->n_iso++] = xstrdup(key);
                        }
                } else
                        for (int k = 0; k < PS_MAX; k++)
                                if (streq(name, pair_set_names[k]) && concat_parts(v, pair_set_digits[k], parts))
                                        pair_push(&s->sets[k], parts[0], parts[1]);
        }
}

/* List our table (JSON) into *ret. A missing table is not an error. */
static int state_load(FilterBackend *b, const unsigned *want_counts, const char *want_fingerprint, State *ret,
                      Error *err) {
        Nft *n = b->priv;
        _cleanup_free_ char *out = NULL;
        Error e = {0};
        *ret = (State){0};
        int r = nft_run(n, "list table " T, true, &out, &e, "listing our table");
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                error_pass(err, &e);
                return r;
        }
        json_error_t jerr;
        json_t *root = json_loads(out, 0, &jerr);
        if (!root)
                return error_set(err, -EIO, "filter: nft: cannot parse the JSON listing: %s", jerr.text);
        ret->exists = true;
        unsigned counts[CH_MAX] = {0};
        bool fingerprint_ok = false, first_rule = true;
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(root, "nftables"), i, item) {
                const json_t *set = json_object_get(item, "set");
                if (!set)
                        set = json_object_get(item, "map");
                if (set) {
                        const char *name = json_string_value(json_object_get(set, "name"));
                        const json_t *elems = json_object_get(set, "elem");
                        if (name && json_is_array(elems))
                                state_read_set(ret, name, elems);
                        continue;
                }
                const json_t *rl = json_object_get(item, "rule");
                if (rl) {
                        const char *chain = json_string_value(json_object_get(rl, "chain"));
                        for (int c = 0; c < CH_MAX; c++)
                                if (streq(chain, nft_chain_names[c]))
                                        counts[c]++;
                        if (streq(chain, nft_chain_names[CH_PREROUTING]) && first_rule) {
                                first_rule = false;
                                const char *comment = json_string_value(json_object_get(rl, "comment"));
                                char fp[17];
                                fingerprint_ok = nft_comment_fingerprint(comment, fp) &&
                                                 streq(fp, want_fingerprint);
                        }
                }
        }
        json_decref(root);
        ret->base_ok = fingerprint_ok && memcmp(counts, want_counts, sizeof(counts)) == 0;
        return 0;
}

/* ---- operations -------------------------------------------------------- */

static int base_text(FilterBackend *b, char **ret_text, unsigned counts[CH_MAX], char fingerprint[17], Error *err) {
        const FilterNet *net;
        int r = filter_backend_net(b, &net, err);
        if (r < 0)
                return r;
        if ((r = nft_ruleset_build(net, ret_text, counts)) < 0)
                return error_set(err, r, "filter: cannot build the ruleset");
        if (fingerprint)
                nft_ruleset_fingerprint(*ret_text, fingerprint);
        return 0;
}

static int nft_setup(FilterBackend *b, Error *err) {
        _cleanup_free_ char *text = NULL;
        int r = base_text(b, &text, NULL, NULL, err);
        if (r < 0)
                return r;
        Error e = {0};
        if ((r = nft_run(b->priv, text, false, NULL, &e, "writing the base ruleset")) >= 0)
                return 0;
        if (r != -EEXIST && r != -EINVAL) {
                error_pass(err, &e);
                return r;
        }
        /* a table of an older shape (a set of another type): start afresh.
         * Until filter_sync puts the VMs back their taps are closed. */
        _cleanup_free_ char *fresh = xasprintf("table " T "\ndelete table " T "\n%s", text);
        return nft_run(b->priv, fresh, false, NULL, err, "re-creating our table");
}

/* The tap's current MAC and IP from the vm map. -ENOENT when it has none. */
static int vm_lookup(Nft *n, const char *tap, VmNorm *ret, Error *err) {
        _cleanup_free_ char *cmd = xasprintf("get element " T " vm { \"%s\" }", tap);
        _cleanup_free_ char *out = NULL;
        Error e = {0};
        int r = nft_run(n, cmd, false, &out, &e, "looking up a tap");
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0) {
                error_pass(err, &e);
                return r;
        }
        _cleanup_free_ char *needle = xasprintf("\"%s\" : ", tap);
        const char *p = strstr(out, needle);
        if (!p)
                return -ENOENT;
        p += strlen(needle);
        char mac[18], ip[16];
        if (sscanf(p, "%17[0-9a-f:] . %15[0-9.]", mac, ip) != 2)
                return error_set(err, -EIO, "filter: nft: cannot read the element of %s", tap);
        ret->tap = tap;
        if (filter_mac_normalize(mac, ret->mac) < 0)
                return error_set(err, -EIO, "filter: nft: bad MAC in the element of %s", tap);
        snprintf(ret->ip, sizeof(ret->ip), "%s", ip);
        ret->isolated = false;
        return 0;
}

static void state_remove_tap_cmds(FILE *f, const State *s, const char *tap);

/* Remove tap's elements knowing (or not) what they are. */
static int remove_slow(FilterBackend *b, const char *tap, Error *err) {
        Nft *n = b->priv;
        VmNorm old;
        int r = vm_lookup(n, tap, &old, err);
        if (r == 0) {
                _cleanup_free_ char *cmds = nft_with_memstream(nft_vm_remove_cmds, &old);
                return nft_run(n, cmds, false, NULL, err, "removing a VM");
        }
        if (r != -ENOENT)
                return r;
        /* not in the map: look for strays in the other sets */
        State s;
        unsigned counts[CH_MAX] = {0};
        if ((r = state_load(b, counts, "", &s, err)) < 0)
                return r;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        state_remove_tap_cmds(f, &s, tap);
        fclose(f);
        state_clear(&s);
        if (len > 0)
                r = nft_run(n, buf, false, NULL, err, "removing a VM");
        free(buf);
        return r;
}

static int nft_remove(FilterBackend *b, const char *tap, Error *err) {
        Nft *n = b->priv;
        Known *k = known_find(n, tap);
        if (k) {
                VmNorm old = {.tap = tap};
                memcpy(old.mac, k->mac, sizeof(old.mac));
                memcpy(old.ip, k->ip, sizeof(old.ip));
                _cleanup_free_ char *cmds = nft_with_memstream(nft_vm_remove_cmds, &old);
                Error e = {0};
                int r = nft_run(n, cmds, false, NULL, &e, "removing a VM");
                /* EEXIST: the tap has other elements than we thought; ENOENT:
                 * our table is gone (nothing to remove, the slow path says so) */
                if (r != -EEXIST && r != -ENOENT) {
                        if (r < 0)
                                error_pass(err, &e);
                        else
                                known_forget(n, tap);
                        return r;
                }
                known_forget(n, tap);
        }
        return remove_slow(b, tap, err);
}

static int nft_add_once(FilterBackend *b, const FilterVm *vm, Error *err) {
        Nft *n = b->priv;
        VmNorm v;
        nft_vm_norm(vm, &v);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        Known *k = known_find(n, v.tap);
        if (k && (!streq(k->mac, v.mac) || !streq(k->ip, v.ip))) {
                /* replace what we gave the tap before, in the same transaction */
                VmNorm old = {.tap = v.tap};
                memcpy(old.mac, k->mac, sizeof(old.mac));
                memcpy(old.ip, k->ip, sizeof(old.ip));
                nft_vm_remove_cmds(f, &old);
        }
        nft_vm_add_cmds(f, &v);
        fclose(f);
        Error e = {0};
        int r = nft_run(n, buf, false, NULL, &e, "adding a VM");
        free(buf);
        if (r >= 0)
                known_set(n, v.tap, v.mac, v.ip);
        if (r != -EEXIST) {
                if (r < 0)
                        error_pass(err, &e);
                return r;
        }
        /* the tap has another MAC or IP than we knew: ask the kernel */
        known_forget(n, v.tap);
        VmNorm old;
        if ((r = vm_lookup(n, vm->tap, &old, err)) < 0)
                return r == -ENOENT ? error_set(err, -EEXIST, "%s", e.message) : r;
        buf = NULL;
        len = 0;
        if (!(f = open_memstream(&buf, &len)))
                abort();
        nft_vm_remove_cmds(f, &old);
        nft_vm_add_cmds(f, &v);
        fclose(f);
        r = nft_run(n, buf, false, NULL, err, "replacing a VM");
        free(buf);
        if (r >= 0)
                known_set(n, v.tap, v.mac, v.ip);
        return r;
}

static int nft_add(FilterBackend *b, const FilterVm *vm, Error *err) {
        Error e = {0};
        int r = nft_add_once(b, vm, &e);
        if (r != -ENOENT)
                return r < 0 ? error_pass(err, &e) : r;
        /* our table vanished (`nft flush ruleset`): put it back first. The
         * other VMs' taps stay closed until filter_sync gives them theirs. */
        Nft *n = b->priv;
        n->n_known = 0;
        if ((r = nft_setup(b, err)) < 0)
                return r;
        return nft_add_once(b, vm, err);
}

/* Sorted lookups, so that a sync of thousands of VMs stays fast. */
static int cmp_pair(const void *a, const void *b) {
        const Pair *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_vm(const void *a, const void *b) {
        return strcmp(((const VmNorm *)a)->tap, ((const VmNorm *)b)->tap);
}

static bool pairs_have(const PairList *l, const char *key, const char *value) {
        Pair k = {(char *)key, (char *)value};
        return l->n && bsearch(&k, l->p, l->n, sizeof(Pair), cmp_pair);
}

static bool names_have(char *const *names, size_t n, const char *key) {
        return n && bsearch(&key, names, n, sizeof(char *), cmp_name);
}

static const VmNorm *want_find(const VmNorm *want, size_t n, const char *tap) {
        VmNorm k = {.tap = tap};
        return n ? bsearch(&k, want, n, sizeof(VmNorm), cmp_vm) : NULL;
}

static void pairs_sort(PairList *l) {
        if (l->n)
                qsort(l->p, l->n, sizeof(Pair), cmp_pair);
}

static void state_sort(State *s) {
        pairs_sort(&s->vm);
        for (int k = 0; k < PS_MAX; k++)
                pairs_sort(&s->sets[k]);
        if (s->n_iso)
                qsort(s->iso, s->n_iso, sizeof(char *), cmp_name);
}

static void state_remove_tap_cmds(FILE *f, const State *s, const char *tap) {
        for (size_t i = 0; i < s->vm.n; i++)
                if (streq(s->vm.p[i].key, tap))
                        fprintf(f, "delete element " T " vm { \"%s\" }\n", tap);
        for (int k = 0; k < PS_MAX; k++)
                for (size_t i = 0; i < s->sets[k].n; i++)
                        if (streq(s->sets[k].p[i].key, tap))
                                fprintf(f, "delete element " T " %s { \"%s\" . %s }\n", pair_set_names[k], tap,
                                        s->sets[k].p[i].value);
        for (size_t i = 0; i < s->n_iso; i++)
                if (streq(s->iso[i], tap))
                        fprintf(f, "delete element " T " isolated { \"%s\" }\n", tap);
}

/* The commands that turn state s into want (n VMs, sorted by tap). */
static void sync_cmds(FILE *f, const State *s, const VmNorm *want, size_t n) {
        const VmNorm *w;
        char val[48];
        /* what is there and should not be */
        for (size_t i = 0; i < s->vm.n; i++) {
                w = want_find(want, n, s->vm.p[i].key);
                if (w)
                        snprintf(val, sizeof(val), "%s . %s", w->mac, w->ip);
                if (!w || !streq(s->vm.p[i].value, val))
                        fprintf(f, "delete element " T " vm { \"%s\" }\n", s->vm.p[i].key);
        }
        for (int k = 0; k < PS_MAX; k++)
                for (size_t i = 0; i < s->sets[k].n; i++) {
                        const Pair *p = &s->sets[k].p[i];
                        bool keep = (w = want_find(want, n, p->key)) && vm_value(w, k, val) && streq(p->value, val);
                        if (!keep)
                                fprintf(f, "delete element " T " %s { \"%s\" . %s }\n", pair_set_names[k], p->key,
                                        p->value);
                }
        for (size_t i = 0; i < s->n_iso; i++)
                if (!(w = want_find(want, n, s->iso[i])) || !w->isolated)
                        fprintf(f, "delete element " T " isolated { \"%s\" }\n", s->iso[i]);
        /* what should be there and is not */
        for (size_t j = 0; j < n; j++) {
                const VmNorm *v = &want[j];
                snprintf(val, sizeof(val), "%s . %s", v->mac, v->ip);
                if (!pairs_have(&s->vm, v->tap, val))
                        fprintf(f, "add element " T " vm { \"%s\" : %s }\n", v->tap, val);
                for (int k = 0; k < PS_MAX; k++) {
                        if (vm_value(v, k, val) && !pairs_have(&s->sets[k], v->tap, val))
                                fprintf(f, "add element " T " %s { \"%s\" . %s }\n", pair_set_names[k], v->tap, val);
                }
                if (v->isolated && !names_have(s->iso, s->n_iso, v->tap))
                        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        }
}

static int nft_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err) {
        Nft *nft = b->priv;
        _cleanup_free_ char *base = NULL;
        unsigned counts[CH_MAX];
        char fingerprint[17];
        int r = base_text(b, &base, counts, fingerprint, err);
        if (r < 0)
                return r;
        State s;
        if ((r = state_load(b, counts, fingerprint, &s, err)) < 0)
                return r;
        state_sort(&s);
        VmNorm *want = xcalloc(n ? n : 1, sizeof(VmNorm));
        for (size_t i = 0; i < n; i++)
                nft_vm_norm(&vms[i], &want[i]);
        if (n)
                qsort(want, n, sizeof(VmNorm), cmp_vm);

        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        if (!s.base_ok)
                fputs(base, f);
        sync_cmds(f, &s, want, n);
        fclose(f);
        Error e = {0};
        r = 0;
        if (len > 0)
                r = nft_run(nft, buf, false, NULL, &e, "synchronising the rules");
        free(buf);
        if ((r == -EEXIST || r == -EINVAL) && s.exists && !s.base_ok) {
                /* a table of an older shape: re-create it with everything, at once */
                State empty = {0};
                buf = NULL;
                len = 0;
                if (!(f = open_memstream(&buf, &len)))
                        abort();
                fprintf(f, "table " T "\ndelete table " T "\n%s", base);
                sync_cmds(f, &empty, want, n);
                fclose(f);
                error_clear(&e);
                r = nft_run(nft, buf, false, NULL, &e, "re-creating our table");
                free(buf);
        }
        state_clear(&s);
        if (r < 0)
                error_pass(err, &e);
        else {
                /* what we wrote is what the kernel has now */
                Known *k = nft->known = xrealloc(nft->known, (n ? n : 1) * sizeof(Known));
                nft->n_known = n;
                for (size_t j = 0; j < n; j++) {
                        snprintf(k[j].tap, sizeof(k[j].tap), "%s", want[j].tap);
                        memcpy(k[j].mac, want[j].mac, sizeof(k[j].mac));
                        memcpy(k[j].ip, want[j].ip, sizeof(k[j].ip));
                }
        }
        free(want);
        return r;
}

static int nft_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err) {
        State s;
        unsigned counts[CH_MAX] = {0};
        int r = state_load(b, counts, "", &s, err);
        if (r < 0)
                return r;
        size_t total = s.vm.n + s.n_iso, k = 0;
        for (int q = 0; q < PS_MAX; q++)
                total += s.sets[q].n;
        char **all = xcalloc(total + 1, sizeof(char *));
        for (size_t i = 0; i < s.vm.n; i++)
                all[k++] = s.vm.p[i].key;
        for (int q = 0; q < PS_MAX; q++)
                for (size_t i = 0; i < s.sets[q].n; i++)
                        all[k++] = s.sets[q].p[i].key;
        for (size_t i = 0; i < s.n_iso; i++)
                all[k++] = s.iso[i];
        *ret_taps = filter_names_sorted(all, k, ret_n);
        free(all);
        state_clear(&s);
        return 0;
}

/* ---- the host: probe and purge ----------------------------------------- */

/* What filter_setup needs of the kernel, added and deleted in one
 * transaction: the bridge family and a base chain on its prerouting hook. */
#define PROBE_TABLE "bridge vmbatch_probe"

static int nft_probe(Error *err) {
        Error e = {0};
        Nft n = {.ctx = ctx_new(&e)};
        if (!n.ctx)
                return error_pass(err, &e);
        _cleanup_free_ char *errtext = NULL;
        int r = nft_run(&n, "add table " PROBE_TABLE "\n"
                            "add chain " PROBE_TABLE " probe { type filter hook prerouting priority -300; }\n"
                            "delete table " PROBE_TABLE "\n",
                        false, NULL, &e, "probe");
        if (r < 0)
                errtext = xstrdup(e.message);
        nft_ctx_free(n.ctx);
        if (r >= 0)
                return 0;
        _cleanup_free_ char *msg = filter_probe_explain("nft", r, errtext);
        return error_set(err, r, "%s", msg);
}

static int nft_purge(char **ret_what, Error *err) {
        Error e = {0};
        Nft n = {.ctx = ctx_new(&e)};
        if (!n.ctx)
                return error_pass(err, &e);
        int r = nft_run(&n, "delete table " T "\n", false, NULL, &e, "deleting our table");
        nft_ctx_free(n.ctx);
        if (r >= 0) {
                *ret_what = xstrdup("nft table " T);
                return 1;
        }
        /* not there, or a kernel without the family: nothing was left */
        if (r == -ENOENT || r == -EOPNOTSUPP || r == -EAFNOSUPPORT || r == -EPROTONOSUPPORT)
                return 0;
        return error_pass(err, &e);
}

int filter_nft_delete_if_empty(const char *table, Error *err) {
        if (!table || strspn(table, "abcdefghijklmnopqrstuvwxyz_") != strlen(table))
                return error_set(err, -EINVAL, "filter: invalid table name");
        Error e = {0};
        Nft n = {.ctx = ctx_new(&e)};
        if (!n.ctx)
                return error_pass(err, &e);
        _cleanup_free_ char *list = xasprintf("list table bridge %s", table);
        _cleanup_free_ char *out = NULL;
        int r = nft_run(&n, list, true, &out, &e, "listing a table");
        json_t *root = r >= 0 ? json_loads(out, 0, NULL) : NULL;
        bool empty = root != NULL;
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(root, "nftables"), i, item) {
                const json_t *chain = json_object_get(item, "chain");
                const char *policy = json_string_value(json_object_get(chain, "policy"));
                if (json_object_get(item, "rule") || json_object_get(item, "set") || json_object_get(item, "map") ||
                    (chain && (!json_object_get(chain, "hook") || !streq(policy, "accept"))))
                        empty = false;
        }
        json_decref(root);
        if (empty) {
                _cleanup_free_ char *del = xasprintf("delete table bridge %s", table);
                r = nft_run(&n, del, false, NULL, &e, "deleting an empty table");
        }
        nft_ctx_free(n.ctx);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_pass(err, &e);
        return empty ? 1 : 0;
}

const FilterOps filter_nft_ops = {
        .name = "nft",
        .probe = nft_probe,
        .purge = nft_purge,
        .init = nft_init,
        .done = nft_done,
        .setup = nft_setup,
        .add = nft_add,
        .remove = nft_remove,
        .sync = nft_sync,
        .list = nft_list,
};
