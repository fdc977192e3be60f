/*
 * h1_request.c: HTTP/1.1 requests as h2gate's client side parses them
 * (src/core/h1_parse.c in request mode, driven as src/edge/h1_session.c does:
 * pipelined requests resumed with h1_parser_next, an upgrade or CONNECT
 * stopping the parser, and h1_parser_finish at EOF).
 *
 * Input: FUZZ_H1_PREFIX bytes of options and piece lengths
 * (fuzz_h1_opts_decode; the response-only bits are ignored), then the
 * bytes the client sends.
 */
#include "fuzz.h"
#include "h1_drive.h"

int fuzz_h1_request(const uint8_t *data, size_t size)
{
    return fuzz_h1_main(data, size, false);
}

H2G_FUZZ_TARGET(fuzz_h1_request)
