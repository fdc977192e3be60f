#!/bin/sh
# RFC 9113 conformance: 5.1 stream states and identifiers (frames on idle streams, even / decreasing ids, half-closed and closed streams, frames crossing our RST_STREAM ignored)
# Each case runs on a fresh connection (h2attack.py conformance --group streams);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

conformance streams
