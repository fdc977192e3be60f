/*
 * h1_parse.h: incremental, strict HTTP/1.1 message parser (llhttp, no
 * lenient flags) for upstream responses and HTTP/1.1 client requests.
 *
 * Owner: the object that embeds it (an upstream exchange or an HTTP/1.1
 * client session); h1_parser_clear frees its storage.  The head's strings
 * are copied into the parser's own buffer (field names lowercased); they
 * and the head's fields array stay valid, trailers parsed or not, until
 * the next message starts or the parser is cleared.
 * Body bytes are handed out as borrowed slices of the input.
 */
#ifndef H2G_H1_PARSE_H
#define H2G_H1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

#include "core/buf.h"
#include "core/hdr.h"

#define H1_MAX_FIELDS 256

enum h1_body_kind {
    H1_BODY_NONE,    /* no body (HEAD, 1xx, 204, 304, Content-Length: 0) */
    H1_BODY_LENGTH,  /* Content-Length */
    H1_BODY_CHUNKED,
    H1_BODY_CLOSE,   /* response delimited by connection close */
};

struct h1_head {
    /* request */
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    /* response */
    int status;
    /* both */
    int version_minor;       /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    const struct h2g_field *fields;
    size_t n_fields;
    enum h1_body_kind body;
    uint64_t content_length; /* when body == H1_BODY_LENGTH */
    bool keep_alive;         /* the connection may be reused after this message */
    bool upgrade;            /* request: Upgrade+Connection: upgrade; response: 101 */
};

struct h1_parser_cb {
    /* A head is complete (for responses, 1xx heads too: then neither
     * on_data nor on_complete follow for that head).  Non-zero aborts. */
    int (*on_head)(void *arg, const struct h1_head *head);
    /* Body bytes (de-chunked). Non-zero aborts. */
    int (*on_data)(void *arg, const char *p, size_t len);
    /* Chunked trailers, if any, just before on_complete. */
    int (*on_trailers)(void *arg, const struct h2g_field *fields, size_t n);
    /* The message is complete. The parser then stops (returns
     * H2G_ERR_PAUSED with *consumed at the end of the message) so the
     * caller decides about the next one; call h1_parser_next(). */
    int (*on_complete)(void *arg);
};

struct h1_parser {
    llhttp_t ll;
    llhttp_settings_t settings;
    const struct h1_parser_cb *cb;
    void *arg;
    bool response;
    bool head_request;       /* response to HEAD: no body whatever the fields say */
    size_t max_head;         /* cap on head bytes (and on trailers) */
    size_t head_bytes;
    struct h2g_buf store;    /* copied head strings */
    /* Field arrays grow with the message (up to H1_MAX_FIELDS): a parser
     * lives in every upstream exchange and HTTP/1.1 client session, and
     * most messages have a dozen fields. */
    struct h1_field_ref {    /* offsets into store while parsing */
        uint32_t name_off, name_len, value_off, value_len;
    } *f;
    size_t n_f, f_cap;
    struct h2g_field *fields; /* the head's (fields_cap entries); resized
                                 only while a head is built */
    size_t fields_cap;
    size_t method_off, method_len, target_off, target_len;
    int state_in_value;      /* internal */
    bool bad_name;           /* internal: a non-tchar byte in a field name of this section */
    bool in_trailers;
    int err;                 /* sticky error */
    const char *reason;      /* static description of the last error */
    /* Added by h1_parse.c: */
    struct h1_head head;     /* the current message's head (what on_head saw);
                                keep_alive is final once on_complete ran */
    bool upgraded;           /* stopped after a 101 / upgrade / CONNECT head:
                                the rest is tunnel bytes */
    struct h2g_buf tstore;   /* copied trailer strings (apart from store, so
                                head pointers survive the trailers) */
    struct h2g_field *tfields; /* tfields_cap entries, for trailers */
    size_t n_tfields, tfields_cap;
    int pause_kind;          /* internal: why llhttp is paused */
    int cb_rc;               /* internal: a callback's non-zero return */
    int scan_phase;          /* internal: raw-line checker (bare LF, obs-fold) */
    int scan_state;
    size_t scan_lines;
    size_t scan_sp;          /* SP seen in the request line */
};

/* response: parse responses (else requests); max_head: cap on the head in
 * bytes, and separately on the trailers (exceeding it is
 * H2G_ERR_TOO_LARGE; 0 = no cap).  Callbacks: on_head and on_trailers may
 * return non-zero to abort; on_data may also return H2G_ERR_PAUSED to
 * stop feeding (resume with h1_parser_next); a 1xx other than 101 gets
 * on_head only and parsing goes on to the final response; a 101 gets
 * on_head only and the parser stops (p->upgraded).  A request with
 * "Upgrade" + "Connection: upgrade", or CONNECT, gets on_head (upgrade
 * set), its body if any, on_complete, and the parser stops. */
void h1_parser_init(struct h1_parser *p, bool response, size_t max_head, const struct h1_parser_cb *cb,
                    void *arg);
/* h1_parser_init for a parser that was used before (or zeroed): its
 * storage is kept for the new messages. */
void h1_parser_reinit(struct h1_parser *p, bool response, size_t max_head, const struct h1_parser_cb *cb,
                      void *arg);
void h1_parser_clear(struct h1_parser *p);
/* Before each response: whether it answers a HEAD request. */
void h1_parser_expect_head(struct h1_parser *p, bool head_request);
/*
 * Feeds bytes.  Returns 0 when all were consumed, H2G_ERR_PAUSED when a
 * message completed (or a callback paused) at *consumed, H2G_ERR_MALFORMED
 * / H2G_ERR_TOO_LARGE on bad input (p->reason says why), or the non-zero
 * value a callback returned.  After a 101 response or an upgrade/CONNECT
 * request, the parser stops after the head: the rest is tunnel bytes.
 */
int h1_parser_feed(struct h1_parser *p, const char *data, size_t len, size_t *consumed);
/* Resumes after H2G_ERR_PAUSED: for the next message on the connection
 * after a complete message (or after an upgrade the caller declined), or
 * within the message after on_data paused. */
void h1_parser_next(struct h1_parser *p);
/* The peer closed: completes a close-delimited body (0, on_complete
 * called) or reports H2G_ERR_INCOMPLETE for a truncated message (part of
 * a head, a short body, an unfinished chunked body).  0 as well at a
 * message boundary (nothing started) and after an upgrade. */
int h1_parser_finish(struct h1_parser *p);

#endif
