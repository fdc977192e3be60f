#!/usr/bin/python3
"""HTTP/2 cleartext (prior knowledge) upstream that resets its responses
midway, built on the python h2 library (a node server cannot: its
stream.close() ends the stream cleanly first).

  h2rst.py --port P

GET .../rst-after/CODE: a 200 head and 1000 bytes, 200 ms later RST_STREAM(CODE)
without END_STREAM.
GET .../rst-done/N and .../rst-short/N: a 200 head with content-length N,
then N bytes (rst-done) or N/2 (rst-short), then RST_STREAM(NO_ERROR)
without END_STREAM (as node's server does when its last bytes close the
window).  Anything else: 404.  One thread per connection.
"""
import argparse
import socket
import threading
import time

import h2.config
import h2.connection
import h2.events


def serve(sock):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                path = dict((k.decode(), v.decode()) for k, v in ev.headers)[":path"]
                parts = path.split("/")
                if len(parts) >= 3 and parts[-2] == "rst-after":
                    conn.send_headers(ev.stream_id, [(":status", "200")])
                    conn.send_data(ev.stream_id, b"x" * 1000)
                    # The head reaches the client before the reset does.
                    sock.sendall(conn.data_to_send())
                    time.sleep(0.2)
                    conn.reset_stream(ev.stream_id, int(parts[-1]))
                elif len(parts) >= 3 and parts[-2] in ("rst-done", "rst-short"):
                    n = int(parts[-1])
                    conn.send_headers(ev.stream_id, [(":status", "200"), ("content-length", str(n))])
                    conn.send_data(ev.stream_id, b"y" * (n if parts[-2] == "rst-done" else n // 2))
                    conn.reset_stream(ev.stream_id, 0)
                else:
                    conn.send_headers(ev.stream_id, [(":status", "404")], end_stream=True)
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        sock.sendall(conn.data_to_send())
    sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    while True:
        s, _ = ls.accept()
        threading.Thread(target=serve, args=(s,), daemon=True).start()


if __name__ == "__main__":
    main()
