/* fuzz-rfb-input.c - web/rfb_input.h on arbitrary bytes: the first byte
 * says where to split the rest; scanning it in those two pieces, byte by
 * byte and whole must agree (messages, inputs, lost), and inputs never
 * exceed messages. */
#include <stdint.h>
#include <stdlib.h>

#include "web/rfb_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        size_t cut = data[0] % size;
        const uint8_t *b = data + 1;
        size_t n = size - 1;
        if (cut > n)
                cut = n;
        RfbInputScan whole = {0}, two = {0}, bytes = {0};
        rfb_input_scan(&whole, b, n);
        rfb_input_scan(&two, b, cut);
        rfb_input_scan(&two, b + cut, n - cut);
        for (size_t i = 0; i < n; i++)
                rfb_input_scan(&bytes, b + i, 1);
        if (whole.messages != two.messages || whole.inputs != two.inputs || whole.lost != two.lost ||
            whole.messages != bytes.messages || whole.inputs != bytes.inputs || whole.lost != bytes.lost ||
            whole.inputs > whole.messages)
                abort();
        return 0;
}
