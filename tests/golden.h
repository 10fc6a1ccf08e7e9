/* golden.h - golden files for the unit tests of generated artefacts (qemu
 * argv, nft rulesets, dnsmasq lines, job scripts). Header-only, beside
 * tap.h. GOLDEN_DIR is argv[1] (or the test's default); with
 * VMBATCH_REGENERATE=1 the files are rewritten instead of compared (review
 * the diff before committing). */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

static const char *golden_dir;
static bool golden_regenerate;

__attribute__((unused)) static void golden_setup(int argc, char **argv, const char *default_dir) {
        golden_dir = argc > 1 ? argv[1] : default_dir;
        const char *e = getenv("VMBATCH_REGENERATE");
        golden_regenerate = e && strcmp(e, "1") == 0;
}

/* The whole file, NUL-terminated (malloc'd); NULL if it cannot be read. */
__attribute__((unused)) static char *golden_read_file(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                fwrite(chunk, 1, n, m);
        fclose(f);
        fclose(m);
        return buf;
}

__attribute__((unused)) static bool golden_write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");
        bool written = f && fputs(content ? content : "", f) >= 0;
        if (f && fclose(f) != 0)
                written = false;
        return written;
}

/* An argv as text, one argument per line (malloc'd). */
__attribute__((unused)) static char *golden_lines(char *const *argv) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        for (char *const *p = argv; p && *p; p++)
                fprintf(m, "%s\n", *p);
        fclose(m);
        return buf;
}

/* One test point: got equals GOLDEN_DIR/file (or, regenerating, is written there). */
__attribute__((unused)) static void golden_check(const char *file, const char *got) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", golden_dir, file);
        if (golden_regenerate) {
                ok(golden_write_file(path, got), "golden %s (regenerated)", file);
                return;
        }
        char *want = golden_read_file(path);
        if (!want) {
                ok(0, "golden %s", file);
                printf("#   cannot read %s (VMBATCH_REGENERATE=1 creates it)\n", path);
                return;
        }
        is_str(got, want, "golden %s", file);
        free(want);
}
