/*
 * acl.h: CONNECT allow/deny patterns (the contract's `connect:` section).
 *
 * Pure: no sockets, no resolver.  A pattern is "host:port" where host is a
 * DNS name, "*.suffix", "*", an IPv4/IPv6 literal (IPv6 in brackets) or a
 * CIDR ("10.0.0.0/8", "[fd00::/8]"), and port is a number or "*".
 * Patterns are parsed once at config load into struct h2g_acl_rule, owned
 * by the config snapshot (freed by h2g_acl_rule_clear).
 */
#ifndef H2G_ACL_H
#define H2G_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum h2g_acl_kind {
    H2G_ACL_ANY,    /* "*": every host */
    H2G_ACL_NAME,   /* exact DNS name, lowercased, no trailing dot */
    H2G_ACL_SUFFIX, /* "*.example.com": any name strictly below the suffix */
    H2G_ACL_CIDR,   /* address with prefix; a literal is a full-length prefix */
};

struct h2g_acl_rule {
    enum h2g_acl_kind kind;
    char *name;        /* NAME: the name; SUFFIX: ".example.com" (with dot) */
    int family;        /* CIDR: AF_INET or AF_INET6 */
    uint8_t addr[16];  /* CIDR: network address, 4 or 16 bytes used */
    unsigned prefix;   /* CIDR: prefix length in bits */
    bool any_port;
    uint16_t port;     /* when !any_port */
    char *text;        /* the pattern as written, for logs */
};

struct h2g_acl {
    struct h2g_acl_rule *rules;
    size_t n_rules;
};

/* Parses one pattern.  NULL on success (rule filled, caller owns it and
 * frees with h2g_acl_rule_clear) or a static error message. */
const char *h2g_acl_rule_parse(const char *pattern, struct h2g_acl_rule *rule);
void h2g_acl_rule_clear(struct h2g_acl_rule *rule);
void h2g_acl_clear(struct h2g_acl *acl);

/*
 * Canonical target of a CONNECT: what the client asked for, normalised so
 * that alternative spellings cannot dodge a rule.  A host that any libc
 * inet_aton() would accept as an address ("2130706433", "0x7f.1",
 * "127.1") is parsed as an IPv4 address; "[::ffff:a.b.c.d]" becomes the
 * IPv4 address; names are lowercased and lose one trailing dot.
 */
struct h2g_acl_target {
    bool is_addr;
    int family;          /* when is_addr */
    uint8_t addr[16];
    char name[256];      /* when !is_addr: normalised name */
    uint16_t port;
};

/* Parses an authority "host:port" (RFC 9113 8.5: port required).
 * NULL or a static error message (-> the request is malformed). */
const char *h2g_acl_target_parse(const char *authority, size_t len, struct h2g_acl_target *t);

enum h2g_acl_verdict { H2G_ACL_DENY = 0, H2G_ACL_ALLOW = 1 };

/*
 * deny is checked first, then allow; no match = deny.  Name rules never
 * match an address target and CIDR rules never match a name target: the
 * caller checks the name first, then again each resolved address.
 */
enum h2g_acl_verdict h2g_acl_check(const struct h2g_acl *allow, const struct h2g_acl *deny,
                                   const struct h2g_acl_target *t);

#endif
