# shellcheck shell=bash
# bench/run-report.sh - sourced by bench/run: the header and the tables.
# Tables are Markdown (as in the issue tracker); every cell is the median
# of the runs; "best" is the lowest figure (the highest for req/s) among the
# proxies measured; "h2gate / best" is h2gate's cell divided by it, and
# "h2gate / other" by the best of the other proxies (issue 16's goal is
# 0.9 of that on every CPU row: 1.00 in the first says only "best").  A
# row a proxy could not do shows n/a, one whose requests failed "failed";
# the reasons are printed under the tables.

print_header() {
    local p v
    log "h2gate bench -- $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    log "host: $(uname -srm); $NCPU CPU ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo))"
    for p in $ALL_PROXIES; do
        if [ -n "${STATUS[$p]:-}" ]; then
            log "$p: ${STATUS[$p]} -> column n/a"
            continue
        fi
        case $p in
        h2gate) v="$H2GATE (binary from $(date -u -r "$H2GATE" '+%Y-%m-%d %H:%M UTC'); this tree is at $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?"))" ;;
        nghttpx) v=$("$NGHTTPX" --version 2>/dev/null | head -n1) ;;
        h2o) v=$("$H2O" --version 2>/dev/null | head -n1) ;;
        haproxy) v=$("$HAPROXY" -v 2>/dev/null | head -n1) ;;
        esac
        log "$p: $v"
    done
    log "client: $("$H2LOAD" --version 2>/dev/null | head -n1); backend: $("$NGINX" -v 2>&1 | head -n1)"
    log "pinning: $PIN_NOTE"
    log "machine busy before start: ${PRE_BUSY}% of all CPUs over 2 s$([ "$PRE_BUSY" -gt 10 ] && echo ' -- NOT IDLE, numbers will be noisy')"
    log "load: h2load -t 1 -c $CONNS -m $STREAMS; -n $N_SMALL (100 B) / $N_LARGE (64 KiB) / $N_GRPC (gRPC); warm-up run n/5 first; median of $REPEAT"
    log "rows: $ROWS"
    log "syscalls: two more runs per row and proxy: a ${SC_RECORD_SECS}s warm-up (h2load -D) under perf record, which gives each syscall name's split by side, then a run of the measured size under perf stat alone, which counts every call by name$([ "$HAVE_PERF_SC" = 1 ] || echo ' -- perf missing (apt-get install linux-perf) or not allowed to trace syscalls (root, or perf_event_paranoid -1): n/a')"
    log "instructions: $([ "$HAVE_PERF" = 1 ] && echo 'perf stat -e instructions:u on the measured runs' || echo 'n/a: perf stat -e instructions:u is not supported here (no PMU in this VM, or no perf); bench/instructions counts them under callgrind')"
    log "idle: $N_IDLE connections per proxy and mode, fresh proxy each time"
    log "upstream (backend): nginx 127.0.0.1:$NGINX_PORT (HTTP/1.1) and :$NGINX_H2_PORT (h2c), 1 process, keepalive"
    want_rows grpc && log "gRPC backend: $([ -n "$GRPC_NA" ] && echo "n/a: $GRPC_NA" ||
        echo "bench/grpc-backend.py (python3-grpcio $("$PY" -c 'import grpc; print(grpc.__version__)' 2>/dev/null), $GRPC_THREADS threads) 127.0.0.1:$GRPC_PORT; requests $((GRPC_MSG_SIZE + 5)) bytes (a 5-byte gRPC frame header + $GRPC_MSG_SIZE), echoed")"
    log "raw figures: $([ "$KEEP" = 1 ] && echo "$TMP" || echo 'temporary directory, removed at exit (--out DIR keeps them)')"
    log ""
}

cell() { # proxy scenario metric -> median, n/a or failed
    local v=${RES["$1|$2|$3"]:-}
    case ${SKIP["$1|$2"]:-} in failed:*) echo failed; return ;; esac
    if [ -z "$v" ]; then echo n/a; else median $v; fi
}
fmt() { # value decimals
    case $1 in n/a | failed) echo "$1" ;; *) awk -v v="$1" -v d="$2" 'BEGIN {printf "%.*f", d, v}' ;; esac
}

# md_row LABEL SCENARIO METRIC DECIMALS low|high|none
md_row() {
    local p v line="| $1 |" vals=() best=n/a ratio=n/a other=n/a vs=n/a
    for p in $ALL_PROXIES; do
        v=$(cell "$p" "$2" "$3")
        vals+=("$v")
        line="$line $(fmt "$v" "$4") |"
    done
    if [ "$5" != none ]; then
        best=$(printf '%s\n' "${vals[@]}" | grep -v -x -e n/a -e failed | sort -g |
            { if [ "$5" = high ]; then tail -n1; else head -n1; fi; })
        [ -n "$best" ] || best=n/a
        other=$(printf '%s\n' "${vals[@]:1}" | grep -v -x -e n/a -e failed | sort -g |
            { if [ "$5" = high ]; then tail -n1; else head -n1; fi; })
        [ -n "$other" ] || other=n/a
        v=${vals[0]}
        if [ "$v" != n/a ] && [ "$v" != failed ]; then
            [ "$best" = n/a ] || ratio=$(ratio_of "$v" "$best")
            [ "$other" = n/a ] || vs=$(ratio_of "$v" "$other")
        fi
        line="$line $(fmt "$best" "$4") | $ratio | $vs |"
    else
        line="$line | | |"
    fi
    echo "$line"
}

ratio_of() { # a b -> a / b, two decimals
    awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print (a == 0 ? "1.00" : "n/a"); else printf "%.2f", a / b}'
}

md_head() { # first-column title
    local p line="| $1 |" sep="|---|"
    for p in $ALL_PROXIES; do line="$line ${LABEL[$p]} |"; sep="$sep---|"; done
    echo "$line best | h2gate / best | h2gate / other |"
    echo "$sep---|---|---|"
}

scen_label() { # "h2c 100B" -> "h2c 100 B"; "tls 64KiB" -> "TLS 64 KiB"
    local l=${1/tls/TLS}
    l=${l/h2up/h2c→h2c upstream}
    l=${l/grpc/gRPC}
    l=${l/100B/100 B}
    echo "${l/64KiB/64 KiB}"
}
per_what() { case $1 in grpc*) echo call ;; *) echo req ;; esac; }

print_report() {
    local s scen l
    {
    echo
    echo "## CPU and memory (median of $REPEAT; CPU = proxy utime+stime per request)"
    echo
    md_head work
    for s in "${SCENARIOS[@]}"; do
        scen=${s%%|*}
        md_row "$(scen_label "$scen"), µs/$(per_what "$scen")" "$scen" cpu 1 low
    done
    if want_rows idle; then
        md_row "idle h2c connection, KiB" "idle h2c conn" rss 2 low
        md_row "h2c connection after one GET, KiB" "h2c conn after GET" rss 2 low
        md_row "idle TLS connection, KiB" "idle tls conn" rss 2 low
    fi
    echo
    echo "## Per row: time split, syscalls per request (perf stat run, split by side from a perf record run), instructions"
    echo
    md_head row
    for s in "${SCENARIOS[@]}"; do
        scen=${s%%|*}; l=$(scen_label "$scen"); w=$(per_what "$scen")
        md_row "$l, $([ "$w" = call ] && echo calls || echo req)/s" "$scen" rps 0 high
        md_row "$l, user µs/$w" "$scen" usr 1 low
        md_row "$l, system µs/$w" "$scen" sys 1 low
        md_row "$l, syscalls/$w client side" "$scen" sc_client 2 low
        md_row "$l, syscalls/$w upstream side" "$scen" sc_upstream 2 low
        md_row "$l, syscalls/$w other" "$scen" sc_other 2 low
        md_row "$l, instructions:u/$w" "$scen" instr 0 low
        md_row "$l, proxy core %" "$scen" util 0 none
        case $scen in grpc*) ;; *) md_row "$l, upstream conns/1k req" "$scen" upconn 1 none ;; esac
        case $scen in h2up*) md_row "$l, upstream conns opened in the warm-up" "$scen" upwarm 0 none ;; esac
        case $scen in h2up* | grpc*) md_row "$l, upstream conns open after a run" "$scen" upopen 0 none ;; esac
    done
    if want_rows idle; then
        md_row "idle h2c, RSS KiB before" "idle h2c conn" rss0 0 none
        md_row "after GET, RSS KiB before" "h2c conn after GET" rss0 0 none
        md_row "idle TLS, RSS KiB before" "idle tls conn" rss0 0 none
    fi
    want_rows scaling && print_scaling
    print_samples
    } | tee "$TMP/table.md"
}

print_scaling() {
    local w1 w2
    w1=$(cell h2gate "workers 1" rps); w2=$(cell h2gate "workers 2" rps)
    echo
    echo "## h2gate scaling (h2c 100 B, req/s, median of $REPEAT)"
    echo
    echo "| workers: 1 (CPU 1) | workers: 2 (CPUs 0+1) | 2 / 1 | cpu µs/req 1 / 2 |"
    echo "|---|---|---|---|"
    echo "| $(fmt "$w1" 0) | $(fmt "$w2" 0) | $(case "$w1$w2" in *n/a*) echo n/a ;;
        *) awk -v a="$w2" -v b="$w1" 'BEGIN {printf "%.2f", a / b}' ;; esac) | $(fmt "$(cell h2gate "workers 1" cpu)" 1) / $(fmt "$(cell h2gate "workers 2" cpu)" 1) |"
    echo
    echo "Caveat: 2 cores in all. With workers: 2 h2gate shares CPU 0 with h2load and"
    echo "nginx, so this says whether a second worker helps here, not how it scales."
}

print_samples() {
    local s scen p k t0 st0 t1 st1
    echo
    echo "samples (each run, in order; the tables show the median; all in $([ "$KEEP" = 1 ] && echo "$TMP/samples.tsv" || echo samples.tsv, removed)):"
    for s in "${SCENARIOS[@]}" "workers 1" "workers 2"; do
        scen=${s%%|*}
        for p in "${PROXIES[@]}"; do
            [ -n "${RES["$p|$scen|rps"]:-}" ] || continue
            printf '  %-10s %-8s req/s: %s\n' "$scen" "$p" "${RES["$p|$scen|rps"]}"
            printf '  %-10s %-8s cpu us/req: %s\n' "$scen" "$p" "${RES["$p|$scen|cpu"]:-none}"
        done
    done
    read -r t0 st0 <<<"$STAT0"
    read -r t1 st1 <<<"$(read_cpu_stat)"
    echo "hypervisor steal during the bench: $(awk -v a=$((st1 - st0)) -v b=$((t1 - t0)) \
        'BEGIN {if (b > 0) printf "%.1f%%", 100 * a / b; else print "?"}') of all CPU time"
    echo "best = lowest (req/s: highest) of the proxies measured; h2gate / best: below 1 is better (req/s: above); h2gate / other: against the best of the other proxies"
    echo "µs/req = proxy utime+stime (all threads and child processes) / successful requests"
    echo "syscalls/req: client = listeners and client connections, upstream = sockets to the row's backend, other = epoll, timers, memory, ..."
    echo "proxy core % = proxy CPU time / h2load wall time; well under 100 means the proxy was not the bottleneck"
    echo "upstream conns/1k req = new connections nginx accepted per 1000 requests (0 = keep-alive pool reused)"
    echo "upstream conns opened in the warm-up = connections nginx accepted during the proxy's warm-up run of the row (the first h2up row: the proxy's first to the h2c nginx)"
    echo "upstream conns open after a run = the proxy's established connections to that row's backend (ss -p) right after h2load ends: 1 = all streams multiplexed on one"
    for k in "${!SKIP[@]}"; do
        echo "${SKIP[$k]%%:*}: ${k%%|*} ${k#*|}: ${SKIP[$k]#*: }"
    done | sort
    for k in "${!NOTE[@]}"; do
        echo "warning: ${k%%|*} ${k#*|}: ${NOTE[$k]}"
    done | sort
}
