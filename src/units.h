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

/* "http://host[:port]" (port defaults to 80), no path other than "/". */
const char *h2g_parse_http_url(const char *s, struct h2g_hostport *out);
/* "tcp://host:port" */
const char *h2g_parse_tcp_url(const char *s, struct h2g_hostport *out);

/* Is s[0..len) a DNS name (RFC 1123 labels of letters, digits, '-', '_';
 * no empty label, no trailing dot, at most 253 bytes)?  A name whose last
 * label is all digits is refused: it is a mistyped IPv4 address. */
bool h2g_is_hostname(const char *s, size_t len);

#endif
