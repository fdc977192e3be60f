#!/bin/sh
# No origin for the authority: 404 on cleartext (h2c and HTTP/1.1) and on
# TLS when the certificate covers the name; 421 on TLS when it doesn't.
# No upstream is contacted (upstream=- in the access log).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need curl

start_tls_and_clear a.test
before=$(backend_count "$BPORT")

code() { # curl-args... -> http code
	"${CURL[@]}" -o /dev/null -w '%{http_code}' "$@" || echo "curl-rc=$?"
}
# control: the configured origin works on both listeners
assert_eq 200 "$(code --http2-prior-knowledge --resolve a.test:$PC:127.0.0.1 "http://a.test:$PC/x")" "a.test h2c"
assert_eq 200 "$(code --http2 -k --resolve a.test:$PT:127.0.0.1 "https://a.test:$PT/x")" "a.test TLS h2"

assert_eq 404 "$(code --http2-prior-knowledge --resolve unknown.test:$PC:127.0.0.1 "http://unknown.test:$PC/x")" \
	"unknown authority, h2c"
assert_eq 404 "$(code --http1.1 --resolve unknown.test:$PC:127.0.0.1 "http://unknown.test:$PC/x")" \
	"unknown authority, HTTP/1.1 cleartext"
assert_eq 421 "$(code --http2 -k --resolve other.example:$PT:127.0.0.1 "https://other.example:$PT/")" \
	"TLS authority not covered by the certificate, h2"
assert_eq 421 "$(code --http1.1 -k --resolve other.example:$PT:127.0.0.1 "https://other.example:$PT/")" \
	"TLS authority not covered by the certificate, HTTP/1.1"
assert_eq 404 "$(code --http2 -k --resolve b.wild.test:$PT:127.0.0.1 "https://b.wild.test:$PT/")" \
	"TLS authority covered by the certificate (*.wild.test) but no origin"
# SNI a.test (covered) but :authority other.example (not covered, no origin)
assert_eq 421 "$(code --http2 -k --resolve a.test:$PT:127.0.0.1 -H 'Host: other.example' "https://a.test:$PT/")" \
	"TLS SNI a.test, authority other.example"

after=$(backend_count "$BPORT")
assert_eq 2 $((after - before)) "requests that reached the upstream (only the two a.test ones)"
line=$(access_line 'authority=other\.example.* status=421') || exit 1
assert_match 'upstream=-( |$)' "$line" "421 access log line has no upstream"
line=$(access_line 'authority=unknown\.test.* status=404') || exit 1
assert_match 'upstream=-( |$)' "$line" "404 access log line has no upstream"
stop_h2gate
pass
