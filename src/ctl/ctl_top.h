/*
 * ctl_top.h: h2gatectl top, a live view of a running h2gate: a header
 * (version, uptime, state, connections, sessions by protocol, streams,
 * tunnels, upstream connections, requests per second) over a sessions
 * table and a tunnels table, redrawn every refresh.
 *
 * On a terminal (stdout is a tty) the view takes the alternate screen,
 * reads single keys from stdin in non-canonical, no-echo mode and fits
 * the terminal's size; otherwise it prints plain snapshots (no escape
 * codes), one per refresh, separated by a blank line.
 *
 * Lifecycle: ctl_top() runs to completion.  What it allocates (the
 * control connection of a refresh, the last answers) lives in a struct
 * on its stack and is freed before it returns; what it changes in the
 * process (termios of stdin, the alternate screen, signal handlers) is
 * put back on every way out (q, a signal, an error).
 */
#ifndef H2G_CTL_TOP_H
#define H2G_CTL_TOP_H

/* What the rows are ordered by, largest first (reverse: smallest). */
enum ctl_top_sort {
    CTL_TOP_BYTES,   /* bytes in + out (tunnels: up + down) */
    CTL_TOP_AGE,     /* age: the oldest first */
    CTL_TOP_STREAMS, /* streams open, then streams total (tunnels: by bytes) */
};

struct ctl_top_opts {
    const char *socket; /* control socket path (borrowed) */
    int timeout_ms;     /* per connect / send / receive */
    int delay_ms;       /* between refreshes */
    long iterations;    /* refreshes before exiting; 0: until q on a
                         * terminal, 1 otherwise */
    enum ctl_top_sort sort;
};

/* Parses "bytes", "age" or "streams"; returns the key or -1. */
int ctl_top_sort_parse(const char *name);

/* Runs the view.  Returns the exit status: 0 (q, Ctrl-C, or the -n
 * refreshes done and the last one answered); 2 when, without a terminal,
 * the daemon cannot be reached or gives no valid answer (said on stderr),
 * when the last of -n refreshes on a terminal failed, or when the terminal
 * cannot be used; 128 + the signal for SIGTERM, SIGHUP and SIGQUIT. */
int ctl_top(const struct ctl_top_opts *o);

#endif
