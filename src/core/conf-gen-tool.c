/* conf-gen-tool - prints the commented configuration file at this build's
 * defaults (settings_write_conf): the build makes the package's
 * /etc/vmbatch/vmbatch.conf with it. Not installed. */
#include <stdio.h>

#include "core/settings.h"

int main(int argc, char **argv) {
        if (argc > 1) {
                fprintf(stderr, "Usage: %s > vmbatch.conf\n", argv[0]);
                return 2;
        }
        Settings s;
        settings_defaults(&s);
        settings_write_conf(stdout, &s);
        return fflush(stdout) == 0 ? 0 : 1;
}
