/* test-qcow2.c - disk/qcow2.h on images qemu-img really made (a base, an
 * overlay, a v2 image, one with an external data file, one rebased by hand
 * onto another file, raw) and on headers broken by hand: what each names,
 * and that a broken one is refused rather than misread. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disk/qcow2.h"
#include "tap.h"

static char dir[] = "/tmp/vmbatch-qcow2-XXXXXX";

static int sh(const char *cmd) {
        char full[1024];
        snprintf(full, sizeof(full), "cd %s && %s >/dev/null 2>&1", dir, cmd);
        int st = system(full);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t slurp(const char *name, uint8_t *buf, size_t cap) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? pread(fd, buf, cap, 0) : -1;
        if (fd >= 0)
                close(fd);
        return n > 0 ? (size_t)n : 0;
}

static void put32(uint8_t *p, uint32_t v) {
        p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static void put64(uint8_t *p, uint64_t v) {
        put32(p, v >> 32);
        put32(p + 4, (uint32_t)v);
}

int main(void) {
        if (!mkdtemp(dir) || sh("command -v qemu-img") != 0) {
                printf("1..0 # SKIP qemu-img not found\n");
                return 0;
        }
        static uint8_t buf[QCOW2_HEADER_READ], b2[QCOW2_HEADER_READ];
        ImageHeader h;
        char cmd[512];
        snprintf(cmd, sizeof(cmd),
                 "qemu-img create -q -f qcow2 base.qcow2 64M && "
                 "qemu-img create -q -f qcow2 -F qcow2 -b %s/base.qcow2 over.qcow2 && "
                 "qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 16M && "
                 "qemu-img create -q -f qcow2 -o data_file=%s/data.raw df.qcow2 16M && "
                 "cp over.qcow2 evil.qcow2 && qemu-img rebase -q -u -f qcow2 -F raw -b /etc/hostname evil.qcow2 && "
                 "qemu-img create -q -f raw plain.raw 1M",
                 dir, dir);
        ok(sh(cmd) == 0, "qemu-img made the images");

        size_t n = slurp("base.qcow2", buf, sizeof(buf));
        ok(image_header_parse(buf, n, &h) == 0 && h.format == IMAGE_QCOW2 && h.version == 3 && !*h.backing &&
                   !h.data_file && h.size == 64u << 20,
           "a plain qcow2: version 3, 64 MiB, no backing, no data file");

        n = slurp("over.qcow2", buf, sizeof(buf));
        char want[300];
        snprintf(want, sizeof(want), "%s/base.qcow2", dir);
        ok(image_header_parse(buf, n, &h) == 0 && h.format == IMAGE_QCOW2, "an overlay parses");
        is_str(h.backing, want, "its backing file is named");
        is_str(h.backing_format, "qcow2", "with its format");

        n = slurp("evil.qcow2", buf, sizeof(buf));
        ok(image_header_parse(buf, n, &h) == 0, "an overlay rebased by hand parses");
        is_str(h.backing, "/etc/hostname", "and names the file it was rebased onto");
        is_str(h.backing_format, "raw", "as raw");

        n = slurp("v2.qcow2", buf, sizeof(buf));
        ok(image_header_parse(buf, n, &h) == 0 && h.version == 2 && !*h.backing, "a version 2 image");

        n = slurp("df.qcow2", buf, sizeof(buf));
        ok(image_header_parse(buf, n, &h) == 0 && h.data_file, "an external data file is seen");

        n = slurp("plain.raw", buf, sizeof(buf));
        ok(image_header_parse(buf, n, &h) == 0 && h.format == IMAGE_RAW && !*h.backing, "raw: no qcow2 magic");

        /* broken by hand, from the overlay */
        size_t on = slurp("over.qcow2", b2, sizeof(b2));
        int truncated_bad = 0;
        for (size_t len = 4; len < 104; len++)
                truncated_bad += image_header_parse(b2, len, &h) == -EBADMSG;
        is_int(truncated_bad, 100, "every header cut short of 104 bytes is refused");

        memcpy(buf, b2, on);
        put32(buf + 16, 5000);
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a backing name longer than 1023 bytes");
        memcpy(buf, b2, on);
        put64(buf + 8, (uint64_t)-8);
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a backing name offset that wraps");
        memcpy(buf, b2, on);
        put64(buf + 8, 70000);
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a backing name past the first cluster");
        memcpy(buf, b2, on);
        put32(buf + 20, 40);
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a cluster size qemu would refuse");
        memcpy(buf, b2, on);
        put32(buf + 100, 7);
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a header length below the version 3 minimum");
        memcpy(buf, b2, on);
        put32(buf + 112 + 4, 0xfffffff0u); /* the first extension's length */
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "an extension that runs off the end");
        memcpy(buf, b2, on);
        put64(buf + 72, 1ull << 2);
        ok(image_header_parse(buf, on, &h) == 0 && h.data_file, "the data-file feature bit alone is seen");
        memcpy(buf, b2, on);
        put64(buf + 72, 1ull << 40);
        ok(image_header_parse(buf, on, &h) == 0 && h.unknown_incompatible == 1ull << 40,
           "an incompatible feature qemu does not know is reported");
        memcpy(buf, b2, on);
        put32(buf + 32, 1);
        ok(image_header_parse(buf, on, &h) == 0 && h.encrypted, "encryption is seen");
        memcpy(buf, b2, on);
        buf[(size_t)(b2[15] | b2[14] << 8)] = '\n'; /* a control byte in the backing name */
        is_int(image_header_parse(buf, on, &h), -EBADMSG, "a backing name with a control byte");

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)!system(cmd);
        return tap_done();
}
