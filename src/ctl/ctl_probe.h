/*
 * ctl_probe.h: "h2gatectl probe URL": a client-side diagnosis of any
 * HTTP/2 server, independent of the h2gate daemon.  One blocking
 * connection: TCP connect, TLS with ALPN (https) or prior-knowledge h2c
 * (http + --h2c), an nghttp2 client session that records the server's
 * SETTINGS, ALTSVC and ORIGIN frames, one GET of the URL's path, timings.
 */
#ifndef H2G_CTL_PROBE_H
#define H2G_CTL_PROBE_H

#include <stdbool.h>

struct ctl_probe_opts {
    const char *url;     /* http:// or https:// */
    bool insecure;       /* a failed certificate verification is not an error */
    bool h2c;            /* http://: HTTP/2 prior knowledge */
    bool json;           /* print one JSON object instead of text */
    const char *cacert;  /* PEM bundle to verify with (NULL: system store) */
    const char *connect; /* "host:port" (or "[v6]:port") to connect to instead of the URL's */
    int timeout_ms;      /* per I/O step and for the whole exchange */
};

/* Runs the probe and prints the report on stdout (errors on stderr).
 * Returns the exit status: 0 = an HTTP/2 response was received (and the
 * certificate verified, unless insecure); 1 = the server was reached but
 * the probe failed (no h2 in ALPN, verification failed, GOAWAY, reset,
 * timeout); 2 = usage error (bad URL) or the server could not be reached. */
int ctl_probe(const struct ctl_probe_opts *o);

#endif
