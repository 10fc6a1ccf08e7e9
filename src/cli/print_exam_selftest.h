/* print_exam_selftest.h - an exam's isolation self-test as "exam show" and
 * "exam selftest" print it (print_exam_selftest.c). */
#pragma once

#include <jansson.h>
#include <stdio.h>

/* selftest: exam.show's "selftest" object (NULL: nothing printed). */
void cli_exam_print_selftest(FILE *f, const json_t *selftest);
/* exam.selftest's answer */
int cli_exam_print_selftest_queued(FILE *f, const json_t *req, const json_t *d);
