/* fuzz-qcow2.c - arbitrary bytes as the first bytes of a disc image (the
 * owner writes them): image_header_parse must answer 0 or -EBADMSG, never
 * read past the buffer, and a name it returns must be a printable string
 * of the documented length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disk/qcow2.h"

static void check_name(const char *s, size_t cap) {
        size_t n = strnlen(s, cap);
        if (n == cap)
                abort(); /* not terminated */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* an exact-size copy: ASan sees a read one byte past the end */
        uint8_t *buf = malloc(size ? size : 1);
        if (size)
                memcpy(buf, data, size);
        ImageHeader h;
        memset(&h, 0x55, sizeof(h));
        int r = image_header_parse(buf, size, &h);
        if (r != 0 && r != -EBADMSG)
                abort();
        if (r == 0) {
                if (h.format != IMAGE_RAW && h.format != IMAGE_QCOW2)
                        abort();
                if (h.format == IMAGE_RAW && (h.backing[0] || h.data_file))
                        abort();
                check_name(h.backing, sizeof(h.backing));
                check_name(h.backing_format, sizeof(h.backing_format));
        }
        free(buf);
        return 0;
}
