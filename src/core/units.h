/*
 * units.h: parsing of the contract's scalar types.  Pure functions; each
 * returns NULL on success or a static error message.
 */
#ifndef H2G_UNITS_H
#define H2G_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

/* "65536", "64KiB", "1MiB", "2GiB" (also KB/MB/GB? no: only the IEC
 * suffixes of the contract).  Rejects negatives, overflow, junk. */
const char *h2g_parse_size(const char *s, uint64_t *out);
/* "500ms", "30s", "5m", "1h"; a bare integer is seconds.  Milliseconds out. */
const char *h2g_parse_duration(const char *s, uint64_t *out_ms);

/* A duration in milliseconds (the unit of every timeout in the config)
 * as the struct timeval that libevent timers and SO_RCVTIMEO take. */
static inline struct timeval h2g_ms_timeval(uint64_t ms)
{
    return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

/* A listen or upstream address.  host is "" for the wildcard ("*"). */
struct h2g_hostport {
    char host[256]; /* no brackets for IPv6 */
    uint16_t port;
    bool wildcard;  /* "*:port" */
    bool is_ipv6;   /* literal IPv6 */
};
/* "127.0.0.1:8443", "[::1]:8443", "*:8443", "name:80"; port required,
 * 1..65535.  */
const char *h2g_parse_hostport(const char *s, struct h2g_hostport *out);

/* An authority as h2g_parse_authority splits it. */
struct h2g_authority {
    const char *host; /* into the input; an IPv6 literal without its brackets */
    size_t host_len;
    uint16_t port;    /* 0 without a port, or for ":*" */
    bool has_port;    /* ":port" was there */
    bool any_port;    /* it was ":*" (H2G_AUTH_ANY_PORT) */
    bool bracketed;   /* the host was "[...]" (not checked to be an address) */
};

/* What h2g_parse_authority returns for each mistake, so that the config,
 * the ACL, the router and h2gatectl share the parser and still say what
 * was wrong in their own words.  A NULL entry turns its check off, as
 * each comment says. */
struct h2g_authority_words {
    const char *empty;        /* "" */
    const char *ctl;          /* a space or control byte; NULL: not looked for */
    const char *no_close;     /* "[" without "]" */
    const char *after_close;  /* something other than ":port" after "]" */
    const char *colons;       /* a second ':' outside brackets; NULL: it
                               * belongs to the port, which refuses it */
    const char *missing_port; /* no ":port" with H2G_AUTH_PORT_REQUIRED */
    const char *empty_port;   /* ":" and nothing after it */
    const char *port_chars;   /* a port that is not all digits */
    const char *port_range;   /* more than 5 digits, not 1..65535, or a
                               * leading zero with H2G_AUTH_NO_LEADING_ZERO */
    const char *empty_host;   /* NULL: an empty host is the caller's call */
};

enum {
    H2G_AUTH_PORT_REQUIRED = 1 << 0,   /* no ":port" is an error */
    H2G_AUTH_PORT_ZERO = 1 << 1,       /* port 0 is accepted */
    H2G_AUTH_ANY_PORT = 1 << 2,        /* ":*" is accepted (any_port) */
    H2G_AUTH_NO_LEADING_ZERO = 1 << 3, /* ":080" is refused */
};

/*
 * The one host:port parser: s[0..len) is host[":"port] or
 * "["IPv6"]"[":"port].  The port is decimal, at most 5 digits, 1..65535
 * (0 too with H2G_AUTH_PORT_ZERO).  The host is only located: checking
 * it (name, address, wildcard) is the caller's.  Mistakes are looked for
 * in this order: empty input, control bytes, brackets, a second ':',
 * the port (missing, empty, not digits, too long or out of range), an
 * empty host.
 * Returns NULL with *out filled, or the word w gives for the first
 * mistake.
 */
const char *h2g_parse_authority(const char *s, size_t len, unsigned flags, const struct h2g_authority_words *w,
                                struct h2g_authority *out);

/* "http://host[:port]" (port defaults to 80), no path other than "/". */
const char *h2g_parse_http_url(const char *s, struct h2g_hostport *out);
/* The protocol an upstream URL names (TLS or not is apart: *tls). */
enum h2g_upstream_proto {
    H2G_UPSTREAM_HTTP1, /* http://, https://: HTTP/1.1, one exchange per connection */
    H2G_UPSTREAM_H2C,   /* h2c://, h2://: HTTP/2, multiplexed */
};
/* "http://host[:port]", "h2c://host[:port]" (port 80), "https://" or
 * "h2://host[:port]" (TLS, port 443), no path other than "/"; *proto
 * and *tls say which. */
const char *h2g_parse_upstream_url(const char *s, struct h2g_hostport *out, enum h2g_upstream_proto *proto,
                                   bool *tls);
/* "tcp://host:port" */
const char *h2g_parse_tcp_url(const char *s, struct h2g_hostport *out);

/* Is s[0..len) a DNS name (RFC 1123 labels of letters, digits, '-', '_';
 * no empty label, no trailing dot, at most 253 bytes)?  A name whose last
 * label is all digits is refused: it is a mistyped IPv4 address. */
bool h2g_is_hostname(const char *s, size_t len);

#endif
