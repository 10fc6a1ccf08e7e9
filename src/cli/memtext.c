/* memtext.c - see memtext.h */
#include "cli/memtext.h"

#include <stdlib.h>

FILE *memtext_open(MemText *m) {
        *m = (MemText){0};
        m->f = open_memstream(&m->buf, &m->len);
        if (!m->f)
                abort();
        return m->f;
}

char *memtext_close(MemText *m) {
        if (fclose(m->f) != 0)
                abort();
        m->f = NULL;
        return m->buf;
}
