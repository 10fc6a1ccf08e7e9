/* fuzz-rpc.c - arbitrary bytes on the daemon's socket, as an admin and as
 * an unknown uid. The daemon must answer or close, never crash, and never
 * run a program (the spawn hook refuses). */
#include <stdint.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "daemon/server.h"

static int refuse_spawn(const SpawnOpts *o, SpawnResult *r, void *userdata) {
        return -EPERM;
}

static Controller *setup(void) {
        static Controller c;
        static Settings settings;
        if (c.store)
                return &c;
        settings_defaults(&settings);
        snprintf(settings.admin_user, sizeof(settings.admin_user), "daemon"); /* never root */
        Error err = {0};
        if (store_open(":memory:", &c.store, &err) < 0)
                abort();
        c.settings = &settings;
        json_t *data = NULL;
        store_begin(c.store, &err);
        if (controller_init(&c, 0, &data, &err) < 0 || store_commit(c.store, &err) < 0)
                abort();
        json_decref(data);
        spawn_set_hook(refuse_spawn, NULL);
        return &c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Controller *c = setup();
        for (uint32_t uid = 0; uid <= 4242; uid += 4242) {
                size_t n;
                bool close;
                char *out = server_feed(c, uid, (const char *)data, size, &n, &close);
                free(out);
        }
        return 0;
}
