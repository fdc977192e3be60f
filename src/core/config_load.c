/*
 * config_load.c: YAML -> struct h2g_config, against one schema table.
 *
 * Two passes.  First the libyaml event stream becomes a small tree of
 * nodes (scalar / sequence / mapping), each remembering where it started,
 * with duplicate keys flagged while the tree is built.  Then the tree is
 * walked against the schema tables below: each key has a name, a type,
 * bounds, the contract's default, the field it fills (or a handler for
 * the few types that need one) and a line of documentation.  Nothing stops
 * at the first problem: every error is collected with its position, and
 * the caller gets them all, sorted by position, as "file:line:col: msg".
 *
 * Defaults are not applied here: the walk fills a snapshot made by
 * h2g_config_new_defaults(), so a key that is absent keeps its default.
 * The `def` column repeats the contract for readers (and for the man
 * page); the unit tests check the two agree.
 */
#include "core/config_load.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/path.h"
#include "core/ticket_keys.h"

/* Deeper nesting than this is no config of ours, and the tree code is
 * recursive: refuse it instead of trusting the stack. */
#define MAX_DEPTH 32
#define KiB 1024ull
#define MiB (1024ull * 1024ull)
#define DAY_MS (24ull * 3600ull * 1000ull)
#define STR_(x) #x
#define STR(x) STR_(x)

/* ------------------------------------------------------------------ */
/* Nodes                                                              */

enum node_type { NODE_SCALAR, NODE_SEQ, NODE_MAP };

struct node {
    enum node_type type;
    unsigned line, col; /* 1-based start of the node */
    char *str;          /* SCALAR: the value, NUL-terminated */
    bool null;          /* SCALAR: plain "", "~" or "null" */
    struct node **kids; /* SEQ: the items; MAP: key, value, key, value... */
    size_t n, cap;
    bool dup;           /* MAP key: duplicate or not a string; pair ignored.
                           Other nodes: already reported (an alias), skipped
                           so that one mistake makes one message */
};

static void node_free(struct node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static const char *node_type_name(const struct node *n)
{
    switch (n->type) {
    case NODE_SCALAR:
        return n->null ? "nothing" : "a string";
    case NODE_SEQ:
        return "a sequence";
    case NODE_MAP:
        return "a mapping";
    }
    return "?";
}

static bool is_null(const struct node *n)
{
    return n->type == NODE_SCALAR && n->null;
}

/* Finds `name` in a mapping: its key and value nodes, or false. */
static bool map_find(const struct node *map, const char *name, const struct node **key,
                     const struct node **val)
{
    if (map == NULL || map->type != NODE_MAP)
        return false;
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        if (!map->kids[i]->dup && strcmp(map->kids[i]->str, name) == 0) {
            if (key != NULL)
                *key = map->kids[i];
            if (val != NULL)
                *val = map->kids[i + 1];
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Error collection                                                   */

struct error {
    unsigned line, col; /* 0: no position (whole file) */
    size_t seq;         /* report order, to keep the sort stable */
    char *msg;
};

struct ctx {
    const char *name;   /* file name for messages */
    const char *dir;    /* relative paths resolve against it */
    struct error *errs;
    size_t n_errs, cap_errs;
    bool nomem;
};

__attribute__((format(printf, 4, 0))) static void vreport(struct ctx *c, unsigned line,
                                                            unsigned col, const char *fmt,
                                                            va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    char *msg = len < 0 ? NULL : malloc((size_t)len + 1);
    if (msg != NULL)
        vsnprintf(msg, (size_t)len + 1, fmt, ap2);
    va_end(ap2);
    if (msg == NULL) {
        c->nomem = true;
        return;
    }
    if (c->n_errs == c->cap_errs) {
        size_t cap = c->cap_errs ? c->cap_errs * 2 : 8;
        struct error *e = realloc(c->errs, cap * sizeof(*e));
        if (e == NULL) {
            free(msg);
            c->nomem = true;
            return;
        }
        c->errs = e;
        c->cap_errs = cap;
    }
    c->errs[c->n_errs] = (struct error){line, col, c->n_errs, msg};
    c->n_errs++;
}

__attribute__((format(printf, 4, 5))) static void report(struct ctx *c, unsigned line,
                                                           unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, line, col, fmt, ap);
    va_end(ap);
}

/* An error about node n, at its position. */
__attribute__((format(printf, 3, 4))) static void report_at(struct ctx *c, const struct node *n,
                                                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(c, n->line, n->col, fmt, ap);
    va_end(ap);
}

static char *xstrdup(struct ctx *c, const char *s)
{
    char *d = strdup(s);
    if (d == NULL)
        c->nomem = true;
    return d;
}

static void *xcalloc(struct ctx *c, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        c->nomem = true;
    return p;
}

__attribute__((format(printf, 2, 3))) static char *xasprintf(struct ctx *c, const char *fmt, ...)
{
    struct h2g_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0 || h2g_buf_reserve(&b, (size_t)len + 1) != 0) {
        c->nomem = true;
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(b.data, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return b.data;
}

/* ------------------------------------------------------------------ */
/* Pass 1: libyaml events -> nodes                                    */

static struct node *node_new(struct ctx *c, enum node_type type, yaml_mark_t mark)
{
    struct node *n = xcalloc(c, 1, sizeof(*n));
    if (n != NULL) {
        n->type = type;
        n->line = (unsigned)mark.line + 1;
        n->col = (unsigned)mark.column + 1;
    }
    return n;
}

/* Appends child to parent (NULL parent: child becomes the root).  Keys
 * are checked here because only here do we see them in document order. */
static bool node_attach(struct ctx *c, struct node **root, struct node *parent, struct node *child)
{
    if (parent == NULL) {
        *root = child;
        return true;
    }
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct node **k = realloc(parent->kids, cap * sizeof(*k));
        if (k == NULL) {
            c->nomem = true;
            return false;
        }
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->n++] = child;
    if (parent->type == NODE_MAP && parent->n % 2 == 1) {
        if (child->type != NODE_SCALAR) {
            report_at(c, child, "mapping keys must be plain strings, got %s", node_type_name(child));
            child->dup = true;
            return true;
        }
        for (size_t i = 0; i + 1 < parent->n - 1; i += 2) {
            if (!parent->kids[i]->dup && strcmp(parent->kids[i]->str, child->str) == 0) {
                report_at(c, child, "duplicate key '%s' (first at %u:%u)", child->str,
                          parent->kids[i]->line, parent->kids[i]->col);
                child->dup = true;
                break;
            }
        }
    }
    return true;
}

static void report_yaml_error(struct ctx *c, const yaml_parser_t *p)
{
    yaml_mark_t m = p->error == YAML_READER_ERROR ? p->mark : p->problem_mark;
    const char *problem = p->problem != NULL ? p->problem : "unknown problem";
    if (p->context != NULL)
        report(c, (unsigned)m.line + 1, (unsigned)m.column + 1,
               "YAML syntax error: %s (%s at line %zu)", problem, p->context,
               p->context_mark.line + 1);
    else
        report(c, (unsigned)m.line + 1, (unsigned)m.column + 1, "YAML syntax error: %s", problem);
}

/* Pass 1's state between libyaml events. */
struct tree_build {
    struct node **root;
    struct node *stack[MAX_DEPTH]; /* the open sequences and mappings */
    size_t depth;
    int docs;
    bool done; /* the end of the stream was read */
};

/* A scalar event's node; NULL when out of memory. */
static struct node *scalar_node(struct ctx *c, const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    size_t vlen = ev->data.scalar.length;
    struct node *n = node_new(c, NODE_SCALAR, ev->start_mark);
    if (n == NULL)
        return NULL;
    n->str = xstrdup(c, v);
    n->null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
              (vlen == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
               strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0);
    if (memchr(v, '\0', vlen) != NULL)
        report_at(c, n, "NUL character in a string");
    return n;
}

/* Adds what one event says to the tree.  false: stop (a syntax error
 * reported, or out of memory). */
static bool tree_event(struct ctx *c, struct tree_build *t, const yaml_event_t *ev)
{
    struct node *n = NULL, *parent = t->depth > 0 ? t->stack[t->depth - 1] : NULL;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        t->done = true;
        break;
    case YAML_DOCUMENT_START_EVENT:
        if (++t->docs > 1) {
            report(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                   "only one YAML document is allowed");
            return false;
        }
        break;
    case YAML_ALIAS_EVENT:
        /* Anchors and aliases buy little in a config this small and
         * make "where is this value from?" harder to answer. */
        report(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
               "YAML aliases (*%s) are not supported", (const char *)ev->data.alias.anchor);
        n = node_new(c, NODE_SCALAR, ev->start_mark);
        if (n != NULL) {
            n->str = xstrdup(c, "");
            n->null = true;
            n->dup = true;
        }
        break;
    case YAML_SCALAR_EVENT:
        n = scalar_node(c, ev);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (t->depth == MAX_DEPTH) {
            report(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                   "nesting deeper than %d levels", MAX_DEPTH);
            return false;
        }
        n = node_new(c, ev->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP,
                     ev->start_mark);
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (t->depth > 0)
            t->depth--;
        break;
    default:
        break;
    }
    if (n == NULL)
        return !c->nomem;
    if (c->nomem || !node_attach(c, t->root, parent, n)) {
        node_free(n);
        return false;
    }
    if (n->type != NODE_SCALAR)
        t->stack[t->depth++] = n;
    return true;
}

/* Builds the tree.  On a syntax error (reported) returns false; *root is
 * NULL for an empty document. */
static bool build_tree(struct ctx *c, const char *text, size_t len, struct node **root)
{
    yaml_parser_t p;
    struct tree_build t = {.root = root};
    bool ok = true;

    *root = NULL;
    if (!yaml_parser_initialize(&p)) {
        c->nomem = true;
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (ok && !t.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            /* libyaml out of memory is not the file's fault. */
            if (p.error == YAML_MEMORY_ERROR)
                c->nomem = true;
            else
                report_yaml_error(c, &p);
            ok = false;
            break;
        }
        ok = tree_event(c, &t, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!ok) {
        node_free(*root);
        *root = NULL;
    }
    return ok;
}

/* ------------------------------------------------------------------ */
/* Value checkers shared by the handlers                              */

/* Joins a key path for messages: "limits" + "max_settings". */
static void key_path(char *out, size_t cap, const char *where, const char *name)
{
    /* A path too long for the buffer is only a shorter message. */
    if (snprintf(out, cap, where[0] == '\0' ? "%s%s" : "%s.%s", where, name) < 0)
        out[0] = '\0';
}

/* "listen" + 2 -> "listen[2]". */
static void key_index(char *out, size_t cap, const char *kp, size_t i)
{
    if (snprintf(out, cap, "%s[%zu]", kp, i) < 0)
        out[0] = '\0';
}

/* The text of a scalar, or NULL after reporting what was expected. */
static const char *scalar(struct ctx *c, const struct node *v, const char *kp, const char *what,
                          bool allow_null)
{
    if (v->dup)
        return NULL;
    if (v->type != NODE_SCALAR) {
        report_at(c, v, "%s: expected %s, got %s", kp, what, node_type_name(v));
        return NULL;
    }
    if (v->null && !allow_null) {
        report_at(c, v, "%s: missing value (expected %s)", kp, what);
        return NULL;
    }
    return v->null ? "" : v->str;
}

/* Relative paths resolve against the config file's directory: the
 * daemon may run from anywhere, the config is written next to its
 * files. */
static char *resolve_path(struct ctx *c, const char *p)
{
    if (p[0] == '/')
        return xstrdup(c, p);
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    size_t dl = strlen(c->dir);
    return xasprintf(c, "%s%s%s", c->dir, dl > 0 && c->dir[dl - 1] == '/' ? "" : "/", p);
}

static bool is_tchar(int ch)
{
    return (ch > 0 && ch < 0x7f && isalnum(ch)) || (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* "example.com", "*.example.com", "*", an IPv4 literal or "[v6]";
 * lowercased in place, one trailing dot dropped, IPv6 brackets removed
 * (h2g_authority_host yields IPv6 hosts without them). */
const char *h2g_config_check_host_pattern(char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)tolower((unsigned char)s[i]);
    if (strcmp(s, "*") == 0)
        return NULL;
    if (s[0] == '[') {
        struct in6_addr a6;
        if (len < 3 || s[len - 1] != ']')
            return "bad IPv6 literal (write it as [2001:db8::1])";
        s[len - 1] = '\0';
        if (inet_pton(AF_INET6, s + 1, &a6) != 1)
            return "bad IPv6 literal";
        memmove(s, s + 1, len - 1);
        return NULL;
    }
    if (len > 1 && s[len - 1] == '.')
        s[--len] = '\0';
    const char *name = s;
    if (strncmp(s, "*.", 2) == 0)
        name = s + 2;
    struct in_addr a4;
    if (name == s && inet_pton(AF_INET, s, &a4) == 1)
        return NULL;
    if (h2g_is_hostname(name, strlen(name)))
        return NULL;
    if (strchr(s, ':') != NULL)
        return "host patterns take no port (the port is ignored when matching)";
    return "expected a host name, '*.suffix' or '*'";
}

/* Certificate names for SNI: DNS names or "*.suffix" (SNI never carries
 * an address, and "*" would shadow the default certificate). */
static const char *check_sni_name(char *s)
{
    const char *err = h2g_config_check_host_pattern(s);
    if (err != NULL)
        return err;
    const char *name = strncmp(s, "*.", 2) == 0 ? s + 2 : s;
    if (!h2g_is_hostname(name, strlen(name)))
        return "expected a DNS name or '*.suffix' (SNI carries no addresses, nor '*')";
    return NULL;
}

static const char *check_token(char *s)
{
    if (*s == '\0')
        return "empty protocol name";
    for (const char *p = s; *p != '\0'; p++)
        if (!is_tchar((unsigned char)*p))
            return "not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
    return NULL;
}

/* "https://host[:port]" as RFC 6454 serialises an origin: lowercase, no
 * path, no trailing '/', default port omitted. */
const char *h2g_config_check_origin(char *s)
{
    for (const char *p = s; *p != '\0'; p++)
        if (isupper((unsigned char)*p))
            return "must be lowercase (the ASCII serialization of an origin)";
    const char *rest;
    unsigned default_port;
    if (strncmp(s, "https://", 8) == 0) {
        rest = s + 8;
        default_port = 443;
    } else if (strncmp(s, "http://", 7) == 0) {
        rest = s + 7;
        default_port = 80;
    } else {
        return "expected https://host[:port] or http://host[:port]";
    }
    if (strpbrk(rest, "/?#") != NULL)
        return "an origin has no path, query or trailing '/'";
    if (strchr(rest, '@') != NULL)
        return "an origin has no user information";
    static const struct h2g_authority_words words = {
        .empty = "empty or too long host",
        .no_close = "missing ']'",
        .after_close = "junk after ']'",
        .empty_port = "port must be a number 1..65535 without leading zeros",
        .port_chars = "port must be a number 1..65535 without leading zeros",
        .port_range = "port must be a number 1..65535 without leading zeros",
    };
    struct h2g_authority a;
    const char *err = h2g_parse_authority(rest, strlen(rest), H2G_AUTH_NO_LEADING_ZERO, &words, &a);
    if (err != NULL)
        return err;
    char host[256];
    if (a.host_len == 0 || a.host_len >= sizeof(host))
        return a.bracketed ? "bad IPv6 literal" : "empty or too long host";
    memcpy(host, a.host, a.host_len);
    host[a.host_len] = '\0';
    if (a.bracketed) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1)
            return "bad IPv6 literal";
    } else {
        struct in_addr a4;
        if (inet_pton(AF_INET, host, &a4) != 1 && !h2g_is_hostname(host, a.host_len))
            return "bad host";
    }
    if (a.has_port && a.port == default_port)
        return "the scheme's default port must be omitted";
    return NULL;
}

/* RFC 7838 section 3 authority inside the quoted string: [host] ":" port. */
static const char *check_alt_authority(const char *a, size_t len)
{
#define NEEDS_PORT "the alternative authority needs a port, like \"alt.example.com:443\" or \":443\""
#define BAD_PORT "bad port in the alternative authority"
#define BAD_V6 "bad IPv6 literal in the alternative authority"
    static const struct h2g_authority_words words = {
        .empty = NEEDS_PORT,
        .no_close = BAD_V6,
        .after_close = BAD_V6,
        .colons = "bad host in the alternative authority",
        .missing_port = NEEDS_PORT,
        .empty_port = BAD_PORT,
        .port_chars = BAD_PORT,
        .port_range = BAD_PORT,
    };
    struct h2g_authority au;
    const char *err = h2g_parse_authority(a, len, H2G_AUTH_PORT_REQUIRED, &words, &au);
    if (err != NULL)
        return err;
    if (au.host_len == 0 && !au.bracketed)
        return NULL; /* same host, other port */
    char host[256];
    if (au.host_len + (au.bracketed ? 2 : 0) >= sizeof(host))
        return "alternative host too long";
    memcpy(host, au.host, au.host_len);
    host[au.host_len] = '\0';
    if (au.bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, host, &a6) == 1 ? NULL : BAD_V6;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1 || h2g_is_hostname(host, au.host_len))
        return NULL;
    return "bad host in the alternative authority";
#undef NEEDS_PORT
#undef BAD_PORT
#undef BAD_V6
}

/* quoted-string (RFC 9110 5.6.4) at *pp; the unescaped text goes to out
 * (cap bytes).  Advances *pp past the closing quote. */
static const char *quoted_string(const char **pp, char *out, size_t cap, size_t *out_len)
{
    const char *p = *pp + 1;
    size_t n = 0;
    for (;;) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            break;
        if (ch == '\\') {
            ch = (unsigned char)*++p;
            if (ch == '\0')
                return "unterminated quoted string";
        }
        if (ch == '\0')
            return "unterminated quoted string";
        if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
            return "control or non-ASCII character in a quoted string";
        if (n + 1 >= cap)
            return "quoted string too long";
        out[n++] = (char)ch;
        p++;
    }
    out[n] = '\0';
    *out_len = n;
    *pp = p + 1;
    return NULL;
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Alt-Svc field value, RFC 7838 section 3:
 *   Alt-Svc = clear / 1#alt-value
 *   alt-value = protocol-id "=" alt-authority *( OWS ";" OWS parameter )
 * protocol-id is a token whose '%' must start a percent-encoding; the
 * authority is a quoted-string; "ma" and "persist" take digits. */
const char *h2g_config_check_altsvc(const char *s)
{
    if (strcmp(s, "clear") == 0)
        return NULL;
    const char *p = skip_ows(s);
    if (*p == '\0')
        return "empty value (use 'clear' to clear alternatives)";
    for (;;) {
        const char *start = p;
        while (is_tchar((unsigned char)*p)) {
            if (*p == '%' && !(isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])))
                return "'%' in a protocol-id must start a %XX escape";
            p += *p == '%' ? 3 : 1;
        }
        if (p == start)
            return "expected a protocol-id like h2";
        if (*p != '=')
            return "expected '=' after the protocol-id";
        p++;
        if (*p != '"')
            return "the alternative authority must be quoted, like h2=\"alt.example.com:443\"";
        char auth[512];
        size_t alen;
        const char *err = quoted_string(&p, auth, sizeof(auth), &alen);
        if (err == NULL)
            err = check_alt_authority(auth, alen);
        if (err != NULL)
            return err;
        for (;;) {
            p = skip_ows(p);
            if (*p != ';')
                break;
            p = skip_ows(p + 1);
            const char *name = p;
            while (is_tchar((unsigned char)*p))
                p++;
            size_t nl = (size_t)(p - name);
            if (nl == 0)
                return "expected a parameter name after ';'";
            if (*p != '=')
                return "expected '=' after a parameter name";
            p++;
            char val[512];
            size_t vl = 0;
            if (*p == '"') {
                err = quoted_string(&p, val, sizeof(val), &vl);
                if (err != NULL)
                    return err;
            } else {
                while (is_tchar((unsigned char)*p) && vl + 1 < sizeof(val))
                    val[vl++] = *p++;
                val[vl] = '\0';
                if (vl == 0)
                    return "expected a parameter value after '='";
            }
            bool digits_only = (nl == 2 && strncasecmp(name, "ma", 2) == 0) ||
                               (nl == 7 && strncasecmp(name, "persist", 7) == 0);
            if (digits_only && (vl == 0 || strspn(val, "0123456789") != vl))
                return "ma and persist take a number of seconds / 1";
        }
        if (*p == '\0')
            return NULL;
        if (*p != ',')
            return "expected ',' or ';' after an alternative";
        p = skip_ows(p + 1);
    }
}

/* ------------------------------------------------------------------ */
/* The schema                                                         */

enum key_type {
    K_INT,      /* integer in [min, max] into a uint32_t/uint64_t */
    K_SIZE,     /* h2g_parse_size in [min, max] */
    K_DURATION, /* h2g_parse_duration (ms) in [min, max] into a uint64_t */
    K_BOOL,
    K_STRING,   /* any string, owned copy */
    K_PATH,     /* readable file; stored absolute */
    K_SECTION,  /* nested mapping: `sub`, fields relative to base + off */
    K_LIST,     /* sequence of mappings: `sub` per item of item_size */
    K_STRLIST,  /* sequence of strings, each through `check` */
    K_FN,       /* anything else: `fn` */
};

struct key_spec;
struct table;

/* A handler: validates v, fills the field(s) in base, reports errors
 * under the key path kp. */
typedef void (*key_fn)(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                       const char *kp);

struct key_spec {
    const char *name;
    enum key_type type;
    size_t off;          /* the field, from the base of the table's struct */
    size_t width;        /* K_INT / K_SIZE: sizeof the field */
    uint64_t min, max;   /* K_INT / K_SIZE / K_DURATION */
    size_t count_off;    /* K_LIST / K_STRLIST: the size_t count */
    const struct table *sub;     /* K_SECTION, K_LIST */
    size_t item_size;            /* K_LIST */
    const char *(*check)(char *); /* K_STRLIST: validate/normalise in place */
    key_fn fn;                   /* K_FN */
    bool required;
    bool nonempty;       /* K_LIST / K_STRLIST: at least one entry */
    bool nodup;          /* K_STRLIST: no entry twice */
    const char *def;     /* the contract's default, for readers */
    const char *doc;
};

struct table {
    const struct key_spec *keys;
    size_t n;
    void (*init)(void *base); /* K_LIST items: defaults before the walk */
    /* Checks across keys, once the mapping is walked. */
    void (*check)(struct ctx *c, const struct node *map, void *base, const char *where);
};

static void walk_map(struct ctx *c, const struct node *map, const struct table *t, void *base,
                     const char *where);

#define FIELD(type, f) .off = offsetof(type, f), .width = sizeof(((type *)0)->f)
#define TABLE(keys_, init_, check_) {keys_, sizeof(keys_) / sizeof(keys_[0]), init_, check_}

/* K_INT / K_SIZE / K_DURATION share range checks and storage. */
static void store_number(void *base, const struct key_spec *k, uint64_t v)
{
    char *f = (char *)base + k->off;
    if (k->width == sizeof(uint32_t)) {
        uint32_t v32 = (uint32_t)v;
        memcpy(f, &v32, sizeof(v32));
    } else {
        memcpy(f, &v, sizeof(v));
    }
}

/* "24h", "30s", "500ms": a duration in its largest exact unit. */
static void fmt_duration(char *out, size_t cap, uint64_t ms)
{
    if (ms == 0)
        snprintf(out, cap, "0");
    else if (ms % 3600000 == 0)
        snprintf(out, cap, "%" PRIu64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(out, cap, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(out, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(out, cap, "%" PRIu64 "ms", ms);
}

static void walk_number(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                        const char *kp)
{
    static const char *const what[] = {
        [K_INT] = "an integer",
        [K_SIZE] = "a size like 64KiB",
        [K_DURATION] = "a duration like 30s or 500ms",
    };
    const char *s = scalar(c, v, kp, what[k->type], false);
    if (s == NULL)
        return;
    uint64_t val = 0;
    const char *err = NULL;
    bool out_of_range = false;
    if (k->type == K_INT) {
        const char *d = s[0] == '-' ? s + 1 : s;
        if (*d == '\0' || strspn(d, "0123456789") != strlen(d)) {
            report_at(c, v, "%s: expected an integer, got '%s'", kp, s);
            return;
        }
        errno = 0;
        val = strtoull(d, NULL, 10);
        out_of_range = errno == ERANGE || (s[0] == '-' && val != 0);
    } else {
        uint64_t ignored;
        err = k->type == K_SIZE ? h2g_parse_size(s, &val) : h2g_parse_duration(s, &val);
        /* "-5s" and "99999999999h" are numbers, just not ones we take. */
        if (err != NULL && s[0] == '-')
            out_of_range = (k->type == K_SIZE ? h2g_parse_size(s + 1, &ignored)
                                              : h2g_parse_duration(s + 1, &ignored)) == NULL;
        else if (err != NULL)
            out_of_range = strstr(err, "too large") != NULL;
        if (err != NULL && !out_of_range) {
            report_at(c, v, "%s: expected %s, got '%s' (%s)", kp, what[k->type], s, err);
            return;
        }
    }
    if (out_of_range || val < k->min || val > k->max) {
        char lo[32], hi[32];
        if (k->type == K_DURATION) {
            fmt_duration(lo, sizeof(lo), k->min);
            fmt_duration(hi, sizeof(hi), k->max);
        } else {
            snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
            snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
        }
        report_at(c, v, "%s: %s is out of range (%s..%s)", kp, s, lo, hi);
        return;
    }
    store_number(base, k, val);
}

/* Replaces the owned string at base + k->off. */
static void store_string(void *base, size_t off, char *s)
{
    char **f = (char **)((char *)base + off);
    free(*f);
    *f = s;
}

/* A list value must be a sequence, non-empty where the key says so.
 * Reports the problem and returns false otherwise. */
static bool sequence_ok(struct ctx *c, const struct node *v, const struct key_spec *k, const char *kp,
                        const char *expected)
{
    if (is_null(v) || v->type != NODE_SEQ) {
        if (!is_null(v))
            report_at(c, v, "%s: expected %s, got %s", kp, expected, node_type_name(v));
        else if (k->nonempty)
            report_at(c, v, "%s: expected at least one entry", kp);
        return false;
    }
    if (k->nonempty && v->n == 0) {
        report_at(c, v, "%s: expected at least one entry", kp);
        return false;
    }
    return true;
}

static void walk_bool(struct ctx *c, const struct node *v, void *base, const struct key_spec *k, const char *kp)
{
    const char *s = scalar(c, v, kp, "a boolean (true/false)", false);
    if (s == NULL)
        return;
    bool b;
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        b = true;
    else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        b = false;
    else {
        report_at(c, v, "%s: expected a boolean (true/false), got '%s'", kp, s);
        return;
    }
    memcpy((char *)base + k->off, &b, sizeof(b));
}

static void walk_path(struct ctx *c, const struct node *v, void *base, const struct key_spec *k, const char *kp)
{
    const char *s = scalar(c, v, kp, "a file path", false);
    if (s == NULL)
        return;
    if (s[0] == '\0') {
        report_at(c, v, "%s: empty file path", kp);
        return;
    }
    char *abs = resolve_path(c, s);
    if (abs == NULL)
        return;
    /* Checked at load so that a typo fails the reload, not the first
     * TLS handshake after it. */
    if (access(abs, R_OK) != 0)
        report_at(c, v, "%s: cannot read '%s': %s", kp, abs, strerror(errno));
    store_string(base, k->off, abs);
}

/* A sequence of sections (k->sub), each walked into its own item. */
static void walk_list(struct ctx *c, const struct node *v, void *base, const struct key_spec *k, const char *kp)
{
    if (!sequence_ok(c, v, k, kp, "a sequence (a list of '- ' entries)"))
        return;
    char *items = xcalloc(c, v->n, k->item_size);
    if (items == NULL)
        return;
    /* Array and count are stored first, so that whatever the walk
     * leaves half-filled is freed with the snapshot. */
    void **arr = (void **)((char *)base + k->off);
    free(*arr);
    *arr = items;
    memcpy((char *)base + k->count_off, &v->n, sizeof(size_t));
    for (size_t i = 0; i < v->n; i++) {
        char where[256];
        void *item = items + i * k->item_size;
        key_index(where, sizeof(where), kp, i);
        if (k->sub->init != NULL)
            k->sub->init(item);
        walk_map(c, v->kids[i], k->sub, item, where);
    }
}

/* A sequence of strings, each checked by k->check and, with k->nodup,
 * against the ones before it. */
static void walk_strlist(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                         const char *kp)
{
    if (!sequence_ok(c, v, k, kp, "a sequence like [\"a\", \"b\"]"))
        return;
    char **strs = xcalloc(c, v->n, sizeof(char *));
    if (strs == NULL)
        return;
    char ***arr = (char ***)((char *)base + k->off);
    free(*arr);
    *arr = strs;
    memcpy((char *)base + k->count_off, &v->n, sizeof(size_t));
    for (size_t i = 0; i < v->n; i++) {
        char ekp[256];
        key_index(ekp, sizeof(ekp), kp, i);
        const char *s = scalar(c, v->kids[i], ekp, "a string", false);
        if (s == NULL || (strs[i] = xstrdup(c, s)) == NULL)
            continue;
        const char *err = k->check != NULL ? k->check(strs[i]) : NULL;
        if (err != NULL) {
            report_at(c, v->kids[i], "%s: '%s': %s", ekp, s, err);
            continue;
        }
        for (size_t j = 0; k->nodup && j < i; j++) {
            if (strs[j] != NULL && strcmp(strs[j], strs[i]) == 0) {
                report_at(c, v->kids[i], "%s: '%s' is listed twice", ekp, s);
                break;
            }
        }
    }
}

static void walk_value(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                       const char *kp)
{
    switch (k->type) {
    case K_INT:
    case K_SIZE:
    case K_DURATION:
        walk_number(c, v, base, k, kp);
        break;
    case K_BOOL:
        walk_bool(c, v, base, k, kp);
        break;
    case K_STRING: {
        const char *s = scalar(c, v, kp, "a string", true);
        if (s != NULL)
            store_string(base, k->off, xstrdup(c, s));
        break;
    }
    case K_PATH:
        walk_path(c, v, base, k, kp);
        break;
    case K_SECTION:
        walk_map(c, v, k->sub, (char *)base + k->off, kp);
        break;
    case K_LIST:
        walk_list(c, v, base, k, kp);
        break;
    case K_STRLIST:
        walk_strlist(c, v, base, k, kp);
        break;
    case K_FN:
        k->fn(c, v, base, k, kp);
        break;
    }
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (la >= 64 || lb >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void walk_map(struct ctx *c, const struct node *map, const struct table *t, void *base,
                     const char *where)
{
    if (!is_null(map) && map->type != NODE_MAP) {
        if (where[0] == '\0')
            report_at(c, map, "expected a mapping, got %s", node_type_name(map));
        else
            report_at(c, map, "%s: expected a mapping, got %s", where, node_type_name(map));
        return;
    }
    bool seen[64] = {false};
    for (size_t i = 0; map->type == NODE_MAP && i + 1 < map->n; i += 2) {
        const struct node *key = map->kids[i], *val = map->kids[i + 1];
        if (key->dup || val->dup)
            continue;
        size_t j;
        for (j = 0; j < t->n && strcmp(t->keys[j].name, key->str) != 0; j++)
            ;
        if (j == t->n) {
            const char *best = NULL;
            size_t best_d = 3; /* suggest only close misspellings */
            for (size_t m = 0; m < t->n; m++) {
                size_t d = edit_distance(key->str, t->keys[m].name);
                size_t kl = strlen(key->str), nl = strlen(t->keys[m].name);
                /* A truncated name ("cert") is as good a hint as a typo. */
                if (kl >= 3 && kl < nl && strncmp(key->str, t->keys[m].name, kl) == 0)
                    d = 2;
                if (d < best_d) {
                    best_d = d;
                    best = t->keys[m].name;
                }
            }
            report_at(c, key, "unknown key '%s' in %s%s%s%s", key->str,
                      where[0] ? where : "top level", best ? " (did you mean '" : "",
                      best ? best : "", best ? "'?)" : "");
            continue;
        }
        char kp[256];
        key_path(kp, sizeof(kp), where, t->keys[j].name);
        seen[j] = true;
        walk_value(c, val, base, &t->keys[j], kp);
    }
    for (size_t j = 0; j < t->n; j++) {
        if (!t->keys[j].required || seen[j])
            continue;
        if (where[0] == '\0')
            report_at(c, map, "missing required key '%s'", t->keys[j].name);
        else
            report_at(c, map, "missing required key '%s' in %s", t->keys[j].name, where);
    }
    if (t->check != NULL)
        t->check(c, map, base, where);
}

/* ---- handlers ---------------------------------------------------- */

static void fn_workers(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                       const char *kp)
{
    const char *s = scalar(c, v, kp, "'auto' or an integer 1.." STR(H2G_MAX_WORKERS), false);
    if (s == NULL)
        return;
    struct h2g_config *cfg = base;
    if (strcmp(s, "auto") == 0) {
        cfg->workers = 0;
        return;
    }
    size_t len = strlen(s);
    unsigned long n = len > 0 && len <= 3 && strspn(s, "0123456789") == len ? strtoul(s, NULL, 10) : 0;
    if (n < 1 || n > H2G_MAX_WORKERS) {
        report_at(c, v, "%s: expected 'auto' or an integer 1..%d, got '%s'", kp, H2G_MAX_WORKERS, s);
        return;
    }
    cfg->workers = (unsigned)n;
}

static void fn_listen_address(struct ctx *c, const struct node *v, void *base,
                              const struct key_spec *k, const char *kp)
{
    struct h2g_listen_config *l = base;
    const char *s = scalar(c, v, kp, "host:port", false);
    if (s == NULL)
        return;
    const char *err = h2g_parse_hostport(s, &l->addr);
    if (err != NULL) {
        report_at(c, v, "%s: expected host:port, got '%s' (%s)", kp, s, err);
        return;
    }
    store_string(l, offsetof(struct h2g_listen_config, text), xstrdup(c, s));
}

static void fn_listen_protocols(struct ctx *c, const struct node *v, void *base,
                                const struct key_spec *k, const char *kp)
{
    struct h2g_listen_config *l = base;
    if (v->type != NODE_SEQ) {
        report_at(c, v, "%s: expected a sequence like [h2, http/1.1], got %s", kp,
                  node_type_name(v));
        return;
    }
    if (v->n == 0) {
        report_at(c, v, "%s: expected at least one of h2, http/1.1", kp);
        return;
    }
    bool h2 = false, http11 = false, h2_first = false, ok = true;
    for (size_t i = 0; i < v->n; i++) {
        char ekp[256];
        key_index(ekp, sizeof(ekp), kp, i);
        const char *s = scalar(c, v->kids[i], ekp, "a string", false);
        if (s == NULL) {
            ok = false;
            continue;
        }
        bool *flag = strcmp(s, "h2") == 0 ? &h2 : strcmp(s, "http/1.1") == 0 ? &http11 : NULL;
        if (flag == NULL) {
            report_at(c, v->kids[i], "%s: '%s' is not one of h2, http/1.1", ekp, s);
            ok = false;
        } else if (*flag) {
            report_at(c, v->kids[i], "%s: '%s' is listed twice", ekp, s);
            ok = false;
        } else {
            if (flag == &h2 && !http11)
                h2_first = true;
            *flag = true;
        }
    }
    if (ok) {
        l->h2 = h2;
        l->http11 = http11;
        l->h2_preferred = h2_first;
    }
}

static const struct key_spec sni_keys[] = {
    {.name = "names", .type = K_STRLIST, FIELD(struct h2g_sni_cert, names),
     .count_off = offsetof(struct h2g_sni_cert, n_names), .check = check_sni_name,
     .required = true, .nonempty = true, .nodup = true,
     .doc = "names served with this certificate: \"a.example\" or \"*.b.example\""},
    {.name = "certificate", .type = K_PATH, FIELD(struct h2g_sni_cert, certificate),
     .required = true, .doc = "PEM chain"},
    {.name = "key", .type = K_PATH, FIELD(struct h2g_sni_cert, key), .required = true,
     .doc = "PEM private key"},
};
static const struct table sni_table = TABLE(sni_keys, NULL, NULL);

/* Reads a keys file (ticket_keys.h) into kt; false after reporting, with
 * the file's own position when a line is at fault. */
static bool read_ticket_keys(struct ctx *c, const struct node *v, const char *kp, const char *path,
                             struct h2g_ticket_keys_text *kt)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        report_at(c, v, "%s: cannot read '%s': %s", kp, path, strerror(errno));
        return false;
    }
    char *buf = xcalloc(c, H2G_TICKET_KEYS_FILE_MAX + 1, 1);
    size_t len = buf == NULL ? 0 : fread(buf, 1, H2G_TICKET_KEYS_FILE_MAX + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (buf == NULL)
        return false;
    if (read_errno != 0) {
        report_at(c, v, "%s: cannot read '%s': %s", kp, path, strerror(read_errno));
        free(buf);
        return false;
    }
    unsigned line;
    const char *err = h2g_ticket_keys_parse(buf, len, kt, &line);
    free(buf);
    if (err != NULL && line > 0)
        report_at(c, v, "%s: %s:%u: %s", kp, path, line, err);
    else if (err != NULL)
        report_at(c, v, "%s: %s: %s", kp, path, err);
    return err == NULL;
}

/* ticket_keys: "" is off; a file is read now, so that a bad one fails
 * the load (and a reload keeps the old keys), and re-read by every
 * reload. */
static void fn_ticket_keys(struct ctx *c, const struct node *v, void *base,
                           const struct key_spec *k, const char *kp)
{
    struct h2g_tls_config *t = base;
    const char *s = scalar(c, v, kp, "a file path or \"\"", true);
    if (s == NULL || s[0] == '\0')
        return;
    char *abs = resolve_path(c, s);
    if (abs == NULL)
        return;
    store_string(t, offsetof(struct h2g_tls_config, ticket_keys), abs);
    struct h2g_ticket_keys_text *kt = xcalloc(c, 1, sizeof(*kt));
    if (kt == NULL || !read_ticket_keys(c, v, kp, abs, kt)) {
        free(kt);
        return;
    }
    free(t->ticket_keys_text);
    t->ticket_keys_text = kt;
}

/* ticket_keys_memcached: "" is off, else the host:port of a memcached
 * that the process asks for the keys (process/ticket_sync.c). */
static void fn_ticket_keys_memcached(struct ctx *c, const struct node *v, void *base,
                                     const struct key_spec *k, const char *kp)
{
    struct h2g_tls_config *t = base;
    const char *s = scalar(c, v, kp, "host:port or \"\"", true);
    if (s == NULL || s[0] == '\0')
        return;
    const char *err = h2g_parse_hostport(s, &t->ticket_keys_memcached_addr);
    if (err == NULL && t->ticket_keys_memcached_addr.wildcard)
        err = "a memcached server's address, not \"*\"";
    if (err != NULL) {
        report_at(c, v, "%s: expected host:port, got '%s' (%s)", kp, s, err);
        return;
    }
    store_string(t, offsetof(struct h2g_tls_config, ticket_keys_memcached), xstrdup(c, s));
}

/* The keys come from one place. */
static void tls_check(struct ctx *c, const struct node *v, void *base, const char *kp)
{
    const struct h2g_tls_config *t = base;
    const struct node *key, *val;
    if (t->ticket_keys_memcached != NULL && map_find(v, "ticket_keys", &key, &val) &&
        !(val->type == NODE_SCALAR && (val->null || val->str[0] == '\0')))
        report_at(c, key, "%s: ticket_keys and ticket_keys_memcached: set one of them", kp);
}

static const struct key_spec tls_keys[] = {
    {.name = "certificate", .type = K_PATH, FIELD(struct h2g_tls_config, certificate),
     .required = true, .doc = "PEM chain"},
    {.name = "key", .type = K_PATH, FIELD(struct h2g_tls_config, key), .required = true,
     .doc = "PEM private key"},
    {.name = "sni", .type = K_LIST, FIELD(struct h2g_tls_config, sni),
     .count_off = offsetof(struct h2g_tls_config, n_sni), .sub = &sni_table,
     .item_size = sizeof(struct h2g_sni_cert), .def = "[]",
     .doc = "extra certificates chosen by SNI"},
    {.name = "ticket_keys", .type = K_FN, .fn = fn_ticket_keys, .def = "\"\"",
     .doc = "file of TLS session-ticket keys (first = encrypt, all = decrypt)"},
    {.name = "ticket_keys_memcached", .type = K_FN, .fn = fn_ticket_keys_memcached, .def = "\"\"",
     .doc = "host:port of a memcached sharing the session-ticket keys"},
};
static const struct table tls_table = TABLE(tls_keys, NULL, tls_check);

static void fn_tls(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                   const char *kp)
{
    struct h2g_listen_config *l = base;
    if (l->tls == NULL && (l->tls = xcalloc(c, 1, sizeof(*l->tls))) == NULL)
        return;
    walk_map(c, v, &tls_table, l->tls, kp);
}

static void listen_init(void *base)
{
    struct h2g_listen_config *l = base;
    l->h2 = l->http11 = l->h2_preferred = true;
}

static const struct key_spec listen_keys[] = {
    {.name = "address", .type = K_FN, .fn = fn_listen_address, .required = true,
     .doc = "host:port, \"[::1]:8443\" or \"*:8443\""},
    {.name = "tls", .type = K_FN, .fn = fn_tls, .doc = "omit for cleartext"},
    {.name = "protocols", .type = K_FN, .fn = fn_listen_protocols, .def = "[h2, http/1.1]",
     .doc = "ALPN list in server preference order"},
    {.name = "proxy_protocol", .type = K_BOOL, FIELD(struct h2g_listen_config, proxy_protocol),
     .def = "false", .doc = "connections start with a PROXY protocol v1 or v2 header"},
};
static const struct table listen_table = TABLE(listen_keys, listen_init, NULL);

static void fn_route_path(struct ctx *c, const struct node *v, void *base,
                          const struct key_spec *k, const char *kp)
{
    struct h2g_route_config *r = base;
    const char *s = scalar(c, v, kp, "a path like /api", false);
    if (s == NULL)
        return;
    if (s[0] != '/') {
        report_at(c, v, "%s: '%s' must start with '/'", kp, s);
        return;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#') {
            report_at(c, v, "%s: '%s' may not contain spaces, control characters, '?' or '#'",
                      kp, s);
            return;
        }
    }
    /* Requests are routed on their normalized path (path.h): a prefix
     * written "/%7euser" or "/a/./b" would otherwise never match. */
    char *p = xstrdup(c, s);
    size_t n = 0;
    if (p != NULL && h2g_path_normalize(p, strlen(p), &n) != 0) {
        report_at(c, v, "%s: '%s' has a '%%' not followed by two hex digits, or an escaped control "
                  "character", kp, s);
        free(p);
        return;
    }
    if (p != NULL)
        p[n] = '\0';
    store_string(r, offsetof(struct h2g_route_config, path), p);
    r->path_len = n;
}

/* Parses one upstream URL into u; false after reporting. */
static bool upstream_parse(struct ctx *c, const struct node *v, const char *kp,
                           struct h2g_upstream_config *u)
{
    const char *s = scalar(c, v, kp, "an http://, https://, h2c:// or h2:// URL", false);
    if (s == NULL)
        return false;
    const char *err = h2g_parse_upstream_url(s, &u->addr, &u->proto, &u->tls);
    if (err != NULL) {
        report_at(c, v, "%s: expected http://, https://, h2c:// or h2://host[:port], got '%s' (%s)", kp, s, err);
        return false;
    }
    u->url = xstrdup(c, s);
    u->id = xasprintf(c, u->addr.is_ipv6 ? "[%s]:%u" : "%s:%u", u->addr.host, u->addr.port);
    return true;
}

static void fn_upstream(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                        const char *kp)
{
    struct h2g_route_config *r = base;
    size_t n = v->type == NODE_SEQ ? v->n : 1;
    if (v->type == NODE_MAP) {
        report_at(c, v, "%s: expected an http:// URL or a list of them, got a mapping", kp);
        return;
    }
    if (n == 0) {
        report_at(c, v, "%s: expected at least one upstream URL", kp);
        return;
    }
    if ((r->upstreams = xcalloc(c, n, sizeof(*r->upstreams))) == NULL)
        return;
    r->n_upstreams = n;
    for (size_t i = 0; i < n; i++) {
        char ekp[256];
        if (v->type == NODE_SEQ)
            key_index(ekp, sizeof(ekp), kp, i);
        else
            snprintf(ekp, sizeof(ekp), "%s", kp);
        const struct node *e = v->type == NODE_SEQ ? v->kids[i] : v;
        /* One protocol per route: the route's requests are translated
         * once, for HTTP/1.1 or for HTTP/2, before an upstream is picked.
         * TLS or not may differ: each upstream has its own pools. */
        if (upstream_parse(c, e, ekp, &r->upstreams[i]) && r->upstreams[i].proto != r->upstreams[0].proto)
            report_at(c, e, "%s: a route's upstreams all speak HTTP/1.1 (http://, https://) or all HTTP/2 "
                      "(h2c://, h2://), not both", ekp);
    }
}

static void upstream_tls_check(struct ctx *c, const struct node *map, void *base, const char *kp)
{
    const struct h2g_upstream_tls_config *t = base;
    const struct node *key;
    if (t->certificate != NULL && t->key == NULL && map_find(map, "certificate", &key, NULL))
        report_at(c, key, "%s.certificate: needs 'key' too (mutual TLS takes both or neither)", kp);
    if (t->key != NULL && t->certificate == NULL && map_find(map, "key", &key, NULL))
        report_at(c, key, "%s.key: needs 'certificate' too (mutual TLS takes both or neither)", kp);
}

/* "" is the default of the optional paths (spec): no file then. */
static void fn_opt_path(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                        const char *kp)
{
    if (v->type == NODE_SCALAR && (v->null || v->str[0] == '\0'))
        return;
    walk_path(c, v, base, k, kp);
}

static void fn_opt_string(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                          const char *kp)
{
    const char *s = scalar(c, v, kp, "a string", true);
    if (s != NULL && s[0] != '\0')
        store_string(base, k->off, xstrdup(c, s));
}

static const struct key_spec upstream_tls_keys[] = {
    {.name = "ca", .type = K_FN, .fn = fn_opt_path, FIELD(struct h2g_upstream_tls_config, ca),
     .def = "\"\" (/etc/ssl/certs/ca-certificates.crt)", .doc = "PEM CA certificates the upstream's chain is verified against"},
    {.name = "verify", .type = K_BOOL, FIELD(struct h2g_upstream_tls_config, verify), .def = "true",
     .doc = "false: no certificate or name check (tests only; warned at load)"},
    {.name = "server_name", .type = K_FN, .fn = fn_opt_string, FIELD(struct h2g_upstream_tls_config, server_name),
     .def = "\"\" (the URL's host)", .doc = "SNI sent and name checked"},
    {.name = "certificate", .type = K_FN, .fn = fn_opt_path, FIELD(struct h2g_upstream_tls_config, certificate),
     .def = "\"\"", .doc = "client certificate (PEM chain) for mutual TLS"},
    {.name = "key", .type = K_FN, .fn = fn_opt_path, FIELD(struct h2g_upstream_tls_config, key), .def = "\"\"",
     .doc = "the client certificate's PEM private key"},
};
static const struct table upstream_tls_table = TABLE(upstream_tls_keys, NULL, upstream_tls_check);

static struct h2g_upstream_tls_config *upstream_tls_new(struct ctx *c, const struct node *v)
{
    struct h2g_upstream_tls_config *t = xcalloc(c, 1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->verify = true;
    t->where = xasprintf(c, "%s:%u:%u", c->name, v->line, v->col);
    return t;
}

static void fn_upstream_tls(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                            const char *kp)
{
    struct h2g_route_config *r = base;
    if (v->type != NODE_MAP) {
        report_at(c, v, "%s: expected a mapping (ca, verify, server_name, certificate, key)", kp);
        return;
    }
    if (r->upstream_tls == NULL && (r->upstream_tls = upstream_tls_new(c, v)) == NULL)
        return;
    walk_map(c, v, &upstream_tls_table, r->upstream_tls, kp);
}

/* upstream_tls only beside a TLS upstream; a TLS upstream without it
 * gets the defaults.  The pools' key of the settings is made here. */
static void route_check_tls(struct ctx *c, const struct node *map, struct h2g_route_config *r, const char *where)
{
    bool any = false;
    for (size_t i = 0; i < r->n_upstreams; i++)
        any = any || r->upstreams[i].tls;
    const struct node *k;
    if (map_find(map, "upstream_tls", &k, NULL) && !any) {
        report_at(c, k, "%s.upstream_tls: only for routes with an https:// or h2:// upstream", where);
        return;
    }
    if (!any)
        return;
    if (r->upstream_tls == NULL && (r->upstream_tls = upstream_tls_new(c, map)) == NULL)
        return;
    const struct h2g_upstream_tls_config *t = r->upstream_tls;
    r->upstream_tls->pool_key =
        xasprintf(c, "%s|%d|%s|%s|%s", t->ca ? t->ca : "", t->verify, t->server_name ? t->server_name : "",
                  t->certificate ? t->certificate : "", t->key ? t->key : "");
}

static void fn_tunnel(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                      const char *kp)
{
    struct h2g_route_config *r = base;
    const char *s = scalar(c, v, kp, "a tcp:// URL", false);
    if (s == NULL)
        return;
    const char *err = h2g_parse_tcp_url(s, &r->tunnel);
    if (err != NULL) {
        report_at(c, v, "%s: expected tcp://host:port, got '%s' (%s)", kp, s, err);
        return;
    }
    r->tunnel_url = xstrdup(c, s);
}

/* A route is either proxied (upstream) or tunnelled (tunnel), and the
 * options of one kind make no sense on the other. */
static void route_check(struct ctx *c, const struct node *map, void *base, const char *where)
{
    struct h2g_route_config *r = base;
    const struct node *up_k, *tun_k, *ws_k, *proto_k;
    bool up = map_find(map, "upstream", &up_k, NULL);
    bool tun = map_find(map, "tunnel", &tun_k, NULL);
    bool ws = map_find(map, "websocket", &ws_k, NULL);
    bool proto = map_find(map, "protocols", &proto_k, NULL);

    if (map->type != NODE_MAP)
        return;
    if (!up && !tun)
        report_at(c, map, "%s: needs 'upstream' (proxy) or 'tunnel' (raw TCP)", where);
    if (up && tun)
        report_at(c, tun_k, "%s: has both 'upstream' and 'tunnel'; a route is one or the other",
                  where);
    r->kind = tun && !up ? H2G_ROUTE_TUNNEL : H2G_ROUTE_HTTP;
    if (ws && r->websocket && tun && !up)
        report_at(c, ws_k, "%s.websocket: only for 'upstream' routes (a tunnel takes 'protocols')",
                  where);
    if (proto && !tun)
        report_at(c, proto_k, "%s.protocols: only for 'tunnel' routes", where);
    route_check_tls(c, map, r, where);
    /* Contract is silent on a tunnel without `protocols`: default to
     * [websocket], the one :protocol every RFC 8441 client sends, so that
     * a bare `tunnel:` works and anything else must be listed. */
    if (r->kind == H2G_ROUTE_TUNNEL && !proto && r->protocols == NULL) {
        r->protocols = xcalloc(c, 1, sizeof(char *));
        if (r->protocols != NULL && (r->protocols[0] = xstrdup(c, "websocket")) != NULL)
            r->n_protocols = 1;
    }
}

static const struct key_spec route_keys[] = {
    {.name = "path", .type = K_FN, .fn = fn_route_path, .required = true,
     .doc = "path prefix, starts with '/', normalized like request paths; the longest match wins"},
    {.name = "upstream", .type = K_FN, .fn = fn_upstream,
     .doc = "http://host[:port] (HTTP/1.1), https:// (HTTP/1.1 over TLS, port 443), h2c://host[:port] "
            "(HTTP/2, multiplexed) or h2:// (HTTP/2 over TLS, ALPN h2), or a list of them (round-robin, one "
            "protocol per route)"},
    {.name = "upstream_tls", .type = K_FN, .fn = fn_upstream_tls,
     .doc = "TLS of the route's https:// and h2:// upstreams: ca, verify, server_name, certificate, key"},
    {.name = "websocket", .type = K_BOOL, FIELD(struct h2g_route_config, websocket),
     .def = "false", .doc = "RFC 8441 extended CONNECT -> HTTP/1.1 Upgrade: websocket (http://, https://), or extended "
                             "CONNECT again (h2c://, h2://)"},
    {.name = "tunnel", .type = K_FN, .fn = fn_tunnel,
     .doc = "tcp://host:port: extended CONNECT bridged to raw TCP"},
    {.name = "protocols", .type = K_STRLIST, FIELD(struct h2g_route_config, protocols),
     .count_off = offsetof(struct h2g_route_config, n_protocols), .check = check_token,
     .nonempty = true, .nodup = true, .def = "[websocket] (tunnel routes)",
     .doc = ":protocol values a tunnel accepts"},
};
static const struct table route_table = TABLE(route_keys, NULL, route_check);

static void fn_altsvc(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                      const char *kp)
{
    struct h2g_origin_config *o = base;
    const char *s = scalar(c, v, kp, "an Alt-Svc value", false);
    if (s == NULL)
        return;
    const char *err = h2g_config_check_altsvc(s);
    if (err != NULL) {
        report_at(c, v, "%s: bad Alt-Svc value '%s': %s", kp, s, err);
        return;
    }
    store_string(o, offsetof(struct h2g_origin_config, altsvc), xstrdup(c, s));
}

/* Duplicate paths, then the longest-first order route lookups rely on. */
static void origin_check(struct ctx *c, const struct node *map, void *base, const char *where)
{
    struct h2g_origin_config *o = base;
    const struct node *routes;
    if (!map_find(map, "routes", NULL, &routes) || routes->type != NODE_SEQ ||
        routes->n != o->n_routes)
        return;
    for (size_t j = 0; j < o->n_routes; j++) {
        for (size_t i = 0; i < j && o->routes[j].path != NULL; i++) {
            if (o->routes[i].path == NULL || strcmp(o->routes[i].path, o->routes[j].path) != 0)
                continue;
            const struct node *pv = routes->kids[j];
            map_find(routes->kids[j], "path", NULL, &pv);
            report_at(c, pv, "%s.routes[%zu].path: duplicate path '%s' (also routes[%zu])", where,
                      j, o->routes[j].path, i);
            break;
        }
    }
    /* Stable insertion sort: equal lengths keep the written order. */
    for (size_t i = 1; i < o->n_routes; i++) {
        struct h2g_route_config r = o->routes[i];
        size_t j = i;
        for (; j > 0 && o->routes[j - 1].path_len < r.path_len; j--)
            o->routes[j] = o->routes[j - 1];
        o->routes[j] = r;
    }
}

static const struct key_spec origin_keys[] = {
    {.name = "hosts", .type = K_STRLIST, FIELD(struct h2g_origin_config, hosts),
     .count_off = offsetof(struct h2g_origin_config, n_hosts), .check = h2g_config_check_host_pattern,
     .required = true, .nonempty = true, .nodup = true,
     .doc = "\"example.com\", \"*.example.com\" or \"*\"; first match wins"},
    {.name = "altsvc", .type = K_FN, .fn = fn_altsvc,
     .doc = "RFC 7838 Alt-Svc value, sent as ALTSVC frame and header"},
    {.name = "routes", .type = K_LIST, FIELD(struct h2g_origin_config, routes),
     .count_off = offsetof(struct h2g_origin_config, n_routes), .sub = &route_table,
     .item_size = sizeof(struct h2g_route_config), .required = true, .nonempty = true,
     .doc = "longest matching path prefix wins"},
};
static const struct table origin_table = TABLE(origin_keys, NULL, origin_check);

/* An ACL list: each pattern parsed once, at load. */
static void fn_acl(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                   const char *kp)
{
    struct h2g_acl *acl = (struct h2g_acl *)((char *)base + k->off);
    if (is_null(v))
        return;
    if (v->type != NODE_SEQ) {
        report_at(c, v, "%s: expected a sequence of \"host:port\" patterns, got %s", kp,
                  node_type_name(v));
        return;
    }
    h2g_acl_clear(acl);
    if ((acl->rules = xcalloc(c, v->n, sizeof(*acl->rules))) == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        char ekp[256];
        key_index(ekp, sizeof(ekp), kp, i);
        const char *s = scalar(c, v->kids[i], ekp, "a \"host:port\" pattern", false);
        if (s == NULL)
            continue;
        const char *err = h2g_acl_rule_parse(s, &acl->rules[acl->n_rules]);
        if (err == h2g_msg_nomem)
            c->nomem = true;
        else if (err != NULL)
            report_at(c, v->kids[i], "%s: bad pattern '%s': %s", ekp, s, err);
        else
            acl->n_rules++;
    }
}

static void connect_check(struct ctx *c, const struct node *map, void *base, const char *where)
{
    ((struct h2g_config *)base)->connect_section = true;
}

static const struct key_spec connect_keys[] = {
    {.name = "allow", .type = K_FN, .fn = fn_acl, FIELD(struct h2g_config, connect_allow),
     .def = "[]", .doc = "\"host:port\" patterns; empty = every CONNECT refused (403)"},
    {.name = "deny", .type = K_FN, .fn = fn_acl, FIELD(struct h2g_config, connect_deny),
     .def = "[]", .doc = "checked before allow"},
};
static const struct table connect_table = TABLE(connect_keys, NULL, connect_check);

#define LIM(kind, f, lo, hi, d, doc_)                                                          \
    {.name = #f, .type = kind, FIELD(struct h2g_limits, f), .min = lo, .max = hi, .def = d,     \
     .doc = doc_}

static const struct key_spec limits_keys[] = {
    LIM(K_INT, max_concurrent_streams, 1, 2147483647, "128", "SETTINGS_MAX_CONCURRENT_STREAMS"),
    LIM(K_SIZE, initial_window_size, 0, 2147483647, "1MiB",
        "SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 6.5.2: at most 2^31-1)"),
    LIM(K_SIZE, connection_window_size, 65535, 2147483647, "16MiB",
        "connection receive window; never below the RFC's initial 65535"),
    LIM(K_SIZE, max_frame_size, 16384, 16777215, "16KiB", "SETTINGS_MAX_FRAME_SIZE (RFC 9113)"),
    /* The protocol allows 2^32-1, but this is the HPACK table we decode
     * with, per connection: more than 16MiB is a memory bill, not a tune. */
    LIM(K_SIZE, header_table_size, 0, 16 * MiB, "4KiB", "SETTINGS_HEADER_TABLE_SIZE"),
    LIM(K_SIZE, max_header_list_size, 1 * KiB, 16 * MiB, "64KiB", "SETTINGS_MAX_HEADER_LIST_SIZE"),
    LIM(K_INT, max_header_list_pairs, 4, 65535, "128", "more header fields -> 431 / RST"),
    LIM(K_SIZE, max_deflate_dynamic_table_size, 0, 16 * MiB, "4KiB",
        "HPACK encoder table size"),
    LIM(K_INT, max_settings, 1, 1000, "32", "entries per SETTINGS frame"),
    LIM(K_INT, max_outstanding_pings, 1, 10000, "10", "unanswered PINGs"),
    LIM(K_SIZE, max_session_memory, 1 * MiB, 1ull << 40, "10MiB",
        "new streams refused while above"),
    LIM(K_SIZE, max_send_header_block_length, 1 * KiB, 16 * MiB, "64KiB",
        "largest header block we send"),
    LIM(K_INT, peer_max_concurrent_streams, 1, 2147483647, "100",
        "assumed until the peer's SETTINGS"),
    LIM(K_INT, max_session_invalid_frames, 0, UINT32_MAX, "1000", "then GOAWAY"),
    LIM(K_INT, max_session_rejected_streams, 0, UINT32_MAX, "100",
        "then GOAWAY (ENHANCE_YOUR_CALM)"),
    LIM(K_INT, stream_reset_burst, 1, UINT32_MAX, "1000", "RST_STREAM rate limit burst"),
    LIM(K_INT, stream_reset_rate, 1, UINT32_MAX, "33", "RST_STREAM per second"),
    LIM(K_INT, max_connections, 1, 1000000, "10000", "accepted client connections"),
    LIM(K_SIZE, max_request_body, 0, 1ull << 50, "0", "0 = unlimited; else 413"),
    /* 1MiB: /proc/sys/fs/pipe-max-size's default, what an unprivileged
     * process may ask for. */
    LIM(K_SIZE, tunnel_pipe_size, 4 * KiB, 1 * MiB, "64KiB",
        "kernel pipe per direction of a spliced tunnel"),
};
static const struct table limits_table = TABLE(limits_keys, NULL, NULL);

#define TMO(f, lo, d, doc_)                                                                     \
    {.name = #f, .type = K_DURATION, FIELD(struct h2g_timeouts, f), .min = lo, .max = DAY_MS,    \
     .def = d, .doc = doc_}

static const struct key_spec timeouts_keys[] = {
    TMO(handshake, 1, "10s", "TLS + preface / first request"),
    TMO(idle, 1, "120s", "session with no open stream -> GOAWAY"),
    TMO(stream_idle, 1, "60s", "no bytes either way on a stream"),
    TMO(upstream_connect, 1, "5s", "TCP connect to an upstream"),
    TMO(upstream_response, 1, "60s", "request sent -> response head"),
    TMO(tunnel_idle, 1, "300s", "CONNECT / extended CONNECT streams"),
    /* 0 is meaningful here: stop at once, no drain. */
    TMO(shutdown, 0, "30s", "graceful drain on SIGTERM / reload"),
};
static const struct table timeouts_table = TABLE(timeouts_keys, NULL, NULL);

static void fn_log_level(struct ctx *c, const struct node *v, void *base, const struct key_spec *k,
                         const char *kp)
{
    static const enum h2g_log_level levels[] = {H2G_LOG_ERROR, H2G_LOG_WARN, H2G_LOG_INFO,
                                                H2G_LOG_DEBUG};
    const char *s = scalar(c, v, kp, "one of error, warn, info, debug", false);
    if (s == NULL)
        return;
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcmp(s, h2g_log_level_str(levels[i])) == 0) {
            ((struct h2g_config *)base)->log_level = levels[i];
            return;
        }
    }
    report_at(c, v, "%s: '%s' is not one of error, warn, info, debug", kp, s);
}

static void fn_log_access(struct ctx *c, const struct node *v, void *base,
                          const struct key_spec *k, const char *kp)
{
    const char *s = scalar(c, v, kp, "stdout, off or a file path", false);
    if (s == NULL)
        return;
    if (s[0] == '\0') {
        report_at(c, v, "%s: expected stdout, off or a file path, got ''", kp);
        return;
    }
    char *val = strcmp(s, "stdout") == 0 || strcmp(s, "off") == 0 ? xstrdup(c, s)
                                                                   : resolve_path(c, s);
    store_string(base, k->off, val);
}

static void fn_control_socket(struct ctx *c, const struct node *v, void *base,
                              const struct key_spec *k, const char *kp)
{
    const char *s = scalar(c, v, kp, "a socket path", false);
    if (s == NULL)
        return;
    if (s[0] == '\0') {
        report_at(c, v, "%s: empty socket path", kp);
        return;
    }
    char *path = resolve_path(c, s);
    if (path == NULL)
        return;
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        report_at(c, v, "%s: '%s' is longer than a unix socket path may be (%zu bytes)", kp, path,
                  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        free(path);
        return;
    }
    store_string(base, k->off, path);
}

static void fn_metrics_listen(struct ctx *c, const struct node *v, void *base,
                              const struct key_spec *k, const char *kp)
{
    struct h2g_config *cfg = base;
    const char *s = scalar(c, v, kp, "\"\" or host:port", true);
    if (s == NULL)
        return;
    if (s[0] == '\0') {
        store_string(cfg, offsetof(struct h2g_config, metrics_listen_text), NULL);
        return;
    }
    const char *err = h2g_parse_hostport(s, &cfg->metrics_listen);
    if (err != NULL) {
        report_at(c, v, "%s: expected \"\" (off) or host:port, got '%s' (%s)", kp, s, err);
        return;
    }
    store_string(cfg, offsetof(struct h2g_config, metrics_listen_text), xstrdup(c, s));
}

static const struct key_spec log_keys[] = {
    {.name = "level", .type = K_FN, .fn = fn_log_level, .def = "info",
     .doc = "error | warn | info | debug"},
    {.name = "access", .type = K_FN, .fn = fn_log_access, FIELD(struct h2g_config, log_access),
     .def = "stdout", .doc = "stdout | off | /path/to/file"},
};
static const struct table log_table = TABLE(log_keys, NULL, NULL);

static const struct key_spec control_keys[] = {
    {.name = "socket", .type = K_FN, .fn = fn_control_socket,
     FIELD(struct h2g_config, control_socket), .def = "/run/h2gate/control.sock",
     .doc = "h2gatectl talks to this (mode 0600)"},
};
static const struct table control_table = TABLE(control_keys, NULL, NULL);

static const struct key_spec metrics_keys[] = {
    {.name = "listen", .type = K_FN, .fn = fn_metrics_listen, .def = "\"\"",
     .doc = "\"\" = off; host:port serves GET /metrics and GET /status"},
};
static const struct table metrics_table = TABLE(metrics_keys, NULL, NULL);

static const struct key_spec top_keys[] = {
    {.name = "workers", .type = K_FN, .fn = fn_workers, .def = "auto",
     .doc = "event-loop threads; auto = one per CPU"},
    {.name = "user", .type = K_STRING, FIELD(struct h2g_config, user), .def = "\"\"",
     .doc = "started as root: drop to this user once sockets are bound"},
    {.name = "listen", .type = K_LIST, FIELD(struct h2g_config, listen),
     .count_off = offsetof(struct h2g_config, n_listen), .sub = &listen_table,
     .item_size = sizeof(struct h2g_listen_config), .required = true, .nonempty = true,
     .doc = "one or more listeners"},
    {.name = "origins", .type = K_LIST, FIELD(struct h2g_config, origins),
     .count_off = offsetof(struct h2g_config, n_origins), .sub = &origin_table,
     .item_size = sizeof(struct h2g_origin_config), .def = "[]",
     .doc = "virtual hosts, matched on :authority / Host"},
    {.name = "origin_set", .type = K_STRLIST, FIELD(struct h2g_config, origin_set),
     .count_off = offsetof(struct h2g_config, n_origin_set), .check = h2g_config_check_origin,
     .nodup = true, .def = "[]", .doc = "ORIGIN frame (RFC 8336) on TLS h2 sessions"},
    /* Sections whose fields sit directly in struct h2g_config: off 0. */
    {.name = "connect", .type = K_SECTION, .sub = &connect_table,
     .doc = "classic CONNECT (RFC 9113 8.5) to TCP"},
    {.name = "limits", .type = K_SECTION, .off = offsetof(struct h2g_config, limits),
     .sub = &limits_table, .doc = "names follow the Node.js http2 options"},
    {.name = "timeouts", .type = K_SECTION, .off = offsetof(struct h2g_config, timeouts),
     .sub = &timeouts_table},
    {.name = "log", .type = K_SECTION, .sub = &log_table},
    {.name = "control", .type = K_SECTION, .sub = &control_table},
    {.name = "metrics", .type = K_SECTION, .sub = &metrics_table},
};

static void top_check(struct ctx *c, const struct node *map, void *base, const char *where)
{
    struct h2g_config *cfg = base;
    if (cfg->n_origins == 0 && !cfg->connect_section)
        report_at(c, map, "nothing to serve: need 'origins' or 'connect' (or both)");
}

static const struct table top_table = TABLE(top_keys, NULL, top_check);

/* ------------------------------------------------------------------ */
/* Entry points                                                       */

static int error_cmp(const void *a, const void *b)
{
    const struct error *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the collected errors, sorted by position, into errs. */
static void errors_finish(struct ctx *c, struct h2g_config_errors *errs)
{
    if (c->nomem) {
        /* What was found after something could not be stored may be an
         * artefact of it (a missing node): out of memory says it all. */
        for (size_t i = 0; i < c->n_errs; i++)
            free(c->errs[i].msg);
        c->n_errs = 0;
        report(c, 0, 0, "out of memory");
    }
    if (c->n_errs > 1)
        qsort(c->errs, c->n_errs, sizeof(*c->errs), error_cmp);
    errs->msgs = c->n_errs ? calloc(c->n_errs, sizeof(char *)) : NULL;
    for (size_t i = 0; i < c->n_errs; i++) {
        char *m = NULL;
        if (errs->msgs != NULL) {
            struct ctx tmp = {0};
            m = c->errs[i].line ? xasprintf(&tmp, "%s:%u:%u: %s", c->name, c->errs[i].line,
                                            c->errs[i].col, c->errs[i].msg)
                                : xasprintf(&tmp, "%s: %s", c->name, c->errs[i].msg);
        }
        if (m != NULL)
            errs->msgs[errs->n++] = m;
        free(c->errs[i].msg);
    }
    free(c->errs);
    c->errs = NULL;
    c->n_errs = 0;
}

static struct h2g_config *load_text(const char *name, const char *dir, const char *path,
                                    const char *text, size_t len, struct h2g_config_errors *errs)
{
    struct ctx c = {.name = name, .dir = dir};
    struct node *root = NULL;
    struct h2g_config *cfg = NULL;

    if (build_tree(&c, text, len, &root) && !c.nomem) {
        cfg = h2g_config_new_defaults();
        if (cfg == NULL) {
            c.nomem = true;
        } else {
            cfg->dir = xstrdup(&c, dir);
            if (path != NULL)
                cfg->path = xstrdup(&c, path);
            /* An empty document is an empty mapping: the missing keys are
             * then reported at its start. */
            struct node empty = {.type = NODE_MAP, .line = 1, .col = 1};
            walk_map(&c, root != NULL ? root : &empty, &top_table, cfg, "");
        }
    }
    if (cfg != NULL) {
        for (size_t i = 0; i < cfg->n_origins; i++)
            for (size_t j = 0; j < cfg->origins[i].n_routes; j++)
                if (cfg->origins[i].routes[j].websocket ||
                    cfg->origins[i].routes[j].kind == H2G_ROUTE_TUNNEL)
                    cfg->enable_connect_protocol = true;
    }
    node_free(root);
    if (c.n_errs > 0 || c.nomem) {
        h2g_config_unref(cfg);
        cfg = NULL;
    }
    errors_finish(&c, errs);
    return cfg;
}

struct h2g_config *h2g_config_load_string(const char *name, const char *dir, const char *text,
                                          size_t len, struct h2g_config_errors *errs)
{
    char cwd[4096];
    errs->msgs = NULL;
    errs->n = 0;
    if (dir == NULL)
        dir = getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "/";
    return load_text(name, dir, NULL, text, len, errs);
}

/* Adds one whole-file error ("FILE: what: strerror"). */
static void file_error(struct h2g_config_errors *errs, const char *path, const char *what, int e)
{
    struct ctx c = {.name = path};
    report(&c, 0, 0, "%s: %s", what, strerror(e));
    errors_finish(&c, errs);
}

struct h2g_config *h2g_config_load(const char *path, struct h2g_config_errors *errs)
{
    struct h2g_buf text = {0};
    char cwd[4096];
    errs->msgs = NULL;
    errs->n = 0;

    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        file_error(errs, path, "cannot open", errno);
        return NULL;
    }
    for (;;) {
        if (h2g_buf_reserve(&text, 65536) != 0) {
            fclose(f);
            h2g_buf_clear(&text);
            file_error(errs, path, "cannot read", ENOMEM);
            return NULL;
        }
        size_t n = fread(text.data + text.len, 1, text.cap - text.len, f);
        text.len += n;
        if (n == 0)
            break;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno != 0 || text.data == NULL) {
        h2g_buf_clear(&text);
        file_error(errs, path, "cannot read", read_errno ? read_errno : EIO);
        return NULL;
    }

    /* The snapshot keeps absolute paths: the daemon may chdir, and a
     * reload must find the same file. */
    char *abs = NULL;
    struct ctx c = {.name = path};
    if (path[0] == '/')
        abs = xstrdup(&c, path);
    else if (getcwd(cwd, sizeof(cwd)) != NULL)
        abs = xasprintf(&c, "%s/%s", cwd, path);
    if (abs == NULL) {
        h2g_buf_clear(&text);
        file_error(errs, path, "cannot resolve path", c.nomem ? ENOMEM : errno);
        return NULL;
    }
    char *dir = xstrdup(&c, abs);
    if (dir == NULL) {
        free(abs);
        h2g_buf_clear(&text);
        file_error(errs, path, "cannot resolve path", ENOMEM);
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0'; /* "/x.yaml" -> "/" */

    struct h2g_config *cfg = load_text(path, dir, abs, text.data, text.len, errs);
    free(dir);
    free(abs);
    h2g_buf_clear(&text);
    return cfg;
}

void h2g_config_errors_clear(struct h2g_config_errors *errs)
{
    if (errs == NULL)
        return;
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}
