/* cmd_vmgroup.h - what both syntaxes of the VM group commands share: the
 * run limits and the IPv6 switch an admin sets on a VM group. */
#pragma once

#include "cli/cli.h"

/* The option names one syntax gives them (without "--"). */
typedef struct CliVmgroupLimitOpts {
        const char *max_mem;      /* a size; "0" or "none": no cap */
        const char *max_vcpus;    /* a count; "0" or "none": no cap */
        const char *max_walltime; /* a duration (90m, 2h); "0" or "none": no cap */
        const char *ipv6;         /* flag: enable IPv6 */
        const char *no_ipv6;      /* flag: disable it; NULL where not offered */
} CliVmgroupLimitOpts;

/* max_mem, max_vcpus, max_walltime (0 for no cap) and ipv6 into args, for
 * the options given. */
int cli_put_vmgroup_limits(CliArgs *a, const CliVmgroupLimitOpts *o, json_t *args, Error *err);
