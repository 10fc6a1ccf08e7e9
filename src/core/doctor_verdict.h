/* doctor_verdict.h - the checks of vmbatch doctor as pure functions: what a
 * probe measured (the facts, filled in by core/doctor_probe.c) becomes one
 * item of a report (core/doctor.h). No I/O here: the unit test feeds facts
 * made by hand. An errno field is 0 for success, a positive errno for a
 * failure and -1 for "not tried". */
#pragma once

#include <sys/types.h>

#include "core/doctor_report.h"
#include "core/settings.h"

#define DOCTOR_NOT_TRIED (-1)

/* ---- parsers ------------------------------------------------------------ */

/* The value of the first "flags : ..." line of /proc/cpuinfo text (not
 * "vmx flags"), malloc'd; NULL when there is none. */
char *doctor_cpuinfo_flags(const char *cpuinfo);
/* word is one of the blank-separated words of flags. */
bool doctor_flags_have(const char *flags, const char *word);
/* The version in a program's --version output, malloc'd: the word after
 * "version" on the first line ("QEMU emulator version 7.2.19 (...)",
 * "Dnsmasq version 2.89  Copyright"), else its second word without a
 * leading 'v' ("ebtables 1.8.9 (nf_tables)", "nftables v1.0.6 (...)");
 * NULL when the first line has no word that starts with a digit there. */
char *doctor_program_version(const char *output);
/* What an ebtables on PATH is, from the names its symlinks lead through
 * (the alternative, the program): "nft" (ebtables-nft, xtables-nft-multi),
 * "legacy" (ebtables-legacy, xtables-legacy-multi) or NULL (unknown). */
const char *doctor_ebtables_flavour(const char *const *names, size_t n);
/* mode with the bits of forbid cleared and those of need set. */
unsigned doctor_mode_fixed(unsigned mode, unsigned forbid, unsigned need);

/* ---- the host ----------------------------------------------------------- */

typedef struct DoctorKvmFacts {
        int stat_errno;         /* /dev/kvm */
        bool is_char;
        unsigned mode;          /* permission bits */
        uid_t uid;
        gid_t gid;
        const char *owner, *group; /* names; NULL: unknown */
        int open_errno;         /* opened read-write by us */
        int api_version;        /* KVM_GET_API_VERSION, -1 unknown */
        int create_errno;       /* KVM_CREATE_VM */
        bool as_root;
        const char *flags;      /* the flags line of /proc/cpuinfo; NULL: none */
        const char *module;     /* the loaded KVM module: kvm_intel, kvm_amd, kvm_pvm ...; NULL: none */
} DoctorKvmFacts;
/* accel as configured. auto: ok under KVM, warn (why, "guests run under
 * TCG") otherwise; kvm: fail when KVM cannot be used; tcg: ok. The choice is
 * qemu_accel_choose's (src/qemu), with /dev/kvm counted as usable only when
 * it works and VM owners may open it (qemu runs as them). */
void doctor_kvm_verdict(const DoctorKvmFacts *f, AccelKind accel, DoctorReport *r);

/* What the probes did in a scratch network namespace (a worker child that
 * made one with unshare and died with it). r: 0 worked, -errno failed
 * (msg says why), 1 not tried. */
typedef struct DoctorScratchFacts {
        bool ran;               /* the child made its namespace */
        const char *why;        /* else why not */
        int bridge_r, tap_r, nft_r, ebt_r;
        const char *bridge_msg, *tap_msg, *nft_msg, *ebt_msg;
} DoctorScratchFacts;

typedef struct DoctorTunFacts {
        int stat_errno;         /* /dev/net/tun */
        bool is_char;
        unsigned major, minor, mode;
        const char *owner, *group;
        int open_errno;
        bool as_root;
} DoctorTunFacts;
void doctor_tun_verdict(const DoctorTunFacts *f, const DoctorScratchFacts *s, DoctorReport *r);

typedef struct DoctorBridgeFacts {
        const char *name;       /* the configured bridge */
        bool module;            /* /sys/module/bridge */
        int link_r;             /* link_get_info of name here: 0, -ENODEV (none yet), -errno */
        bool is_bridge, up;
        bool as_root;
} DoctorBridgeFacts;
void doctor_bridge_verdict(const DoctorBridgeFacts *f, const DoctorScratchFacts *s, DoctorReport *r);

/* filter_backend decides what is needed: nft (the kernel's bridge family,
 * through libnftables), ebtables (ebtables-nft, which uses the same family). */
typedef struct DoctorFilterFacts {
        FilterKind backend;
        bool as_root;
        const char *nft_version;   /* of the nft program, NULL: not installed (not needed) */
        const char *ebt_path;      /* ebtables-nft on PATH; NULL: none */
        const char *ebt_version;
        const char *ebtables;      /* where `ebtables` is on PATH; NULL: none */
        const char *ebt_flavour;   /* doctor_ebtables_flavour of it */
} DoctorFilterFacts;
void doctor_nft_verdict(const DoctorFilterFacts *f, const DoctorScratchFacts *s, DoctorReport *r);
void doctor_ebtables_verdict(const DoctorFilterFacts *f, const DoctorScratchFacts *s, DoctorReport *r);

/* A program run with --version (or only looked for). */
typedef struct DoctorProgram {
        const char *name;       /* as configured or run */
        const char *path;       /* where PATH finds it; NULL: nowhere */
        int run_r;              /* spawn_run: 0 ran, -errno not, 1 not run */
        int exit_code;
        bool timed_out;
        const char *output;     /* its stdout (its stderr when that is empty) */
} DoctorProgram;
/* ok "NAME VERSION (PATH)", else fail with install as the fix ("apt-get
 * install qemu-utils"); what says what needs it. */
void doctor_program_verdict(const char *check, const DoctorProgram *p, const char *what, const char *install,
                            DoctorReport *r);
/* The configured qemu: the program, and its "-accel help" output (NULL: not
 * run), which must list tcg (and kvm when KVM is to be used). */
void doctor_qemu_verdict(const DoctorProgram *p, const char *accels, bool want_kvm, DoctorReport *r);

typedef struct DoctorDhcpFacts {
        DhcpKind backend;
        DoctorProgram dnsmasq;
        const char *dhcp_release; /* its path; NULL: not installed */
        const char *omapi_server;
        unsigned omapi_port;
        const char *omapi_key;
        int omapi_r;              /* connect + a signed lookup: 0 or -errno */
        const char *omapi_msg;
} DoctorDhcpFacts;
void doctor_dhcp_verdict(const DoctorDhcpFacts *f, DoctorReport *r);

/* ---- the state (doctor_verdict_state.c) ---------------------------------- */

typedef struct DoctorPathFacts {
        const char *path;
        int stat_errno;
        bool is_dir, is_reg;
        unsigned mode;          /* permission bits */
        uid_t uid;
        gid_t gid;
        const char *owner;      /* the owner's name; NULL: none */
        int parent_errno;       /* when it is missing: its directory's stat */
        bool as_root;
} DoctorPathFacts;

/* What a storage folder (or the database file) must be. */
typedef struct DoctorPathWant {
        const char *check;      /* "state_dir" */
        const char *what;       /* "job logs and dnsmasq state" */
        bool dir;               /* a directory (else a regular file) */
        uid_t uid;              /* its owner */
        const char *owner;      /* the owner's name, for the chown line ("root") */
        const char *group;      /* for the chown line */
        unsigned forbid;        /* bits that must be clear (022: nobody else writes) */
        unsigned need;          /* bits that must be set (001: others may pass) */
        const char *need_why;   /* why they are needed */
        unsigned made_mode;     /* vmbatchd makes it with this mode (one level, when its
                                   parent exists); 0: it does not (a missing one fails) */
        const char *missing_fix;
} DoctorPathWant;
void doctor_path_verdict(const DoctorPathFacts *f, const DoctorPathWant *w, DoctorReport *r);

typedef struct DoctorSocketFacts {
        const char *path;
        int stat_errno;
        bool is_sock;
        unsigned mode;
        int connect_errno;
        bool answered;          /* a ping was answered */
        const char *version;    /* vmbatchd's, from the ping */
        const char *error;      /* why the ping failed */
        int timeout_ms;
} DoctorSocketFacts;
void doctor_socket_verdict(const DoctorSocketFacts *f, DoctorReport *r);

typedef struct DoctorDbFacts {
        DoctorPathFacts file;
        int check_r;            /* store_doctor_check: 0 ran, -ETIMEDOUT, -errno; 1 not tried */
        const char *error;
        const char *integrity;  /* "ok" or the problems */
        int schema, schema_max; /* PRAGMA user_version; this build's */
        bool initialized;
        bool as_root;
} DoctorDbFacts;
void doctor_db_verdict(const DoctorDbFacts *f, DoctorReport *r);

typedef struct DoctorMungeFacts {
        const char *socket;
        int stat_errno;
        bool is_sock;
        int r;                  /* a credential encoded (and decoded as root): 0 or -errno; 1 not tried */
        const char *msg;
        bool decoded;
} DoctorMungeFacts;
void doctor_munge_verdict(const DoctorMungeFacts *f, DoctorReport *r);

typedef struct DoctorControllerFacts {
        const char *address;    /* "ADDR:PORT"; "" unset */
        int r;                  /* TCP connect: 0 or -errno */
        const char *msg;
        unsigned ms;
        int timeout_ms;
} DoctorControllerFacts;
void doctor_controller_verdict(const DoctorControllerFacts *f, DoctorReport *r);
