/* qcow2.c - a qcow2 header read without trusting it. See qcow2.h; the
 * layout is qemu's docs/interop/qcow2.txt (version 2 and 3). */
#include "disk/qcow2.h"

#include <errno.h>
#include <string.h>

#define V2_HEADER_LEN 72
#define V3_HEADER_MIN 104
#define EXT_END 0x00000000u
#define EXT_BACKING_FORMAT 0xe2792acau
#define EXT_DATA_FILE 0x44415441u
#define EXT_MAX 1024 /* qemu reads at most this many extensions too */
#define INCOMPAT_DATA_FILE (1ull << 2)
/* dirty, corrupt, data file, compression type, extended L2: what qemu 7 knows */
#define INCOMPAT_KNOWN 0x1full

static uint32_t be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

/* Copy a name of n bytes at off into dst (size cap); -EBADMSG when it does
 * not lie inside buf, does not fit, or holds a NUL or a control byte. */
static int copy_name(const uint8_t *buf, size_t len, uint64_t off, uint64_t n, char *dst, size_t cap) {
        if (off > len || n > len - off || n >= cap)
                return -EBADMSG;
        for (uint64_t i = 0; i < n; i++)
                if (buf[off + i] < 0x20 || buf[off + i] == 0x7f)
                        return -EBADMSG;
        memcpy(dst, buf + off, n);
        dst[n] = 0;
        return 0;
}

static int read_extensions(const uint8_t *buf, size_t len, uint64_t off, uint64_t end, ImageHeader *h) {
        for (unsigned count = 0; count < EXT_MAX; count++) {
                if (off > end || end - off < 8)
                        return -EBADMSG; /* no end marker before the limit */
                uint32_t type = be32(buf + off), n = be32(buf + off + 4);
                off += 8;
                if (type == EXT_END)
                        return 0;
                if (n > end - off)
                        return -EBADMSG;
                if (type == EXT_BACKING_FORMAT &&
                    copy_name(buf, len, off, n, h->backing_format, sizeof(h->backing_format)) < 0)
                        return -EBADMSG;
                if (type == EXT_DATA_FILE)
                        h->data_file = true;
                off += ((uint64_t)n + 7) & ~7ull; /* padded to 8 bytes */
        }
        return -EBADMSG;
}

int image_header_parse(const uint8_t *buf, size_t len, ImageHeader *ret) {
        ImageHeader h = {.format = IMAGE_RAW};
        if (!buf || len < 4 || be32(buf) != QCOW2_MAGIC) {
                *ret = h;
                return 0;
        }
        if (len < V2_HEADER_LEN)
                return -EBADMSG;
        h.format = IMAGE_QCOW2;
        h.version = be32(buf + 4);
        if (h.version != 2 && h.version != 3)
                return -EBADMSG;
        uint64_t backing_off = be64(buf + 8);
        uint32_t backing_len = be32(buf + 16);
        uint32_t cluster_bits = be32(buf + 20);
        h.size = be64(buf + 24);
        h.encrypted = be32(buf + 32) != 0;
        if (cluster_bits < 9 || cluster_bits > 21)
                return -EBADMSG;
        uint64_t header_len = V2_HEADER_LEN;
        if (h.version == 3) {
                if (len < V3_HEADER_MIN)
                        return -EBADMSG;
                uint64_t incompat = be64(buf + 72);
                h.data_file = (incompat & INCOMPAT_DATA_FILE) != 0;
                h.unknown_incompatible = incompat & ~INCOMPAT_KNOWN;
                header_len = be32(buf + 100);
                if (header_len < V3_HEADER_MIN || header_len % 8 != 0)
                        return -EBADMSG;
        }
        /* everything qemu reads at open lies in the first cluster */
        uint64_t cluster = 1ull << cluster_bits;
        uint64_t end = cluster < len ? cluster : len;
        if (header_len > end)
                return -EBADMSG;
        if (backing_off != 0 || backing_len != 0) {
                if (backing_len == 0 || backing_len > QCOW2_BACKING_NAME_MAX || backing_off < header_len ||
                    backing_off > end || backing_len > end - backing_off)
                        return -EBADMSG;
                if (copy_name(buf, len, backing_off, backing_len, h.backing, sizeof(h.backing)) < 0)
                        return -EBADMSG;
        }
        /* extensions run from the header's end to the backing name (or the
         * cluster's end when there is none) */
        uint64_t ext_end = backing_off ? backing_off : end;
        if (read_extensions(buf, len, header_len, ext_end, &h) < 0)
                return -EBADMSG;
        *ret = h;
        return 0;
}
