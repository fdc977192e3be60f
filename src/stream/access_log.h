/*
 * access_log.h: one logfmt line per request, buffered per worker and
 * written once per event-loop turn (never a write per request).
 *
 *   ts=2026-11-26T00:50:00.123Z conn=3 stream=1 client=127.0.0.1:5555 proto=h2
 *   authority=example.com method=GET path="/x" status=200 in=0 out=123
 *   ms=1.234 upstream=127.0.0.1:9000
 */
#ifndef H2G_ACCESS_LOG_H
#define H2G_ACCESS_LOG_H

struct h2g_stream;

void access_log_stream(const struct h2g_stream *s);

#endif
