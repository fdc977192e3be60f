#!/usr/bin/python3
"""Writes the seeds of the h2_session harness into fuzz/corpus/h2_session/.

  /usr/bin/python3 fuzz/h2_session_seeds.py

Each seed is CLIENT --UPSTREAM-- ANSWER as fuzz/h2_session.c reads it:
the client's bytes (HTTP/2 frames, after the preface the harness sends,
or an HTTP/1.1 request of its own), then what the upstream answers to
each request.  Frames are built with hyperframe and header blocks with
hpack, without Huffman coding so that "UPORT" (the upstream's port,
substituted by the harness at the same length) stays a plain string in
them.  Run with Debian's python3-h2 (it brings hpack and hyperframe); the
files are committed, so the harness needs neither.
"""
import os

import hpack
from hyperframe.frame import (DataFrame, HeadersFrame, PingFrame, PriorityFrame, RstStreamFrame,
                              SettingsFrame, WindowUpdateFrame)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "h2_session")
CUT = b"--CUT--"
EOF = b"--EOF--"
UP = b"--UPSTREAM--"

# Upstream answers.
A_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n"
A_CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n"
             b"5\r\nhello\r\n" + CUT + b"6\r\n world\r\n0\r\nx-checksum: 1234\r\n\r\n")
A_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Accept: --ACCEPT--\r\n\r\n" + CUT + b"\x81\x05hello")
A_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end" + CUT + b" of the connection" + EOF
A_RAW = b"raw bytes from the target\n"
A_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n" + CUT + A_LENGTH
A_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class H2:
    """An HTTP/2 client's byte stream: frames appended in order, with cuts."""

    def __init__(self, settings=None):
        self.enc = hpack.Encoder()
        self.out = SettingsFrame(0, settings=settings or {}).serialize()

    def headers(self, sid, fields, end_stream=False, priority=False):
        f = HeadersFrame(sid)
        f.data = self.enc.encode(fields, huffman=False)
        f.flags.add("END_HEADERS")
        if end_stream:
            f.flags.add("END_STREAM")
        if priority:
            f.flags.add("PRIORITY")
            f.depends_on, f.stream_weight, f.exclusive = 0, 15, False
        self.out += f.serialize()
        return self

    def data(self, sid, payload, end_stream=False):
        f = DataFrame(sid, data=payload)
        if end_stream:
            f.flags.add("END_STREAM")
        self.out += f.serialize()
        return self

    def frame(self, f):
        self.out += f.serialize()
        return self

    def cut(self):
        self.out += CUT
        return self


def req(method, path, authority="example.com", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)] + list(extra)


def settings_ack():
    f = SettingsFrame(0)
    f.flags.add("ACK")
    return f


def main():
    seeds = {}
    # A GET, the response with a Content-Length.
    seeds["get"] = H2().headers(1, req("GET", "/"), end_stream=True).out + UP + A_LENGTH
    # A POST whose body comes in a later write than its head.
    seeds["post-body"] = (H2().headers(1, req("POST", "/upload", extra=[("content-length", "11")]))
                          .cut().data(1, b"hello ").data(1, b"world", end_stream=True).out + UP + A_LENGTH)
    # A body without a length (chunked upstream), trailers at its end; a
    # chunked response with trailers.
    seeds["post-trailers"] = (H2().headers(1, req("POST", "/t", extra=[("te", "trailers")]))
                              .data(1, b"part one").cut()
                              .headers(1, [("x-digest", "abc")], end_stream=True).out + UP + A_CHUNKED)
    # RFC 8441 websocket: extended CONNECT, 101 from the upstream, bytes both ways.
    seeds["websocket"] = (H2({8: 1}).frame(settings_ack())
                          .headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                                       (":authority", "ws.test"), (":path", "/ws"),
                                       ("sec-websocket-version", "13")]).cut()
                          .data(1, b"\x81\x85\x00\x00\x00\x00hello").cut()
                          .data(1, b"", end_stream=True).out + UP + A_101)
    # Extended CONNECT to a tunnel route (raw TCP to the upstream).
    seeds["tunnel-route"] = (H2().headers(1, [(":method", "CONNECT"), (":protocol", "x-raw"), (":scheme", "http"),
                                              (":authority", "t.test"), (":path", "/tunnel")]).cut()
                             .data(1, b"ping\n").cut().data(1, b"", end_stream=True).out + UP + A_RAW)
    # CONNECT (RFC 9113 8.5) to the upstream by address, then by a name the
    # resolver answers, then to a name that does not exist.
    seeds["connect"] = (H2().headers(1, [(":method", "CONNECT"), (":authority", "127.0.0.1:UPORT")]).cut()
                        .data(1, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").cut()
                        .frame(RstStreamFrame(1, error_code=8)).out + UP + A_LENGTH)
    seeds["connect-names"] = (H2().headers(1, [(":method", "CONNECT"), (":authority", "localhost:UPORT")])
                              .headers(3, [(":method", "CONNECT"), (":authority", "b.example.org:UPORT")])
                              .headers(5, [(":method", "CONNECT"), (":authority", "no.invalid:UPORT")])
                              .headers(7, [(":method", "CONNECT"), (":authority", "deny.example.org:UPORT")])
                              .cut().data(3, b"bytes", end_stream=True).out + UP + A_RAW + EOF)
    # The connection-level mix: settings, window updates, pings, priority,
    # requests on several streams, round robin over two upstreams.
    mix = H2({1: 0, 2: 0, 3: 50, 4: 1 << 20, 5: 16384, 6: 8192})
    mix.frame(settings_ack()).frame(WindowUpdateFrame(0, window_increment=1 << 20))
    mix.frame(PingFrame(0, opaque_data=b"12345678")).frame(PriorityFrame(3, depends_on=1, stream_weight=200))
    mix.headers(1, req("GET", "/rr/a", authority="rr.test"), end_stream=True, priority=True)
    mix.headers(3, req("HEAD", "/rr/b", authority="x.example.net"), end_stream=True)
    mix.cut().frame(WindowUpdateFrame(1, window_increment=1000))
    mix.headers(5, req("GET", "/rr/c", authority="rr.test", extra=[("cookie", "a=1"), ("cookie", "b=2")]), end_stream=True)
    mix.frame(SettingsFrame(0, settings={4: 100}))
    seeds["h2c-mix"] = mix.out + UP + A_CHUNKED
    # Expect: 100-continue; the upstream's 100 is not forwarded.
    seeds["expect-continue"] = (H2().headers(1, req("PUT", "/p", extra=[("expect", "100-continue"),
                                                                         ("content-length", "3")])).cut()
                                .data(1, b"abc", end_stream=True).out + UP + A_CONTINUE)
    # A close-delimited response (the upstream half-closes).
    seeds["close-delimited"] = H2().headers(1, req("GET", "/stream"), end_stream=True).out + UP + A_CLOSE

    # The session's defences, each a little over the harness's limits:
    # more streams than max_concurrent_streams (16), a rapid reset burst
    # (stream_reset_burst 16), empty DATA frames, invalid frames
    # (max_session_invalid_frames 16: WINDOW_UPDATE of 0 on a stream).
    many = H2()
    for i in range(20):
        many.headers(1 + 2 * i, req("POST", "/s%d" % i, extra=[("content-length", "1")]))
    seeds["many-streams"] = many.cut().data(1, b"x", end_stream=True).out + UP + A_LENGTH
    rapid = H2()
    for i in range(20):
        rapid.headers(1 + 2 * i, req("GET", "/r%d" % i), end_stream=True).frame(RstStreamFrame(1 + 2 * i, error_code=8))
    seeds["rapid-reset"] = rapid.out + UP + A_LENGTH
    empty = H2().headers(1, req("POST", "/e"))
    for _ in range(30):
        empty.data(1, b"")
    seeds["empty-data"] = empty.out + UP + A_LENGTH
    invalid = H2().headers(1, req("POST", "/i"))
    for _ in range(20):
        invalid.out += b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x00\x00"
    seeds["invalid-frames"] = invalid.out + UP + A_LENGTH
    # The client's window is shut (SETTINGS_INITIAL_WINDOW_SIZE 0): the
    # response's DATA waits for its WINDOW_UPDATE.
    seeds["window-starved"] = (H2({4: 0}).headers(1, req("GET", "/big"), end_stream=True).cut()
                               .frame(WindowUpdateFrame(1, window_increment=5)).cut()
                               .frame(WindowUpdateFrame(1, window_increment=100)).out + UP + A_LENGTH)
    # A local answer before the request's end (413: Content-Length over
    # max_request_body): RST_STREAM(NO_ERROR) once the client acknowledges
    # the stop PING h2gate sent after it.
    stop_ack = PingFrame(0, opaque_data=b"h2gS\x00\x00\x00\x01")
    stop_ack.flags.add("ACK")
    seeds["early-answer"] = (H2().headers(1, req("POST", "/big", extra=[("content-length", "100000")])).cut()
                             .frame(stop_ack).data(1, b"more body").cut().data(1, b"end", end_stream=True).out)
    # The upstream that is down: a route to it, round robin past it, a
    # tunnel route to it.
    down = H2().headers(1, req("GET", "/down"), end_stream=True)
    for i in range(4):
        down.headers(3 + 2 * i, req("GET", "/rr/%d" % i, authority="rr.test"), end_stream=True).cut()
    down.headers(11, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                      (":authority", "t.test"), (":path", "/tunnel-down")])
    seeds["upstream-down"] = down.out + UP + A_LENGTH

    # HTTP/1.1 clients: keep-alive with pipelining, a chunked upload, the
    # websocket upgrade with the client's own key, CONNECT, and the h2c upgrade.
    seeds["h1-pipelined"] = (b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"
                             b"GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n" + UP + A_CHUNKED)
    seeds["h1-chunked-post"] = (b"POST /up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"4\r\nwiki\r\n" + CUT + b"0\r\n\r\n" + UP + A_CLOSE)
    seeds["h1-websocket"] = (b"GET /ws HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                             + CUT + b"\x81\x85\x00\x00\x00\x00hello" + UP + A_101)
    seeds["h1-connect"] = (b"CONNECT 127.0.0.1:UPORT HTTP/1.1\r\nHost: 127.0.0.1:UPORT\r\n\r\n" + CUT
                           + b"tunnelled bytes\n" + EOF + UP + A_RAW + EOF)
    after = H2().headers(3, req("GET", "/after"), end_stream=True).out
    seeds["h1-h2c-upgrade"] = (b"GET /up HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n" + CUT
                               + b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + after + UP + A_LENGTH)
    seeds["h1-error-404"] = b"GET /gone HTTP/1.1\r\nHost: example.com\r\n\r\n" + UP + A_404

    os.makedirs(OUT, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
