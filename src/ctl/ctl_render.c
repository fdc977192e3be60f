/*
 * ctl_render.c: tables and "key: value" output for h2gatectl.  See
 * ctl_render.h.  Output goes to one FILE; nothing here talks to sockets.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_render.h"

/* ---- formatting of single values -------------------------------- */

char *ctl_fmt_bytes(char *buf, size_t len, double b)
{
    static const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (b < 1024) {
        snprintf(buf, len, "%.0fB", b);
        return buf;
    }
    size_t u = 0;
    b /= 1024;
    while (b >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, b < 10 ? "%.1f%s" : "%.0f%s", b, units[u]);
    return buf;
}

char *ctl_fmt_secs(char *buf, size_t len, double s)
{
    if (s < 0)
        s = 0;
    if (s < 10)
        snprintf(buf, len, "%.1fs", s);
    else if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else if (s < 86400)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s, 3600) / 60);
    else
        snprintf(buf, len, "%dd%02dh", (int)(s / 86400), (int)fmod(s, 86400) / 3600);
    return buf;
}

/* A member as text: strings as is, integers in full, reals with up to 3
 * decimals, booleans yes/no, missing/null "-". */
static char *fmt_val(char *buf, size_t len, const json_t *v)
{
    if (v == NULL || json_is_null(v))
        snprintf(buf, len, "-");
    else if (json_is_string(v))
        snprintf(buf, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%.3g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
    else {
        char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, len, "%s", d ? d : "?");
        free(d);
    }
    return buf;
}

static bool num(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

static char *fmt_bytes_val(char *buf, size_t len, const json_t *v)
{
    double d;
    return num(v, &d) ? ctl_fmt_bytes(buf, len, d) : fmt_val(buf, len, v);
}

static char *fmt_secs_val(char *buf, size_t len, const json_t *v)
{
    double d;
    return num(v, &d) ? ctl_fmt_secs(buf, len, d) : fmt_val(buf, len, v);
}

static char *fmt_ms_val(char *buf, size_t len, const json_t *v)
{
    double d;
    if (!num(v, &d))
        return fmt_val(buf, len, v);
    snprintf(buf, len, d < 10 ? "%.2fms" : "%.0fms", d);
    return buf;
}

/* bytes per second: "12KiB/s" */
static char *fmt_rate_val(char *buf, size_t len, const json_t *v)
{
    double d;
    if (!num(v, &d))
        return fmt_val(buf, len, v);
    char b[48];
    snprintf(buf, len, "%s/s", ctl_fmt_bytes(b, sizeof(b), d));
    return buf;
}

/* "a/b" from two members */
static char *fmt_pair(char *buf, size_t len, const json_t *a, const json_t *b)
{
    char x[64], y[64];
    snprintf(buf, len, "%s/%s", fmt_val(x, sizeof(x), a), fmt_val(y, sizeof(y), b));
    return buf;
}

static int unexpected(const char *what, const char *expected)
{
    fprintf(stderr, "h2gatectl: unexpected answer to %s: expected %s (try --json)\n", what,
            expected);
    return -1;
}

/* ---- aligned tables --------------------------------------------- */

#define TMAX_COLS 16

struct table {
    size_t ncols;
    const char *hdr[TMAX_COLS];
    bool right[TMAX_COLS]; /* right-aligned (numbers) */
    char **cells;          /* nrows * ncols, owned strings */
    size_t nrows, caprows;
};

/* spec: "NAME" left-aligned, ">NAME" right-aligned. */
static void table_init(struct table *t, const char *const *spec, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->ncols = n < TMAX_COLS ? n : TMAX_COLS;
    for (size_t i = 0; i < t->ncols; i++) {
        t->right[i] = spec[i][0] == '>';
        t->hdr[i] = spec[i] + (t->right[i] ? 1 : 0);
    }
}

/* A row or cell that could not be stored (out of memory): the table
 * printed lacks it, which ctl_render_incomplete reports. */
static bool lost;

bool ctl_render_incomplete(void)
{
    return lost;
}

void ctl_render_begin(void)
{
    lost = false;
}

/* Appends a row; `vals` has ncols strings (copied). */
static void table_row(struct table *t, char *const *vals)
{
    if (t->nrows == t->caprows) {
        size_t nc = t->caprows ? t->caprows * 2 : 16;
        char **ncells = realloc(t->cells, nc * t->ncols * sizeof(char *));
        if (ncells == NULL) {
            lost = true;
            return;
        }
        t->cells = ncells;
        t->caprows = nc;
    }
    for (size_t i = 0; i < t->ncols; i++)
        if ((t->cells[t->nrows * t->ncols + i] = strdup(vals[i] ? vals[i] : "-")) == NULL)
            lost = true;
    t->nrows++;
}

static void print_cell(FILE *out, const char *s, size_t w, bool right, bool last)
{
    const char *v = s ? s : "-";
    if (right)
        fprintf(out, "%*s", (int)w, v);
    else if (last)
        fputs(v, out);
    else
        fprintf(out, "%-*s", (int)w, v);
}

/* Prints header + rows with two spaces between columns, then frees. */
static void table_print(FILE *out, struct table *t, const char *indent)
{
    size_t w[TMAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->hdr[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *s = t->cells[r * t->ncols + c];
            size_t l = s ? strlen(s) : 1;
            if (l > w[c])
                w[c] = l;
        }
    }
    fputs(indent, out);
    for (size_t c = 0; c < t->ncols; c++) {
        print_cell(out, t->hdr[c], w[c], t->right[c], c + 1 == t->ncols);
        fputs(c + 1 == t->ncols ? "\n" : "  ", out);
    }
    for (size_t r = 0; r < t->nrows; r++) {
        fputs(indent, out);
        for (size_t c = 0; c < t->ncols; c++) {
            print_cell(out, t->cells[r * t->ncols + c], w[c], t->right[c], c + 1 == t->ncols);
            fputs(c + 1 == t->ncols ? "\n" : "  ", out);
        }
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->caprows = 0;
}

/* ---- status ------------------------------------------------------- */

static void kv(FILE *out, const char *key, const char *val)
{
    fprintf(out, "%-15s %s\n", key, val);
}

/* key: PRE1 r[k1] MID r[k2] POST, e.g. "bytes: in 10, out 20". */
static void kv_pair(FILE *out, const json_t *r, const char *key, const char *pre1, const char *k1, const char *mid,
                    const char *k2, const char *post)
{
    char v1[64], v2[64], line[256];
    snprintf(line, sizeof(line), "%s%s%s%s%s", pre1, fmt_val(v1, sizeof(v1), json_object_get(r, k1)), mid,
             fmt_val(v2, sizeof(v2), json_object_get(r, k2)), post);
    kv(out, key, line);
}

static bool in_list(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0)
            return true;
    return false;
}

/* Members the fixed layout did not show, so a newer daemon's additions
 * are still visible. */
static void kv_rest(FILE *out, const json_t *o, const char *const *shown)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        if (in_list(k, shown))
            continue;
        char key[64], buf[512];
        snprintf(key, sizeof(key), "%s:", k);
        kv(out, key, fmt_val(buf, sizeof(buf), v));
    }
}

int ctl_render_status(FILE *out, const json_t *r)
{
    static const char *const shown[] = {
        "version", "pid", "uptime_s", "config_file", "config_sha256", "workers", "listeners",
        "connections", "sessions", "streams", "tunnels", "upstream_connections", "reloads", "last_reload",
        "draining", "state", NULL};
    if (!json_is_object(r))
        return unexpected("status", "an object");
    char b[512], b2[64];
    kv(out, "version:", fmt_val(b, sizeof(b), json_object_get(r, "version")));
    kv(out, "pid:", fmt_val(b, sizeof(b), json_object_get(r, "pid")));
    const json_t *up = json_object_get(r, "uptime_s");
    double ups;
    if (num(up, &ups)) {
        snprintf(b, sizeof(b), "%s (%.0f s)", ctl_fmt_secs(b2, sizeof(b2), ups), ups);
        kv(out, "uptime:", b);
    } else {
        kv(out, "uptime:", "-");
    }
    kv(out, "config file:", fmt_val(b, sizeof(b), json_object_get(r, "config_file")));
    kv(out, "config sha256:", fmt_val(b, sizeof(b), json_object_get(r, "config_sha256")));
    kv(out, "workers:", fmt_val(b, sizeof(b), json_object_get(r, "workers")));

    const json_t *ls = json_object_get(r, "listeners");
    if (json_is_array(ls) && json_array_size(ls) > 0) {
        size_t i;
        json_t *l;
        json_array_foreach((json_t *)ls, i, l) {
            char protos[128] = "";
            const json_t *pl = json_object_get(l, "protocols");
            size_t j;
            json_t *p;
            json_array_foreach((json_t *)pl, j, p) {
                size_t n = strlen(protos);
                snprintf(protos + n, sizeof(protos) - n, "%s%s", j ? "," : "",
                         json_is_string(p) ? json_string_value(p) : "?");
            }
            const json_t *tls = json_object_get(l, "tls");
            snprintf(b, sizeof(b), "%s  %s  %s", fmt_val(b2, sizeof(b2), json_object_get(l, "address")),
                     json_is_true(tls) ? "tls" : json_is_false(tls) ? "cleartext" : "-",
                     protos[0] ? protos : "-");
            kv(out, i == 0 ? "listeners:" : "", b);
        }
    } else {
        kv(out, "listeners:", "-");
    }
    kv(out, "connections:", fmt_val(b, sizeof(b), json_object_get(r, "connections")));
    const json_t *ss = json_object_get(r, "sessions");
    if (json_is_object(ss)) {
        b[0] = '\0';
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ss, k, v) {
            size_t n = strlen(b);
            snprintf(b + n, sizeof(b) - n, "%s%s %s", n ? ", " : "", k,
                     fmt_val(b2, sizeof(b2), v));
        }
        kv(out, "sessions:", b[0] ? b : "-");
    } else {
        kv(out, "sessions:", fmt_val(b, sizeof(b), ss));
    }
    kv(out, "streams:", fmt_val(b, sizeof(b), json_object_get(r, "streams")));
    kv(out, "tunnels:", fmt_val(b, sizeof(b), json_object_get(r, "tunnels")));
    const json_t *uc = json_object_get(r, "upstream_connections");
    if (json_is_object(uc)) {
        snprintf(b, sizeof(b), "%s open, ", fmt_val(b2, sizeof(b2), json_object_get(uc, "open")));
        size_t n = strlen(b);
        snprintf(b + n, sizeof(b) - n, "%s idle", fmt_val(b2, sizeof(b2), json_object_get(uc, "idle")));
        kv(out, "upstream:", b);
    }
    snprintf(b, sizeof(b), "%s (last: %s)", fmt_val(b2, sizeof(b2), json_object_get(r, "reloads")),
             json_is_string(json_object_get(r, "last_reload"))
                 ? json_string_value(json_object_get(r, "last_reload"))
                 : "-");
    kv(out, "reloads:", b);
    kv(out, "state:", fmt_val(b, sizeof(b), json_object_get(r, "state")));
    kv(out, "draining:", fmt_val(b, sizeof(b), json_object_get(r, "draining")));
    kv_rest(out, r, shown);
    return 0;
}

/* ---- rows from JSON objects ---------------------------------------- */

#define MAX_CELLS 16

/* One table row per object of `arr` (its first `max_rows`), column i made
 * by cells[i]. */
static void table_add_rows(struct table *t, const json_t *arr, const struct ctl_cell *cells, size_t n,
                           size_t max_rows)
{
    size_t i;
    json_t *o;
    json_array_foreach((json_t *)arr, i, o) {
        if (i >= max_rows)
            break;
        char c[MAX_CELLS][256];
        char *row[MAX_CELLS];
        for (size_t k = 0; k < n && k < MAX_CELLS; k++) {
            const json_t *v = json_object_get(o, cells[k].key);
            switch (cells[k].kind) {
            case CTL_CELL_VAL: fmt_val(c[k], sizeof(c[k]), v); break;
            case CTL_CELL_BYTES: fmt_bytes_val(c[k], sizeof(c[k]), v); break;
            case CTL_CELL_SECS: fmt_secs_val(c[k], sizeof(c[k]), v); break;
            case CTL_CELL_MS: fmt_ms_val(c[k], sizeof(c[k]), v); break;
            case CTL_CELL_PAIR: fmt_pair(c[k], sizeof(c[k]), v, json_object_get(o, cells[k].key2)); break;
            case CTL_CELL_RATE: fmt_rate_val(c[k], sizeof(c[k]), v); break;
            }
            row[k] = c[k];
        }
        table_row(t, row);
    }
}

/* ---- sessions ------------------------------------------------------ */

static const char *const session_cols[] = {
    ">ID", ">WORKER", "PEER", "ALPN", "TLS", "SNI", ">AGE", ">STREAMS", ">LWIN", ">RWIN",
    ">IN", ">OUT", ">FRAMES", ">RTT"};
#define N_SESSION_COLS (sizeof(session_cols) / sizeof(session_cols[0]))

static const struct ctl_cell session_cells[N_SESSION_COLS] = {
    {"id", NULL, CTL_CELL_VAL},           {"worker", NULL, CTL_CELL_VAL},
    {"peer", NULL, CTL_CELL_VAL},         {"alpn", NULL, CTL_CELL_VAL},
    {"tls_version", NULL, CTL_CELL_VAL},  {"sni", NULL, CTL_CELL_VAL},
    {"age_s", NULL, CTL_CELL_SECS},       {"streams_open", "streams_total", CTL_CELL_PAIR},
    {"local_window", NULL, CTL_CELL_BYTES}, {"remote_window", NULL, CTL_CELL_BYTES},
    {"bytes_in", NULL, CTL_CELL_BYTES},   {"bytes_out", NULL, CTL_CELL_BYTES},
    {"frames_in", "frames_out", CTL_CELL_PAIR}, {"ping_rtt_ms", NULL, CTL_CELL_MS},
};

int ctl_render_sessions(FILE *out, const json_t *r)
{
    if (!json_is_array(r))
        return unexpected("sessions", "an array");
    if (json_array_size(r) == 0) {
        fprintf(out, "no sessions\n");
        return 0;
    }
    struct table t;
    table_init(&t, session_cols, N_SESSION_COLS);
    table_add_rows(&t, r, session_cells, N_SESSION_COLS, SIZE_MAX);
    table_print(out, &t, "");
    return 0;
}

int ctl_render_session(FILE *out, const json_t *r)
{
    static const char *const shown[] = {
        "id", "worker", "peer", "alpn", "tls_version", "sni", "age_s", "streams_open",
        "streams_total", "local_window", "remote_window", "bytes_in", "bytes_out", "frames_in",
        "frames_out", "ping_rtt_ms", "streams", NULL};
    if (!json_is_object(r))
        return unexpected("session", "an object");
    char b[256];
    kv(out, "session:", fmt_val(b, sizeof(b), json_object_get(r, "id")));
    kv(out, "worker:", fmt_val(b, sizeof(b), json_object_get(r, "worker")));
    kv(out, "peer:", fmt_val(b, sizeof(b), json_object_get(r, "peer")));
    kv(out, "alpn:", fmt_val(b, sizeof(b), json_object_get(r, "alpn")));
    kv(out, "tls:", fmt_val(b, sizeof(b), json_object_get(r, "tls_version")));
    kv(out, "sni:", fmt_val(b, sizeof(b), json_object_get(r, "sni")));
    kv(out, "age:", fmt_secs_val(b, sizeof(b), json_object_get(r, "age_s")));
    kv_pair(out, r, "streams:", "", "streams_open", " open, ", "streams_total", " total");
    kv_pair(out, r, "windows:", "local ", "local_window", ", remote ", "remote_window", "");
    kv_pair(out, r, "bytes:", "in ", "bytes_in", ", out ", "bytes_out", "");
    kv_pair(out, r, "frames:", "in ", "frames_in", ", out ", "frames_out", "");
    kv(out, "ping rtt:", fmt_ms_val(b, sizeof(b), json_object_get(r, "ping_rtt_ms")));
    kv_rest(out, r, shown);

    const json_t *st = json_object_get(r, "streams");
    if (!json_is_array(st) || json_array_size(st) == 0) {
        fprintf(out, "\nno open streams\n");
        return 0;
    }
    static const char *const cols[] = {">STREAM", "METHOD", "AUTHORITY", "PATH", "STATE",
                                       "UPSTREAM", ">IN", ">OUT", ">AGE"};
    struct table t;
    static const struct ctl_cell cells[] = {
        {"id", NULL, CTL_CELL_VAL},         {"method", NULL, CTL_CELL_VAL},   {"authority", NULL, CTL_CELL_VAL},
        {"path", NULL, CTL_CELL_VAL},       {"state", NULL, CTL_CELL_VAL},    {"upstream", NULL, CTL_CELL_VAL},
        {"bytes_in", NULL, CTL_CELL_BYTES}, {"bytes_out", NULL, CTL_CELL_BYTES}, {"age_s", NULL, CTL_CELL_SECS},
    };
    table_init(&t, cols, 9);
    table_add_rows(&t, st, cells, 9, SIZE_MAX);
    fputc('\n', out);
    table_print(out, &t, "");
    return 0;
}

/* ---- tunnels ------------------------------------------------------- */

int ctl_render_tunnels(FILE *out, const json_t *r)
{
    if (!json_is_array(r))
        return unexpected("tunnels", "an array");
    if (json_array_size(r) == 0) {
        fprintf(out, "no tunnels\n");
        return 0;
    }
    static const char *const cols[] = {">SESSION", ">STREAM", "KIND", "TARGET", ">UP", ">DOWN",
                                       ">AGE", ">IDLE"};
    struct table t;
    static const struct ctl_cell cells[] = {
        {"session", NULL, CTL_CELL_VAL},     {"stream", NULL, CTL_CELL_VAL},        {"kind", NULL, CTL_CELL_VAL},
        {"target", NULL, CTL_CELL_VAL},      {"bytes_up", NULL, CTL_CELL_BYTES},    {"bytes_down", NULL, CTL_CELL_BYTES},
        {"age_s", NULL, CTL_CELL_SECS},      {"idle_s", NULL, CTL_CELL_SECS},
    };
    table_init(&t, cols, 8);
    table_add_rows(&t, r, cells, 8, SIZE_MAX);
    table_print(out, &t, "");
    return 0;
}

void ctl_render_rows(FILE *out, const json_t *arr, const char *const *cols, const struct ctl_cell *cells,
                     size_t ncols, size_t max_rows)
{
    struct table t;
    table_init(&t, cols, ncols);
    table_add_rows(&t, arr, cells, t.ncols, max_rows);
    table_print(out, &t, "");
}

/* ---- upstreams ----------------------------------------------------- */

static void upstream_name_row(FILE *out, const json_t *o)
{
    const json_t *exp = json_object_get(o, "expires_in_s");
    char e[32] = "-";
    if (json_is_number(exp))
        snprintf(e, sizeof(e), "%.1fs", json_number_value(exp));
    const char *state = json_is_true(json_object_get(o, "resolving")) ? "resolving"
                        : json_is_true(json_object_get(o, "failing")) ? "failing"
                                                                      : "ok";
    const char *host = json_string_value(json_object_get(o, "host"));
    fprintf(out, "%6lld  %-30s  %8s  %-9s ", (long long)json_integer_value(json_object_get(o, "worker")),
            host != NULL ? host : "?", e, state);
    const json_t *addrs = json_object_get(o, "addresses");
    size_t j;
    const json_t *a;
    json_array_foreach(addrs, j, a) fprintf(out, " %s", json_is_string(a) ? json_string_value(a) : "?");
    if (json_array_size(addrs) == 0)
        fprintf(out, " (none yet: connecting by name)");
    fputc('\n', out);
}

/* An upstream connection (HTTP/2, or an idle HTTP/1.1 one): its streams
 * in flight of the most the upstream allows, how many it carried, idle
 * time and PINGs answered; TLS: a full handshake or a resumed one. */
static void upstream_conn_row(FILE *out, const json_t *o)
{
    const char *up = json_string_value(json_object_get(o, "upstream"));
    const char *addr = json_string_value(json_object_get(o, "address"));
    const char *state = json_string_value(json_object_get(o, "state"));
    const json_t *idle = json_object_get(o, "idle_s");
    char i[32] = "-";
    if (json_is_number(idle))
        snprintf(i, sizeof(i), "%.1fs", json_number_value(idle));
    char streams[32];
    snprintf(streams, sizeof(streams), "%lld/%lld", (long long)json_integer_value(json_object_get(o, "streams")),
             (long long)json_integer_value(json_object_get(o, "max_streams")));
    const char *tls = !json_is_true(json_object_get(o, "tls")) ? "-"
                      : json_is_true(json_object_get(o, "tls_resumed")) ? "resumed"
                                                                        : "full";
    fprintf(out, "%6lld  %-12lld  %-5s  %-24s  %-15s  %-10s  %9s  %7lld  %6s  %5lld  %s\n",
            (long long)json_integer_value(json_object_get(o, "worker")),
            (long long)json_integer_value(json_object_get(o, "connection")),
            json_string_value(json_object_get(o, "proto")) ? json_string_value(json_object_get(o, "proto")) : "?",
            up != NULL ? up : "?", addr != NULL ? addr : "-", state != NULL ? state : "?", streams,
            (long long)json_integer_value(json_object_get(o, "streams_total")), i,
            (long long)json_integer_value(json_object_get(o, "pings_acked")), tls);
}

int ctl_render_upstreams(FILE *out, const json_t *r)
{
    if (!json_is_array(r))
        return unexpected("upstreams", "an array");
    size_t n_conns = 0, i;
    const json_t *o;
    json_array_foreach(r, i, o) n_conns += json_object_get(o, "connection") != NULL;
    if (json_array_size(r) == n_conns) {
        fprintf(out, "no upstream host names resolved\n");
    } else {
        fprintf(out, "%6s  %-30s  %8s  %-9s  %s\n", "WORKER", "HOST", "EXPIRES", "LOOKUP", "ADDRESSES");
        json_array_foreach(r, i, o) {
            if (json_object_get(o, "connection") == NULL)
                upstream_name_row(out, o);
        }
    }
    if (n_conns == 0)
        return 0;
    fprintf(out, "\n%6s  %-12s  %-5s  %-24s  %-15s  %-10s  %9s  %7s  %6s  %5s  %s\n", "WORKER", "CONNECTION",
            "PROTO", "UPSTREAM", "ADDRESS", "STATE", "STREAMS", "TOTAL", "IDLE", "PINGS", "TLS");
    json_array_foreach(r, i, o) {
        if (json_object_get(o, "connection") != NULL)
            upstream_conn_row(out, o);
    }
    return 0;
}

/* ---- stats --------------------------------------------------------- */

int ctl_render_stats(FILE *out, const json_t *r)
{
    if (!json_is_object(r))
        return unexpected("stats", "an object");
    const json_t *counters = json_object_get(r, "counters");
    const json_t *hist = json_object_get(r, "histograms");
    char b[512], b2[64];
    if (json_is_object(counters)) {
        fprintf(out, "counters:\n");
        size_t w = 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)counters, k, v) {
            if (strlen(k) > w)
                w = strlen(k);
        }
        json_object_foreach((json_t *)counters, k, v) {
            if (json_is_object(v)) {
                /* e.g. responses: 1xx 0  2xx 12 ... on one line */
                b[0] = '\0';
                const char *k2;
                json_t *v2;
                json_object_foreach(v, k2, v2) {
                    size_t n = strlen(b);
                    snprintf(b + n, sizeof(b) - n, "%s%s %s", n ? "  " : "", k2,
                             fmt_val(b2, sizeof(b2), v2));
                }
            } else {
                fmt_val(b, sizeof(b), v);
            }
            fprintf(out, "  %-*s  %s\n", (int)w, k, b);
        }
    }
    if (json_is_object(hist)) {
        fprintf(out, "histograms:\n");
        const char *name;
        json_t *h;
        json_object_foreach((json_t *)hist, name, h) {
            double sum = 0, count = 0;
            bool has_sum = num(json_object_get(h, "sum"), &sum);
            bool has_count = num(json_object_get(h, "count"), &count);
            fprintf(out, "  %s: count %s", name, fmt_val(b2, sizeof(b2), json_object_get(h, "count")));
            if (has_sum)
                fprintf(out, ", sum %.6g", sum);
            if (has_sum && has_count && count > 0)
                fprintf(out, ", mean %.6g", sum / count);
            fputc('\n', out);
            const json_t *buckets = json_object_get(h, "buckets");
            size_t i;
            json_t *bk;
            struct table t;
            static const char *const cols[] = {">LE", ">COUNT"};
            table_init(&t, cols, 2);
            json_array_foreach((json_t *)buckets, i, bk) {
                char c0[64], c1[64];
                fmt_val(c0, sizeof(c0), json_array_get(bk, 0));
                fmt_val(c1, sizeof(c1), json_array_get(bk, 1));
                char *row[2] = {c0, c1};
                table_row(&t, row);
            }
            if (t.nrows > 0)
                table_print(out, &t, "    ");
        }
    }
    if (!json_is_object(counters) && !json_is_object(hist))
        return unexpected("stats", "an object with counters and histograms");
    return 0;
}

/* ---- check --------------------------------------------------------- */

/* Prints "  SIGN WHAT item" for every string (or other value) in arr. */
static size_t diff_list(FILE *out, const json_t *arr, char sign, const char *what)
{
    size_t i, n = 0;
    json_t *v;
    char b[512];
    json_array_foreach((json_t *)arr, i, v) {
        fprintf(out, "  %c %s %s\n", sign, what, fmt_val(b, sizeof(b), v));
        n++;
    }
    return n;
}

/* {"key":[old,new]} -> "  ~ section.key: old -> new" */
static size_t diff_values(FILE *out, const json_t *obj, const char *section)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    char a[256], b[256];
    json_object_foreach((json_t *)obj, k, v) {
        fprintf(out, "  ~ %s.%s: %s -> %s\n", section, k, fmt_val(a, sizeof(a), json_array_get(v, 0)),
                fmt_val(b, sizeof(b), json_array_get(v, 1)));
        n++;
    }
    return n;
}

int ctl_render_check(FILE *out, const char *file, const json_t *r)
{
    if (!json_is_object(r))
        return unexpected("check", "an object");
    const json_t *valid = json_object_get(r, "valid");
    if (!json_is_true(valid)) {
        /* errors are printed by the caller (stderr) */
        return 0;
    }
    fprintf(out, "%s: configuration ok\n", file);
    const json_t *d = json_object_get(r, "diff");
    if (!json_is_object(d))
        return 0;
    size_t n = 0;
    static const struct {
        const char *section, *what;
    } lists[] = {{"listeners", "listener"}, {"origins", "origin"}, {"routes", "route"}};
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const json_t *s = json_object_get(d, lists[i].section);
        n += diff_list(out, json_object_get(s, "added"), '+', lists[i].what);
        n += diff_list(out, json_object_get(s, "removed"), '-', lists[i].what);
        n += diff_list(out, json_object_get(s, "changed"), '~', lists[i].what);
    }
    n += diff_values(out, json_object_get(d, "limits"), "limits");
    n += diff_values(out, json_object_get(d, "timeouts"), "timeouts");
    /* sections this version does not know: show them raw */
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)d, k, v) {
        if (strcmp(k, "listeners") == 0 || strcmp(k, "origins") == 0 ||
            strcmp(k, "routes") == 0 || strcmp(k, "limits") == 0 || strcmp(k, "timeouts") == 0)
            continue;
        if ((json_is_object(v) && json_object_size(v) == 0) ||
            (json_is_array(v) && json_array_size(v) == 0))
            continue;
        char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(out, "  ~ %s: %s\n", k, dump ? dump : "?");
        free(dump);
        n++;
    }
    if (n == 0)
        fprintf(out, "no changes against the running configuration\n");
    else
        fprintf(out, "%zu change%s against the running configuration\n", n, n == 1 ? "" : "s");
    return 0;
}

/* ---- config as YAML ------------------------------------------------ */

static bool yaml_flow(const json_t *v)
{
    if (!json_is_array(v) && !json_is_object(v))
        return true;
    if (json_is_object(v))
        return json_object_size(v) == 0;
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) {
        if (json_is_array(x) || json_is_object(x))
            return false;
    }
    return true;
}

/* Scalars: strings double-quoted with JSON escapes (valid YAML), the rest
 * as JSON; under timeouts an integer gets "ms" (a bare YAML integer
 * duration would mean seconds). */
static void yaml_scalar(FILE *out, const json_t *v, bool ms)
{
    if (ms && json_is_integer(v)) {
        fprintf(out, "%" JSON_INTEGER_FORMAT "ms", json_integer_value(v));
        return;
    }
    char *d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(d ? d : "null", out);
    free(d);
}

static void yaml_flow_value(FILE *out, const json_t *v, bool ms)
{
    if (json_is_object(v)) {
        fputs("{}", out);
    } else if (json_is_array(v)) {
        fputc('[', out);
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x) {
            if (i)
                fputs(", ", out);
            yaml_scalar(out, x, ms);
        }
        fputc(']', out);
    } else {
        yaml_scalar(out, v, ms);
    }
}

static void yaml_node(FILE *out, const json_t *v, int indent, bool inline_first, bool ms);

static void yaml_object(FILE *out, const json_t *o, int indent, bool inline_first, bool ms)
{
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)o, k, v) {
        if (json_is_null(v)) /* absent in YAML means the same */
            continue;
        if (!(first && inline_first))
            fprintf(out, "%*s", indent, "");
        first = false;
        bool kms = ms || strcmp(k, "timeouts") == 0;
        fprintf(out, "%s:", k);
        if (yaml_flow(v)) {
            fputc(' ', out);
            yaml_flow_value(out, v, kms);
            fputc('\n', out);
        } else {
            fputc('\n', out);
            yaml_node(out, v, indent + 2, false, kms);
        }
    }
}

static void yaml_node(FILE *out, const json_t *v, int indent, bool inline_first, bool ms)
{
    if (json_is_object(v)) {
        yaml_object(out, v, indent, inline_first, ms);
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) {
        fprintf(out, "%*s- ", indent, "");
        if (json_is_object(x) && json_object_size(x) > 0) {
            yaml_object(out, x, indent + 2, true, ms);
        } else {
            yaml_flow_value(out, x, ms);
            fputc('\n', out);
        }
    }
}

int ctl_render_config(FILE *out, const json_t *r)
{
    if (!json_is_object(r))
        return unexpected("config", "an object");
    fprintf(out, "# h2gate effective configuration (defaults filled in; sizes in bytes)\n");
    yaml_object(out, r, 0, false, false);
    return 0;
}
