#!/bin/sh
# RFC 9113 conformance: 6.5.2 SETTINGS values (ENABLE_PUSH, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, ENABLE_CONNECT_PROTOCOL out of range; limits accepted)
# Each case runs on a fresh connection (h2attack.py conformance --group settings);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

conformance settings
