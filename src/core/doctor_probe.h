/* doctor_probe.h - measuring this host for vmbatch doctor: each probe fills
 * the facts of core/doctor_verdict.h. Programs run through the spawn API
 * (basic/spawn.h) with a timeout; what may block or must not touch this
 * process's network namespace (a bridge, a tap, the filters, munged, a TCP
 * connect that resolves a name) runs in worker children (basic/worker.h),
 * all at once under one deadline. The strings the facts point to belong to
 * the DoctorProbe (released by doctor_probe_done). */
#pragma once

#include "core/doctor_verdict.h"

#define DOCTOR_PROGRAM_TIMEOUT_MS 5000
#define DOCTOR_SOCKET_TIMEOUT_MS 2000
#define DOCTOR_DB_TIMEOUT_MS 10000
#define DOCTOR_CHILD_TIMEOUT_MS 15000
#define DOCTOR_CONNECT_TIMEOUT_MS 3000
#define DOCTOR_SCRATCH_BRIDGE "vmbdoctorbr"
#define DOCTOR_SCRATCH_TAP "vmbdoctor0"

typedef struct DoctorProbe {
        char **strings;
        size_t n;
} DoctorProbe;
/* Keep s (malloc'd, may be NULL) until doctor_probe_done; returns it. */
const char *doctor_keep(DoctorProbe *p, char *s);
void doctor_probe_done(DoctorProbe *p);

/* Where exec would find name: itself when it has a '/', else the first
 * executable file in $PATH (glibc's default when unset); NULL: nowhere. */
const char *doctor_which(DoctorProbe *p, const char *name);
/* name found and run with args (NULL-terminated: {"--version", NULL})
 * under DOCTOR_PROGRAM_TIMEOUT_MS. */
void doctor_probe_program(DoctorProbe *p, const char *name, const char *const *args, DoctorProgram *ret);

void doctor_probe_kvm(DoctorProbe *p, DoctorKvmFacts *ret);
void doctor_probe_tun(DoctorProbe *p, DoctorTunFacts *ret);
void doctor_probe_bridge(const char *name, DoctorBridgeFacts *ret);
void doctor_probe_filters(DoctorProbe *p, FilterKind backend, DoctorFilterFacts *ret);
void doctor_probe_dhcp(DoctorProbe *p, const Settings *s, DoctorDhcpFacts *ret);
void doctor_probe_path(DoctorProbe *p, const char *path, DoctorPathFacts *ret);
void doctor_probe_socket(DoctorProbe *p, const char *path, DoctorSocketFacts *ret);
void doctor_probe_db(DoctorProbe *p, const char *path, DoctorDbFacts *ret);

/* ---- in worker children (doctor_probe_child.c) --------------------------- */
typedef struct DoctorChildWant {
        bool scratch;           /* bridge, tap, nft in a scratch network namespace (root) */
        bool ebtables;          /* ... and ebtables-nft there */
        bool munge;             /* encode (and as root decode) a credential */
        const char *controller; /* TCP connect to "ADDR:PORT"; NULL: not */
} DoctorChildWant;
/* Facts not asked for are left "not tried". */
void doctor_probe_children(DoctorProbe *p, const DoctorChildWant *want, DoctorScratchFacts *scratch,
                           DoctorMungeFacts *munge, DoctorControllerFacts *controller);
