#include "core/authz.h"

bool authz_grant_matches(const AuthzSubject *who, const AuthzObject *what, const Grant *g) {
        bool subject = false;
        if (g->subject_type == SUBJECT_USER)
                subject = g->subject == who->uid;
        else
                for (size_t i = 0; i < who->n_groups; i++)
                        if (who->groups[i] == g->subject)
                                subject = true;
        if (!subject)
                return false;
        return g->object_type == OBJECT_VM ? g->object == what->vm : g->object == what->vm_group;
}

Rights authz_rights(const AuthzSubject *who, const AuthzObject *what, const Grant *grants, size_t n) {
        Rights r = {0};
        if (who->admin)
                return (Rights){true, true, true, false};
        for (size_t i = 0; i < n; i++) {
                const Grant *g = &grants[i];
                if (!authz_grant_matches(who, what, g))
                        continue;
                r.run |= g->run;
                r.modify |= g->modify;
                r.derive |= g->derive;
                r.force_isolated |= g->force_isolated;
        }
        return r;
}

int authz_check_run(const Rights *r, bool admin, bool isolate, Error *err) {
        if (admin)
                return 0;
        if (!r->run)
                return error_set(err, -EPERM, "You don't have permission to run this vm");
        if (r->force_isolated && !isolate)
                return error_set(err, -EPERM, "You don't have permission to run this vm unisolated.");
        return 0;
}

int authz_check_derive(const Rights *r, bool admin, bool derivable, Error *err) {
        if (!admin && !r->derive)
                return error_set(err, -EPERM, "You don't have permission to derive this vm");
        if (!derivable)
                return error_set(err, -EINVAL, "this vm is not a template (not derivable)");
        return 0;
}

int authz_check_modify(const Rights *r, bool admin, Error *err) {
        if (!admin && !r->modify)
                return error_set(err, -EPERM, "You don't have permission to modify this vm");
        return 0;
}

int authz_check_vmgroup_limits(bool admin, const char *vmgroup, Error *err) {
        if (!admin)
                return error_set(err, -EPERM, "only admins may set the limits and the IPv6 of vm group '%s'", vmgroup);
        return 0;
}
