#!/bin/sh
# The live status page, GET / on the metrics listener, in a real browser.
# A daemon with 2 workers, two origins, some requests (200s, a 404, a
# 502), a CONNECT tunnel and an idle h2c session held open.  Over HTTP:
# GET / is the compiled-in page, byte for byte (HEAD too), text/html,
# no-store, a Content-Security-Policy that lets it talk to 'self' only;
# the page names no external URL; /metrics and /status still work, other
# paths are 404.  In headless Chromium (DevTools protocol, backends/cdp.py)
# the page polls /status: once it has rendered twice, every number it
# shows with a data-k hook equals the same path of a /status fetched right
# after (values that move by themselves, in SKIP below, excepted), the
# core fields, every route's counters and the tunnels are among them, the
# sessions by client add up the session_list, and the browser reported no
# error (a CSP violation would be one).  A screenshot goes to $(dirname $T)/.  Then
# the daemon stops: the page keeps its data and says it is stale.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/opslib.sh"
. "$(dirname "$0")/tunlib.sh"
need curl h2 chromium
"$PY" -c 'import websockets' 2>/dev/null || skip "python3-websockets missing for $PY"
CHROMIUM=$(command -v chromium)

start_backend A
start_backend B
start_tcp echo echo
P=$(free_port)
PM=$(free_port)
DEAD=$(refused_port)
WORKERS=2
{
	metrics_config
	cat <<EOF
  - hosts: ["b.test"]
    routes:
      - path: /
        upstream: "http://127.0.0.1:$BPORT_B"
connect:
  allow: ["127.0.0.1:$TPORT_echo"]
EOF
} | write_config
start_h2gate "$P" "$PM"
M=http://127.0.0.1:$PM

mixed_requests b.test
start_h2hold idle --port "$P" --authority a.test --hold-until "$T/release" --max 120 "get:/idle"
start_h2hold tun --port "$P" --hold-until "$T/release" --max 120 --send "hello tunnel" "connect:127.0.0.1:$TPORT_echo"
wait_until "$H2G_WAIT" grep -q '"ev": "end"' "$T/hold-idle.out" || fail "the idle session's GET did not end"
wait_until "$H2G_WAIT" grep -q '"ev": "data"' "$T/hold-tun.out" || fail "no echo through the tunnel"
status() { curl -sS --max-time 10 "$M/status"; }
quiet() { # only the two held sessions left, the tunnel up
	local js
	js=$(status) && [ "$(jget '(d["connections"], d["tunnels"], d["streams"], d["sessions"]["h2c"])' "$js")" = "(2, 1, 1, 2)" ]
}
wait_until "$H2G_WAIT" quiet || fail "status did not settle to 2 connections, 1 tunnel, 1 stream: $(status)"

# --- over HTTP ---------------------------------------------------------
curl -sS --max-time 10 -D "$T/page.head" -o "$T/page.html" "$M/" || fail "GET / failed"
tr -d '\r' <"$T/page.head" >"$T/page.h"
assert_match '^HTTP/1\.1 200' "$(head -n 1 "$T/page.h")" "GET / status line"
hdr() { sed -n "s/^$1: //Ip" "$T/page.h" | head -n 1; }
assert_eq "text/html; charset=utf-8" "$(hdr Content-Type)" "GET / content type"
assert_eq "no-store" "$(hdr Cache-Control)" "GET / cache control"
csp=$(hdr Content-Security-Policy)
log "CSP: $csp"
assert_match "(^|; )default-src 'none'(;|$)" "$csp" "CSP default-src"
assert_match "(^|; )connect-src 'self'(;|$)" "$csp" "CSP connect-src"
assert_match "(^|; )script-src 'unsafe-inline'(;|$)" "$csp" "CSP script-src"
assert_match "(^|; )style-src 'unsafe-inline'(;|$)" "$csp" "CSP style-src"
cmp -s "$T/page.html" "$TOP_SRCDIR/src/process/status_page.html" ||
	fail "GET / is not src/process/status_page.html byte for byte ($(wc -c <"$T/page.html") bytes)"
assert_eq "$(wc -c <"$T/page.html" | tr -d ' ')" "$(hdr Content-Length)" "GET / content length"
curl -sS --max-time 10 -I -o "$T/head.h" "$M/" || fail "HEAD / failed"
assert_match '^HTTP/1\.1 200' "$(head -n 1 "$T/head.h")" "HEAD / status line"
assert_match '^[Cc]ontent-[Tt]ype: text/html; charset=utf-8' "$(grep -i '^content-type' "$T/head.h" | tr -d '\r')" "HEAD / content type"
# self-contained: no scheme or scheme-relative URL, no src/href/url()
# other than an inline data: one
ext=$(grep -noE "(https?|wss?|ftp):|['\"(]//[^/]|url\(" "$T/page.html" | head -n 5)
assert_eq "" "$ext" "external URLs in the page"
ext=$(grep -noE "(src|href|action)=[\"']?[^\"' >]*" "$T/page.html" | grep -vE "=[\"']?(data:|#)" | head -n 5)
assert_eq "" "$ext" "src/href/action attributes that load something"
assert_eq 200 "$(code "$M/metrics")" "GET /metrics"
assert_match '^text/plain; version=0\.0\.4' "$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' "$M/metrics")" "/metrics content type"
assert_eq 200 "$(code "$M/status")" "GET /status"
assert_match '^application/json' "$(curl -sS --max-time 10 -o /dev/null -w '%{content_type}' "$M/status")" "/status content type"
assert_eq 404 "$(code "$M/nothing")" "GET /nothing"
assert_eq 404 "$(code "$M/index.html")" "GET /index.html"
assert_eq 404 "$(code "$M/status/x")" "GET /status/x"

# --- in the browser ------------------------------------------------------
# kept beside the test's log (make check runs in the build directory)
OUT_DIR=$PWD/tests/integration
[ -d "$OUT_DIR" ] || OUT_DIR=$(dirname "$T")
SHOT=$OUT_DIR/413-status-page.png
STALE_SHOT=$OUT_DIR/413-status-page-stale.png
rm -f "$SHOT" "$STALE_SHOT"
BACKENDS=$BACKENDS "$PY" - "$CHROMIUM" "$T/chrome" "$M" "$T/status-page.png" "$T/status-page-stale.png" "$H2G_PID" "$T/release" \
	"$H2G_WAIT" >"$T/cdp.out" 2>&1 <<'PYEOF'
import json, os, re, signal, sys, time, urllib.request
sys.path.insert(0, os.environ["BACKENDS"])
import cdp

chromium, profile, base, shot, stale_shot, pid, release, wait = sys.argv[1:9]
wait = float(wait)
# Values that move while the test is quiet: compared by presence only.
SKIP = {"uptime_s", "age_s", "idle_s"}
# What the page must show whatever else /status grows.
REQUIRED = ["version", "pid", "workers", "state", "reloads", "last_reload", "config_file", "listeners",
            "listeners.0.address", "connections", "sessions.h2", "sessions.h2c", "sessions.http/1.1",
            "streams", "tunnels", "upstream_connections.open", "upstream_connections.idle"]
MISSING = object()


def resolve(node, path):
    """The value at a data-k path: keys joined by ".", keys may hold dots
    ("a.test", "http/1.1"), list items are named by their origin, route,
    address or id, or by their index; an origin's routes sit right under
    it ("origins.a.test./.requests"); a list's value is its length."""
    if path == "":
        return len(node) if isinstance(node, list) else node
    cands = []
    if isinstance(node, dict):
        cands = [(k, v) for k, v in node.items()]
        cands += [(None, v) for v in node.values() if isinstance(v, list)]
    elif isinstance(node, list):
        for i, v in enumerate(node):
            cands.append((str(i), v))
            if isinstance(v, dict):
                for f in ("origin", "route", "address", "id"):
                    if f in v:
                        cands.append((str(v[f]), v))
    for name, v in sorted(cands, key=lambda c: -len(c[0] or "")):
        if name is None:
            r = resolve(v, path)
        elif path == name:
            r = resolve(v, "")
        elif path.startswith(name + "."):
            r = resolve(v, path[len(name) + 1:])
        else:
            continue
        if r is not MISSING:
            return r
    return MISSING


def same(json_value, shown):
    if isinstance(json_value, bool):
        return shown == ("true" if json_value else "false")
    if isinstance(json_value, (int, float)):
        try:
            return float(shown) == float(json_value)
        except ValueError:
            return False
    return shown == str(json_value)


READ = """(() => ({refreshes: Number(document.body.dataset.refreshes),
  stale: document.body.classList.contains("stale"),
  items: Array.from(document.querySelectorAll("[data-k]")).map(e => [e.dataset.k, e.dataset.v]),
  derived: Array.from(document.querySelectorAll("[data-d]")).map(e => [e.dataset.d, e.dataset.v])}))()"""


def compare(page):
    shown = page.eval(READ)
    status = json.load(urllib.request.urlopen(base + "/status", timeout=10))
    bad = []
    for k, v in shown["items"]:
        want = resolve(status, k)
        if want is MISSING:
            bad.append("%s: shown %r, not in /status" % (k, v))
        elif k.rsplit(".", 1)[-1] not in SKIP and not same(want, v):
            bad.append("%s: shown %r, /status has %r" % (k, v, want))
    keys = {k for k, _ in shown["items"]}
    wanted = list(REQUIRED)
    for o in status.get("origins", []):
        for r in o.get("routes", []):
            wanted += ["origins.%s.%s.requests" % (o["origin"], r["route"])]
            wanted += ["origins.%s.%s.responses.%s" % (o["origin"], r["route"], c) for c in r.get("responses", {})]
    for i, t in enumerate(status.get("tunnel_list", [])):
        wanted += ["tunnel_list.%d.%s" % (i, k) for k in ("session", "stream", "bytes_up", "bytes_down")]
    for t in ("refusals", "timeouts", "tunnel_closes"):
        wanted += ["%s.%s" % (t, k) for k in status.get(t, {})]
    bad += ["%s: not shown" % k for k in wanted if k not in keys]
    # derived, not straight from /status: the sessions by client
    if "session_list" in status:
        by = {}
        for s in status["session_list"]:
            ip = re.sub(r"^\[(.*)\]:\d+$|^(.*):\d+$", lambda m: m.group(1) or m.group(2), s["peer"])
            c = by.setdefault(ip, {"sessions": 0, "streams": 0})
            c["sessions"] += 1
            c["streams"] += s["streams_open"]
        want = sorted("clients.%s.%s=%d" % (ip, k, n) for ip, c in by.items() for k, n in c.items())
        got = sorted("%s=%s" % (k, v) for k, v in shown["derived"])
        if want != got:
            bad.append("sessions by client: shown %s, /status says %s" % (got, want))
    return shown, status, bad


with cdp.Browser(chromium, profile) as b:
    page = b.open(base + "/", 1280, 900)
    if not page.wait("document.body && Number(document.body.dataset.refreshes) >= 2", wait * 3):
        print("FAIL: the page never refreshed twice; problems: %s" % page.problems)
        sys.exit(1)
    # Counters the test keeps still must match; one that moved between the
    # page's poll and ours (an upstream connection timing out) settles at
    # the next poll: a few tries, each after a new render.
    for attempt in range(5):
        shown, status, bad = compare(page)
        if not bad:
            break
        n = shown["refreshes"]
        page.wait("Number(document.body.dataset.refreshes) > %d" % n, wait)
    print("SHOWN %d hooks, %d refreshes, stale=%s" % (len(shown["items"]), shown["refreshes"], shown["stale"]))
    for k, v in shown["items"]:
        print("HOOK %s=%s" % (k, v))
    if bad:
        print("FAIL: page vs /status: %s" % "; ".join(bad))
        sys.exit(1)
    if shown["stale"]:
        print("FAIL: the page says stale while /status answers")
        sys.exit(1)
    page.screenshot(shot)
    # the daemon goes away: the page keeps its numbers and says stale
    open(release, "w").close()
    os.kill(int(pid), signal.SIGTERM)
    if not page.wait('document.body.classList.contains("stale")', wait * 3):
        print("FAIL: the page did not turn stale after the daemon stopped")
        sys.exit(1)
    after = page.eval(READ)
    banner = page.eval('getComputedStyle(document.getElementById("banner")).display + " " + '
                       'document.getElementById("banner").textContent')
    print("STALE %d hooks kept; banner: %s" % (len(after["items"]), banner))
    if len(after["items"]) < len(shown["items"]) or banner.startswith("none"):
        print("FAIL: stale page lost its data or shows no banner")
        sys.exit(1)
    page.screenshot(stale_shot)
    problems = [p for p in page.problems if "/status" not in p]
    print("PROBLEMS %s" % problems)
    if problems:
        print("FAIL: the browser reported: %s" % problems)
        sys.exit(1)
print("OK")
PYEOF
rc=$?
sed 's/^/#   /' "$T/cdp.out" | grep -v '^#   HOOK' >&2
[ $rc -eq 0 ] && [ "$(tail -n 1 "$T/cdp.out")" = OK ] || fail "browser check: $(grep -E '^FAIL' "$T/cdp.out" || tail -n 5 "$T/cdp.out")"
log "hooks compared: $(grep -c '^HOOK' "$T/cdp.out")"
cp "$T/status-page.png" "$SHOT" && cp "$T/status-page-stale.png" "$STALE_SHOT" || fail "no screenshot"
log "screenshots: $SHOT $STALE_SHOT"
wait_h2gate_exit
pass
