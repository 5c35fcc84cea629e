#!/usr/bin/env bash
# gigya-mock's benchmark suite: builds in release mode, generates the scenarios, runs every
# workload against gigya-mock and against a bare hyper server (the ceiling), checks every answer,
# and prints one table. See docs/performance.md.
#
#   bench/run.sh
#
# Settings (environment variables):
#   BENCH_DURATION=5       measured seconds per throughput run
#   BENCH_WARMUP=1         warm-up seconds before each measured run
#   BENCH_CONNECTIONS="16 64"
#   BENCH_STARTUP_RUNS=5   W3 start-ups (the median is reported)
#   BENCH_W4_REQUESTS=1000000
#   BENCH_ONLY="bare w1 w2 w3 w4 w5 journal"   run a subset
#   BENCH_SERVER_CPU=0 BENCH_CLIENT_CPU=1      cores to pin to (needs taskset and 2+ CPUs)
#   BENCH_NO_BUILD=1       use the binaries already in target/release
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-"16 64"}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-5}
W4_REQUESTS=${BENCH_W4_REQUESTS:-1000000}
ONLY=" ${BENCH_ONLY:-bare w1 w2 w3 w4 w5 journal} "
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
# The connection count the targets are stated for.
TARGET_CONNS=64
for c in $CONNECTIONS; do TARGET_CONNS=$c; done

TARGET_DIR=${CARGO_TARGET_DIR:-target}
MOCK="$TARGET_DIR/release/gigya-mock"
BARE="$TARGET_DIR/release/examples/bare_hyper"
LOADGEN="$TARGET_DIR/release/examples/loadgen"

say() { printf '%s\n' "$*" >&2; }
wants() { [[ $ONLY == *" $1 "* ]]; }

if [[ -z ${BENCH_NO_BUILD:-} ]]; then
    say "== building (release)"
    # The server on its own first: building it together with the examples would compile it
    # with the dev-dependency features of tokio (test-util), which the shipped binary lacks.
    cargo build --release --locked --bin gigya-mock
    cargo build --release --locked --example bare_hyper --example loadgen
fi
for bin in "$MOCK" "$BARE" "$LOADGEN"; do
    [[ -x $bin ]] || { say "missing $bin; run without BENCH_NO_BUILD"; exit 1; }
done

# Pin the server and the load generator to different cores when we can.
SERVER_PIN=()
CLIENT_PIN=()
PINNING="not pinned"
if command -v taskset >/dev/null 2>&1 && [[ $(nproc 2>/dev/null || echo 1) -ge 2 ]]; then
    SERVER_PIN=(taskset -c "$SERVER_CPU")
    CLIENT_PIN=(taskset -c "$CLIENT_CPU")
    PINNING="server on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU"
else
    say "note: taskset or a second CPU is missing; server and load generator share the CPUs"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gigya-mock-bench.XXXXXX")
SERVER_PID=""
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$LOADGEN" scenarios "$WORK/scenarios"
SERVE_HELP=$("$MOCK" serve --help)
HAS_JOURNAL=""
if grep -q -- "--journal-size" <<<"$SERVE_HELP"; then HAS_JOURNAL=1; fi

# start_server NAME COMMAND... : starts a server pinned to the server core, waits for its
# `listening on http://…` line, sets SERVER_PID and SERVER_URL.
start_server() {
    local name=$1
    shift
    local out="$WORK/$name.out"
    "${SERVER_PIN[@]}" "$@" >"$out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    local line=""
    for _ in $(seq 1 1000); do
        line=$(head -n 1 "$out" 2>/dev/null || true)
        if [[ $line == "listening on http://"* ]]; then
            SERVER_URL=${line#listening on }
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.01
    done
    say "server $name did not start:"
    cat "$WORK/$name.err" >&2 || true
    stop_server
    return 1
}

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

rss_mb() { # the server's resident memory in MB
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?"
}

field() { # field KEY RESULT-LINE
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}

pct() { # pct A B → A/B in percent
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else printf "-" }'
}

# The table: workload, connections, req/s, share of bare hyper, p50, p99, RSS, target check.
ROWS=()
row() { ROWS+=("$(printf '%s\t' "$@")"); }
declare -A BARE_RPS W1_RPS

# measure NAME WORKLOAD CONNECTIONS → sets RESULT (the loadgen's result line) or returns 1.
measure() {
    local name=$1 workload=$2 conns=$3
    local status=0
    "${CLIENT_PIN[@]}" "$LOADGEN" probe --url "$SERVER_URL" --workload "$workload" \
        2>"$WORK/probe.err" || status=$?
    if [[ $status -ne 0 ]]; then
        PROBE_STATUS=$status
        PROBE_ERROR=$(head -c 300 "$WORK/probe.err")
        say "   $name: probe failed: $PROBE_ERROR"
        return 1
    fi
    say "   $name: $conns connections, ${WARMUP}s warm-up + ${DURATION}s"
    if ! RESULT=$("${CLIENT_PIN[@]}" "$LOADGEN" run --url "$SERVER_URL" --workload "$workload" \
        -c "$conns" -d "$DURATION" -w "$WARMUP" 2>"$WORK/run.err"); then
        PROBE_STATUS=1
        PROBE_ERROR=$(head -c 300 "$WORK/run.err")
        say "   $name: run failed: $PROBE_ERROR"
        return 1
    fi
}

throughput_row() { # throughput_row LABEL CONNS BASELINE-RPS TARGET-NOTE
    local label=$1 conns=$2 base=$3 note=$4
    local rps
    rps=$(field rps "$RESULT")
    row "$label" "$conns" "$rps" "$(pct "$rps" "$base")" "$(field p50_ms "$RESULT")" \
        "$(field p99_ms "$RESULT")" "$(rss_mb)" "$note"
}

failed_row() { row "$1" "$2" "FAILED" "-" "-" "-" "-" "${PROBE_ERROR:0:60}"; }

say "== scenarios in $WORK/scenarios; $PINNING"

if wants bare || wants w1 || wants w2 || wants journal; then
    say "== bare hyper (ceiling)"
    start_server bare "$BARE" --port 0
    for c in $CONNECTIONS; do
        if measure bare w1 "$c"; then
            BARE_RPS[$c]=$(field rps "$RESULT")
            throughput_row "bare hyper" "$c" "${BARE_RPS[$c]}" "ceiling"
        else
            failed_row "bare hyper" "$c"
        fi
    done
    stop_server
fi

journal_args=()
if [[ -n $HAS_JOURNAL ]]; then journal_args=(--journal-size 10000); fi

if wants w1 || wants w2 || wants journal; then
    say "== W1: one stub"
    start_server w1 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w1" "${journal_args[@]}"
    for c in $CONNECTIONS; do
        if measure W1 w1 "$c"; then
            W1_RPS[$c]=$(field rps "$RESULT")
            note="vs bare"
            if [[ $c == "$TARGET_CONNS" ]]; then
                note=$(awk -v r="${W1_RPS[$c]}" -v b="${BARE_RPS[$c]:-0}" -v p="$(field p99_ms "$RESULT")" \
                    'BEGIN { ok = (b > 0 && r >= 0.8 * b && p < 2); printf "≥80 %% of bare, p99<2ms: %s", ok ? "met" : "MISSED" }')
            fi
            throughput_row "W1 one stub" "$c" "${BARE_RPS[$c]:-0}" "$note"
        else
            failed_row "W1 one stub" "$c"
        fi
    done
    stop_server
fi

if wants w2; then
    say "== W2: 1,000 UID stubs"
    start_server w2 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w2" "${journal_args[@]}"
    for kind in w2-one w2-mix; do
        label="W2 1k stubs, one UID"
        [[ $kind == w2-mix ]] && label="W2 1k stubs, UID mix"
        for c in $CONNECTIONS; do
            if measure "$label" "$kind" "$c"; then
                rps=$(field rps "$RESULT")
                note=$(awk -v r="$rps" -v w="${W1_RPS[$c]:-0}" \
                    'BEGIN { if (w == 0) { print "-"; exit } d = 100 * (r - w) / w;
                             printf "%+.1f %% vs W1 (within 10 %%: %s)", d, (d >= -10) ? "met" : "MISSED" }')
                throughput_row "$label" "$c" "${BARE_RPS[$c]:-0}" "$note"
            else
                failed_row "$label" "$c"
            fi
        done
    done
    stop_server
fi

if wants journal; then
    if [[ -n $HAS_JOURNAL ]]; then
        say "== journal off (W1 at $TARGET_CONNS connections)"
        start_server w1-nojournal "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w1" --journal-size 0
        if measure "W1 journal off" w1 "$TARGET_CONNS"; then
            rps=$(field rps "$RESULT")
            note=$(awk -v on="${W1_RPS[$TARGET_CONNS]:-0}" -v off="$rps" \
                'BEGIN { if (off == 0) { print "-"; exit } c = 100 * (off - on) / off;
                         printf "journal on costs %.1f %% (<15 %%: %s)", c, (c < 15) ? "met" : "MISSED" }')
            throughput_row "W1 journal off" "$TARGET_CONNS" "${BARE_RPS[$TARGET_CONNS]:-0}" "$note"
        else
            failed_row "W1 journal off" "$TARGET_CONNS"
        fi
        stop_server
    else
        row "W1 journal off" "-" "skipped" "-" "-" "-" "-" "needs the journal (--journal-size)"
    fi
fi

if wants w3; then
    say "== W3: start-up with 10,000 stubs ($STARTUP_RUNS runs)"
    if RESULT=$("${CLIENT_PIN[@]}" "$LOADGEN" startup --workload w3 --runs "$STARTUP_RUNS" -- \
        "${SERVER_PIN[@]}" "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w3" 2>"$WORK/startup.err"); then
        ms=$(field first_answer_ms "$RESULT")
        rss=$(awk -v k="$(field rss_kib "$RESULT")" 'BEGIN { printf "%.1f", k / 1024 }')
        note=$(awk -v t="$ms" -v r="$rss" \
            'BEGIN { printf "first answer %.0f ms (<200: %s), RSS <50 MB: %s", t,
                     (t < 200) ? "met" : "MISSED", (r < 50) ? "met" : "MISSED" }')
        row "W3 start-up, 10k stubs" "1" "-" "-" "-" "-" "$rss" "$note"
    else
        PROBE_ERROR=$(head -c 300 "$WORK/startup.err")
        say "   W3 failed: $PROBE_ERROR"
        failed_row "W3 start-up, 10k stubs" "1"
    fi
fi

if wants w4; then
    if [[ -n $HAS_JOURNAL ]]; then
        say "== W4: memory over $W4_REQUESTS requests, journal on"
        start_server w4 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w2" --journal-size 10000
        first=$((W4_REQUESTS / 10))
        start_rss=$(rss_mb)
        if "${CLIENT_PIN[@]}" "$LOADGEN" probe --url "$SERVER_URL" --workload w2-mix 2>"$WORK/probe.err" &&
            RESULT=$("${CLIENT_PIN[@]}" "$LOADGEN" run --url "$SERVER_URL" --workload w2-mix \
                -c "$TARGET_CONNS" --requests "$first" 2>"$WORK/run.err"); then
            rss1=$(rss_mb)
            if RESULT=$("${CLIENT_PIN[@]}" "$LOADGEN" run --url "$SERVER_URL" --workload w2-mix \
                -c "$TARGET_CONNS" --requests $((W4_REQUESTS - first)) 2>"$WORK/run.err"); then
                rss2=$(rss_mb)
                note=$(awk -v a="$rss1" -v b="$rss2" -v s="$start_rss" -v n="$first" \
                    'BEGIN { g = 100 * (b - a) / a;
                             printf "RSS %s → %s MB (after %d) → %s MB: %+.1f %% (<10 %%: %s)",
                                    s, a, n, b, g, (g < 10) ? "met" : "MISSED" }')
                throughput_row "W4 ${W4_REQUESTS} req, journal" "$TARGET_CONNS" "${BARE_RPS[$TARGET_CONNS]:-0}" "$note"
            else
                PROBE_ERROR=$(head -c 300 "$WORK/run.err")
                failed_row "W4 journal memory" "$TARGET_CONNS"
            fi
        else
            PROBE_ERROR=$(cat "$WORK/probe.err" "$WORK/run.err" 2>/dev/null | head -c 300)
            failed_row "W4 journal memory" "$TARGET_CONNS"
        fi
        stop_server
    else
        row "W4 journal memory" "-" "skipped" "-" "-" "-" "-" "needs the journal (--journal-size)"
    fi
fi

if wants w5; then
    say "== W5: emulator, signed calls on 1,000 accounts"
    start_server w5 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w5" "${journal_args[@]}"
    for c in $CONNECTIONS; do
        PROBE_STATUS=0
        if measure "W5 emulator" w5 "$c"; then
            throughput_row "W5 emulator set+get" "$c" "${BARE_RPS[$c]:-0}" "signed, 1k accounts"
        elif [[ $PROBE_STATUS -eq 3 ]]; then
            row "W5 emulator set+get" "-" "skipped" "-" "-" "-" "-" "needs the emulator (no stub matched)"
            break
        else
            failed_row "W5 emulator set+get" "$c"
        fi
    done
    stop_server
fi

# The table.
{
    printf 'workload\tconns\treq/s\tof bare\tp50 ms\tp99 ms\tRSS MB\ttarget\n'
    for r in "${ROWS[@]}"; do printf '%s\n' "$r"; done
} | if command -v column >/dev/null 2>&1; then column -t -s $'\t'; else cat; fi
say ""
say "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)); $PINNING;" \
    "${DURATION}s runs after ${WARMUP}s warm-up; every counted answer was checked"
if printf '%s\n' "${ROWS[@]}" | grep -q FAILED; then
    exit 1
fi
