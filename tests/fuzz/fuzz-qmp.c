/* fuzz-qmp.c - arbitrary bytes from qemu's QMP socket: split into lines the way the
 * client does, each line through qmp_parse_message(), then the whole input as one line.
 * A message that parses must be consistent (the fields of its type set, the others not),
 * and a "return" object must go back through qmp_build_command() as one line. */
#include <stdint.h>
#include <stdio.h>

#include "qemu/qmp.h"

static void check(const QmpMessage *m) {
        bool okay = m->json != NULL;
        switch (m->type) {
        case QMP_MESSAGE_GREETING:
                okay = okay && m->version_major >= 0 && m->version_minor >= 0 && m->version_micro >= 0 &&
                       !m->value && !m->event && !m->error_desc;
                break;
        case QMP_MESSAGE_RETURN:
                okay = okay && m->value && !m->event && !m->error_desc;
                break;
        case QMP_MESSAGE_ERROR:
                okay = okay && m->error_class && m->error_desc && !m->value && !m->event;
                break;
        case QMP_MESSAGE_EVENT:
                okay = okay && m->event && *m->event && (!m->data || json_is_object(m->data)) &&
                       !m->value && !m->error_desc && m->timestamp_usec <= 999999;
                break;
        default:
                okay = false;
        }
        if (!okay)
                abort();

        if (m->type == QMP_MESSAGE_RETURN && json_is_object(m->value)) {
                char *line = NULL;
                int r = qmp_build_command("x-fuzz", m->value, 1, &line);
                if (r == 0) {
                        char *nl = strchr(line, '\n');
                        if (!nl || nl[1] != 0)
                                abort(); /* exactly one newline, at the end */
                        free(line);
                } else if (r != -EMSGSIZE && r != -EINVAL)
                        abort();
        }
}

static void parse_one(const char *p, size_t n) {
        QmpMessage m = {};
        int r = qmp_parse_message(p, n, &m);
        if (r == 0)
                check(&m);
        else if (r != -EBADMSG || m.json)
                abort();
        qmp_message_done(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *)data, *end = p + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                parse_one(p, n);
                p += n + (nl ? 1 : 0);
        }
        parse_one((const char *)data, size);
        return 0;
}
