/* fuzz-config.c - arbitrary bytes as vmbatch.conf. */
#include <stdint.h>

#include "basic/config.h"
#include "core/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Config *c = NULL;
        Error err = {0};
        if (config_parse((const char *)data, size, "fuzz", &c, &err) == 0) {
                Settings s;
                settings_defaults(&s);
                settings_apply(&s, c, &err);
                for (size_t i = 0; i < config_count(c); i++)
                        config_get(c, config_key_at(c, i));
        }
        config_free(c);
        return 0;
}
