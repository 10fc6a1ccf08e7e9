/* fuzz-main.c - a driver for builds without libFuzzer (gcc, ASan): runs
 * the target over every seed file given, then over a bounded number of
 * deterministic mutations of them (bit flips, truncations, splices), so
 * the sanitizer build exercises the parsers on malformed bytes too. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
        uint8_t *data;
        size_t size;
} Seed;

static Seed *seeds;
static size_t n_seeds;

static void add_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f)
                return;
        Seed s = {malloc(1 << 20), 0};
        s.size = fread(s.data, 1, 1 << 20, f);
        fclose(f);
        seeds = realloc(seeds, (n_seeds + 1) * sizeof(Seed));
        seeds[n_seeds++] = s;
}

static void add_path(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return;
        if (!S_ISDIR(st.st_mode)) {
                add_file(path);
                return;
        }
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                char p[4096];
                snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
                add_file(p);
        }
        if (d)
                closedir(d);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

int main(int argc, char **argv) {
        long iterations = getenv("FUZZ_ITERATIONS") ? atol(getenv("FUZZ_ITERATIONS")) : 3000;
        for (int i = 1; i < argc; i++)
                add_path(argv[i]);
        for (size_t i = 0; i < n_seeds; i++)
                LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].size);
        LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
        uint8_t *buf = malloc(1 << 20);
        for (long it = 0; it < iterations && n_seeds > 0; it++) {
                const Seed *s = &seeds[next() % n_seeds];
                size_t n = s->size;
                memcpy(buf, s->data, n);
                switch (next() % 4) {
                case 0: /* flip bits */
                        for (int k = 0; k < 1 + (int)(next() % 8) && n; k++)
                                buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
                        break;
                case 1: /* truncate */
                        n = n ? next() % n : 0;
                        break;
                case 2: /* overwrite with interesting bytes */
                        for (int k = 0; k < 4 && n; k++)
                                buf[next() % n] = (uint8_t[]){0, 0xff, 0x7f, 0x80, '"', '{', '}', '\\'}[next() % 8];
                        break;
                case 3: { /* splice another seed's tail */
                        const Seed *o = &seeds[next() % n_seeds];
                        size_t cut = n ? next() % n : 0, from = o->size ? next() % o->size : 0;
                        size_t add = o->size - from;
                        if (cut + add > (1 << 20))
                                add = (1 << 20) - cut;
                        memcpy(buf + cut, o->data + from, add);
                        n = cut + add;
                        break;
                }
                }
                LLVMFuzzerTestOneInput(buf, n);
        }
        printf("1..1\nok 1 - %zu seeds + %ld mutations without a crash\n", n_seeds, iterations);
        free(buf);
        return 0;
}
