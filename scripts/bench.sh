#!/usr/bin/env bash
# The benchmark of the README: the release otpd and a bare axum endpoint that parses the same
# bodies (examples/bare_endpoint.rs), driven by the same external load generator (wrk) in
# one alternating run: bare, otpd, bare, otpd… so that drift on the machine hits both.
#
#   scripts/bench.sh                      # builds, runs everything, prints the tables
#   BENCH_SECONDS=3 BENCH_ROUNDS=1 scripts/bench.sh          # a quick check
#   BENCH_ONLY=otp/generate scripts/bench.sh                 # one scenario
#
# For each durability mode (flush-each, periodic) a fresh otpd on a temporary data directory
# (client rate limit off; DEMO with no resend cooldown and the highest daily limit), then for
# each scenario, at 32 connections and at 1, BENCH_ROUNDS rounds of one wrk run against the
# bare endpoint and one against otpd, BENCH_SECONDS each:
#   token/generate   a new customer per request;
#   otp/generate     BENCH_SESSIONS customers' sessions, opened beforehand, resent in turn;
#   otp/validate     real codes: sessions opened and codes issued beforehand, each code read
#                    from the DEMO brand's LOG channel in the server log and sent once (a run
#                    may end early when its codes are used up; its rate counts the time it ran);
#   email            otp/generate for e-mail customers while DEMO's EMAIL channel sends over
#                    SMTP to a local sink (examples/smtp_sink.rs); acknowledged req/s during
#                    the load, delivered mails/s from the start of the load to the last mail.
# Between runs it waits until otpd's outbox has delivered every code (so a run never pays for
# the previous one's deliveries); during each otpd run it samples the outbox's backlog
# (otpd_outbox_jobs, four times a second), reported as "most jobs queued".
#
# Needs wrk (Debian: apt-get install wrk), python3, curl and a Rust toolchain.
# Settings (environment):
#   BENCH_SECONDS          seconds per wrk run (default 10)
#   BENCH_ROUNDS           alternations per scenario and connection count (default 2)
#   BENCH_ONLY             run only the scenarios whose name contains this (token/generate,
#                          otp/generate, otp/validate, email)
#   BENCH_MODES            durability modes (default "flush-each periodic"); "postgres:MODE"
#                          runs otpd on PostgreSQL (a throwaway cluster from Debian's
#                          postgresql, fsync on, a fresh database per mode) instead of the
#                          embedded store, e.g. "flush-each postgres:flush-each"
#   BENCH_CONNECTIONS      connection counts (default "32 1")
#   BENCH_SESSIONS         customers for otp/generate and email (default 4000)
#   BENCH_VALIDATE_PAIRS   codes per otp/validate run (default: from the token/generate rate)
#   BENCH_DELIVERY_WORKERS otpd's deliveryWorkers (default: otpd's, 16)
#   BENCH_NO_BUILD=1       use the binaries already built
#   BENCH_KEEP=1           keep the work directory (otpd's data and logs, the wrk inputs)
#   BENCH_WORK_DIR         where the work directory goes (default target/bench; keep it off tmpfs)
# Writes the report to $CARGO_TARGET_DIR/bench/report.md (default target/bench/report.md) and
# every run's numbers, latency histograms included, to results.jsonl beside it; a copy of
# each, named by the time of the run (report-YYYYMMDD-HHMMSS.md), stays when the next run
# replaces them.

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
ONLY=${BENCH_ONLY:-}
MODES=${BENCH_MODES:-flush-each periodic}
CONNECTIONS=${BENCH_CONNECTIONS:-32 1}
SESSIONS=${BENCH_SESSIONS:-4000}
LUA=$ROOT/scripts/bench/otp.lua
PREPARE=(python3 "$ROOT/scripts/bench/prepare.py")
REPORT=(python3 "$ROOT/scripts/bench/report.py")

for tool in wrk python3 curl; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool is needed (Debian: apt-get install $tool)" >&2
        exit 1
    }
done

if [[ ${BENCH_NO_BUILD:-} != 1 ]]; then
    # build.rs builds the console with npm unless told to embed ui/build as it is.
    if [[ -f ui/build/index.html ]]; then export OTPD_CONSOLE_PREBUILT=1; fi
    echo "== building (release)" >&2
    cargo build --release --bin otpd --example bare_endpoint --example smtp_sink >&2
fi
OTPD=$TARGET/release/otpd
BARE=$TARGET/release/examples/bare_endpoint
SINK=$TARGET/release/examples/smtp_sink
for bin in "$OTPD" "$BARE" "$SINK"; do
    [[ -x $bin ]] || { echo "bench.sh: $bin is missing (run without BENCH_NO_BUILD)" >&2; exit 1; }
done

# The data directories live here too: on the project's disk, not a tmpfs /tmp (where an
# fsync costs nothing and flush-each would look free).
mkdir -p "$TARGET/bench"
WORK=$(mktemp -d "${BENCH_WORK_DIR:-$TARGET/bench}/run.XXXXXX")
RESULTS=$WORK/results.jsonl
: >"$RESULTS"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ -d $WORK/pg ]]; then
        "$ROOT/scripts/pg-cluster.sh" stop "$WORK/pg" || true
    fi
    if [[ ${BENCH_KEEP:-} == 1 ]]; then
        echo "bench.sh: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $(date +%T) $*" >&2; }

# wait_for FILE REGEX: prints the first match of REGEX in FILE, waiting up to 30 s for it.
wait_for() {
    local i match
    for ((i = 0; i < 300; i++)); do
        if match=$(grep -m1 -oE "$2" "$1" 2>/dev/null); then
            echo "$match"
            return 0
        fi
        sleep 0.1
    done
    echo "bench.sh: no '$2' in $1 after 30 s:" >&2
    tail -20 "$1" >&2
    exit 1
}

wanted() { [[ -z $ONLY || $1 == *"$ONLY"* ]]; }

nproc_=$(nproc)

# wrk_run URL KIND DATA ONCE CONNECTIONS LABEL: one wrk run, its result appended to RESULTS.
TAG=0
wrk_run() {
    local url=$1 kind=$2 data=$3 once=$4 conns=$5 label=$6
    TAG=$((TAG + 1))
    # One thread per connection: otp.lua then times each request exactly (see there).
    BENCH_KIND=$kind BENCH_DATA=$data BENCH_ONCE=$once BENCH_THREADS=$conns \
        BENCH_WRK_CONNECTIONS=$conns BENCH_TAG=$TAG BENCH_OUT=$RESULTS BENCH_LABEL="$label" \
        wrk -t"$conns" -c"$conns" -d"${SECS}s" --timeout 10s -s "$LUA" "$url" \
        >"$WORK/wrk.out" 2>&1 || { cat "$WORK/wrk.out" >&2; exit 1; }
    grep -E 'req/s' "$WORK/wrk.out" >&2 || { cat "$WORK/wrk.out" >&2; exit 1; }
}

# The bare endpoint and the SMTP sink live for the whole run.
"$BARE" 127.0.0.1:0 >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
BARE_URL=$(wait_for "$WORK/bare.log" 'http://[0-9.:]+')
SINK_STATS=$WORK/smtp-sink.stats
"$SINK" 127.0.0.1:0 "$SINK_STATS" >"$WORK/smtp-sink.log" 2>&1 &
PIDS+=($!)
SINK_ADDR=$(wait_for "$WORK/smtp-sink.log" '127\.0\.0\.1:[0-9]+')
SINK_PORT=${SINK_ADDR##*:}
log "bare endpoint $BARE_URL, SMTP sink $SINK_ADDR, work directory $WORK"

# pg_up: the run's PostgreSQL cluster, started on first use (sets PG_BASE; not in a subshell).
PG_BASE=
pg_up() {
    if [[ -z $PG_BASE ]]; then
        chmod 755 "$WORK" # the cluster runs as the postgres user
        PG_BASE=$(PG_DURABLE=1 "$ROOT/scripts/pg-cluster.sh" start "$WORK/pg")
        log "PostgreSQL at $PG_BASE (fsync on)"
    fi
}

# pg_database NAME: a new database on the run's cluster; prints its URL.
pg_database() {
    psql "$PG_BASE" -qc "CREATE DATABASE $1" >&2
    echo "${PG_BASE%/*}/$1?sslmode=disable"
}

# start_otpd MODE: a fresh otpd on a new data directory (and, for postgres:DURABILITY, a new
# database); sets DATA, OTPD_LOG, PUBLIC, ADMIN, OTPD_PID.
start_otpd() {
    local mode=$1 durability=${1#postgres:}
    DATA=$WORK/data-${mode/:/-}
    OTPD_LOG=$WORK/otpd-${mode/:/-}.log
    mkdir -p "$DATA"
    local env=(OTPD_DURABILITY="$durability" OTPD_CLIENT_RATE_LIMIT_PER_MINUTE=0)
    if [[ $mode == postgres:* ]]; then
        pg_up
        env+=(OTPD_STORE_URL="$(pg_database "bench_${durability/-/_}")")
    fi
    if [[ -n ${BENCH_DELIVERY_WORKERS:-} ]]; then
        env+=(OTPD_DELIVERY_WORKERS="$BENCH_DELIVERY_WORKERS")
    fi
    env "${env[@]}" "$OTPD" --data-dir "$DATA" serve \
        --public-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$OTPD_LOG" 2>&1 &
    OTPD_PID=$!
    PIDS+=("$OTPD_PID")
    PUBLIC=$(wait_for "$OTPD_LOG" 'public API on http://[0-9.:]+' | sed 's/^public API on //')
    ADMIN=$(cat "$DATA/admin.url")
    # DEMO: no resend cooldown, the highest daily limit, sessions and codes that outlive a run.
    "$OTPD" --data-dir "$DATA" brand set DEMO dailyOtpLimit=100000 resendCooldownSeconds=0 \
        sessionTtlSeconds=3600 otpTtlSeconds=1800 >/dev/null
    "$OTPD" --data-dir "$DATA" channel set DEMO EMAIL provider=smtp host=127.0.0.1 \
        port="$SINK_PORT" tls=none from=otp@bench.test >/dev/null
}

stop_otpd() {
    kill "$OTPD_PID" 2>/dev/null || true
    wait "$OTPD_PID" 2>/dev/null || true
}

wait_idle() { "${PREPARE[@]}" wait-idle "$ADMIN" 600 >/dev/null; }

label() { # MODE SCENARIO TARGET CONNECTIONS ROUND
    printf '"kind":"wrk","mode":"%s","scenario":"%s","target":"%s","connections":%d,"round":%d' "$@"
}

# alternate MODE SCENARIO KIND CONNECTIONS DATA_FOR_ROUND...: the bare/otpd rounds of one row.
alternate() {
    local mode=$1 scenario=$2 kind=$3 conns=$4 round data once
    shift 4
    for ((round = 1; round <= ROUNDS; round++)); do
        data=${1:-}
        [[ $# -gt 0 ]] && shift
        log "$scenario, $mode, $conns connections, round $round/$ROUNDS: bare"
        wrk_run "$BARE_URL" "$kind" "$data" 0 "$conns" "$(label "$mode" "$scenario" bare "$conns" "$round")"
        log "$scenario, $mode, $conns connections, round $round/$ROUNDS: otpd"
        once=0
        [[ $kind == validate ]] && once=1
        # The outbox's backlog during the load: a rate counts only while delivery keeps pace.
        "${PREPARE[@]}" backlog "$ADMIN" "$SECS" >"$WORK/backlog" &
        sampler=$!
        wrk_run "$PUBLIC" "$kind" "$data" "$once" "$conns" "$(label "$mode" "$scenario" otpd "$conns" "$round")"
        wait "$sampler"
        printf '{"kind":"backlog","mode":"%s","scenario":"%s","connections":%d,"round":%d,"most_jobs":%d}\n' \
            "$mode" "$scenario" "$conns" "$round" "$(cat "$WORK/backlog")" >>"$RESULTS"
        wait_idle
    done
}

for mode in $MODES; do
    log "otpd, durability $mode"
    start_otpd "$mode"

    if wanted token/generate; then
        for conns in $CONNECTIONS; do
            alternate "$mode" token/generate token "$conns"
        done
    fi

    if wanted otp/generate; then
        log "opening $SESSIONS sessions"
        "${PREPARE[@]}" sessions "$PUBLIC" MOBILE 92 "$SESSIONS" "$WORK/generate-$mode.txt"
        wait_idle
        for conns in $CONNECTIONS; do
            rounds=()
            for ((r = 1; r <= ROUNDS; r++)); do rounds+=("$WORK/generate-$mode.txt"); done
            alternate "$mode" otp/generate generate "$conns" "${rounds[@]}"
        done
    fi

    if wanted otp/validate; then
        # Codes per run: enough for BENCH_SECONDS at token/generate's rate (validate does a
        # little more work, so a run should not run out), unless BENCH_VALIDATE_PAIRS says.
        prefix=10
        for conns in $CONNECTIONS; do
            pairs=${BENCH_VALIDATE_PAIRS:-}
            if [[ -z $pairs ]]; then
                rate=$("${REPORT[@]}" rate "$RESULTS" "$mode" token/generate "$conns" otpd)
                ((rate > 0)) || rate=$((conns > 1 ? 8000 : 1500))
                pairs=$((rate * SECS))
                ((pairs >= 500)) || pairs=500
            fi
            files=()
            for ((r = 1; r <= ROUNDS; r++)); do
                prefix=$((prefix + 1))
                log "otp/validate, $conns connections, round $r: opening $pairs sessions and issuing their codes"
                "${PREPARE[@]}" sessions "$PUBLIC" MOBILE "$prefix" "$pairs" \
                    "$WORK/validate-$mode-$conns-$r.sessions" --generate
                files+=("$WORK/validate-$mode-$conns-$r.txt")
            done
            wait_idle
            for ((r = 1; r <= ROUNDS; r++)); do
                "${PREPARE[@]}" codes "$OTPD_LOG" "$WORK/validate-$mode-$conns-$r.sessions" "${files[r - 1]}"
            done
            alternate "$mode" otp/validate validate "$conns" "${files[@]}"
        done
    fi

    if wanted email || wanted e-mail; then
        log "opening $SESSIONS sessions of e-mail customers"
        "${PREPARE[@]}" sessions "$PUBLIC" EMAIL 7 "$SESSIONS" "$WORK/email-$mode.txt"
        wait_idle
        conns=$(echo "$CONNECTIONS" | awk '{print $1}')
        for ((round = 1; round <= ROUNDS; round++)); do
            log "email, $mode, $conns connections, round $round/$ROUNDS"
            read -r base base_conns _ < <("${PREPARE[@]}" sink-read "$SINK_STATS")
            issued_before=$("${PREPARE[@]}" metric "$ADMIN" otpd_otps_issued_total 'channel="EMAIL"')
            start=$(date +%s.%N)
            wrk_run "$PUBLIC" generate "$WORK/email-$mode.txt" 0 "$conns" \
                "$(label "$mode" email otpd-email "$conns" "$round")"
            read -r requests seconds non2xx < <(tail -1 "$RESULTS" |
                python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["requests"], r["seconds"], r["non2xx"])')
            acknowledged=$((requests - non2xx))
            # Issued counts the codes of requests still in flight when wrk stopped, too.
            issued=$(($("${PREPARE[@]}" metric "$ADMIN" otpd_otps_issued_total 'channel="EMAIL"') - issued_before))
            read -r accepted sink_conns last < <("${PREPARE[@]}" sink-wait "$SINK_STATS" "$base" "$issued" 600)
            printf '{"kind":"email","mode":"%s","connections":%d,"round":%d,"acknowledged":%d,"issued":%d,"non2xx":%d,"load_seconds":%s,"delivered":%d,"delivery_seconds":%s,"smtp_connections":%d}\n' \
                "$mode" "$conns" "$round" "$acknowledged" "$issued" "$non2xx" "$seconds" \
                "$((accepted - base))" "$(python3 -c "print(max($last - $start, 1e-6))")" \
                "$((sink_conns - base_conns))" >>"$RESULTS"
            tail -1 "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("  %d acknowledged (%.0f/s), %d delivered (%.0f mails/s, last %.2f s after the load ended)" % (r["acknowledged"], r["acknowledged"]/r["load_seconds"], r["delivered"], r["delivered"]/r["delivery_seconds"], r["delivery_seconds"]-r["load_seconds"]))' >&2
            wait_idle
            # Mails that came only after the sink went quiet for 20 s (a retry after a failed
            # attempt) are counted apart: late, not lost.
            read -r after _ _ < <("${PREPARE[@]}" sink-read "$SINK_STATS")
            late=$((after - accepted))
            if ((late > 0)); then
                echo "  $late more delivered late (after a retry; see otpd's log)" >&2
                printf '{"kind":"email-late","mode":"%s","round":%d,"late":%d}\n' "$mode" "$round" "$late" >>"$RESULTS"
            fi
        done
    fi

    stop_otpd
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
report=$TARGET/bench/report.md
mkdir -p "$(dirname "$report")"
{
    echo "Machine: $nproc_ cores ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r), store on $(df -T "$WORK" | awk 'NR == 2 {print $2}'), $(date -u +%Y-%m-%d)."
    echo "$("$OTPD" --version), $(wrk --version 2>&1 | head -1 | awk '{print "wrk", $2}'); ${SECS} s per run, $ROUNDS round(s) per row, one wrk thread per connection; latency percentiles over every request of the row's otpd runs."
    echo
    "${REPORT[@]}" table "$RESULTS"
} | tee "$report"
cp "$RESULTS" "$TARGET/bench/results.jsonl"
# Each run's own copies too: the next run (even a one-row check) replaces the two above.
stamp=$(date -u +%Y%m%d-%H%M%S)
cp "$report" "$TARGET/bench/report-$stamp.md"
cp "$RESULTS" "$TARGET/bench/results-$stamp.jsonl"
echo >&2
echo "bench.sh: report in $report (and report-$stamp.md), raw results in $TARGET/bench/results.jsonl" >&2
