/* qcow2.h - what a disc image's first bytes say about the files it would
 * make qemu open: a backing file (and its format), an external data file,
 * encryption. Pure: the bytes come from an fd the node opened as the file's
 * owner, and they are the owner's to write, so every field is hostile (an
 * offset past the buffer, a length that wraps, an extension that runs off
 * the end). qemu never follows these names (the node hands it the recorded
 * chain as fds, with the backing named explicitly); they are read only to
 * refuse an image that says something other than what was recorded. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */
#define QCOW2_BACKING_NAME_MAX 1023
/* what the node reads of an image: the header, the backing name and the
 * extensions all lie in the first cluster qemu reads them from */
#define QCOW2_HEADER_READ 65536

typedef enum ImageFormat {
        IMAGE_RAW,   /* no qcow2 magic */
        IMAGE_QCOW2,
} ImageFormat;

typedef struct ImageHeader {
        ImageFormat format;
        uint32_t version;
        uint64_t size;                                 /* virtual size */
        char backing[QCOW2_BACKING_NAME_MAX + 1];      /* "" when none */
        char backing_format[32];                       /* from the extension; "" when none */
        bool data_file;                                /* an external data file (incompatible bit 2 or the extension) */
        bool encrypted;
        uint64_t unknown_incompatible;                 /* incompatible feature bits qemu 7 does not know */
} ImageHeader;

/* Parse buf (the first len bytes of an image). 0 and *ret filled in (raw
 * when there is no qcow2 magic), or -EBADMSG for a qcow2 header that is
 * truncated or inconsistent (a qemu that read it would refuse or misread
 * it). */
int image_header_parse(const uint8_t *buf, size_t len, ImageHeader *ret);
