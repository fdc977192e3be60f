/*
 * h1_parse.c: llhttp, built strict (LLHTTP_STRICT_MODE, Makefile.am) and
 * used without lenient flags, plus the checks it does not make even so
 * (obs-fold, a request line ended by a bare LF or holding a double SP get
 * through it) and a cap on the head's size, which it has none of.
 *
 * Two things run over the bytes:
 *  - a raw-line checker over each head and trailer section, ahead of
 *    llhttp: it counts the section against max_head and rejects bare LF,
 *    CR not followed by LF, obs-fold (RFC 9112 5.2) and a request line
 *    that is not exactly "method SP target SP version";
 *  - llhttp, whose callbacks copy the head into p->store.
 * llhttp is paused (HPE_PAUSED) wherever a new section starts inside the
 * bytes it was given (after a 1xx head, after the last-chunk line), so
 * the checker always knows where a section begins; at a message end the
 * pause is handed to the caller.
 */
#include "core/h1_parse.h"

#include <stdlib.h>
#include <string.h>

#include "core/errors.h"

enum pause_kind {
    PAUSE_NONE = 0,
    PAUSE_COMPLETE, /* a message ended; the caller decides what next */
    PAUSE_INTERIM,  /* a 1xx (not 101) ended: internal, parsing goes on */
    PAUSE_LAST_CHUNK, /* the "0" chunk line was read: trailers follow */
    PAUSE_USER,     /* on_data asked to stop */
};

enum scan_phase {
    SCAN_HEAD = 0, /* checking a head */
    SCAN_BODY,     /* llhttp alone (body, or between sections) */
    SCAN_TRAILERS, /* checking the trailer section */
};

enum scan_state {
    SS_LINE_START = 0,
    SS_IN_LINE,
    SS_CR,       /* CR inside a non-empty line */
    SS_EMPTY_CR, /* CR at the start of a line: end of section if LF follows */
    SS_REQ_SP,   /* just after a SP of the request line (kept across feeds:
                    "GET " and " /" may come apart) */
};

enum field_state { FS_NONE = 0, FS_NAME, FS_VALUE, FS_OVER /* a name past H1_MAX_FIELDS */ };

static struct h1_parser *parser_of(llhttp_t *ll)
{
    return ll->data;
}

/* Records an error decided here (not by llhttp). */
static int fail(struct h1_parser *p, int err, const char *reason)
{
    if (p->err == 0) {
        p->err = err;
        p->reason = reason;
    }
    return -1;
}

static struct h2g_buf *cur_store(struct h1_parser *p)
{
    return p->in_trailers ? &p->tstore : &p->store;
}

static void start_section(struct h1_parser *p, enum scan_phase phase)
{
    p->scan_phase = phase;
    p->scan_state = SS_LINE_START;
    p->scan_lines = 0;
    p->scan_sp = 0;
    p->head_bytes = 0;
}

/* One step of the line checker's state machine, for a byte the fast
 * path of scan() did not skip.  0, or -1 with p->err set. */
static int scan_byte(struct h1_parser *p, char c)
{
    bool first_line = p->scan_phase == SCAN_HEAD && p->scan_lines == 0;
    switch (p->scan_state) {
    case SS_LINE_START:
        if (c == '\r') {
            p->scan_state = SS_EMPTY_CR;
            break;
        }
        if (c == '\n')
            return fail(p, H2G_ERR_MALFORMED, "bare LF");
        if (c == ' ' || c == '\t')
            return fail(p, H2G_ERR_MALFORMED,
                        first_line ? "whitespace before the start line" : "obs-fold");
        p->scan_state = SS_IN_LINE;
        break;
    case SS_IN_LINE:
        if (c == '\r') {
            if (first_line && !p->response && p->scan_sp != 2)
                return fail(p, H2G_ERR_MALFORMED, "invalid request line");
            p->scan_state = SS_CR;
        } else if (c == '\n') {
            return fail(p, H2G_ERR_MALFORMED, "bare LF");
        } else if (first_line && !p->response && (c == ' ' || c == '\t')) {
            /* Exactly one SP between the three parts (RFC 9112 3). */
            if (c == '\t' || ++p->scan_sp > 2)
                return fail(p, H2G_ERR_MALFORMED, "invalid request line");
            p->scan_state = SS_REQ_SP;
        }
        break;
    case SS_REQ_SP:
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return fail(p, H2G_ERR_MALFORMED, c == '\n' ? "bare LF" : "invalid request line");
        p->scan_state = SS_IN_LINE;
        break;
    case SS_CR:
        if (c != '\n')
            return fail(p, H2G_ERR_MALFORMED, "CR not followed by LF");
        p->scan_lines++;
        p->scan_state = SS_LINE_START;
        break;
    case SS_EMPTY_CR:
        if (c != '\n')
            return fail(p, H2G_ERR_MALFORMED, "CR not followed by LF");
        p->scan_state = SS_LINE_START;
        if (p->scan_phase == SCAN_HEAD && p->scan_lines == 0)
            break; /* empty lines before a start line are ignored (RFC 9112 2.2) */
        p->scan_phase = SCAN_BODY;
        break;
    }
    return 0;
}

/*
 * Checks data[0..len) of the current head/trailer section.  Stops at the
 * end of the section (the phase becomes SCAN_BODY).  0, or an error with
 * *stop at the offending byte: the first one in byte order, wherever the
 * input was cut (a line too long for max_head before a bare LF in it is
 * TOO_LARGE, as when its bytes come one at a time).
 */
static int scan(struct h1_parser *p, const char *data, size_t len, size_t *stop)
{
    size_t max = p->max_head ? p->max_head : SIZE_MAX;
    for (size_t i = 0; i < len && p->scan_phase != SCAN_BODY; i++) {
        if (p->scan_state == SS_IN_LINE && !(p->scan_phase == SCAN_HEAD && p->scan_lines == 0 && !p->response)) {
            /* Inside a field line (or a status line) only CR and LF
             * matter: skip to the next CR with memchr instead of a state
             * machine step per byte (this runs for every message). */
            size_t rest = len - i;
            const char *cr = memchr(data + i, '\r', rest);
            size_t span = cr != NULL ? (size_t)(cr - (data + i)) : rest;
            size_t room = max - p->head_bytes; /* head_bytes <= max here */
            const char *lf = memchr(data + i, '\n', span < room ? span : room);
            if (lf != NULL) {
                *stop = (size_t)(lf - data);
                return fail(p, H2G_ERR_MALFORMED, "bare LF");
            }
            if (span > room) {
                *stop = i + room;
                return fail(p, H2G_ERR_TOO_LARGE,
                            p->scan_phase == SCAN_HEAD ? "head too large" : "trailers too large");
            }
            p->head_bytes += span;
            i += span;
            if (cr == NULL)
                break;
        }
        char c = data[i];
        *stop = i;
        if (++p->head_bytes > max)
            return fail(p, H2G_ERR_TOO_LARGE,
                        p->scan_phase == SCAN_HEAD ? "head too large" : "trailers too large");
        if (scan_byte(p, c) != 0)
            return -1;
    }
    return 0;
}

/* --- llhttp callbacks --- */

static int on_message_begin(llhttp_t *ll)
{
    struct h1_parser *p = parser_of(ll);
    h2g_buf_reset(&p->store);
    h2g_buf_reset(&p->tstore);
    p->n_f = 0;
    p->n_tfields = 0;
    p->state_in_value = FS_NONE;
    p->bad_name = false;
    p->in_trailers = false;
    p->method_off = p->method_len = p->target_off = p->target_len = 0;
    memset(&p->head, 0, sizeof(p->head));
    return 0;
}

static int append(struct h1_parser *p, struct h2g_buf *b, const char *at, size_t len)
{
    if (h2g_buf_append(b, at, len) != 0)
        return fail(p, H2G_ERR_NOMEM, "out of memory");
    return 0;
}

static int on_method(llhttp_t *ll, const char *at, size_t len)
{
    struct h1_parser *p = parser_of(ll);
    if (p->method_len == 0)
        p->method_off = p->store.len;
    p->method_len += len;
    return append(p, &p->store, at, len) ? HPE_USER : 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    struct h1_parser *p = parser_of(ll);
    if (p->target_len == 0)
        p->target_off = p->store.len;
    p->target_len += len;
    return append(p, &p->store, at, len) ? HPE_USER : 0;
}

/* Doubles the offsets array (16 to start).  The head's and the trailers'
 * arrays are sized apart, when their section is built (build_fields): a
 * trailer section longer than the head must not move the head's array,
 * which the caller may still read (h1_parse.h). */
static int grow_fields(struct h1_parser *p)
{
    size_t cap = p->f_cap ? p->f_cap * 2 : 16;
    if (cap > H1_MAX_FIELDS)
        cap = H1_MAX_FIELDS;
    struct h1_field_ref *f = realloc(p->f, cap * sizeof(*f));
    if (f == NULL)
        return -1;
    p->f = f;
    p->f_cap = cap;
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    struct h1_parser *p = parser_of(ll);
    struct h2g_buf *b = cur_store(p);
    if (p->state_in_value == FS_OVER)
        return 0;
    if (p->state_in_value != FS_NAME) {
        if (p->n_f >= H1_MAX_FIELDS) {
            /* Refused once the name is complete (on_header_field_complete),
             * not at its first bytes: llhttp hands a name out before its
             * end only when the input is cut inside it, and a byte llhttp
             * refuses further in the name must be the error either way. */
            p->state_in_value = FS_OVER;
            return 0;
        }
        if (p->n_f == p->f_cap && grow_fields(p) != 0)
            return fail(p, H2G_ERR_NOMEM, "out of memory"), HPE_USER;
        p->f[p->n_f].name_off = (uint32_t)b->len;
        p->f[p->n_f].name_len = 0;
        p->f[p->n_f].value_off = (uint32_t)b->len;
        p->f[p->n_f].value_len = 0;
        p->n_f++;
        p->state_in_value = FS_NAME;
    }
    /* llhttp reports an empty name with len 0, maybe before anything was
     * stored: no arithmetic on a NULL b->data. */
    if (len == 0)
        return 0;
    if (h2g_buf_reserve(b, len) != 0)
        return fail(p, H2G_ERR_NOMEM, "out of memory"), HPE_USER;
    /* Names are case-insensitive; the core speaks lowercase (HTTP/2).
     * The same table lookup finds bytes that are not tchars (RFC 9112
     * 5.1 says reject "name : value"; the strict llhttp does too, this
     * keeps the rule whatever llhttp is built with): build_fields
     * refuses the section. */
    unsigned char bad = 1;
    char *d = b->data + b->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char l = h2g_tchar_lower[(unsigned char)at[i]];
        bad &= (unsigned char)(l != 0);
        d[i] = (char)l;
    }
    b->len += len;
    p->bad_name |= !bad;
    p->f[p->n_f - 1].name_len += (uint32_t)len;
    p->f[p->n_f - 1].value_off = (uint32_t)b->len;
    return 0;
}

static int on_header_field_complete(llhttp_t *ll)
{
    struct h1_parser *p = parser_of(ll);
    if (p->state_in_value == FS_OVER)
        return fail(p, H2G_ERR_TOO_LARGE, "too many fields"), HPE_USER;
    return 0;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    struct h1_parser *p = parser_of(ll);
    struct h2g_buf *b = cur_store(p);
    if (p->n_f == 0)
        return fail(p, H2G_ERR_MALFORMED, "value without a name"), HPE_USER;
    if (p->state_in_value != FS_VALUE) {
        p->f[p->n_f - 1].value_off = (uint32_t)b->len;
        p->state_in_value = FS_VALUE;
    }
    p->f[p->n_f - 1].value_len += (uint32_t)len;
    return append(p, b, at, len) ? HPE_USER : 0;
}

/* Builds *out (grown to f_cap entries when short) from the offsets into
 * b; checks names, trims values.  0 or -1 (p->err set). */
static int build_fields(struct h1_parser *p, const struct h2g_buf *b, struct h2g_field **out,
                        size_t *out_cap)
{
    if (p->bad_name)
        return fail(p, H2G_ERR_MALFORMED, "invalid field name");
    if (*out_cap < p->n_f) {
        struct h2g_field *o = realloc(*out, p->f_cap * sizeof(*o));
        if (o == NULL)
            return fail(p, H2G_ERR_NOMEM, "out of memory");
        *out = o;
        *out_cap = p->f_cap;
    }
    for (size_t i = 0; i < p->n_f; i++) {
        /* Before the pointers: with only empty fields b->data is NULL. */
        if (p->f[i].name_len == 0)
            return fail(p, H2G_ERR_MALFORMED, "invalid field name");
        const char *name = b->data + p->f[i].name_off;
        const char *value = b->data + p->f[i].value_off;
        size_t vlen = p->f[i].value_len;
        while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
            vlen--;
        while (vlen > 0 && (value[0] == ' ' || value[0] == '\t')) {
            value++;
            vlen--;
        }
        (*out)[i].name = name;
        (*out)[i].name_len = p->f[i].name_len;
        (*out)[i].value = value;
        (*out)[i].value_len = vlen;
    }
    return 0;
}

static bool is_interim(const struct h1_parser *p)
{
    return p->response && p->head.status >= 100 && p->head.status < 200;
}

/* A response head's status and framing (RFC 9112 6.3).  1: no body;
 * 2: no body and stop (101); 0: a body; -1 with p->err set. */
static int response_framing(struct h1_parser *p, llhttp_t *ll, struct h1_head *h)
{
    h->status = llhttp_get_status_code(ll);
    if (h->status < 100 || h->status > 999)
        return fail(p, H2G_ERR_MALFORMED, "invalid status code");
    h->upgrade = h->status == 101;
    if (h->status == 101) {
        h->body = H1_BODY_NONE;
        return 2;
    } else if (is_interim(p) || h->status == 204 || h->status == 304 || p->head_request) {
        /* RFC 9110 6.4.1: no content whatever the fields say. */
        h->body = H1_BODY_NONE;
        return 1;
    } else if (ll->flags & F_CHUNKED) {
        h->body = H1_BODY_CHUNKED;
    } else if (ll->flags & F_TRANSFER_ENCODING) {
        /* RFC 9112 6.3 item 4: chunked not final -> read to close. */
        h->body = H1_BODY_CLOSE;
    } else if (ll->flags & F_CONTENT_LENGTH) {
        h->content_length = ll->content_length;
        h->body = ll->content_length ? H1_BODY_LENGTH : H1_BODY_NONE;
    } else {
        h->body = H1_BODY_CLOSE;
    }
    return 0;
}

/* A request head's request line and framing (RFC 9112 6.3).  0, or -1
 * with p->err set. */
static int request_framing(struct h1_parser *p, llhttp_t *ll, struct h1_head *h)
{
    h->method = p->store.data + p->method_off;
    h->method_len = p->method_len;
    h->target = p->store.data + p->target_off;
    h->target_len = p->target_len;
    if (p->method_len == 0 || p->target_len == 0)
        return fail(p, H2G_ERR_MALFORMED, "invalid request line");
    /* RFC 9112 6.3 item 4: a request whose last coding is not chunked
     * has no knowable length.  llhttp refuses it too, but only after
     * this callback; refuse before on_head. */
    if ((ll->flags & F_TRANSFER_ENCODING) && !(ll->flags & F_CHUNKED))
        return fail(p, H2G_ERR_MALFORMED, "request Transfer-Encoding without final chunked");
    h->upgrade = ll->upgrade != 0; /* Upgrade + Connection: upgrade, or CONNECT */
    /* RFC 9110 9.3.6: a CONNECT request has no content, and llhttp
     * ends it at its head whatever the fields say: the bytes that
     * follow are the tunnel's.  A CONNECT that announces a body is
     * refused rather than have the client and us disagree on where
     * the tunnel starts. */
    if (ll->method == HTTP_CONNECT &&
        ((ll->flags & F_TRANSFER_ENCODING) || ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0)))
        return fail(p, H2G_ERR_MALFORMED, "CONNECT with a body");
    if (ll->flags & F_CHUNKED) {
        h->body = H1_BODY_CHUNKED;
    } else if (ll->flags & F_CONTENT_LENGTH) {
        h->content_length = ll->content_length;
        h->body = ll->content_length ? H1_BODY_LENGTH : H1_BODY_NONE;
    } else {
        h->body = H1_BODY_NONE;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *ll)
{
    struct h1_parser *p = parser_of(ll);
    struct h1_head *h = &p->head;
    if (ll->http_major != 1 || ll->http_minor > 1)
        return fail(p, H2G_ERR_MALFORMED, "unsupported HTTP version");
    if (p->store.len > 0 && p->store.data == NULL)
        return fail(p, H2G_ERR_MALFORMED, "internal");
    if (build_fields(p, &p->store, &p->fields, &p->fields_cap) != 0)
        return -1;
    p->state_in_value = FS_NONE;

    h->fields = p->fields;
    h->n_fields = p->n_f;
    h->version_minor = ll->http_minor;
    h->content_length = 0;
    /* 1: no body; 2: no body and stop (upgrade) */
    int ret = p->response ? response_framing(p, ll, h) : request_framing(p, ll, h);
    if (ret < 0)
        return -1;
    /* Provisional (RFC 9112 9.3); recomputed by llhttp at the end. */
    if (ll->http_minor == 1)
        h->keep_alive = !(ll->flags & F_CONNECTION_CLOSE);
    else
        h->keep_alive = (ll->flags & F_CONNECTION_KEEP_ALIVE) != 0;
    if (h->body == H1_BODY_CLOSE || h->upgrade)
        h->keep_alive = false;

    if (p->cb != NULL && p->cb->on_head != NULL) {
        int rc = p->cb->on_head(p->arg, h);
        if (rc != 0) {
            p->cb_rc = rc;
            return -1;
        }
    }
    return ret;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    struct h1_parser *p = parser_of(ll);
    if (p->cb == NULL || p->cb->on_data == NULL || len == 0)
        return 0;
    int rc = p->cb->on_data(p->arg, at, len);
    if (rc == H2G_ERR_PAUSED) {
        p->pause_kind = PAUSE_USER;
        return HPE_PAUSED;
    }
    if (rc != 0) {
        p->cb_rc = rc;
        return HPE_USER;
    }
    return 0;
}

static int on_chunk_header(llhttp_t *ll)
{
    struct h1_parser *p = parser_of(ll);
    if (ll->content_length != 0)
        return 0;
    /* The last chunk: what follows is the trailer section, which the
     * raw-line checker must see from its first byte. */
    p->in_trailers = true;
    p->n_f = 0;
    p->bad_name = false;
    p->state_in_value = FS_NONE;
    p->pause_kind = PAUSE_LAST_CHUNK;
    return HPE_PAUSED;
}

static int on_message_complete(llhttp_t *ll)
{
    struct h1_parser *p = parser_of(ll);
    if (p->response && p->head.status == 101)
        return 0; /* llhttp stops with HPE_PAUSED_UPGRADE */
    if (is_interim(p)) {
        p->pause_kind = PAUSE_INTERIM;
        return HPE_PAUSED;
    }
    if (p->in_trailers && p->n_f > 0) {
        if (build_fields(p, &p->tstore, &p->tfields, &p->tfields_cap) != 0)
            return -1;
        p->n_tfields = p->n_f;
        if (p->cb != NULL && p->cb->on_trailers != NULL) {
            int rc = p->cb->on_trailers(p->arg, p->tfields, p->n_tfields);
            if (rc != 0) {
                p->cb_rc = rc;
                return -1;
            }
        }
    }
    p->head.keep_alive = llhttp_should_keep_alive(ll) && !p->head.upgrade;
    p->head_request = false; /* the caller says it again for the next response */
    if (p->cb != NULL && p->cb->on_complete != NULL) {
        int rc = p->cb->on_complete(p->arg);
        if (rc != 0) {
            p->cb_rc = rc;
            return -1;
        }
    }
    if (ll->upgrade)
        return 0; /* request upgrade/CONNECT: llhttp stops with HPE_PAUSED_UPGRADE */
    p->pause_kind = PAUSE_COMPLETE;
    return HPE_PAUSED;
}

/* --- API --- */

void h1_parser_init(struct h1_parser *p, bool response, size_t max_head, const struct h1_parser_cb *cb,
                    void *arg)
{
    memset(p, 0, sizeof(*p));
    p->cb = cb;
    p->arg = arg;
    p->response = response;
    p->max_head = max_head;
    llhttp_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_method = on_method;
    p->settings.on_url = on_url;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_field_complete = on_header_field_complete;
    p->settings.on_header_value = on_header_value;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_chunk_header = on_chunk_header;
    p->settings.on_message_complete = on_message_complete;
    llhttp_init(&p->ll, response ? HTTP_RESPONSE : HTTP_REQUEST, &p->settings);
    p->ll.data = p;
    start_section(p, SCAN_HEAD);
}

void h1_parser_reinit(struct h1_parser *p, bool response, size_t max_head, const struct h1_parser_cb *cb,
                      void *arg)
{
    struct h2g_buf store = p->store, tstore = p->tstore;
    struct h1_field_ref *f = p->f;
    struct h2g_field *fields = p->fields, *tfields = p->tfields;
    size_t f_cap = p->f_cap, fields_cap = p->fields_cap, tfields_cap = p->tfields_cap;
    h1_parser_init(p, response, max_head, cb, arg);
    p->store = store;
    p->tstore = tstore;
    h2g_buf_reset(&p->store);
    h2g_buf_reset(&p->tstore);
    p->f = f;
    p->fields = fields;
    p->tfields = tfields;
    p->f_cap = f_cap;
    p->fields_cap = fields_cap;
    p->tfields_cap = tfields_cap;
}

void h1_parser_clear(struct h1_parser *p)
{
    h2g_buf_clear(&p->store);
    h2g_buf_clear(&p->tstore);
    free(p->f);
    free(p->fields);
    free(p->tfields);
    p->f = NULL;
    p->fields = p->tfields = NULL;
    p->f_cap = p->fields_cap = p->tfields_cap = 0;
    p->n_f = 0;
    p->n_tfields = 0;
    memset(&p->head, 0, sizeof(p->head));
}

void h1_parser_expect_head(struct h1_parser *p, bool head_request)
{
    p->head_request = head_request;
}

/* Maps a stopped llhttp_execute to our convention. */
static int llhttp_failure(struct h1_parser *p, llhttp_errno_t e)
{
    if (p->err != 0)
        return p->err;
    if (p->cb_rc != 0) {
        p->err = p->cb_rc;
        p->reason = "aborted by callback";
        return p->err;
    }
    p->err = H2G_ERR_MALFORMED;
    p->reason = llhttp_get_error_reason(&p->ll);
    if (p->reason == NULL)
        p->reason = llhttp_errno_name(e);
    return p->err;
}

/*
 * The checker refused the byte at data[off + stop].  llhttp has not read
 * the bytes before it yet (the checker runs ahead): if it refuses one of
 * them, that error came first and is the one reported, so the answer
 * (400 or 431) does not depend on where the input was cut.  Those bytes
 * are inside the section the checker refused, so no head or trailer
 * callback can run for them.
 */
static int scan_failure(struct h1_parser *p, const char *data, size_t off, size_t stop, size_t *consumed)
{
    *consumed = off;
    if (stop == 0)
        return p->err;
    int err = p->err;
    const char *reason = p->reason;
    p->err = 0;
    llhttp_errno_t e = llhttp_execute(&p->ll, data + off, stop);
    if (e != HPE_OK && e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&p->ll);
        if (pos != NULL && pos >= data + off && pos <= data + off + stop)
            *consumed = (size_t)(pos - data);
        return llhttp_failure(p, e);
    }
    p->err = err;
    p->reason = reason;
    return p->err;
}

int h1_parser_feed(struct h1_parser *p, const char *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (p->err != 0)
        return p->err;
    if (p->upgraded || p->pause_kind != PAUSE_NONE)
        return H2G_ERR_PAUSED;
    size_t off = 0;
    /* Runs llhttp even for len == 0: after on_data paused on the last body
     * byte, the message end is reached without more input. */
    for (;;) {
        size_t stop = 0;
        if (p->scan_phase != SCAN_BODY && off < len && scan(p, data + off, len - off, &stop) != 0)
            return scan_failure(p, data, off, stop, consumed);
        llhttp_errno_t e = llhttp_execute(&p->ll, data + off, len - off);
        if (e == HPE_OK)
            break;
        const char *pos = llhttp_get_error_pos(&p->ll);
        size_t at = (pos != NULL && pos >= data && pos <= data + len) ? (size_t)(pos - data) : off;
        if (e == HPE_PAUSED) {
            switch (p->pause_kind) {
            case PAUSE_INTERIM:
                llhttp_resume(&p->ll);
                p->pause_kind = PAUSE_NONE;
                start_section(p, SCAN_HEAD);
                off = at;
                continue;
            case PAUSE_LAST_CHUNK:
                llhttp_resume(&p->ll);
                p->pause_kind = PAUSE_NONE;
                start_section(p, SCAN_TRAILERS);
                off = at;
                continue;
            default:
                *consumed = at;
                return H2G_ERR_PAUSED;
            }
        }
        if (e == HPE_PAUSED_UPGRADE) {
            p->upgraded = true;
            *consumed = at;
            return H2G_ERR_PAUSED;
        }
        *consumed = at;
        return llhttp_failure(p, e);
    }
    *consumed = len;
    return 0;
}

void h1_parser_next(struct h1_parser *p)
{
    if (p->err != 0)
        return;
    if (p->upgraded) {
        llhttp_resume_after_upgrade(&p->ll);
        p->upgraded = false;
        start_section(p, SCAN_HEAD);
        return;
    }
    if (p->pause_kind == PAUSE_NONE)
        return;
    llhttp_resume(&p->ll);
    if (p->pause_kind == PAUSE_COMPLETE)
        start_section(p, SCAN_HEAD);
    p->pause_kind = PAUSE_NONE;
}

int h1_parser_finish(struct h1_parser *p)
{
    if (p->err != 0)
        return p->err;
    if (p->upgraded || p->pause_kind == PAUSE_COMPLETE)
        return 0;
    if ((p->scan_phase == SCAN_HEAD && p->head_bytes > 0) || p->scan_phase == SCAN_TRAILERS) {
        p->err = H2G_ERR_INCOMPLETE;
        p->reason = p->scan_phase == SCAN_HEAD ? "EOF inside a head" : "EOF inside trailers";
        return p->err;
    }
    if (is_interim(p) && p->head.status != 101) {
        /* A 100 Continue then EOF: the final response never came. */
        p->err = H2G_ERR_INCOMPLETE;
        p->reason = "EOF after an interim response";
        return p->err;
    }
    if (p->pause_kind == PAUSE_USER) {
        llhttp_resume(&p->ll);
        p->pause_kind = PAUSE_NONE;
    }
    llhttp_errno_t e = llhttp_finish(&p->ll);
    if (e == HPE_OK || (e == HPE_PAUSED && p->pause_kind == PAUSE_COMPLETE))
        return 0;
    if (e == HPE_INVALID_EOF_STATE) {
        p->err = H2G_ERR_INCOMPLETE;
        p->reason = "EOF inside a message";
        return p->err;
    }
    return llhttp_failure(p, e);
}
