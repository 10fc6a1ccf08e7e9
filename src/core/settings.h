/* settings.h - the daemon's configuration, read from vmbatch.conf. */
#pragma once

#include <limits.h>

#include "basic/config.h"

typedef struct Settings {
        char socket[PATH_MAX];
        char database[PATH_MAX];
        char admin_user[64];       /* name of the default admin made by init */
        char admin_stordir[PATH_MAX]; /* "" = the admin's home */
        uint32_t default_max_running;
        uint64_t default_max_storage;
        uint64_t default_mem;
        uint32_t default_vcpus;
        char log_level[16];
} Settings;

void settings_defaults(Settings *s);
/* Apply a parsed config; unknown keys and bad values are errors naming them. */
int settings_apply(Settings *s, const Config *c, Error *err);
