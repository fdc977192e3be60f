/*
 * h1_response.c: HTTP/1.1 responses as h2gate's upstream side parses them
 * (src/core/h1_parse.c in response mode, driven as src/upstream/upstream_http1.c does:
 * one parser per exchange, reinitialised with its storage kept, HEAD
 * answers announced with h1_parser_expect_head, 1xx heads, a 101 refused
 * unless a WebSocket asked for it, chunked bodies with trailers, and
 * h1_parser_finish at EOF to end a close-delimited body or report a
 * truncated one).
 *
 * Input: FUZZ_H1_PREFIX bytes of options, HEAD bits and piece lengths
 * (fuzz_h1_opts_decode), then the bytes the upstream sends.
 */
#include "fuzz.h"
#include "h1_drive.h"

int fuzz_h1_response(const uint8_t *data, size_t size)
{
    return fuzz_h1_main(data, size, true);
}

H2G_FUZZ_TARGET(fuzz_h1_response)
