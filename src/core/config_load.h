/*
 * config_load.h: YAML file -> validated struct h2g_config.
 *
 * libyaml events are turned into nodes that keep their marks, then walked
 * against the schema table (config_load.c); every problem is reported as
 * "file:line:column: message" (1-based line and column), all of them, not
 * only the first.  Pure: reads the file, touches nothing else (except
 * access(2) checks that certificate and key files are readable).
 */
#ifndef H2G_CONFIG_LOAD_H
#define H2G_CONFIG_LOAD_H

#include <stddef.h>

#include "core/config.h"

struct h2g_config_errors {
    char **msgs; /* each "file:line:column: message", owned */
    size_t n;
};

/* Loads and validates `path`.  On success returns a snapshot with refcount
 * 1 (errs->n == 0); on failure NULL with errs filled, sorted by position
 * (free them with h2g_config_errors_clear).  *errs is overwritten, not
 * appended to: pass an empty or uninitialised struct.  A file that cannot
 * be opened gives the one error "FILE: cannot open: strerror". */
struct h2g_config *h2g_config_load(const char *path, struct h2g_config_errors *errs);
/* The same from memory; `name` is used in messages and relative paths
 * resolve against `dir`. */
struct h2g_config *h2g_config_load_string(const char *name, const char *dir, const char *text,
                                          size_t len, struct h2g_config_errors *errs);
void h2g_config_errors_clear(struct h2g_config_errors *errs);

/* Value checkers of the schema that are parsers in their own right
 * (exported for the fuzz harnesses and unit tests).  Each returns NULL
 * when the value is valid or a static message. */
/* An origins[].hosts entry: "example.com", "*.example.com", "*", an IPv4
 * literal or "[v6]"; rewritten in place to the stored form (lowercased,
 * one trailing dot and IPv6 brackets dropped). */
const char *h2g_config_check_host_pattern(char *s);
/* An origin_set entry: an RFC 6454 serialized origin, "https://host[:port]"
 * (lowercase, no path, default port omitted).  s is not changed. */
const char *h2g_config_check_origin(char *s);
/* An Alt-Svc field value (RFC 7838 3): "clear" or a list of
 * protocol-id="authority" alternatives with parameters. */
const char *h2g_config_check_altsvc(const char *s);

#endif
