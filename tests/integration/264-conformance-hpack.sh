#!/bin/sh
# RFC 9113 conformance: RFC 7541 / 9113 4.3 HPACK decoding errors are COMPRESSION_ERROR (index 0, index beyond the tables, table size update too large or misplaced, truncated integers/strings, bad Huffman padding)
# Each case runs on a fresh connection (h2attack.py conformance --group hpack);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

conformance hpack
