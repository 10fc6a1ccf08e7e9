/* instance-types.h - the vocabulary of an instance's life, shared by every
 * process (the controller, the node role, which has no database, the CLI
 * and the starter): its states and the actions asked of it, as enums whose
 * string tables (instance-types.c) are used only where they cross the store
 * or the wire. */
#pragma once

#include <errno.h>

/* An instance's life; the store and the wire spell them as the table in
 * instances.c says ("reserved", "submitted", ...), nothing else does. */
typedef enum InstanceState {
        INSTANCE_RESERVED,  /* an address held (vm run --no-start) */
        INSTANCE_SUBMITTED, /* its job is with the scheduler (or on its way) */
        INSTANCE_STARTING,  /* its starter attached: tap, lease, filters */
        INSTANCE_RUNNING,
        INSTANCE_PAUSED,
        INSTANCE_STOPPING,
        INSTANCE_STOPPED, /* in a response only: the row is gone */
        _INSTANCE_STATE_MAX,
        _INSTANCE_STATE_INVALID = -EINVAL,
} InstanceState;

const char *instance_state_to_string(InstanceState s);
InstanceState instance_state_from_string(const char *s);

/* What a user or the controller asks of a running instance; on the wire
 * (to the node, to the starter) "stop", "kill", "suspend", "resume";
 * "freeze" reaches the node only (the starter is told "suspend"). */
typedef enum InstanceAction {
        ACTION_STOP,    /* ACPI power button, then kill */
        ACTION_KILL,    /* qemu killed at once */
        ACTION_SUSPEND, /* QMP stop */
        ACTION_RESUME,  /* QMP cont */
        ACTION_FREEZE,  /* an exam's deadline: its tap cut off by the node, then QMP stop */
        _ACTION_MAX,
        _ACTION_INVALID = -EINVAL,
} InstanceAction;

const char *instance_action_to_string(InstanceAction a);
InstanceAction instance_action_from_string(const char *s);
