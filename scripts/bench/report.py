#!/usr/bin/env python3
"""The tables of scripts/bench.sh from its results file (JSON lines; Python standard library).

  report.py table RESULTS
      The Markdown tables: per durability mode, scenario and connection count, the bare
      endpoint's and otpd's req/s over all rounds, the ratio, otpd's p50/p99/p99.9 over all
      rounds, the most delivery jobs queued while otpd ran (sampled), and its non-2xx answers;
      then the e-mail delivery runs.
  report.py rate RESULTS MODE SCENARIO CONNECTIONS TARGET
      The req/s of those runs so far (0 when there are none), for sizing later runs.

Percentiles are over every request of every round: each run records a histogram of what its
requests took (scripts/bench/otp.lua: exact below 1 ms, 10 µs steps below 10 ms, 100 µs
above), not wrk's own percentiles, which add coordinated-omission corrections.
"""

import json
import math
import sys

SCENARIOS = ["token/generate", "otp/generate", "otp/validate"]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rows_of(rows, kind, mode, scenario, connections):
    return [
        r
        for r in rows
        if r.get("kind") == kind
        and r["mode"] == mode
        and r["scenario"] == scenario
        and r["connections"] == connections
    ]


def runs_of(rows, mode, scenario, connections, target):
    return [r for r in rows_of(rows, "wrk", mode, scenario, connections) if r["target"] == target]


def rate(runs):
    seconds = sum(r["seconds"] for r in runs)
    return sum(r["requests"] for r in runs) / seconds if seconds > 0 else 0.0


def pooled_percentile(runs, p):
    """The p-th percentile (µs) of the latencies of all the runs' requests."""
    hist = {}
    for r in runs:
        for us, n in r["hist_us"]:
            hist[us] = hist.get(us, 0) + n
    total = sum(hist.values())
    if total == 0:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for us in sorted(hist):
        seen += hist[us]
        if seen >= rank:
            return us
    return float("nan")


def ms(us):
    return f"{us / 1000:.2f}"


def table(path):
    rows = load(path)
    modes = []
    for r in rows:
        if r.get("mode") not in modes:
            modes.append(r["mode"])
    out = []
    out.append(
        "| scenario | durability | connections | bare req/s | otpd req/s | ratio "
        "| p50 ms | p99 ms | p99.9 ms | most jobs queued | non-2xx |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in modes:
        for scenario in SCENARIOS:
            for connections in sorted(
                {r["connections"] for r in rows if r.get("kind") == "wrk"}, reverse=True
            ):
                otpd = runs_of(rows, mode, scenario, connections, "otpd")
                bare = runs_of(rows, mode, scenario, connections, "bare")
                if not otpd:
                    continue
                bare_rate, otpd_rate = rate(bare), rate(otpd)
                ratio = f"{otpd_rate / bare_rate:.3f}" if bare_rate else "—"
                non2xx = sum(r["non2xx"] for r in otpd)
                errors = sum(
                    r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
                    for r in otpd
                )
                bare_bad = sum(
                    r["non2xx"] + r["connect_errors"] + r["read_errors"] + r["write_errors"]
                    + r["timeouts"]
                    for r in bare
                )
                queued = [
                    r["most_jobs"] for r in rows_of(rows, "backlog", mode, scenario, connections)
                ]
                most = str(max(queued)) if queued else "—"
                cell = str(non2xx)
                if errors:
                    cell += f" (+{errors} socket errors)"
                if bare_bad:
                    cell += f" (bare: {bare_bad})"
                out.append(
                    f"| {scenario} | {mode} | {connections} | {bare_rate:.0f} | {otpd_rate:.0f} "
                    f"| {ratio} | {ms(pooled_percentile(otpd, 50))} "
                    f"| {ms(pooled_percentile(otpd, 99))} | {ms(pooled_percentile(otpd, 99.9))} "
                    f"| {most} | {cell} |"
                )
    mails = [r for r in rows if r.get("kind") == "email"]
    if mails:
        out.append("")
        out.append(
            "| e-mail: otp/generate, delivered over SMTP | connections | acknowledged req/s "
            "| delivered mails/s | mails | last mail after the load | SMTP connections | non-2xx |"
        )
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for mode in modes:
            runs = [r for r in mails if r["mode"] == mode]
            if not runs:
                continue
            acknowledged = sum(r["acknowledged"] for r in runs)
            delivered = sum(r["delivered"] for r in runs)
            load_seconds = sum(r["load_seconds"] for r in runs)
            delivery_seconds = sum(r["delivery_seconds"] for r in runs)
            tail = max(r["delivery_seconds"] - r["load_seconds"] for r in runs)
            late = sum(
                r["late"] for r in rows if r.get("kind") == "email-late" and r["mode"] == mode
            )
            missing = sum(r.get("issued", r["acknowledged"]) for r in runs) - delivered - late
            mails_cell = f"{delivered}"
            if late:
                mails_cell += f" (+{late} late)"
            if missing:
                mails_cell += f" ({missing} missing)"
            out.append(
                f"| {mode} | {runs[0]['connections']} | {acknowledged / load_seconds:.0f} "
                f"| {delivered / delivery_seconds:.0f} | {mails_cell} | {tail:.2f} s "
                f"| {sum(r['smtp_connections'] for r in runs)} | {sum(r['non2xx'] for r in runs)} |"
            )
    print("\n".join(out))


def main(argv):
    if len(argv) == 3 and argv[1] == "table":
        table(argv[2])
    elif len(argv) == 7 and argv[1] == "rate":
        try:
            rows = load(argv[2])
        except OSError:
            rows = []
        print(f"{rate(runs_of(rows, argv[3], argv[4], int(argv[5]), argv[6])):.0f}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
