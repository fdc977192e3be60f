/*
 * h1_drive.c: see h1_drive.h.  The checks are what h1_session.c and
 * upstream_http1.c rely on without checking again: lowercase tchar names,
 * values that cannot break a line (they go into HTTP/2 and HTTP/1.1
 * heads), a framing that adds up, body slices inside the bytes fed, and
 * head strings that stay put until the message ends.
 */
#include "h1_drive.h"

#include <stdio.h>
#include <string.h>

#include "core/errors.h"
#include "fuzz.h"
#include "core/h1_parse.h"
#include "core/hdr.h"

struct drive {
    const struct fuzz_h1_opts *o;
    struct h1_parser p;
    struct h2g_buf *log;
    const char *feed_base;  /* the block being fed (NULL between feeds) */
    size_t feed_len;
    bool paused;            /* on_data paused during this feed */
    bool resume_empty;      /* feed again, even with no new byte, to end the message */
    bool in_data;           /* the log's last record is body bytes */
    unsigned exchanges;     /* responses asked for (HEAD bits index) */
    /* The message between its final head and its end. */
    bool in_msg;
    enum h1_body_kind body;
    uint64_t content_length, got;
    const struct h1_head *head;
    uint64_t head_sum;
};

static void logs(struct drive *d, const char *s)
{
    d->in_data = false;
    if (h2g_buf_puts(d->log, s) != 0)
        abort();
}

static void logn(struct drive *d, const char *p, size_t n)
{
    if (h2g_buf_append(d->log, p, n) != 0)
        abort();
}

static void logu(struct drive *d, const char *tag, unsigned long long v)
{
    char s[48];
    snprintf(s, sizeof(s), "%s%llu", tag, v);
    logs(d, s);
}

/* Fields as h1_parse.h promises them: lowercase tchar names, values
 * without CR, LF or NUL and without surrounding whitespace. */
static void check_fields(struct drive *d, const struct h2g_field *f, size_t n)
{
    FUZZ_CHECK(n <= H1_MAX_FIELDS);
    FUZZ_CHECK(n == 0 || f != NULL);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(f[i].name_len > 0);
        for (size_t j = 0; j < f[i].name_len; j++)
            FUZZ_CHECK(h2g_tchar_lower[(unsigned char)f[i].name[j]] == (unsigned char)f[i].name[j]);
        FUZZ_CHECK(f[i].value_len == 0 || f[i].value != NULL);
        FUZZ_CHECK(h2g_hdr_value_safe(f[i].value, f[i].value_len));
        if (f[i].value_len > 0) {
            char a = f[i].value[0], z = f[i].value[f[i].value_len - 1];
            FUZZ_CHECK(a != ' ' && a != '\t' && z != ' ' && z != '\t');
        }
        logs(d, "\n ");
        logn(d, f[i].name, f[i].name_len);
        logs(d, "=");
        logn(d, f[i].value, f[i].value_len);
    }
}

/* Reads every byte of the head (ASan: still allocated) into a sum (still
 * the same bytes). */
static uint64_t head_sum(const struct h1_head *h)
{
    uint64_t s = h->n_fields;
    for (size_t i = 0; i < h->method_len; i++)
        s = s * 31 + (unsigned char)h->method[i];
    for (size_t i = 0; i < h->target_len; i++)
        s = s * 31 + (unsigned char)h->target[i];
    for (size_t i = 0; i < h->n_fields; i++) {
        for (size_t j = 0; j < h->fields[i].name_len; j++)
            s = s * 31 + (unsigned char)h->fields[i].name[j];
        for (size_t j = 0; j < h->fields[i].value_len; j++)
            s = s * 37 + (unsigned char)h->fields[i].value[j];
    }
    return s;
}

static int on_head(void *arg, const struct h1_head *h)
{
    struct drive *d = arg;
    FUZZ_CHECK(!d->in_msg);
    FUZZ_CHECK(h->version_minor == 0 || h->version_minor == 1);
    if (h->body == H1_BODY_LENGTH)
        FUZZ_CHECK(h->content_length > 0);
    else
        FUZZ_CHECK(h->content_length == 0);
    if (h->body == H1_BODY_CLOSE || h->upgrade)
        FUZZ_CHECK(!h->keep_alive);
    if (d->o->response) {
        FUZZ_CHECK(h->status >= 100 && h->status <= 999);
        if (h->status < 200 || h->status == 204 || h->status == 304 || d->p.head_request)
            FUZZ_CHECK(h->body == H1_BODY_NONE);
        FUZZ_CHECK(h->upgrade == (h->status == 101));
        logu(d, "\nH", (unsigned long long)h->status);
    } else {
        /* They become :method and :path, then a request line upstream. */
        FUZZ_CHECK(h->method != NULL && h->method_len > 0);
        for (size_t i = 0; i < h->method_len; i++)
            FUZZ_CHECK(h2g_tchar_lower[(unsigned char)h->method[i]] != 0);
        FUZZ_CHECK(h->target != NULL && h->target_len > 0);
        for (size_t i = 0; i < h->target_len; i++)
            FUZZ_CHECK((unsigned char)h->target[i] > ' ' && h->target[i] != 0x7f);
        FUZZ_CHECK(h->body != H1_BODY_CLOSE);
        logs(d, "\nH");
        logn(d, h->method, h->method_len);
        logs(d, " ");
        logn(d, h->target, h->target_len);
    }
    logu(d, " 1.", (unsigned long long)h->version_minor);
    logu(d, " b", (unsigned long long)h->body);
    logu(d, " l", (unsigned long long)h->content_length);
    logu(d, " k", h->keep_alive);
    logu(d, " u", h->upgrade);
    check_fields(d, h->fields, h->n_fields);
    if (d->o->response && h->status == 101 && !d->o->ws) {
        /* upstream_http1.c: no upgrade was asked for. */
        logs(d, "\nrefused");
        return H2G_ERR_MALFORMED;
    }
    if (d->o->response && h->status < 200 && h->status != 101)
        return 0; /* interim: the final head follows */
    d->in_msg = true;
    d->body = h->body;
    d->content_length = h->content_length;
    d->got = 0;
    d->head = h;
    d->head_sum = head_sum(h);
    return 0;
}

static int on_data(void *arg, const char *p, size_t len)
{
    struct drive *d = arg;
    FUZZ_CHECK(d->in_msg && d->body != H1_BODY_NONE);
    FUZZ_CHECK(len > 0);
    /* A borrowed slice of the bytes being fed. */
    FUZZ_CHECK(d->feed_base != NULL && p >= d->feed_base && len <= d->feed_len &&
               (size_t)(p - d->feed_base) <= d->feed_len - len);
    d->got += len;
    if (d->body == H1_BODY_LENGTH)
        FUZZ_CHECK(d->got <= d->content_length);
    if (!d->in_data)
        logs(d, "\nD");
    logn(d, p, len);
    d->in_data = true;
    if (d->o->user_pause) {
        d->paused = true;
        return H2G_ERR_PAUSED;
    }
    return 0;
}

static int on_trailers(void *arg, const struct h2g_field *f, size_t n)
{
    struct drive *d = arg;
    FUZZ_CHECK(d->in_msg && d->body == H1_BODY_CHUNKED && n > 0);
    logs(d, "\nT");
    check_fields(d, f, n);
    /* The head's strings and array outlive the trailers (h1_parse.h). */
    FUZZ_CHECK(head_sum(d->head) == d->head_sum);
    return 0;
}

static int on_complete(void *arg)
{
    struct drive *d = arg;
    FUZZ_CHECK(d->in_msg);
    if (d->body == H1_BODY_LENGTH)
        FUZZ_CHECK(d->got == d->content_length);
    if (d->body == H1_BODY_NONE)
        FUZZ_CHECK(d->got == 0);
    FUZZ_CHECK(head_sum(d->head) == d->head_sum);
    logu(d, "\nC", d->p.head.keep_alive);
    d->in_msg = false;
    return 0;
}

static const struct h1_parser_cb drive_cb = {on_head, on_data, on_trailers, on_complete};

/* The next response: a new exchange (upstream_http1.c: a cached
 * exchange's parser is reinitialised, its storage kept), or the same
 * parser resumed. */
static void next_response(struct drive *d)
{
    if (d->o->next_not_reinit)
        h1_parser_next(&d->p);
    else
        h1_parser_reinit(&d->p, true, d->o->max_head, &drive_cb, d);
    h1_parser_expect_head(&d->p, d->exchanges < 8 && (d->o->head_bits >> d->exchanges) & 1);
    d->exchanges++;
}

/* Feeds what was received (stream[*done..recv)) until the parser wants
 * more.  true when the connection is over: an error, or an upgrade that
 * is taken (the rest would be tunnel bytes). */
static bool drain(struct drive *d, const char *stream, size_t *done, size_t recv)
{
    for (;;) {
        size_t avail = recv - *done;
        if (avail == 0 && !d->resume_empty)
            return false;
        d->resume_empty = false;
        d->paused = false;
        char *buf = fuzz_dup(stream + *done, avail, 0);
        d->feed_base = buf;
        d->feed_len = avail;
        size_t used = (size_t)-1;
        int rc = h1_parser_feed(&d->p, buf, avail, &used);
        free(buf);
        d->feed_base = NULL;
        FUZZ_CHECK(used <= avail);
        *done += used;
        if (rc == 0) {
            FUZZ_CHECK(used == avail && !d->paused);
            return false;
        }
        if (rc == H2G_ERR_PAUSED && d->p.upgraded) {
            FUZZ_CHECK(d->p.head.upgrade || d->p.head.status == 101 || !d->o->response);
            logs(d, "\nU");
            if (!d->o->decline_upgrade)
                return true;
            d->in_msg = false; /* a 101 is a head only */
            if (d->o->response)
                next_response(d);
            else
                h1_parser_next(&d->p);
            continue;
        }
        if (rc == H2G_ERR_PAUSED && d->paused) {
            h1_parser_next(&d->p);
            d->resume_empty = true; /* the end may be reached with no new byte */
            continue;
        }
        if (rc == H2G_ERR_PAUSED) {
            FUZZ_CHECK(!d->in_msg); /* a message ended: on_complete ran */
            if (d->o->response)
                next_response(d);
            else
                h1_parser_next(&d->p); /* h1_session.c: the next pipelined request */
            continue;
        }
        FUZZ_CHECK(rc == H2G_ERR_MALFORMED || rc == H2G_ERR_TOO_LARGE);
        FUZZ_CHECK(d->p.reason != NULL);
        logu(d, "\nE", (unsigned long long)-rc);
        /* Errors are sticky. */
        size_t u2 = 1;
        FUZZ_CHECK(h1_parser_feed(&d->p, "x", 1, &u2) == rc && u2 == 0);
        FUZZ_CHECK(h1_parser_finish(&d->p) == rc);
        return true;
    }
}

void fuzz_h1_drive(const struct fuzz_h1_opts *o, const char *stream, size_t n, struct h2g_buf *log)
{
    struct drive d = {.o = o, .log = log};
    h1_parser_init(&d.p, o->response, o->max_head, &drive_cb, &d);
    if (o->response) {
        h1_parser_expect_head(&d.p, o->head_bits & 1);
        d.exchanges = 1;
    }
    size_t recv = 0, done = 0;
    bool over = false;
    for (unsigned k = 0; !over && recv < n; k++) {
        size_t piece = o->split[k % FUZZ_H1_SPLITS];
        if (piece == 0 || piece > n - recv)
            piece = n - recv;
        recv += piece;
        over = drain(&d, stream, &done, recv);
    }
    if (!over) {
        /* EOF from the peer. */
        bool in_msg = d.in_msg;
        enum h1_body_kind body = d.body;
        int rc = h1_parser_finish(&d.p);
        logu(&d, "\nF", (unsigned long long)-rc);
        if (rc == 0 && in_msg) /* only a close-delimited body ends at EOF */
            FUZZ_CHECK(!d.in_msg && body == H1_BODY_CLOSE);
        if (rc != 0)
            FUZZ_CHECK(rc == H2G_ERR_INCOMPLETE || rc == H2G_ERR_MALFORMED);
    }
    h1_parser_clear(&d.p);
}

void fuzz_h1_opts_decode(const uint8_t *prefix, bool response, struct fuzz_h1_opts *o)
{
    static const size_t caps[4] = {65536, 1024, 100, 0};
    memset(o, 0, sizeof(*o));
    o->response = response;
    o->max_head = caps[prefix[0] & 3];
    o->user_pause = (prefix[0] >> 2) & 1;
    o->decline_upgrade = (prefix[0] >> 3) & 1;
    o->ws = (prefix[0] >> 4) & 1;
    o->next_not_reinit = (prefix[0] >> 5) & 1;
    o->head_bits = prefix[1];
    memcpy(o->split, prefix + 2, FUZZ_H1_SPLITS);
}

int fuzz_h1_main(const uint8_t *data, size_t size, bool response)
{
    uint8_t prefix[FUZZ_H1_PREFIX] = {0};
    size_t np = size < FUZZ_H1_PREFIX ? size : FUZZ_H1_PREFIX;
    memcpy(prefix, data, np);
    struct fuzz_h1_opts o;
    fuzz_h1_opts_decode(prefix, response, &o);
    const char *stream = (const char *)data + np;
    size_t n = size - np;

    struct h2g_buf split_log = {0}, whole_log = {0};
    fuzz_h1_drive(&o, stream, n, &split_log);
    memset(o.split, 0, sizeof(o.split));
    fuzz_h1_drive(&o, stream, n, &whole_log);
    /* How the bytes were cut changes nothing the caller sees. */
    FUZZ_CHECK(split_log.len > 0 && whole_log.len > 0); /* "F" or "E" at least */
    if (split_log.len != whole_log.len || memcmp(split_log.data, whole_log.data, split_log.len) != 0) {
        fprintf(stderr, "split:\n%.*s\nwhole:\n%.*s\n", (int)split_log.len, split_log.data,
                (int)whole_log.len, whole_log.data);
        FUZZ_CHECK(!"the log depends on how the input was split");
    }
    h2g_buf_clear(&split_log);
    h2g_buf_clear(&whole_log);
    return 0;
}
