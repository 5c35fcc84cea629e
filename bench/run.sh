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
#   BENCH_ROUNDS=3         rounds over all throughput cases; each case keeps its best round
#   BENCH_CONNECTIONS="16 64"   (the targets are checked at the last count)
#   BENCH_STARTUP_RUNS=5   W3 start-ups (the median is reported)
#   BENCH_W4_REQUESTS=1000000
#   BENCH_ONLY="bare w1 w2 w3 w4 w5 journal"   run a subset
#   BENCH_SERVER_CPU=0 BENCH_CLIENT_CPU=1      cores to pin to (needs taskset and 2+ CPUs)
#   BENCH_NO_BUILD=1       use the binaries already in target/release
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-"16 64"}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-5}
W4_REQUESTS=${BENCH_W4_REQUESTS:-1000000}
ONLY=" ${BENCH_ONLY:-bare w1 w2 w3 w4 w5 journal} "
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
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
    # The server on its own first: built together with the examples it would get tokio's
    # dev-dependency features (test-util), which the shipped binary does not have.
    cargo build --release --locked --bin gigya-mock
    cargo build --release --locked --example bare_hyper --example loadgen
fi
for bin in "$MOCK" "$BARE" "$LOADGEN"; do
    [[ -x $bin ]] || { say "missing $bin; run without BENCH_NO_BUILD"; exit 1; }
done

# Pin the servers and the load generator to different cores when we can.
SERVER_PIN=()
CLIENT_PIN=()
PINNING="not pinned"
if command -v taskset >/dev/null 2>&1 && [[ $(nproc 2>/dev/null || echo 1) -ge 2 ]]; then
    SERVER_PIN=(taskset -c "$SERVER_CPU")
    CLIENT_PIN=(taskset -c "$CLIENT_CPU")
    PINNING="server on CPU $SERVER_CPU, load generator on CPU $CLIENT_CPU"
else
    say "note: taskset or a second CPU is missing; servers and load generator share the CPUs"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gigya-mock-bench.XXXXXX")
declare -A PID URL
cleanup() {
    for name in "${!PID[@]}"; do
        kill "${PID[$name]}" 2>/dev/null || true
        wait "${PID[$name]}" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$LOADGEN" scenarios "$WORK/scenarios"
HAS_JOURNAL=""
if "$MOCK" serve --help | grep -q -- "--journal-size"; then HAS_JOURNAL=1; fi
JOURNAL_ARGS=()
if [[ -n $HAS_JOURNAL ]]; then JOURNAL_ARGS=(--journal-size 10000); fi

# start_server NAME COMMAND... : starts a pinned server and waits for its
# `listening on http://…` line; sets PID[NAME] and URL[NAME].
start_server() {
    local name=$1
    shift
    local out="$WORK/$name.out"
    "${SERVER_PIN[@]}" "$@" >"$out" 2>"$WORK/$name.err" &
    PID[$name]=$!
    local line=""
    for _ in $(seq 1 1000); do
        line=$(head -n 1 "$out" 2>/dev/null || true)
        if [[ $line == "listening on http://"* ]]; then
            URL[$name]=${line#listening on }
            return 0
        fi
        kill -0 "${PID[$name]}" 2>/dev/null || break
        sleep 0.01
    done
    say "server $name did not start:"
    cat "$WORK/$name.err" >&2 || true
    stop_server "$name"
    return 1
}

stop_server() {
    if [[ -n ${PID[$1]:-} ]]; then
        kill "${PID[$1]}" 2>/dev/null || true
        wait "${PID[$1]}" 2>/dev/null || true
        unset "PID[$1]"
    fi
}

rss_mb() { # resident memory of server NAME, in MB
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/${PID[$1]}/status" 2>/dev/null || echo "?"
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_ticks() { # CPU time (user + system, in clock ticks) server NAME has used so far
    awk '{ print $14 + $15 }' "/proc/${PID[$1]}/stat" 2>/dev/null || echo 0
}

field() { # field KEY RESULT-LINE
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"
}

pct() { # pct A B → A as a percentage of B
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.0f %%", 100 * a / b; else printf "-" }'
}

ROWS=()
row() { ROWS+=("$(printf '%s\t' "$@")"); }

# ---- throughput: every case is probed, then measured ROUNDS times, interleaved, so that noise
# from other processes hits all cases alike; each case keeps its best round.
CASES=() # "label|server|workload|connections"
declare -A BEST CAP FAIL RSS
add_cases() { # add_cases LABEL SERVER WORKLOAD
    for c in $CONNECTIONS; do CASES+=("$1|$2|$3|$c"); done
}

if wants bare || wants w1 || wants w2 || wants journal; then
    start_server bare "$BARE" --port 0
    add_cases "bare hyper" bare w1
    start_server w1 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w1" "${JOURNAL_ARGS[@]}"
    add_cases "W1 one stub" w1 w1
fi
if wants w2; then
    start_server w2 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w2" "${JOURNAL_ARGS[@]}"
    add_cases "W2 1k stubs, one UID" w2 w2-one
    add_cases "W2 1k stubs, UID mix" w2 w2-mix
fi
if wants journal && [[ -n $HAS_JOURNAL ]]; then
    start_server w1off "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w1" --journal-size 0
    CASES+=("W1 journal off|w1off|w1|$TARGET_CONNS")
fi
W5_SKIPPED=""
if wants w5; then
    start_server w5 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w5" "${JOURNAL_ARGS[@]}"
    add_cases "W5 emulator set+get" w5 w5
fi

for case in "${CASES[@]}"; do
    IFS='|' read -r label server workload conns <<<"$case"
    status=0
    "${CLIENT_PIN[@]}" "$LOADGEN" probe --url "${URL[$server]}" --workload "$workload" \
        2>"$WORK/probe.err" || status=$?
    if [[ $status -eq 3 && $server == w5 ]]; then
        W5_SKIPPED=1
        FAIL[$case]="skip"
    elif [[ $status -ne 0 ]]; then
        FAIL[$case]=$(tr '\n' ' ' <"$WORK/probe.err" | head -c 200)
        say "   $label: probe failed: ${FAIL[$case]}"
    fi
done

total=${#CASES[@]}
for round in $(seq 1 "$ROUNDS"); do
    say "== throughput round $round of $ROUNDS ($total cases, ${WARMUP}s warm-up + ${DURATION}s each)"
    for case in "${CASES[@]}"; do
        [[ -n ${FAIL[$case]:-} ]] && continue
        IFS='|' read -r label server workload conns <<<"$case"
        before=$(cpu_ticks "$server")
        if result=$("${CLIENT_PIN[@]}" "$LOADGEN" run --url "${URL[$server]}" --workload "$workload" \
            -c "$conns" -d "$DURATION" -w "$WARMUP" 2>"$WORK/run.err"); then
            used=$(($(cpu_ticks "$server") - before))
            rps=$(field rps "$result")
            # Answers per second of the server's own CPU time: what one dedicated core would
            # sustain, whatever else ran on the machine meanwhile.
            cap=$(awk -v n="$(field answered "$result")" -v t="$used" -v hz="$CLK_TCK" \
                'BEGIN { if (t > 0) printf "%.0f", n * hz / t; else print 0 }')
            say "   $label, $conns connections: $rps req/s, $cap per CPU-second"
            best=$(field rps "${BEST[$case]:-}")
            if awk -v a="$rps" -v b="${best:-0}" 'BEGIN { exit !(a > b) }'; then
                BEST[$case]=$result
            fi
            if awk -v a="$cap" -v b="${CAP[$case]:-0}" 'BEGIN { exit !(a > b) }'; then
                CAP[$case]=$cap
            fi
        else
            FAIL[$case]=$(tr '\n' ' ' <"$WORK/run.err" | head -c 200)
            say "   $label: run failed: ${FAIL[$case]}"
        fi
    done
done
for case in "${CASES[@]}"; do
    IFS='|' read -r label server workload conns <<<"$case"
    RSS[$server]=$(rss_mb "$server")
done
for name in bare w1 w2 w1off w5; do stop_server "$name"; done

best_cap() { echo "${CAP[$1|$2|$3|$4]:-0}"; }

for case in "${CASES[@]}"; do
    IFS='|' read -r label server workload conns <<<"$case"
    if [[ ${FAIL[$case]:-} == skip ]]; then
        continue
    elif [[ -n ${FAIL[$case]:-} ]]; then
        row "$label" "$conns" "FAILED" "-" "-" "-" "-" "-" "${FAIL[$case]:0:70}"
        continue
    fi
    result=${BEST[$case]}
    rps=${CAP[$case]:-0}
    p99=$(field p99_ms "$result")
    bare=$(best_cap "bare hyper" bare w1 "$conns")
    w1=$(best_cap "W1 one stub" w1 w1 "$conns")
    note="-"
    case $server in
        bare) note="ceiling" ;;
        w1)
            if [[ $conns == "$TARGET_CONNS" ]]; then
                note=$(awk -v r="$rps" -v b="${bare:-0}" -v p="$p99" 'BEGIN {
                    printf "≥80 %% of bare: %s; p99 < 2 ms: %s",
                        (b > 0 && r >= 0.8 * b) ? "met" : "MISSED", (p < 2) ? "met" : "MISSED" }')
            fi
            ;;
        w2)
            note=$(awk -v r="$rps" -v w="${w1:-0}" 'BEGIN { if (w == 0) { print "-"; exit }
                d = 100 * (r - w) / w
                printf "%+.1f %% vs W1 (within 10 %%: %s)", d, (d >= -10) ? "met" : "MISSED" }')
            ;;
        w1off)
            w1=$(best_cap "W1 one stub" w1 w1 "$TARGET_CONNS")
            note=$(awk -v on="${w1:-0}" -v off="$rps" 'BEGIN { if (off == 0 || on == 0) { print "-"; exit }
                c = 100 * (off - on) / off
                printf "journal on costs %.1f %% (< 15 %%: %s)", c, (c < 15) ? "met" : "MISSED" }')
            ;;
        w5) note="signed calls, 1k accounts" ;;
    esac
    row "$label" "$conns" "$(field rps "$result")" "$rps" "$(pct "$rps" "$bare")" \
        "$(field p50_ms "$result")" "$p99" "${RSS[$server]}" "$note"
done
if wants journal && [[ -z $HAS_JOURNAL ]]; then
    row "W1 journal off" "-" "skipped" "-" "-" "-" "-" "-" "needs the journal (--journal-size)"
fi
if [[ -n $W5_SKIPPED ]]; then
    row "W5 emulator set+get" "-" "skipped" "-" "-" "-" "-" "-" "needs the emulator (no stub matched)"
fi

# ---- W3: start-up with 10,000 stubs.
if wants w3; then
    say "== W3: start-up with 10,000 stubs ($STARTUP_RUNS runs)"
    if result=$("${CLIENT_PIN[@]}" "$LOADGEN" startup --workload w3 --runs "$STARTUP_RUNS" -- \
        "${SERVER_PIN[@]}" "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w3" 2>"$WORK/startup.err"); then
        ms=$(field first_answer_ms "$result")
        rss=$(awk -v k="$(field rss_kib "$result")" 'BEGIN { printf "%.1f", k / 1024 }')
        note=$(awk -v t="$ms" -v r="$rss" 'BEGIN {
            printf "first answer %.0f ms (< 200: %s); RSS < 50 MB: %s", t,
                (t < 200) ? "met" : "MISSED", (r < 50) ? "met" : "MISSED" }')
        row "W3 start-up, 10k stubs" "1" "-" "-" "-" "-" "-" "$rss" "$note"
    else
        row "W3 start-up, 10k stubs" "1" "FAILED" "-" "-" "-" "-" "-" "$(tr '\n' ' ' <"$WORK/startup.err" | head -c 70)"
    fi
fi

# ---- W4: memory over a million requests with the journal on.
if wants w4; then
    if [[ -n $HAS_JOURNAL ]]; then
        say "== W4: memory over $W4_REQUESTS requests, journal on"
        start_server w4 "$MOCK" serve --port 0 --scenarios "$WORK/scenarios/w2" --journal-size 10000
        first=$((W4_REQUESTS / 10))
        start_rss=$(rss_mb w4)
        if "${CLIENT_PIN[@]}" "$LOADGEN" probe --url "${URL[w4]}" --workload w2-mix 2>"$WORK/run.err" &&
            "${CLIENT_PIN[@]}" "$LOADGEN" run --url "${URL[w4]}" --workload w2-mix \
                -c "$TARGET_CONNS" --requests "$first" >/dev/null 2>"$WORK/run.err"; then
            rss1=$(rss_mb w4)
            if result=$("${CLIENT_PIN[@]}" "$LOADGEN" run --url "${URL[w4]}" --workload w2-mix \
                -c "$TARGET_CONNS" --requests $((W4_REQUESTS - first)) 2>"$WORK/run.err"); then
                rss2=$(rss_mb w4)
                note=$(awk -v a="$rss1" -v b="$rss2" -v s="$start_rss" -v n="$first" 'BEGIN {
                    g = 100 * (b - a) / a
                    printf "RSS %s → %s (%dk req) → %s MB: %+.1f %% (< 10 %%: %s)",
                        s, a, n / 1000, b, g, (g < 10) ? "met" : "MISSED" }')
                row "W4 ${W4_REQUESTS} req, journal" "$TARGET_CONNS" "$(field rps "$result")" "-" "-" \
                    "$(field p50_ms "$result")" "$(field p99_ms "$result")" "$rss2" "$note"
            else
                row "W4 journal memory" "$TARGET_CONNS" "FAILED" "-" "-" "-" "-" "-" "$(tr '\n' ' ' <"$WORK/run.err" | head -c 70)"
            fi
        else
            row "W4 journal memory" "$TARGET_CONNS" "FAILED" "-" "-" "-" "-" "-" "$(tr '\n' ' ' <"$WORK/run.err" | head -c 70)"
        fi
        stop_server w4
    else
        row "W4 journal memory" "-" "skipped" "-" "-" "-" "-" "-" "needs the journal (--journal-size)"
    fi
fi

# ---- the table.
{
    printf 'workload\tconns\treq/s\treq/CPU-s\tof bare\tp50 ms\tp99 ms\tRSS MB\ttarget\n'
    for r in "${ROWS[@]}"; do printf '%s\n' "$r"; done
} | if command -v column >/dev/null 2>&1; then column -t -s $'\t'; else cat; fi
echo
echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || uname -m));" \
    "$PINNING; best of $ROUNDS rounds of ${DURATION}s after ${WARMUP}s warm-up."
echo "req/s: answers per wall-clock second. req/CPU-s: answers per second of the server's own CPU" \
    "time (what a dedicated core sustains); \"of bare\" and the W2/journal comparisons use it."
echo "Every counted answer was checked against the stub or account that must give it."
if printf '%s\n' "${ROWS[@]}" | grep -q FAILED; then
    exit 1
fi
