#!/bin/sh
# gRPC end to end through an HTTP/2 upstream (h2c://): python3-grpcio
# client -> h2gate -> python3-grpcio server, bytes messages (no protoc).
# Unary (one and a hundred on one channel), server streaming, client
# streaming, bidirectional (20 messages over 2 s, each waiting for the
# previous echo), a deadline (grpc-timeout reaches the server, the client
# gets DEADLINE_EXCEEDED), a cancelled call (the server sees it end), and
# an error status with its message and trailing metadata intact.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/h2uplib.sh"
need grpc

GPORT=$(free_port)
GLOG=$T/grpc.log
"$PY" "$BACKENDS/grpcbackend.py" --port "$GPORT" --log "$GLOG" >"$T/grpcbackend.out" 2>&1 &
_PIDS+=("$!")
wait_port "$GPORT" "$!" || fail "gRPC backend did not start: $(cat "$T/grpcbackend.out")"
start_h2c_gate "$GPORT"

timeout 60 "$PY" "$BACKENDS/grpcclient.py" "127.0.0.1:$P" >"$T/grpc.json" 2>"$T/grpcclient.out" ||
	fail "gRPC client: $(tail -20 "$T/grpcclient.out")"
log "$(cat "$T/grpc.json")"
assert_eq "echo:hello" "$(json_get 'd["unary"]["reply"]' "$T/grpc.json")" "unary"
assert_eq 100 "$(json_get 'd["unary_many"]["ok"]' "$T/grpc.json")" "100 unary calls"
assert_eq '["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]' "$(json_get 'd["server"]["messages"]' "$T/grpc.json")" "server streaming"
assert_eq "50:50000" "$(json_get 'd["client"]["reply"]' "$T/grpc.json")" "client streaming"
assert_eq "20 bidi:m0 bidi:m19" "$(json_get '" ".join([str(len(d["bidi"]["replies"])), d["bidi"]["replies"][0], d["bidi"]["replies"][-1]])' "$T/grpc.json")" "bidirectional streaming"
assert_eq DEADLINE_EXCEEDED "$(json_get 'd["deadline"]["code"]' "$T/grpc.json")" "deadline"
# The deadline travelled as grpc-timeout: the server's call had one.
# (about 0.5 s: the header's unit rounds it; the next call's is 30 s)
t=$(grep '"method": "Sleep"' "$GLOG" | head -1 | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["timeout"])')
log "the deadline call reached the server with ${t} s left"
assert_eq True "$("$PY" -c "t = $t; print(t is not None and 0 < t < 1)")" "the server saw the call's deadline"
assert_eq "True CANCELLED" "$(json_get '" ".join(str(x) for x in [d["cancel"]["cancelled"], d["cancel"]["code"]])' "$T/grpc.json")" "cancelled call"
wait_until 10 sh -c "[ \$(grep -c '\"ev\": \"cancelled\"' '$GLOG') -ge 2 ]" ||
	fail "the server did not see both the expired and the cancelled call end: $(cat "$GLOG")"
assert_eq "INVALID_ARGUMENT|bad request|why" \
	"$(json_get '"|".join([d["fail"]["code"], d["fail"]["details"], d["fail"]["trailing"].get("x-detail", "")])' "$T/grpc.json")" \
	"error status, message and trailing metadata"
assert_eq 0 "$(grep -c '"ev": "done", "method": "Sleep"' "$GLOG")" "no Sleep call ran to its end"
stop_h2gate
pass
