#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (Python standard library only).

  prepare.py sessions URL TYPE PREFIX COUNT OUT [--generate]
      Opens COUNT sessions on otpd's public API at URL, one per customer (TYPE MOBILE:
      +84<PREFIX><index>, EMAIL: b<PREFIX>.<index>@example.com), with batch token/generate
      calls of 100; writes "TYPE VALUE SESSIONID" lines to OUT. With --generate also issues one
      code per session (batch otp/generate), for otp/validate with real codes.
  prepare.py codes LOG SESSIONS OUT
      Joins SESSIONS with the codes the LOG channel wrote to the server log LOG (the last code
      sent to each customer): writes "TYPE VALUE SESSIONID OTP" lines to OUT.
  prepare.py wait-idle ADMIN_URL TIMEOUT
      Waits until otpd's outbox has delivered every issued code (metrics: deliveries sent >=
      codes issued), at most TIMEOUT seconds; prints how long it waited.
  prepare.py metric ADMIN_URL NAME LABEL_FILTER
      Prints the sum of otpd's metric NAME over the series whose labels contain LABEL_FILTER.
  prepare.py backlog ADMIN_URL SECONDS
      Samples otpd's queued delivery jobs (otpd_outbox_jobs) four times a second for SECONDS
      and prints the most it saw: whether delivery kept pace with a load.
  prepare.py sink-read STATS_FILE
      Prints the SMTP sink's "accepted connections last_accept".
  prepare.py sink-wait STATS_FILE BASELINE EXPECTED TIMEOUT
      Waits until the SMTP sink's stats file shows BASELINE + EXPECTED accepted mails (or
      TIMEOUT seconds pass, or nothing arrives for 20 s); prints "accepted connections
      last_accept".
"""

import concurrent.futures
import http.client
import json
import re
import sys
import time
import urllib.parse


def post(conn, path, body):
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"{path}: HTTP {r.status}: {data[:300]!r}")
    return json.loads(data)


def customer(kind, prefix, i):
    if kind == "MOBILE":
        return f"+84{prefix}{i:07d}"
    return f"b{prefix}.{i}@example.com"


def sessions(url, kind, prefix, count, out, generate):
    u = urllib.parse.urlsplit(url)
    values = [customer(kind, prefix, i) for i in range(count)]
    chunks = [values[i : i + 100] for i in range(0, len(values), 100)]

    def work(chunk):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        items = [
            {"identifierType": kind, "identifierValue": v, "brand": "DEMO", "deviceId": "bench"}
            for v in chunk
        ]
        answers = post(conn, "/auth/v1/token/generate", items)
        ids = []
        for v, a in zip(chunk, answers):
            if a["status"]["code"] != 200:
                raise SystemExit(f"token/generate for {v}: {a['status']}")
            ids.append(a["user"]["sessionId"])
        if generate:
            for item, sid in zip(items, ids):
                item["sessionId"] = sid
            for v, a in zip(chunk, post(conn, "/auth/v1/otp/generate", items)):
                if a["status"]["code"] != 200:
                    raise SystemExit(f"otp/generate for {v}: {a['status']}")
        conn.close()
        return list(zip(chunk, ids))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, chunks))
    with open(out, "w") as f:
        for pairs in results:
            for v, sid in pairs:
                f.write(f"{kind} {v} {sid}\n")


LOG_LINE = re.compile(r"LOG channel delivery.*?\bto=(\S+) text=(.*)$")


def codes(log, sessions_file, out):
    # `to=+84901234567 text=482913 is your DEMO code…` (human log format): the code is the
    # first run of 4-10 digits in the message.
    latest = {}
    with open(log, errors="replace") as f:
        for line in f:
            m = LOG_LINE.search(line)
            if not m:
                continue
            code = re.search(r"\b(\d{4,10})\b", m.group(2))
            if code:
                latest[m.group(1).strip('"')] = code.group(1)
    missing = 0
    with open(sessions_file) as f, open(out, "w") as o:
        for line in f:
            kind, value, sid = line.split()
            code = latest.get(value)
            if code is None:
                missing += 1
                continue
            o.write(f"{kind} {value} {sid} {code}\n")
    if missing:
        raise SystemExit(f"{missing} sessions of {sessions_file} have no code in {log}")


def metric_sum(text, name, label_filter=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and label_filter in line:
            head, _, value = line.rpartition(" ")
            if head.split("{")[0] in (name, name + "_total"):
                total += float(value)
    return total


def scrape(admin_url):
    """otpd's metrics, as the admin listener's /metrics serves them."""
    u = urllib.parse.urlsplit(admin_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return text


def wait_idle(admin_url, timeout):
    started = time.monotonic()
    while True:
        text = scrape(admin_url)
        issued = metric_sum(text, "otpd_otps_issued_total")
        sent = metric_sum(text, "otpd_deliveries_total", 'outcome="sent"')
        waited = time.monotonic() - started
        if sent >= issued:
            print(f"{waited:.1f}")
            return
        if waited > timeout:
            raise SystemExit(
                f"the outbox did not drain in {timeout} s: {issued:.0f} issued, {sent:.0f} sent"
            )
        time.sleep(0.05)


def metric(admin_url, name, label_filter):
    print(f"{metric_sum(scrape(admin_url), name, label_filter):.0f}")


def backlog(admin_url, seconds):
    most = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        most = max(most, metric_sum(scrape(admin_url), "otpd_outbox_jobs"))
        time.sleep(0.25)
    print(f"{most:.0f}")


def read_sink(stats_file):
    try:
        with open(stats_file) as f:
            fields = dict(kv.split("=") for kv in f.read().split())
        return int(fields["accepted"]), int(fields["connections"]), float(fields["last_accept"])
    except (OSError, ValueError, KeyError):
        return 0, 0, 0.0


def sink_wait(stats_file, baseline, expected, timeout):
    started = time.monotonic()
    last_change, last_seen = started, None
    while True:
        accepted, connections, last_accept = read_sink(stats_file)
        now = time.monotonic()
        if accepted != last_seen:
            last_change, last_seen = now, accepted
        if (
            accepted >= baseline + expected
            or now - started > timeout
            or now - last_change > 20
        ):
            print(accepted, connections, f"{last_accept:.6f}")
            return
        time.sleep(0.02)


def main(argv):
    if len(argv) >= 7 and argv[1] == "sessions":
        sessions(argv[2], argv[3], argv[4], int(argv[5]), argv[6], "--generate" in argv[7:])
    elif len(argv) == 5 and argv[1] == "codes":
        codes(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "wait-idle":
        wait_idle(argv[2], float(argv[3]))
    elif len(argv) == 5 and argv[1] == "metric":
        metric(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "backlog":
        backlog(argv[2], float(argv[3]))
    elif len(argv) == 3 and argv[1] == "sink-read":
        print(*read_sink(argv[2]))
    elif len(argv) == 6 and argv[1] == "sink-wait":
        sink_wait(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
