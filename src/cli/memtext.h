/* memtext.h - a text built with stdio in memory (open_memstream), for the
 * texts made of loops and printf: usage texts, the paper's Python-style
 * cells. Out of memory aborts, as xasprintf does. */
#pragma once

#include <stdio.h>

typedef struct MemText {
        FILE *f;
        char *buf;
        size_t len;
} MemText;

/* Start an empty text; write to the returned FILE (also m->f). */
FILE *memtext_open(MemText *m);
/* Close the FILE and return what was written to it (malloc'd). */
char *memtext_close(MemText *m);
