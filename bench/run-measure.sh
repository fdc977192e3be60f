# shellcheck shell=bash
# bench/run-measure.sh - sourced by bench/run: the measurements.  Every
# figure goes through add_sample, which keeps it for the table (RES) and
# appends it to $TMP/samples.tsv (proxy, scenario, metric, run, value).

declare -A RES   # RES[proxy|scenario|metric] = space-separated samples
declare -A NOTE  # NOTE[proxy|scenario] = warning text
declare -A SKIP  # SKIP[proxy|scenario] = "n/a: why" or "failed: why" (no figures)
RUNSEQ=0         # h2load runs so far (their output files are numbered)
printf 'proxy\tscenario\tmetric\trun\tvalue\n' >"$TMP/samples.tsv"
add_sample() { # proxy scenario metric value
    local k="$1|$2|$3" n
    RES[$k]="${RES[$k]:-}${RES[$k]:+ }$4"
    n=$(wc -w <<<"${RES[$k]}")
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$n" "$4" >>"$TMP/samples.tsv"
}
median() { # samples... -> median (middle value; mean of the two middles)
    printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
        if (NR == 0) exit; if (NR % 2) print v[(NR+1)/2];
        else printf "%.6g\n", (v[NR/2] + v[NR/2+1]) / 2 }'
}
note() { NOTE["$1|$2"]="${NOTE["$1|$2"]:-}${NOTE["$1|$2"]:+; }$3"; }
skip() { SKIP["$1|$2"]=$3; }   # proxy scenario "n/a: ..."|"failed: ..."
runnable() { # proxy scenario: the proxy is up and the row is not skipped
    [ -n "${PPID_OF[$1]:-}" ] && [ -z "${SKIP["$1|$2"]:-}" ]
}

# ------------------------------------------------------- scenario modes
# mode_setup MODE: sets EXTRA (h2load's extra arguments) and UP_PORT (the
# backend port, for the upstream side of the syscall counts).  h2c and tls:
# the HTTP/1.1 nginx, any :authority; h2up: :authority h2u.bench, routed to
# the h2c nginx; grpc: :authority grpc.bench, routed to the gRPC backend,
# each request a POST of one gRPC frame with the headers a gRPC client
# sends (h2load cannot read grpc-status: run_h2load checks the backend's
# count of answered calls instead).
EXTRA=()
UP_PORT=
mode_setup() {
    case $1 in
    h2c | tls) EXTRA=(); UP_PORT=$NGINX_PORT ;;
    h2up) EXTRA=(-H ":authority: h2u.bench"); UP_PORT=$NGINX_H2_PORT ;;
    grpc) EXTRA=(-H ":authority: grpc.bench" -H "content-type: application/grpc"
        -H "te: trailers" -d "$TMP/grpc/request.bin"); UP_PORT=$GRPC_PORT ;;
    esac
}

# upstream_open PROXY PORT: the proxy's established connections to PORT
upstream_open() {
    local pids
    [ "$HAVE_SS" = 1 ] || return 0
    pids=$(tree_pids "${PPID_OF[$1]}" | paste -sd'|')
    ss -Htnp state established "( dport = :$2 )" 2>/dev/null | grep -c -E "pid=($pids),"
}

grpc_served() { # Echo calls the gRPC backend has answered so far
    $PIN_LOAD "$PY" "$SELF_DIR/grpc-backend.py" count "127.0.0.1:$GRPC_PORT" 2>/dev/null
}

# check_route PROXY SCENARIO MODE, once per proxy before a row's runs: the
# h2c upstream row needs the proxy connected to the h2c nginx after its
# warm-up (else the request went elsewhere); the gRPC row needs a real gRPC
# client's call through the proxy to come back OK with its bytes echoed.
# A proxy that fails gets "failed" in the row instead of figures.
check_route() {
    local proxy=$1 scen=$2 mode=$3 out n
    case $mode in
    h2up)
        [ "$HAVE_SS" = 1 ] || return 0
        n=$(upstream_open "$proxy" "$NGINX_H2_PORT")
        if [ "${n:-0}" -eq 0 ]; then
            skip "$proxy" "$scen" "failed: no connection to the h2c nginx after the warm-up (route not taken?)"
        fi ;;
    grpc)
        out=$(timeout 30 $PIN_LOAD "$PY" "$SELF_DIR/grpc-backend.py" call \
            "127.0.0.1:${H2C_PORT[$proxy]}" grpc.bench 2>&1)
        n=$?
        out=$(tail -n 3 <<<"$out" | tr '\n' ' ')
        log "  $proxy  a gRPC client's call through it: ${out:-no output} (rc=$n)"
        [ "$n" = 0 ] ||
            skip "$proxy" "$scen" "failed: a gRPC client's call through it: ${out:-no output} (rc=$n)" ;;
    esac
    return 0
}

ctx_switches() { # PID -> context switches so far of PID's tree, all threads
    local p n=0 v
    for p in $(tree_pids "$1"); do
        v=$(cat "/proc/$p/task/"*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}')
        n=$((n + v))
    done
    echo "$n"
}

percpu_stat() { # "cpuN task irq steal total ..." for every CPU, from /proc/stat
    awk '/^cpu[0-9]/ {printf "%s %d %d %d %d ", $1, $2+$3+$4, $7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}
read_cpu_stat() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $9}' /proc/stat; }

# ------------------------------------------------------- h2load scenarios
h2load_figures() { # h2load-output -> "req/s succeeded 2xx seconds"
    awk '/^finished in/ {
            for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) {r = $i; gsub(",", "", r)}
            v = $3; sub(",", "", v)
            if (v ~ /ms$/) {sub("ms", "", v); v /= 1000} else if (v ~ /us$/) {sub("us", "", v); v /= 1e6}
            else sub("s", "", v); secs = v }
        /^requests:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^succeeded/) ok = $i}
        /^status codes:/ {st = $3}
        END {print (r == "" ? "-" : r), (ok == "" ? "-" : ok), (st == "" ? 0 : st), (secs == "" ? 0 : secs)}' "$1"
}

# cpu_busy S0 S1: each CPU's task / irq / steal share between two percpu_stat
cpu_busy() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " "); out = ""
        for (i = 1; i + 4 <= length(x) && i + 4 <= length(y); i += 5) {
            tot = y[i+4] - x[i+4]; if (tot <= 0) continue
            out = out sprintf("%s%s %.0f%% +irq %.0f%% steal %.0f%%", out == "" ? "" : ", ", x[i],
                100 * (y[i+1] - x[i+1]) / tot, 100 * (y[i+2] - x[i+2]) / tot,
                100 * (y[i+3] - x[i+3]) / tot)
        }
        print out }'
}

# foreign_load PROXY SCEN S0 S1 TICKS: warn when other processes (or the
# hypervisor) took more than 10 % of the proxy's CPU during the run
foreign_load() {
    [ -n "$PIN_PROXY" ] || return 0
    local f
    f=$(awk -v a="$3" -v b="$4" -v p="$5" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i = 1; i + 4 <= length(x); i += 5) if (x[i] == "cpu1") {
            tot = y[i+4] - x[i+4]
            if (tot > 0) printf "%.0f %.0f", 100 * (y[i+1] - x[i+1] - p) / tot, 100 * (y[i+3] - x[i+3]) / tot }
    }')
    [ -n "$f" ] || return 0
    [ "${f% *}" -gt 10 ] && note "$1" "$2" "${f% *}% of CPU 1 went to other processes in one run"
    [ "${f#* }" -gt 10 ] && note "$1" "$2" "hypervisor stole ${f#* }% of CPU 1 in one run"
    return 0
}

perf_start() { # PID -> starts perf stat on PID's tree (if usable); sets PERF_PID
    PERF_PID=
    [ "$HAVE_PERF" = 1 ] || return 0
    perf stat -x, -o "$1" -e instructions:u -p "$(tree_pids "$2" | paste -sd,)" 2>/dev/null &
    PERF_PID=$!
    sleep 0.3
}
perf_stop() { # -> instructions counted (empty if none)
    [ -n "$PERF_PID" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null; wait "$PERF_PID" 2>/dev/null
    awk -F, '$3 ~ /^instructions/ && $1 ~ /^[0-9]+$/ {print $1}' "$1"
}

# run_h2load PROXY SCENARIO URL N MEASURE(0|1) [MODE]
run_h2load() {
    local proxy=$1 scen=$2 url=$3 n=$4 measure=$5 mode=${6:-h2c} pid out c0 c1 s0 s1 a0 a1 rc
    local rps ok total secs ins g0='' g1='' x0 x1
    pid=${PPID_OF[$proxy]}
    mode_setup "$mode"
    RUNSEQ=$((RUNSEQ + 1))
    out=$TMP/h2load.$(printf %03d "$RUNSEQ").$proxy.${scen// /_}.$([ "$measure" = 1 ] && echo run || echo warm-up).txt
    [ "$mode" = grpc ] && [ "$measure" = 1 ] && g0=$(grpc_served)
    [ "$measure" = 1 ] && perf_start "$out.perf" "$pid"
    c0=$(cpu_ticks "$pid"); a0=$(nginx_accepts); s0=$(percpu_stat); x0=$(ctx_switches "$pid")
    timeout "$H2LOAD_TIMEOUT" $PIN_LOAD "$H2LOAD" -t 1 -c "$CONNS" -m "$STREAMS" -n "$n" \
        "${EXTRA[@]}" "$url" >"$out" 2>&1
    rc=$?
    c1=$(cpu_ticks "$pid"); s1=$(percpu_stat); a1=$(nginx_accepts); x1=$(ctx_switches "$pid")
    if [ "$measure" = 0 ] && [ "$mode" = h2up ] && [ -n "$a0" ] && [ -n "$a1" ]; then
        # the connections the proxy needed for the load (minus the status one)
        add_sample "$proxy" "$scen" upwarm $((a1 - a0 - 1))
    fi
    [ "$measure" = 1 ] || return 0
    [ "$mode" = grpc ] && g1=$(grpc_served)
    ins=$(perf_stop "$out.perf")
    read -r rps ok total secs <<<"$(h2load_figures "$out")"
    if [ "$rc" != 0 ] || [ "$rps" = - ] || [ "$ok" = - ]; then
        note "$proxy" "$scen" "h2load failed (rc=$rc)"
        echo "bench/run: h2load against $proxy ($scen) failed, rc=$rc:" >&2
        tail -n 15 "$out" | sed 's/^/    /' >&2
        return 1
    fi
    [ "$ok" -lt "$n" ] && note "$proxy" "$scen" "only $ok/$n succeeded"
    [ "$total" -lt "$ok" ] && note "$proxy" "$scen" "only $total/$ok 2xx"
    if [ "$mode" = grpc ] && [ "$((${g1:-0} - ${g0:-0}))" != "$total" ]; then
        # 2xx without the backend's answer: not gRPC calls that succeeded
        skip "$proxy" "$scen" "failed: h2load counted $total 2xx, the gRPC backend answered $((${g1:-0} - ${g0:-0})) calls (count ${g0:-?} -> ${g1:-?})"
        echo "bench/run: $proxy ($scen): ${SKIP["$proxy|$scen"]}" >&2
        return 1
    fi
    local u=$((${c1% *} - ${c0% *})) s=$((${c1#* } - ${c0#* })) util tlsinfo upc=
    util=$(awk -v d=$((u + s)) -v t="$CLK_TCK" -v s="$secs" \
        'BEGIN {if (s > 0) printf "%.0f", 100 * d / t / s; else print "?"}')
    tlsinfo=$(awk '/^TLS Protocol:/ {p = $3} /^Cipher:/ {c = $2} END {if (p) printf " (%s %s)", p, c}' "$out")
    add_sample "$proxy" "$scen" rps "$rps"
    [ "$util" != "?" ] && add_sample "$proxy" "$scen" util "$util"
    if [ "$mode" != grpc ] && [ -n "$a0" ] && [ -n "$a1" ] && [ "$ok" -gt 0 ]; then
        # minus 1: the second status request is itself a new connection
        upc=$(awk -v d=$((a1 - a0 - 1)) -v n="$ok" 'BEGIN {printf "%.1f", 1000 * d / n}')
        add_sample "$proxy" "$scen" upconn "$upc"
    fi
    local upo=
    if [ "$mode" = h2up ] || [ "$mode" = grpc ]; then
        upo=$(upstream_open "$proxy" "$UP_PORT")
        [ -n "$upo" ] && add_sample "$proxy" "$scen" upopen "$upo"
    fi
    if [ "$ok" -gt 0 ]; then
        per_req() { awk -v d="$1" -v t="$CLK_TCK" -v n="$ok" 'BEGIN {printf "%.2f", d / t * 1e6 / n}'; }
        add_sample "$proxy" "$scen" cpu "$(per_req $((u + s)))"
        add_sample "$proxy" "$scen" usr "$(per_req "$u")"
        add_sample "$proxy" "$scen" sys "$(per_req "$s")"
        # how often it slept: the syscall run's should be alike (sc_report)
        add_sample "$proxy" "$scen" ctxsw "$(awk -v d=$((x1 - x0)) -v n="$ok" 'BEGIN {printf "%.3f", d / n}')"
        [ -n "$ins" ] && add_sample "$proxy" "$scen" instr \
            "$(awk -v i="$ins" -v n="$ok" 'BEGIN {printf "%.0f", i / n}')"
    fi
    log "  $proxy  $scen: $rps req/s, $ok ok in ${secs}s, proxy cpu $(((u + s) * 1000 / CLK_TCK)) ms (user $((u * 1000 / CLK_TCK)), sys $((s * 1000 / CLK_TCK))) = $util% of a core$tlsinfo; CPUs busy: $(cpu_busy "$s0" "$s1"); upstream conns opened: $((a1 - a0 - 1))${upo:+, open after the run: $upo}${g1:+; gRPC backend answered $((g1 - g0)) calls}"
    foreign_load "$proxy" "$scen" "$s0" "$s1" $((u + s))
}

# ------------------------------------------------------- syscalls (perf)
# syscall_run PROXY SCENARIO URL N [MODE]: two more runs per row and
# proxy, on every process and thread of the proxy.  First a warm-up of
# SC_RECORD_SECS (h2load -D; the client connections live that long, many
# snapshots' time) under perf record, which records the calls that name a
# descriptor, while bench/syscall_sides.py snapshots the proxy's
# descriptors and their sockets' ports every 0.1 s: each recorded call is
# put on its descriptor's side ("client": the proxy's listeners and the
# connections accepted on them; "upstream": sockets to the row's backend,
# UP_PORT; "other": epoll, timers, eventfds, memory, ..., and connections
# to the other backends, e.g. PINGs on idle h2c ones; epoll_ctl counts for
# the descriptor it changes, socket() for the one it returns).  Then a run
# of the measured size (N) under perf stat alone, which counts every call
# by name: each name's split by side in the warm-up is applied to its count
# in this run; the names not recorded (epoll_wait, memory, ...) are
# "other".  Per successful request.  Why two runs: while perf record is
# attached (whatever its sampling period, even per CPU), the proxy batches
# several times more per epoll_wait (h2gate at h2c 100 B: 0.07-0.1
# epoll_wait per request instead of 0.25-0.4, context switches alike):
# the counts would be wrong, as under strace (0.15 client-side calls per
# request instead of 0.7-0.85), while the split of a name between sides
# moves little.  perf stat alone costs about 0.3 µs per call and leaves
# the batching as it is (context switches per request as untraced, from
# /proc/PID/status).
SC_COUNT="read write readv writev pread64 pwrite64 recvfrom sendto recvmsg sendmsg recvmmsg sendmmsg
    epoll_wait epoll_pwait epoll_ctl poll ppoll select accept accept4 connect socket shutdown close
    setsockopt getsockopt getsockname getpeername splice sendfile64 ioctl fcntl pipe2 eventfd2 dup
    futex mmap munmap mprotect madvise brk mremap getpid gettid getrusage clock_gettime gettimeofday
    timerfd_settime nanosleep clock_nanosleep sched_yield openat newfstatat getrandom rt_sigprocmask
    rt_sigaction kill tgkill wait4"
SC_RECORD="read write readv writev pread64 pwrite64 recvfrom sendto recvmsg sendmsg recvmmsg
    sendmmsg epoll_ctl accept accept4 connect shutdown close setsockopt getsockopt getsockname
    getpeername splice sendfile64 ioctl fcntl"
sc_events() { # PREFIX NAMES... -> "PREFIX<name>,..." of the tracepoints this kernel has
    local pre=$1 c ev=
    shift
    for c in "$@"; do
        perf list "$pre$c" 2>/dev/null | grep -q "$pre$c " && ev+="${ev:+,}$pre$c"
    done
    echo "$ev"
}
SC_STAT_EVENTS=
SC_RECORD_EVENTS=
SC_RECORD_SECS=1   # the recorded warm-up (h2load -D)
forget_pid() { # PID: reaped, so not one for cleanup to stop (it may be reused)
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
syscall_run() {
    local proxy=$1 scen=$2 url=$3 n=$4 pid out base pids w r st ok rps x0 x1
    pid=${PPID_OF[$proxy]}
    mode_setup "${5:-h2c}"
    if [ -z "$SC_STAT_EVENTS" ]; then
        # shellcheck disable=SC2086 # lists of names
        SC_STAT_EVENTS=raw_syscalls:sys_enter,$(sc_events syscalls:sys_enter_ $SC_COUNT)
        # shellcheck disable=SC2086
        SC_RECORD_EVENTS=$(sc_events syscalls:sys_enter_ $SC_RECORD),syscalls:sys_exit_socket
    fi
    base=$TMP/syscalls.$proxy.${scen// /_}
    out=$TMP/h2load.syscalls.$proxy.${scen// /_}.txt
    pids=$(tree_pids "$pid" | paste -sd,)
    # the warm-up, recorded: the split by side
    # shellcheck disable=SC2046 # one argument per pid
    $PIN_LOAD "$PY" "$SELF_DIR/syscall_sides.py" watch "$base.fds" $(tr , ' ' <<<"$pids") 2>"$base.err" &
    w=$!
    $PIN_LOAD perf record -q -k monotonic -m 8M -e "$SC_RECORD_EVENTS" -p "$pids" \
        -o "$base.data" 2>>"$base.err" &
    r=$!
    PIDS+=("$w" "$r")
    sleep 0.5   # attach
    # -D: for SC_RECORD_SECS whatever the rate, so that the client
    # connections are open long enough for snapshots to see them
    timeout "$H2LOAD_TIMEOUT" $PIN_LOAD "$H2LOAD" -t 1 -c "$CONNS" -m "$STREAMS" -D "$SC_RECORD_SECS" \
        "${EXTRA[@]}" "$url" >"$out.warm-up" 2>&1
    kill -INT "$r" 2>/dev/null; wait "$r" 2>/dev/null
    kill -TERM "$w" 2>/dev/null; wait "$w" 2>/dev/null
    forget_pid "$r"; forget_pid "$w"
    # the measured-size run, counted only
    perf stat -x, -e "$SC_STAT_EVENTS" -p "$pids" -o "$base.stat" 2>>"$base.err" &
    st=$!
    PIDS+=("$st")
    sleep 0.5   # attach
    x0=$(ctx_switches "$pid")
    timeout "$H2LOAD_TIMEOUT" $PIN_LOAD "$H2LOAD" -t 1 -c "$CONNS" -m "$STREAMS" -n "$n" \
        "${EXTRA[@]}" "$url" >"$out" 2>&1
    x1=$(ctx_switches "$pid")
    kill -INT "$st" 2>/dev/null; wait "$st" 2>/dev/null
    forget_pid "$st"
    read -r rps ok _ <<<"$(h2load_figures "$out")"
    if [ "$ok" = - ] || [ "$ok" -eq 0 ] || [ ! -s "$base.data" ] || [ ! -s "$base.stat" ]; then
        note "$proxy" "$scen" "syscall run (perf) failed"
        echo "bench/run: syscall run (perf) against $proxy ($scen) failed:" >&2
        tail -n 5 "$out.warm-up" "$out" "$base.err" 2>/dev/null | sed 's/^/    /' >&2
        return 1
    fi
    perf script -i "$base.data" -F pid,time,event,trace 2>>"$base.err" |
        "$PY" "$SELF_DIR/syscall_sides.py" classify --listen "${H2C_PORT[$proxy]},${TLS_PORT[$proxy]}" \
            --up "$UP_PORT" --totals "$base.stat" "$base.fds" >"$base.summary"
    sc_report "$proxy" "$scen" "$base.summary" "$ok" "$rps" $((x1 - x0))
    # the record is tens of MB; the summary says what it found
    rm -f "$base.data"
}

# sc_report PROXY SCENARIO SUMMARY OK RPS CTXSW: the per-side samples and a
# log line, with the run's req/s and context switches per request next to
# the measured runs' (medians): perf stat should leave them as they are
sc_report() {
    local c u o tot ew rec unm n=$4
    read -r c u o tot ew rec unm <<<"$(awk '
        $1 == "client" {c += $3} $1 == "upstream" {u += $3}
        $1 == "other" && $2 == "epoll_wait" {ew = $3}
        $1 == "total" {t = $2} $1 == "recorded" {r = $2}
        $1 == "unmatched" {m = $2}
        END {printf "%d %d %d %d %d %d %d\n", c, u, t - c - u, t, ew, r, m}' "$3")"
    per() { awk -v c="$1" -v n="$n" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, c / n}'; }
    add_sample "$1" "$2" sc_client "$(per "$c")"
    add_sample "$1" "$2" sc_upstream "$(per "$u")"
    add_sample "$1" "$2" sc_other "$(per "$o")"
    # shellcheck disable=SC2086 # the samples, one argument each
    log "  $1  $2 syscall run (perf stat): $5 req/s (measured runs $(median ${RES["$1|$2|rps"]:-})), $4 ok; context switches/req $(per "$6" 3) (measured runs $(median ${RES["$1|$2|ctxsw"]:-})); per request: client $(per "$c"), upstream $(per "$u"), other $(per "$o") (epoll_wait $(per "$ew")), total $(per "$tot"); split by side from the $rec calls recorded in a ${SC_RECORD_SECS}s warm-up, $unm of them on a descriptor no snapshot had"
    if [ "$unm" -gt 0 ] && [ "$unm" -gt $((rec / 100)) ]; then
        note "$1" "$2" "syscall run: $unm of $rec recorded calls on descriptors no snapshot had (counted as other)"
    fi
    return 0
}

# ------------------------------------------------ idle connections: RSS
# idle_rss PROXY h2c|get|tls: fresh proxy, tiny warm-up, RSS, N idle conns
# (get: each after one GET of /100b.bin), RSS
idle_rss() {
    local proxy=$1 mode=$2 scen pid port r0 r1 hp out line ok alive i flags=()
    case $mode in
    h2c) scen="idle h2c conn"; port=h2c ;;
    get) scen="h2c conn after GET"; port=h2c; flags=(--get /100b.bin) ;;
    tls) scen="idle tls conn"; port=tls; flags=(--tls) ;;
    esac
    start_proxy "$proxy" || { note "$proxy" "$scen" "did not start"; return 1; }
    pid=${PPID_OF[$proxy]}
    # a few requests so lazily set-up state (TLS context, upstream pool) exists
    timeout 60 $PIN_LOAD "$H2LOAD" -t 1 -c 2 -m 1 -n 200 \
        "$(proxy_url "$proxy" "$port" /100b.bin)" >/dev/null 2>&1
    sleep 0.5
    r0=$(rss_kib "$pid")
    [ "$port" = tls ] && port=${TLS_PORT[$proxy]} || port=${H2C_PORT[$proxy]}
    out=$TMP/idle.$proxy.$mode.out
    $PIN_LOAD "$PY" "$SELF_DIR/idle_conns.py" "${flags[@]}" --timeout 120 \
        127.0.0.1 "$port" "$N_IDLE" >"$out" 2>"$out.err" &
    hp=$!
    PIDS+=("$hp")
    line=
    for i in $(seq 1500); do   # up to 150 s
        line=$(grep '^READY' "$out" 2>/dev/null)
        [ -n "$line" ] && break
        kill -0 "$hp" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$line" ]; then
        note "$proxy" "$scen" "idle helper failed"
        echo "bench/run: idle_conns.py against $proxy ($mode) failed:" >&2
        tail -n 10 "$out.err" | sed 's/^/    /' >&2
        stop_pid "$hp"; stop_proxy "$proxy"
        return 1
    fi
    # after a GET, idle for longer than h2gate's QUIET_MS (5 s: it puts a
    # session that served streams away only then); the same for every proxy
    if [ "$mode" = get ]; then sleep 7; else sleep 1; fi
    r1=$(rss_kib "$pid")
    kill -TERM "$hp" 2>/dev/null
    for i in $(seq 100); do grep -q '^ALIVE' "$out" && break; sleep 0.1; done
    stop_pid "$hp"
    ok=$(echo "$line" | sed 's/.*ok=\([0-9]*\).*/\1/')
    alive=$(awk '/^ALIVE/ {print $2}' "$out")
    [ "$ok" -lt "$N_IDLE" ] && note "$proxy" "$scen" "only $ok/$N_IDLE connected ($(head -c 200 "$out.err" | tr '\n' ' '))"
    [ "${alive:-0}" -lt "$ok" ] && note "$proxy" "$scen" "only ${alive:-0}/$ok still open at the end"
    if [ "$ok" -gt 0 ]; then
        add_sample "$proxy" "$scen" rss "$(awk -v a="$r0" -v b="$r1" -v n="$ok" \
            'BEGIN {printf "%.2f", (b - a) / n}')"
    fi
    add_sample "$proxy" "$scen" rss0 "$r0"
    log "  $proxy  $scen: $line; RSS $r0 -> $r1 KiB; alive at end ${alive:-?}"
    stop_proxy "$proxy"
}

# ----------------------------------------------- scaling: h2gate workers
# h2gate with workers: 1 (pinned to CPU 1, like every proxy here) and
# workers: 2 (not pinned: both CPUs, the second shared with h2load and
# nginx on CPU 0), h2c 100 B, runs alternating.  With 2 cores in all this
# shows whether a second worker adds anything, not how h2gate scales.
scaling() {
    local w r url
    for r in $(seq "$REPEAT"); do
        for w in 1 2; do
            start_proxy h2gate "$w" || { note h2gate "workers $w" "did not start"; continue; }
            url=$(proxy_url h2gate h2c /100b.bin)
            run_h2load h2gate "workers $w" "$url" "$N_WARM_SMALL" 0
            run_h2load h2gate "workers $w" "$url" "$N_SMALL" 1
            stop_proxy h2gate
        done
    done
}

# --------------------------------------------------------- machine state
busy_2s() { # % of all CPUs busy over the next 2 s
    local t0 b0 t1 b1
    read -r t0 b0 <<<"$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $2+$3+$4+$7+$8+$9}' /proc/stat)"
    sleep 2
    read -r t1 b1 <<<"$(awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $2+$3+$4+$7+$8+$9}' /proc/stat)"
    echo $(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
}
# With --wait-idle S, wait up to S seconds for a 2 s window under 10 %.
wait_idle() {
    local deadline
    PRE_BUSY=$(busy_2s)
    if [ "$WAIT_IDLE" -gt 0 ] && [ "$PRE_BUSY" -gt 10 ]; then
        echo "bench/run: machine ${PRE_BUSY}% busy; waiting up to ${WAIT_IDLE}s for it to go quiet" >&2
        deadline=$((SECONDS + WAIT_IDLE))
        while [ "$PRE_BUSY" -gt 10 ] && [ "$SECONDS" -lt "$deadline" ]; do PRE_BUSY=$(busy_2s); done
    fi
}
