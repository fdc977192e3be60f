/*
 * h1_drive.h: drives src/core/h1_parse.c over a byte stream the way its two
 * callers do, for the h1_request and h1_response harnesses.
 *
 * The stream arrives in pieces whose lengths the input chooses; each call
 * of h1_parser_feed gets what was received and not yet consumed, copied
 * into a heap block of exactly that size (so ASan sees a read past it)
 * and freed on return (so a body slice kept past its callback is a
 * use-after-free).  What the callbacks see is checked as it comes and
 * written to a log that does not depend on the split (body bytes are
 * merged): the harness runs the stream split and whole and compares.
 */
#ifndef H2G_FUZZ_H1_DRIVE_H
#define H2G_FUZZ_H1_DRIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define FUZZ_H1_SPLITS 8

struct fuzz_h1_opts {
    bool response;         /* response mode (upstream_http1.c), else request mode (h1_session.c) */
    size_t max_head;       /* the parser's cap on a head and on trailers */
    bool user_pause;       /* on_data asks to stop after each slice (h1_parser_next resumes) */
    bool decline_upgrade;  /* after an upgrade, h1_parser_next and parse on instead of stopping */
    bool ws;               /* response: a 101 answers a WebSocket request (accepted) */
    bool next_not_reinit;  /* response: the next message after h1_parser_next, not a fresh
                              exchange (h1_parser_reinit + h1_parser_expect_head) */
    uint8_t head_bits;     /* response: bit k set: the k-th response (k < 8) answers a HEAD */
    uint8_t split[FUZZ_H1_SPLITS]; /* piece lengths, in turn; 0 = all that is left */
};

/* The first bytes of a harness input: option bits, HEAD bits, splits. */
#define FUZZ_H1_PREFIX (2 + FUZZ_H1_SPLITS)
void fuzz_h1_opts_decode(const uint8_t *prefix, bool response, struct fuzz_h1_opts *o);

/* Parses stream[0..n) with the options; appends the log to *log. */
void fuzz_h1_drive(const struct fuzz_h1_opts *o, const char *stream, size_t n, struct h2g_buf *log);

/* Runs the stream after the prefix split as the input says and whole,
 * and checks both logs are the same. */
int fuzz_h1_main(const uint8_t *data, size_t size, bool response);

#endif
