/* filter_nft-internal.h - what the nft rule generator (filter_nft_rules.c,
 * pure) gives the libnftables backend (filter_nft.c). Nothing else
 * includes it. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "net/filter.h"

#define T "bridge " FILTER_NFT_TABLE
#define FINGERPRINT_TAG "vmbatch "

/* The chains of the base ruleset, in the order they are declared. */
enum {
        CH_PREROUTING,
        CH_INPUT,
        CH_FORWARD,
        CH_OUTPUT, /* the last base chain */
        CH_FROM_ISO,
        CH_FROM_VM_ARP,
        CH_FROM_VM_IP4,
        CH_FROM_VM_IP6,
        CH_TO_ISO,
        CH_TO_HOST,
        CH_MAX,
};

extern const char *const nft_chain_names[CH_MAX];

/* A VM with its MAC and IPv4 address in canonical form. */
typedef struct VmNorm {
        const char *tap;
        char mac[18];
        char ip[16];
        bool isolated;
        bool ipv6;
} VmNorm;

/* The elements of the sets derived from the MAC, as nft lists them: the
 * chaddr "0x" + 12 hex digits, the link-local address "0x" + 32, its
 * interface identifier "0x" + 16. */
void nft_vm_chaddr(const VmNorm *v, char ret[static 15]);
void nft_vm_ll6(const VmNorm *v, char ret[static 48]);
void nft_vm_iid6(const VmNorm *v, char ret[static 19]);

/* The base ruleset and how many rules each chain gets (counts may be NULL). */
int nft_ruleset_build(const FilterNet *net, char **ret, unsigned counts[CH_MAX]);
/* The fingerprint in a rule comment ("vmbatch <16 hex digits>: ..."). */
bool nft_comment_fingerprint(const char *comment, char ret[17]);
/* The fingerprint of a generated ruleset. */
bool nft_ruleset_fingerprint(const char *text, char ret[17]);
int nft_vm_norm(const FilterVm *vm, VmNorm *ret);
/* The element changes that give v its rules / remove whatever it has. */
void nft_vm_add_cmds(FILE *f, const VmNorm *v);
void nft_vm_remove_cmds(FILE *f, const VmNorm *v);
/* fn's output as a string. */
char *nft_with_memstream(void (*fn)(FILE *, const VmNorm *), const VmNorm *v);
