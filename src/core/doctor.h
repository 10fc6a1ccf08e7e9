/* doctor.h - `vmbatch doctor` and `vmbatchd --check`: is this host ready to
 * run vmbatch? Every check becomes one item: ok, warn or fail, what was
 * found, and for warn and fail the fix in one line. The exit status is 0
 * when nothing failed, 1 otherwise.
 *
 * The module, linked by src/cli and src/daemon:
 *   doctor.c          which checks a role gets, in which order; the settings
 *                     as vmbatchd reads them;
 *   doctor_report.c   the report: items, text, JSON;
 *   doctor_verdict.c  the host's checks, doctor_verdict_state.c the state's:
 *                     pure functions from what was measured (the facts of
 *                     core/doctor_verdict.h) to items (unit-tested);
 *   doctor_probe.c    the syscalls and programs that measure them (spawn
 *                     API, every slow probe under a timeout; the network
 *                     probes in a worker child, in a scratch network
 *                     namespace that dies with it);
 *   store/doctor_store.c  the database, opened read-only;
 *   net/doctor_net.c      munged. */
#pragma once

#include <stdio.h>

#include "core/doctor_report.h"
#include "core/settings.h"

/* Which checks apply: the controller (database, DHCP server, qemu-img),
 * the node (KVM, tun, bridge, filters, qemu), the cluster (munge; a node
 * also the controller's address). node_only: vmbatchd --node. */
typedef struct DoctorRole {
        bool controller, node, cluster;
} DoctorRole;
DoctorRole doctor_role(const Settings *s, bool node_only);

/* Run every check of the role on this host. config_origin says where the
 * settings came from (the config item). */
void doctor_run(const Settings *s, bool node_only, const char *config_origin, DoctorReport *ret);

/* doctor_run, printed as text or JSON to f; returns the exit status. */
int doctor_main(FILE *f, const Settings *s, bool node_only, const char *config_origin, bool json);

/* The settings as vmbatchd reads them: path, else $VMBATCH_CONF, else the
 * default file (which may be missing: then the defaults). *ret_origin
 * (malloc'd) names what was read. -errno with err set on a bad file. */
int doctor_settings_load(const char *path, Settings *ret, char **ret_origin, Error *err);
