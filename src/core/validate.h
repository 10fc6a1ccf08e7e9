/* validate.h - checks of user-supplied values, each with a one-line error
 * naming the bad value. Pure. */
#pragma once

#include "basic/error.h"

#define MEM_MIN (16ULL << 20)
#define MEM_MAX (1ULL << 40)
#define DISC_MIN (1ULL << 20)
#define DISC_MAX (64ULL << 40)
#define VCPUS_MAX 256
#define DISCS_MAX 16
#define WALLTIME_MAX (366U * 86400) /* a job's time limit, seconds */

/* names of users, groups, VM groups, VMs: [A-Za-z0-9_][A-Za-z0-9_.-]{0,62} */
int validate_name(const char *what, const char *name, Error *err);
/* absolute, <= PATH_MAX, printable, no ',' (qemu option syntax), no "/../" */
int validate_path(const char *what, const char *path, Error *err);
int validate_mem(uint64_t bytes, Error *err);
int validate_vcpus(uint64_t n, Error *err);
/* a job's time limit in seconds: 0 (none) .. WALLTIME_MAX */
int validate_walltime(uint64_t seconds, Error *err);
int validate_disc_size(uint64_t bytes, Error *err);
/* kernel command line: printable, <= 1023 bytes */
int validate_cmdline(const char *s, Error *err);
