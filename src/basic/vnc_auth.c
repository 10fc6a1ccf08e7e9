/* vnc_auth.c - VNC authentication's DES answer; see vnc_auth.h. */
#include "basic/vnc_auth.h"

#include <nettle/des.h>
#include <string.h>

/* VNC puts each key byte's bits in the other order */
static uint8_t reverse_bits(uint8_t b) {
        uint8_t r = 0;
        for (int i = 0; i < 8; i++)
                if (b & (1u << i))
                        r |= (uint8_t)(0x80u >> i);
        return r;
}

void vnc_auth_response(const char *password, const uint8_t challenge[16], uint8_t ret[16]) {
        uint8_t key[8] = {0};
        for (size_t i = 0; i < 8 && password[i]; i++)
                key[i] = reverse_bits((uint8_t)password[i]);
        struct des_ctx ctx;
        /* des_set_key only reports a weak key (0 then): the schedule is made
         * all the same, and the server checks with the same key. Parity bits
         * are ignored, as VNC needs. */
        (void)des_set_key(&ctx, key);
        des_encrypt(&ctx, 16, ret, challenge);
        explicit_bzero(key, sizeof(key));
        explicit_bzero(&ctx, sizeof(ctx));
}
