#!/bin/sh
# RFC 9113 conformance: 6.9 flow control (WINDOW_UPDATE overflowing the connection or a stream window)
# Each case runs on a fresh connection (h2attack.py conformance --group flow);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

conformance flow
