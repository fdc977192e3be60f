/*
 * ctl_top.c: h2gatectl top.  See ctl_top.h.
 *
 * Every refresh opens a control connection, asks status, stats, sessions
 * and tunnels, and closes it: a fresh connection per second costs nothing
 * on a unix socket and leaves no idle connection to go stale across a
 * daemon restart.  Keys and SIGWINCH redraw the last answers at once
 * without asking the daemon again.
 *
 * Why no ncurses: the view is a few lines of text redrawn whole once a
 * second.  Cursor home, erase line, erase below and the alternate screen
 * (ANSI/VT100 and xterm sequences) are understood by every terminal an
 * operator meets today (xterm and its descendants, tmux, screen, the Linux
 * console), so curses' terminfo lookup and screen diffing would buy
 * nothing here but a library dependency for h2gatectl and its package.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_client.h"
#include "ctl/ctl_render.h"
#include "ctl/ctl_top.h"
#include "runtime/jsonmem.h"

/* Lines above the tables: three of header and a blank one. */
#define HEADER_LINES 4
#define ERR_LEN 400

struct top {
    const struct ctl_top_opts *o;
    bool tty;    /* the interactive view (stdout is a terminal) */
    bool keys;   /* stdin is a terminal we put in non-canonical mode */
    bool eof;    /* stdin ended: stop polling it */
    struct termios saved; /* stdin's modes before, put back on exit */
    enum ctl_top_sort sort;
    bool reverse;
    /* the last good answers (owned), NULL before the first or after a
     * failed refresh */
    json_t *status, *stats, *sessions, *tunnels;
    json_t *prev_bytes;   /* "session id" -> bytes in+out at the last refresh */
    double prev_requests; /* requests_total at the last refresh */
    double prev_t;        /* monotonic seconds of the last good refresh; 0: none */
    double reqs_per_s;    /* since the last refresh; < 0: not known yet */
    char err[ERR_LEN];    /* why the last refresh failed; "" when it did not */
    bool incomplete;      /* out of memory computing the last rates */
    int draw_errno;       /* why the view could not be drawn; 0 if it could */
};

/* Set by the signal handlers, read by the loop: a signal handler can only
 * talk to the program through such flags, hence file-scope state. */
static volatile sig_atomic_t got_quit;  /* the signal number that ends the view */
static volatile sig_atomic_t got_winch; /* the terminal was resized */
static volatile sig_atomic_t got_tstp;  /* Ctrl-Z: give the terminal back, stop */

static void on_signal(int sig)
{
    if (sig == SIGWINCH)
        got_winch = 1;
    else if (sig == SIGTSTP)
        got_tstp = 1;
    else
        got_quit = sig;
}

static const char *const sort_names[] = {"bytes", "age", "streams"};

int ctl_top_sort_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(sort_names) / sizeof(sort_names[0]); i++)
        if (strcmp(name, sort_names[i]) == 0)
            return (int)i;
    return -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double numv(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : 0;
}

/* ---- asking the daemon -------------------------------------------- */

/* The result of {"cmd":cmd} (a new reference), or NULL with t->err. */
static json_t *ask(struct top *t, struct ctl_conn *c, const char *cmd)
{
    char err[300];
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    json_t *resp = req != NULL ? ctl_request(c, req, err, sizeof(err)) : NULL;
    json_decref(req);
    if (req == NULL) {
        snprintf(t->err, sizeof(t->err), "out of memory");
        return NULL;
    }
    if (resp == NULL) {
        snprintf(t->err, sizeof(t->err), "%s: %s", t->o->socket, err);
        return NULL;
    }
    json_t *result = json_object_get(resp, "result");
    if (!json_is_true(json_object_get(resp, "ok")) || result == NULL) {
        const json_t *e = json_object_get(resp, "error");
        snprintf(t->err, sizeof(t->err), "%s: %s", cmd, json_is_string(e) ? json_string_value(e) : "failed");
        json_decref(resp);
        return NULL;
    }
    json_incref(result);
    json_decref(resp);
    return result;
}

static void drop_answers(struct top *t)
{
    json_decref(t->status);
    json_decref(t->stats);
    json_decref(t->sessions);
    json_decref(t->tunnels);
    t->status = t->stats = t->sessions = t->tunnels = NULL;
}

/* Bytes per second of every session since the last refresh (member
 * "top_rate", absent for a session new since then) and requests per
 * second from requests_total. */
static void compute_rates(struct top *t, double now)
{
    double dt = t->prev_t > 0 ? now - t->prev_t : 0;
    json_t *bytes = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(t->sessions, i, s) {
        char key[32];
        snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(s, "id")));
        double b = numv(s, "bytes_in") + numv(s, "bytes_out");
        const json_t *prev = json_object_get(t->prev_bytes, key);
        if (dt > 0 && json_is_number(prev) && b >= json_number_value(prev))
            json_object_set_new(s, "top_rate", json_real((b - json_number_value(prev)) / dt));
        if (bytes != NULL)
            json_object_set_new(bytes, key, json_real(b));
    }
    json_decref(t->prev_bytes);
    t->prev_bytes = bytes;
    double req = numv(json_object_get(t->stats, "counters"), "requests_total");
    t->reqs_per_s = dt > 0 && req >= t->prev_requests ? (req - t->prev_requests) / dt : -1;
    t->prev_requests = req;
    t->prev_t = now;
}

/* One refresh: 0, or -1 with t->err (and no answers kept: stale numbers
 * on screen would look live). */
static int refresh(struct top *t)
{
    int err_no = 0;
    char err[256];
    drop_answers(t);
    t->err[0] = '\0';
    struct ctl_conn *c = ctl_connect(t->o->socket, t->o->timeout_ms, &err_no, err, sizeof(err));
    if (c == NULL) {
        snprintf(t->err, sizeof(t->err), "cannot connect to %s: %s%s", t->o->socket, err,
                 err_no == ENOENT || err_no == ECONNREFUSED ? " (is h2gate running?)"
                 : err_no == EACCES || err_no == EPERM       ? " (the socket is mode 0600: run as h2gate's user)"
                                                             : "");
        return -1;
    }
    if ((t->status = ask(t, c, "status")) != NULL && (t->stats = ask(t, c, "stats")) != NULL &&
        (t->sessions = ask(t, c, "sessions")) != NULL)
        t->tunnels = ask(t, c, "tunnels");
    ctl_close(c);
    if (t->tunnels == NULL) {
        drop_answers(t);
        return -1;
    }
    if (!json_is_object(t->status) || !json_is_object(t->stats) || !json_is_array(t->sessions) ||
        !json_is_array(t->tunnels)) {
        snprintf(t->err, sizeof(t->err), "unexpected answer from h2gate (try h2gatectl --json status)");
        drop_answers(t);
        return -1;
    }
    /* A rate that could not be stored would show as "-" and a lost
     * "previous" entry would skew the next ones: then the next refresh
     * starts over, and this one says it is incomplete. */
    jsonmem_begin();
    compute_rates(t, now_s());
    t->incomplete = jsonmem_failed();
    if (t->incomplete)
        t->prev_t = 0;
    return 0;
}

/* ---- ordering ------------------------------------------------------ */

/* A row with its sort keys, signs applied: k1 then k2 descending, then
 * t1, t2 ascending (ids: a stable order among equals). */
struct row {
    double k1, k2;
    json_int_t t1, t2;
    json_t *o;
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->k1 != y->k1)
        return x->k1 > y->k1 ? -1 : 1;
    if (x->k2 != y->k2)
        return x->k2 > y->k2 ? -1 : 1;
    if (x->t1 != y->t1)
        return x->t1 < y->t1 ? -1 : 1;
    return x->t2 < y->t2 ? -1 : x->t2 > y->t2;
}

static void row_keys(struct row *r, const json_t *o, enum ctl_top_sort sort, bool tunnel)
{
    r->k2 = 0;
    if (sort == CTL_TOP_AGE)
        r->k1 = numv(o, "age_s");
    else if (sort == CTL_TOP_STREAMS && !tunnel) {
        r->k1 = numv(o, "streams_open");
        r->k2 = numv(o, "streams_total");
    } else if (tunnel)
        r->k1 = numv(o, "bytes_up") + numv(o, "bytes_down");
    else
        r->k1 = numv(o, "bytes_in") + numv(o, "bytes_out");
    r->t1 = json_integer_value(json_object_get(o, tunnel ? "session" : "id"));
    r->t2 = tunnel ? json_integer_value(json_object_get(o, "stream")) : 0;
}

/* A new array of arr's objects in the view's order, NULL when out of
 * memory. */
static json_t *sorted(const struct top *t, const json_t *arr, bool tunnel)
{
    size_t n = json_array_size(arr);
    struct row *rows = calloc(n ? n : 1, sizeof(*rows));
    json_t *out = json_array();
    if (rows == NULL || out == NULL) {
        free(rows);
        json_decref(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].o = json_array_get(arr, i);
        row_keys(&rows[i], rows[i].o, t->sort, tunnel);
        if (t->reverse) {
            rows[i].k1 = -rows[i].k1;
            rows[i].k2 = -rows[i].k2;
        }
    }
    qsort(rows, n, sizeof(*rows), row_cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, rows[i].o);
    free(rows);
    return out;
}

/* ---- the frame ------------------------------------------------------- */

static const char *str_or(const json_t *o, const char *key, const char *dflt)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static char *int_or_dash(char *buf, size_t len, const json_t *v)
{
    if (json_is_number(v))
        snprintf(buf, len, "%.0f", json_number_value(v));
    else
        snprintf(buf, len, "-");
    return buf;
}

/* "3 (h2 2, h2c 1, http/1.1 0)": the total, then each protocol. */
static void fmt_sessions(char *buf, size_t len, const json_t *ss)
{
    char parts[256] = "";
    double total = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ss, k, v) {
        size_t n = strlen(parts);
        snprintf(parts + n, sizeof(parts) - n, "%s%s %.0f", n ? ", " : "", k, json_number_value(v));
        total += json_number_value(v);
    }
    if (json_is_object(ss))
        snprintf(buf, len, "%.0f (%s)", total, parts);
    else
        int_or_dash(buf, len, ss);
}

static void render_header(FILE *f, const struct top *t)
{
    const json_t *s = t->status;
    char a[64], b[64], c[64], d[64], e[64], ses[300];
    const json_t *up = json_object_get(s, "uptime_s");
    const char *state = str_or(s, "state", json_is_true(json_object_get(s, "draining")) ? "draining" : "serving");
    fprintf(f, "h2gate %s  up %s  %s  workers %s  pid %s\n", str_or(s, "version", "-"),
            json_is_number(up) ? ctl_fmt_secs(a, sizeof(a), json_number_value(up)) : "-", state,
            int_or_dash(b, sizeof(b), json_object_get(s, "workers")),
            int_or_dash(c, sizeof(c), json_object_get(s, "pid")));
    const json_t *uc = json_object_get(s, "upstream_connections");
    fmt_sessions(ses, sizeof(ses), json_object_get(s, "sessions"));
    fprintf(f, "connections %s  sessions %s  streams %s  tunnels %s  upstream %s open, %s idle\n",
            int_or_dash(a, sizeof(a), json_object_get(s, "connections")), ses,
            int_or_dash(b, sizeof(b), json_object_get(s, "streams")),
            int_or_dash(c, sizeof(c), json_object_get(s, "tunnels")),
            int_or_dash(d, sizeof(d), json_object_get(uc, "open")), int_or_dash(e, sizeof(e), json_object_get(uc, "idle")));
    const json_t *req = json_object_get(json_object_get(t->stats, "counters"), "requests_total");
    if (t->reqs_per_s >= 0)
        snprintf(b, sizeof(b), "%.1f/s", t->reqs_per_s);
    else
        snprintf(b, sizeof(b), "-/s");
    fprintf(f, "requests %s (%s)  sort: %s%s", int_or_dash(a, sizeof(a), req), b, sort_names[t->sort],
            t->reverse ? " (reversed)" : "");
    if (t->tty)
        fprintf(f, "  refresh %gs  [q quit, b/a/s sort, r reverse]", t->o->delay_ms / 1000.0);
    fputs("\n\n", f);
}

static const char *const session_cols[] = {">ID", ">WORKER", "PEER", "ALPN", ">AGE", ">STREAMS",
                                           ">IN", ">OUT", ">RATE"};
static const struct ctl_cell session_cells[] = {
    {"id", NULL, CTL_CELL_VAL},         {"worker", NULL, CTL_CELL_VAL},
    {"peer", NULL, CTL_CELL_VAL},       {"alpn", NULL, CTL_CELL_VAL},
    {"age_s", NULL, CTL_CELL_SECS},     {"streams_open", "streams_total", CTL_CELL_PAIR},
    {"bytes_in", NULL, CTL_CELL_BYTES}, {"bytes_out", NULL, CTL_CELL_BYTES},
    {"top_rate", NULL, CTL_CELL_RATE},
};
static const char *const tunnel_cols[] = {">SESSION", ">STREAM", "KIND", "TARGET", ">UP", ">DOWN", ">AGE", ">IDLE"};
static const struct ctl_cell tunnel_cells[] = {
    {"session", NULL, CTL_CELL_VAL},  {"stream", NULL, CTL_CELL_VAL},
    {"kind", NULL, CTL_CELL_VAL},     {"target", NULL, CTL_CELL_VAL},
    {"bytes_up", NULL, CTL_CELL_BYTES}, {"bytes_down", NULL, CTL_CELL_BYTES},
    {"age_s", NULL, CTL_CELL_SECS},   {"idle_s", NULL, CTL_CELL_SECS},
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* Rows of a list of n that fit in `room` lines with its "+N more" line. */
static size_t take(size_t n, long room)
{
    if ((long)n <= room)
        return n;
    return room > 1 ? (size_t)(room - 1) : 0;
}

/* How many sessions and tunnels fit in `avail` lines (the tables' headers
 * and "+N more" lines included).  Both fit, or tunnels keep at least a
 * third of the room so that a long session list does not hide them. */
static void fit_rows(long avail, size_t ns, size_t nt, size_t *ks, size_t *kt)
{
    long body = avail - 3; /* two table headers and the blank line between */
    if (body < 0)
        body = 0;
    if ((long)(ns + nt) <= body) {
        *ks = ns;
        *kt = nt;
        return;
    }
    long room_t = body / 3 > body - (long)ns ? body / 3 : body - (long)ns;
    *kt = take(nt, room_t);
    *ks = take(ns, body - (long)*kt - (*kt > 0 && *kt < nt));
}

/* `what` is "sessions" or "tunnels"; k rows of `rows` fit. */
static void render_table(FILE *f, const json_t *rows, size_t k, const char *const *cols, const struct ctl_cell *cells,
                         size_t ncols, const char *what)
{
    size_t n = json_array_size(rows);
    if (n == 0) {
        fprintf(f, "no %s\n", what);
    } else if (k == 0) {
        fprintf(f, "+%zu %s (no room: enlarge the terminal)\n", n, what);
    } else {
        ctl_render_rows(f, rows, cols, cells, ncols, k);
        if (k < n)
            fprintf(f, "+%zu more\n", n - k);
    }
}

/* The whole view into f; `lines` < 0: no limit (plain output).  False
 * when memory ran out for a part of it. */
static bool render(FILE *f, const struct top *t, long lines)
{
    if (t->status == NULL) {
        fprintf(f, "h2gatectl top: %s\n", t->err[0] ? t->err : "no answer yet");
        if (t->tty)
            fprintf(f, "retrying every %gs  [q quit]\n", t->o->delay_ms / 1000.0);
        return true;
    }
    jsonmem_begin();
    ctl_render_begin();
    render_header(f, t);
    json_t *ss = sorted(t, t->sessions, false);
    json_t *ts = sorted(t, t->tunnels, true);
    bool whole = ss != NULL && ts != NULL;
    if (whole) {
        size_t ns = json_array_size(ss), nt = json_array_size(ts), ks = ns, kt = nt;
        if (lines >= 0)
            fit_rows(lines - HEADER_LINES, ns, nt, &ks, &kt);
        render_table(f, ss, ks, session_cols, session_cells, NCOLS(session_cols), "sessions");
        fputc('\n', f);
        render_table(f, ts, kt, tunnel_cols, tunnel_cells, NCOLS(tunnel_cols), "tunnels");
    }
    json_decref(ss);
    json_decref(ts);
    return whole && !t->incomplete && !jsonmem_failed() && !ctl_render_incomplete();
}

/* ---- output ---------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Bytes the terminal could take as commands (an SNI or a target is the
 * client's text) print as '?'; so does anything outside ASCII, whose
 * width on screen is unknown. */
static void sanitize(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '\n' && ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f))
            p[i] = '?';
}

/* The frame as a terminal screen: from the top left, each line cut to
 * `cols` and erased to its end, at most `rows` lines (no newline after
 * the last row: it would scroll), the rest of the screen erased. */
static int draw_screen(const char *frame, size_t len, int rows, int cols)
{
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    if (f == NULL)
        return -1;
    fputs("\033[H", f);
    const char *p = frame, *end = frame + len;
    for (int r = 0; r < rows && p < end; r++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);
        fwrite(p, 1, l < (size_t)cols ? l : (size_t)cols, f);
        fputs("\033[K", f);
        if (r + 1 < rows && nl != NULL && nl + 1 < end)
            fputc('\n', f);
        p = nl ? nl + 1 : end;
    }
    fputs("\033[J", f);
    int rc = fclose(f) == 0 ? write_all(STDOUT_FILENO, out, olen) : -1;
    free(out);
    return rc;
}

#define NOMEM_VIEW "h2gatectl top: out of memory: the view is incomplete; retrying\n"

/* Renders the last answers: on a terminal fitted to its size, otherwise
 * plain to stdout.  -1 when it could not be written, or (plain) when
 * memory ran out for a part of it: nothing is printed then, as a table
 * without some of its rows would mislead a script. */
static int draw_frame(const struct top *t)
{
    int rows = 24, cols = 80;
    struct winsize ws;
    if (t->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        rows = ws.ws_row;
        cols = ws.ws_col;
    }
    char *frame = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&frame, &len);
    if (f == NULL)
        return -1;
    bool whole = render(f, t, t->tty ? rows : -1);
    if (fclose(f) != 0 || (!whole && !t->tty)) {
        free(frame);
        errno = ENOMEM;
        return -1;
    }
    if (!whole) {
        /* the terminal says so until a later refresh is whole */
        free(frame);
        frame = strdup(NOMEM_VIEW);
        len = frame != NULL ? strlen(frame) : 0;
        if (frame == NULL)
            return -1;
    }
    sanitize(frame, len);
    int rc = t->tty ? draw_screen(frame, len, rows, cols) : write_all(STDOUT_FILENO, frame, len);
    free(frame);
    return rc;
}

static int draw(struct top *t)
{
    int rc = draw_frame(t);
    t->draw_errno = rc != 0 ? (errno != 0 ? errno : EIO) : 0;
    return rc;
}

/* ---- the terminal ------------------------------------------------------ */

#define ENTER_SCREEN "\033[?1049h\033[?25l\033[H\033[2J"
#define LEAVE_SCREEN "\033[?25h\033[?1049l"

static void handle_signals(bool on)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: poll() returns EINTR and the loop sees the flag */
    sa.sa_handler = on ? on_signal : SIG_DFL;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Non-canonical, no echo; ISIG stays so that Ctrl-C and Ctrl-Z arrive as
 * signals, OPOST so that "\n" still starts a line at the left. */
static int term_enter(struct top *t)
{
    t->keys = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0;
    if (t->keys) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0)
            t->keys = false;
    }
    return write_all(STDOUT_FILENO, ENTER_SCREEN, strlen(ENTER_SCREEN));
}

static void term_leave(struct top *t)
{
    write_all(STDOUT_FILENO, LEAVE_SCREEN, strlen(LEAVE_SCREEN));
    if (t->keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
}

/* Ctrl-Z: the shell gets its terminal back while we are stopped. */
static int suspend(struct top *t)
{
    term_leave(t);
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP);
    /* here after SIGCONT */
    handle_signals(true);
    return term_enter(t);
}

/* Reads the pending keys; returns true when the view must be redrawn, sets
 * *quit on q and *now on a key that asks for a refresh. */
static bool read_keys(struct top *t, bool *quit, bool *now)
{
    char buf[64];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        t->eof = true;
        return false;
    }
    bool redraw = false;
    for (ssize_t i = 0; i < n; i++) {
        switch (buf[i]) {
        case 'q': case 'Q': *quit = true; break;
        case 'b': t->sort = CTL_TOP_BYTES; redraw = true; break;
        case 'a': t->sort = CTL_TOP_AGE; redraw = true; break;
        case 's': t->sort = CTL_TOP_STREAMS; redraw = true; break;
        case 'r': t->reverse = !t->reverse; redraw = true; break;
        case ' ': case '\n': case '\r': *now = true; break;
        default: break; /* other keys, escape sequences: ignored */
        }
    }
    return redraw;
}

/* Waits up to `ms` for a key or a signal and handles it.  Returns -1 when
 * the view must end (*rc set), else 0; *refresh_now on space/enter. */
static int wait_event(struct top *t, int ms, int *rc, bool *refresh_now)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    bool use_stdin = t->keys && !t->eof;
    /* a signal that came during the refresh is handled without waiting */
    bool pending = got_quit || got_tstp || got_winch;
    int n = poll(use_stdin ? &pfd : NULL, use_stdin ? 1 : 0, ms < 0 || pending ? 0 : ms);
    bool quit = false, redraw = false;
    if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
        redraw = read_keys(t, &quit, refresh_now);
    if (got_quit) {
        *rc = got_quit == SIGINT ? 0 : 128 + got_quit;
        return -1;
    }
    if (quit) {
        *rc = 0;
        return -1;
    }
    if (got_tstp) {
        got_tstp = 0;
        if (suspend(t) != 0) {
            *rc = 2;
            return -1;
        }
        redraw = true;
    }
    if (got_winch) {
        got_winch = 0;
        redraw = true;
    }
    if (redraw && draw(t) != 0) {
        *rc = 2;
        return -1;
    }
    return 0;
}

static int run_tty(struct top *t)
{
    handle_signals(true);
    int rc = 0;
    if (term_enter(t) != 0) {
        term_leave(t);
        handle_signals(false);
        fprintf(stderr, "h2gatectl: top: cannot write to the terminal: %s\n", strerror(errno));
        return 2;
    }
    double next = 0;
    long done = 0;
    for (;;) {
        if (now_s() >= next) {
            int r = refresh(t);
            done++;
            if (draw(t) != 0) {
                rc = 2;
                break;
            }
            next = now_s() + t->o->delay_ms / 1000.0;
            if (t->o->iterations > 0 && done >= t->o->iterations) {
                rc = r == 0 ? 0 : 2;
                break;
            }
        }
        bool refresh_now = false;
        if (wait_event(t, (int)((next - now_s()) * 1000) + 1, &rc, &refresh_now) != 0)
            break;
        if (refresh_now)
            next = 0;
    }
    term_leave(t);
    handle_signals(false);
    if (t->draw_errno != 0)
        fprintf(stderr, "h2gatectl: top: cannot draw the view: %s\n", strerror(t->draw_errno));
    else if (rc == 2)
        fprintf(stderr, "h2gatectl: %s\n", t->err);
    return rc;
}

/* Sleeps `ms` milliseconds (signals keep their default action). */
static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int run_plain(struct top *t)
{
    long n = t->o->iterations > 0 ? t->o->iterations : 1;
    for (long i = 0; i < n; i++) {
        if (i > 0)
            pause_ms(t->o->delay_ms);
        if (refresh(t) != 0) {
            fprintf(stderr, "h2gatectl: %s\n", t->err);
            return 2;
        }
        if ((i > 0 && write_all(STDOUT_FILENO, "\n", 1) != 0) || draw(t) != 0) {
            if (errno == ENOMEM)
                fprintf(stderr, "h2gatectl: out of memory\n");
            else
                fprintf(stderr, "h2gatectl: top: cannot write the output: %s\n", strerror(errno));
            return 2;
        }
    }
    return 0;
}

int ctl_top(const struct ctl_top_opts *o)
{
    struct top t = {.o = o, .sort = o->sort, .reqs_per_s = -1};
    t.tty = isatty(STDOUT_FILENO);
    fflush(stdout); /* the frames bypass stdio */
    int rc = t.tty ? run_tty(&t) : run_plain(&t);
    drop_answers(&t);
    json_decref(t.prev_bytes);
    return rc;
}
