/* authz.h - the paper's VMAuthorizer, as pure functions.
 *
 * Rights come from grants: (user | one of the user's groups) x (the VM |
 * the VM's group). run, modify and derive are granted when ANY matching
 * grant has them; force_isolated holds when ANY matching grant has it.
 * Members of the admin group (id 0) and root have every right and are not
 * bound by force_isolated. */
#pragma once

#include "store/store.h"

#define GROUP_ADMIN 0
#define GROUP_ALL_USERS 1
#define VMGROUP_ALL_VMS 1

typedef struct AuthzSubject {
        uint32_t uid;
        const uint32_t *groups;
        size_t n_groups;
        bool admin;
} AuthzSubject;

typedef struct AuthzObject {
        uint32_t vm;
        uint32_t vm_group;
} AuthzObject;

typedef struct Rights {
        bool run, modify, derive, force_isolated;
} Rights;

bool authz_grant_matches(const AuthzSubject *who, const AuthzObject *what, const Grant *g);
Rights authz_rights(const AuthzSubject *who, const AuthzObject *what, const Grant *grants, size_t n);

/* Decisions, with the paper's messages. */
int authz_check_run(const Rights *r, bool admin, bool isolate, Error *err);
int authz_check_derive(const Rights *r, bool admin, bool derivable, Error *err);
int authz_check_modify(const Rights *r, bool admin, Error *err);
/* What a VM group allows one run (max_mem, max_vcpus, max_walltime) and its
 * IPv6 switch: set by admins only. */
int authz_check_vmgroup_limits(bool admin, const char *vmgroup, Error *err);
