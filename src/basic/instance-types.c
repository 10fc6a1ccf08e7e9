/* instance-types.c - the string tables of basic/instance-types.h. */
#include "basic/instance-types.h"

#include "basic/util.h"

static const char *const instance_state_table[_INSTANCE_STATE_MAX] = {
        [INSTANCE_RESERVED] = "reserved", [INSTANCE_SUBMITTED] = "submitted", [INSTANCE_STARTING] = "starting",
        [INSTANCE_RUNNING] = "running",   [INSTANCE_PAUSED] = "paused",       [INSTANCE_STOPPING] = "stopping",
        [INSTANCE_STOPPED] = "stopped",
};
DEFINE_STRING_TABLE(instance_state, InstanceState)

static const char *const instance_action_table[_ACTION_MAX] = {
        [ACTION_STOP] = "stop",
        [ACTION_KILL] = "kill",
        [ACTION_SUSPEND] = "suspend",
        [ACTION_RESUME] = "resume",
        [ACTION_FREEZE] = "freeze",
};
DEFINE_STRING_TABLE(instance_action, InstanceAction)
