/* table.h - the paper's output tables: a header line and rows, columns
 * separated by tabs. Cells never contain tabs or newlines (they are replaced
 * by spaces). A "raw" line is printed verbatim after the line before it
 * (the storage line under each row of the VM list). */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "basic/util.h"

typedef struct Table Table;

/* headers: n_columns strings. */
Table *table_new(size_t n_columns, const char *const *headers);
void table_free(Table *t);
static inline void table_freep(Table **t) { table_free(*t); }
#define _cleanup_table_ _cleanup_(table_freep)

/* Append a cell; a new row starts every n_columns cells. */
void table_add(Table *t, const char *cell);
void table_addf(Table *t, const char *fmt, ...) _printf_(2, 3);
/* A JSON value as a cell: strings as is, integers in decimal, booleans as
 * 1/0, null or missing as empty, anything else as compact JSON. */
void table_add_json(Table *t, const json_t *v);
/* A line printed as is (after the header or the current row). */
void table_add_raw(Table *t, const char *line);

int table_print(const Table *t, FILE *f);

/* The text of a JSON value as table_add_json() shows it (malloc'd). */
char *json_cell_text(const json_t *v);
