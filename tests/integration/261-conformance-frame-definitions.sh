#!/bin/sh
# RFC 9113 conformance: section 6 frame definitions (frames on the wrong stream, bad lengths, WINDOW_UPDATE 0, CONTINUATION sequencing, padding, client PUSH_PROMISE; unknown frame types and settings ignored)
# Each case runs on a fresh connection (h2attack.py conformance --group frames);
# where the RFC allows a stream or a connection error either is accepted,
# with the RFC's error code.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/limlib.sh"

conformance frames
