/*
 * ctl_render.h: human-readable output of h2gatectl (aligned tables,
 * "key: value" lines).  Every function takes the "result" member of a
 * successful control response (borrowed), prints to `out` and returns 0,
 * or -1 after printing "h2gatectl: unexpected answer ..." to stderr when
 * the result does not have the documented shape.  Members that are
 * missing or null print as "-" so that an older or newer daemon still
 * gives a readable table.
 */
#ifndef H2G_CTL_RENDER_H
#define H2G_CTL_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

int ctl_render_status(FILE *out, const json_t *result);
int ctl_render_sessions(FILE *out, const json_t *result);
int ctl_render_session(FILE *out, const json_t *result);
int ctl_render_tunnels(FILE *out, const json_t *result);
/* upstreams: one line per worker and upstream host name: its addresses,
 * when the next lookup is due, whether the last one failed. */
int ctl_render_upstreams(FILE *out, const json_t *result);
int ctl_render_stats(FILE *out, const json_t *result);
/* `file` is the path as the user gave it (for the "FILE: ..." line). */
int ctl_render_check(FILE *out, const char *file, const json_t *result);
/* The effective configuration as YAML (timeouts get an "ms" suffix so the
 * output reads back with the same meaning). */
int ctl_render_config(FILE *out, const json_t *result);

/* How one column's cell is made from a row object: CTL_CELL_VAL the member
 * as text, BYTES "1.5MiB", SECS "12m03s", MS "0.12ms", PAIR "key/key2",
 * RATE bytes per second "12KiB/s". */
enum ctl_cell_kind { CTL_CELL_VAL, CTL_CELL_BYTES, CTL_CELL_SECS, CTL_CELL_MS, CTL_CELL_PAIR, CTL_CELL_RATE };
struct ctl_cell {
    const char *key;
    const char *key2; /* CTL_CELL_PAIR: "key/key2" */
    enum ctl_cell_kind kind;
};

/* An aligned table (two spaces between columns) of the first `max_rows`
 * objects of the array `arr` (borrowed), with a header line: cols[i] is
 * the header ("NAME" left-aligned, ">NAME" right-aligned), cells[i] makes
 * the cell; at most 16 columns.  For h2gatectl top, which picks, orders
 * and cuts the rows itself. */
void ctl_render_rows(FILE *out, const json_t *arr, const char *const *cols, const struct ctl_cell *cells,
                     size_t ncols, size_t max_rows);

/* Human formats, exported for the probe output.  Each writes into buf
 * (always NUL-terminated) and returns buf. */
char *ctl_fmt_bytes(char *buf, size_t len, double bytes);
char *ctl_fmt_secs(char *buf, size_t len, double secs);

/* Did a table lose a row or a cell for want of memory?  (jansson's own
 * losses, as a value that could not be dumped, are jsonmem's.) */
bool ctl_render_incomplete(void);
/* Forgets earlier losses, for a program that prints again and again
 * (h2gatectl top). */
void ctl_render_begin(void);

#endif
