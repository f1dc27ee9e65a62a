#!/usr/bin/env python3
"""Crash campaign: SIGKILL a real `otpd serve` under load, again and again, and check after
every restart that nothing it acknowledged was lost (issue #8, item 4).

Each round starts the server on the same data directory (durability flush-each), checks what
the previous round left (below), then runs load — several client threads doing token/generate
→ otp/generate for fresh customers and validating some of the codes, and two threads pushing
one customer into its small daily limit — and SIGKILLs the server at a random moment. The codes
are read where a phone would get them: the brand's SMS channel is the `http` provider pointed
at a gateway stand-in inside this script, which records every message it is sent.

After every restart (and once more after the last round) it checks:

1. the store opens: `otpd serve` starts and `/health/ready` answers 200;
2. every acknowledged OTP (otp/generate answered 200) whose code was not validated validates
   now, exactly once: the first otp/validate answers 200, the second 1506;
3. no acknowledged validation is undone: a code whose validate answered 200 (during the load,
   or in a previous check) never answers 200 again;
4. the limited customer's count for the day (admin API `GET /admin/api/brands/B/limits/ID`,
   field `issued`) is never below the OTPs acknowledged to it, nor above its limit;
5. no committed delivery job is lost: every acknowledged OTP reaches the gateway at least once
   after the restart (polled until a deadline), always with one code per session;
6. a code is delivered only once it is on disk: a code the gateway got for a generate whose
   answer was lost in the kill still validates after the restart, and the limited customer's
   count is at least the distinct codes delivered to it. (--warn-early-delivery counts these
   and goes on, so the other invariants can be exercised while this one is known broken.)

A violation stops the campaign with a message naming the round, the customer and the answers;
the exit status is then 1 (2: the campaign could not run at all).

Power loss (--power-loss, root): a SIGKILL loses only what the process had not handed to the
kernel; a power cut also loses what the kernel had not put on disk. This machine has no
device-mapper and no usable VM (POWER_LOSS_HELP below says what was checked), so the cut is
emulated: the data directory is a FUSE mount served by this script (LazyFs, below) that keeps
file contents in memory until the file is fsynced, and the round ends with otpd frozen, that
memory dropped and the mount made afresh. --settle 1.5 makes it a control run: the load stops
and the cut comes 1.5 s later, when everything acknowledged has been fsynced.

Periodic (--periodic): the server runs with durability periodic, which may lose its last half
second on a crash, acknowledged codes, charges and validations included; what it must never
lose is a code it sent (its store hands each delivery's commit to the kernel before the send).
After each SIGKILL it checks 1, and for every session whose code reached the gateway: one code
per session; a code never validated validates now (6); a code validates at most once after the
restart; the limited customer's count is at least the distinct codes delivered to it and at
most its limit. No wait for deliveries: the codes the gateway has when the checks begin.

Usage:
    scripts/crash-campaign.py                 # 20 rounds (for .ci/run)
    scripts/crash-campaign.py --full          # 1,000 rounds
    scripts/crash-campaign.py --rounds 200 --seed 7 --keep
    scripts/crash-campaign.py --power-loss --rounds 20
    scripts/crash-campaign.py --periodic --rounds 10

Options: --bin PATH (default ${CARGO_TARGET_DIR:-target}/debug/otpd; the binary is copied
first, so a rebuild during the campaign does not change it), --seed N (kill moments and load
mix; the threads still interleave as they like), --keep (keep the data directory and the
server log when a check fails). Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BRAND = "CRASH"
OTP_LENGTH = 8  # long codes: two sessions never share one by chance
DAILY_LIMIT = 5  # the brand's dailyOtpLimit; only the limited customer gets near it
BRAND_SETTINGS = [
    f"otpLength={OTP_LENGTH}",
    "otpTtlSeconds=1800",  # the longest allowed: no code expires during a round
    "sessionTtlSeconds=3600",
    "maxValidateAttempts=20",  # the re-checks below spend wrong attempts
    "resendCooldownSeconds=0",
    f"dailyOtpLimit={DAILY_LIMIT}",
]
CUSTOMER_THREADS = 6
LIMITED_THREADS = 2
KILL_AFTER = (0.05, 2.5)  # seconds of load before the SIGKILL, uniform
READY_DEADLINE = 60.0
DELIVERY_DEADLINE = 60.0
EARLY_KILLS = 0.1  # share of restarts that are first killed while opening the store
OLD_VALIDATED_SAMPLE = 30  # codes validated in earlier rounds re-checked each round

# Invariant 6 (a delivered code is on disk) broken: counted instead of stopping the campaign
# with --warn-early-delivery, so that the other invariants can still be exercised.
EARLY_DELIVERIES: list[str] = []
WARN_EARLY = False
# --periodic: the server runs with durability periodic (see the module docs).
PERIODIC = False


def note_early(problem: str) -> bool:
    """True when `problem` is an early delivery and only to be counted."""
    if WARN_EARLY and problem.startswith("6."):
        EARLY_DELIVERIES.append(problem)
        print(f"  warning: {problem}", flush=True)
        return True
    return False


# Session states.
ACKED, UNACKED = "acked", "unacked"


class Violation(Exception):
    """An invariant does not hold."""


# ---------------------------------------------------------------------------------------------
# The SMS gateway stand-in


class Gateway:
    """An HTTP SMS gateway on loopback: records every message (destination digits → codes).

    Its mood changes each round: `fast` answers at once, `slow` takes 0.1–0.6 s a message (the
    outbox falls behind, so the kill finds jobs queued and in flight), `flaky` answers 503 to
    the first try of a fifth of the codes (the kill finds jobs waiting to be retried)."""

    MOODS = ("fast", "slow", "flaky")

    def __init__(self) -> None:
        self.codes: dict[str, list[str]] = {}
        self.received = 0
        self.refused: set[str] = set()
        self.mood = "fast"
        self.cond = threading.Condition()
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = gateway.receive(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # otpd killed mid-send: the connection breaks, nothing to report

        self.server = Quiet(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, message: dict) -> int:
        """One send from otpd: its HTTP status, after recording it when it is a 200."""
        to = message["to"].lstrip("+")
        code = re.search(rf"\b(\d{{{OTP_LENGTH}}})\b", message["message"]).group(1)
        if self.mood == "slow":
            time.sleep(random.uniform(0.1, 0.6))
        else:
            time.sleep(random.uniform(0, 0.03))  # a send takes a while: kills land mid-send
        with self.cond:
            if self.mood == "flaky" and code not in self.refused and random.random() < 0.2:
                self.refused.add(code)
                return 503
            self.codes.setdefault(to, []).append(code)
            self.received += 1
            self.cond.notify_all()
        return 200

    def delivered(self) -> set[str]:
        with self.cond:
            return set(self.codes)

    def duplicates(self) -> int:
        """Messages that repeated a code already delivered (at-least-once after a kill)."""
        with self.cond:
            return sum(len(c) - len(set(c)) for c in self.codes.values())

    def distinct(self, dest: str) -> list[str]:
        with self.cond:
            return list(dict.fromkeys(self.codes.get(dest, [])))

    def wait_code(self, dest: str, timeout: float,
                  stop: threading.Event | None = None) -> str | None:
        """The first code sent to `dest`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.codes.get(dest):
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    return None
                self.cond.wait(min(left, 0.1))
            return self.codes[dest][0]

    def wait_all(self, wanted: dict[str, int], timeout: float) -> dict[str, int]:
        """Waits until each destination got at least its number of distinct codes; returns
        those that did not by the deadline (destination → distinct codes received)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                short = {
                    d: len(set(self.codes.get(d, [])))
                    for d, n in wanted.items()
                    if len(set(self.codes.get(d, []))) < n
                }
                left = deadline - time.monotonic()
                if not short or left <= 0:
                    return short
                self.cond.wait(min(left, 0.2))


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `otpd serve` process on the campaign's data directory."""

    def __init__(self, binary: Path, data: Path, log: Path) -> None:
        self.binary, self.data, self.log = binary, data, log
        self.proc: subprocess.Popen | None = None
        self.port = self.admin_port = 0
        self.disk: LazyDisk | None = None  # --power-loss: the data directory is a LazyFs mount

    def spawn(self, label: str) -> None:
        if self.disk:
            self.disk.ensure_mounted()
        self.port, self.admin_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTPD_")}
        env.update(
            RUST_LOG="warn,otpd=info",
            OTPD_DURABILITY="periodic" if PERIODIC else "flush-each",
            OTPD_CLIENT_RATE_LIMIT_PER_MINUTE="0",
            OTPD_DEMO_BRAND="false",
        )
        with open(self.log, "a") as out:
            out.write(f"\n===== {label}: otpd serve on :{self.port}, admin :{self.admin_port}\n")
            out.flush()
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--data-dir", str(self.data),
                 "--public-listen", f"127.0.0.1:{self.port}",
                 "--admin-listen", f"127.0.0.1:{self.admin_port}"],
                env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def start(self, label: str) -> float:
        """Starts the server; returns seconds until /health/ready answered 200."""
        for _ in range(3):  # a port taken meanwhile by someone else: new ports
            began = time.monotonic()
            self.spawn(label)
            while time.monotonic() - began < READY_DEADLINE:
                if self.proc.poll() is not None:
                    break
                if http_get(self.port, "/health/ready") == (200, "ready"):
                    return time.monotonic() - began
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.kill()
                raise Violation(f"1. the store did not open: not ready within "
                                f"{READY_DEADLINE:.0f} s ({label}); server log: {self.log}")
            if "in use" not in self.log_tail():
                raise Violation(f"1. the store did not open: otpd serve exited with "
                                f"{self.proc.returncode} ({label}):\n{self.log_tail()}")
        raise Violation(f"could not find free ports to start otpd ({label})")

    def log_tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def crash(self) -> None:
        """The end of a round: SIGKILL, or with --power-loss a power cut."""
        if self.disk:
            self.disk.power_cut(self)
        else:
            self.kill()

    @property
    def crash_name(self) -> str:
        return "power cut" if self.disk else "SIGKILL"

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM: drains and flushes (the end of the campaign)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args: str) -> str:
        out = subprocess.run([str(self.binary), "--data-dir", str(self.data), *args],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"otpd {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def issued_today(self, dest: str) -> int:
        """The limited customer's count for the day, from the admin API."""
        token = (self.data / "admin.token").read_text().strip()
        path = "/admin/api/brands/{}/limits/{}".format(
            BRAND, urllib.parse.quote(f"MOBILE:{dest}", safe=""))
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=30)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"GET {path}: HTTP {resp.status} {body[:200]!r}")
        return int(json.loads(body)["issued"])


def http_get(port: int, path: str) -> tuple[int, str] | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace").strip()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Client:
    """A client app's connection to the public API (keep-alive). `post` returns the answer's
    `status.code`, or None when no complete answer came back (not acknowledged)."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.last: dict | None = None

    def post(self, path: str, body: dict) -> int | None:
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.conn.request("POST", path, json.dumps(body).encode(),
                              {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
            self.last = json.loads(resp.read())
            return int(self.last["status"]["code"])
        except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
            self.close()
            return None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------------
# What the clients were told


@dataclass
class Session:
    dest: str  # the MOBILE identifier's digits: one session per destination
    body: dict  # the otp/generate body (sessionId included)
    generate: str = UNACKED
    validate: str | None = None  # None: never tried; ACKED; UNACKED: tried, no answer
    code: str | None = None


@dataclass
class Round:
    number: int
    kill_after: float = 0.0
    sessions: list[Session] = field(default_factory=list)
    limited_dest: str = ""
    limited_acked: int = 0
    limited_day: datetime.date | None = None
    mood: str = "fast"
    pending_at_kill: int = 0  # acknowledged codes not yet delivered when the server died
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, s: Session) -> None:
        with self.lock:
            self.sessions.append(s)


def mobile(prefix: str, round_no: int, n: int) -> str:
    return f"{prefix}{round_no:05d}{n:05d}"  # 13 digits


def open_session(client: Client, dest: str, device: str) -> dict | None:
    req = {"identifierType": "MOBILE", "identifierValue": f"+{dest}", "brand": BRAND,
           "deviceId": device}
    if client.post("/auth/v1/token/generate", req) != 200:
        return None
    return {**req, "sessionId": client.last["user"]["sessionId"]}


# ---------------------------------------------------------------------------------------------
# Load


def customer_worker(port: int, gw: Gateway, rnd: Round, worker: int, rng: random.Random,
                    stop: threading.Event, counter: list[int], problems: list[str]) -> None:
    """Fresh customers: a session, a code, and for some a validate with the delivered code."""
    client = Client(port)
    while not stop.is_set():
        with rnd.lock:
            counter[0] += 1
            dest = mobile("849", rnd.number, counter[0])
        body = open_session(client, dest, f"dev-{worker}")
        if body is None:
            time.sleep(0.01)
            continue
        s = Session(dest, body)
        rnd.add(s)
        if client.post("/auth/v1/otp/generate", body) != 200:
            continue
        s.generate = ACKED
        if rng.random() < 0.35:
            code = gw.wait_code(dest, 5.0, stop)
            if code is None:
                continue
            s.validate, s.code = UNACKED, code
            answer = client.post("/auth/v1/otp/validate", {**body, "otp": code})
            if answer == 200:
                s.validate = ACKED
            elif answer is not None:
                problems.append(f"2. {dest}: its delivered code {code} was refused with {answer}"
                                " while the server ran")
    client.close()


def limited_worker(port: int, rnd: Round, worker: int, rng: random.Random,
                   stop: threading.Event) -> None:
    """Pushes the limited customer to its daily limit, a session per code, with pauses so the
    kill sometimes lands on the way."""
    client = Client(port)
    while not stop.is_set():
        body = open_session(client, rnd.limited_dest, f"limited-{worker}")
        if body is None:
            time.sleep(0.01)
            continue
        answer = client.post("/auth/v1/otp/generate", body)
        if answer == 200:
            with rnd.lock:
                rnd.limited_acked += 1
                rnd.limited_day = datetime.datetime.now(datetime.timezone.utc).date()
        elif answer == 1534:
            break
        stop.wait(rng.uniform(0, 0.5))
    client.close()


def run_load_and_kill(server: Server, gw: Gateway, rnd: Round, rng: random.Random,
                      settle: float = 0.0) -> list[str]:
    """Load on the running server, then SIGKILL (or a power cut) after rnd.kill_after seconds;
    with `settle`, the load stops first and the cut comes that much later."""
    stop, counter, problems = threading.Event(), [0], []
    threads = [
        threading.Thread(target=customer_worker,
                         args=(server.port, gw, rnd, i, random.Random(rng.random()), stop,
                               counter, problems))
        for i in range(CUSTOMER_THREADS)
    ] + [
        threading.Thread(target=limited_worker,
                         args=(server.port, rnd, i, random.Random(rng.random()), stop))
        for i in range(LIMITED_THREADS)
    ]
    for t in threads:
        t.start()
    time.sleep(rnd.kill_after)
    if settle:
        stop.set()
        for t in threads:
            t.join()
        time.sleep(settle)
    server.crash()
    stop.set()
    for t in threads:
        t.join()
    delivered = gw.delivered()
    rnd.pending_at_kill = sum(s.generate == ACKED and s.dest not in delivered for s in rnd.sessions)
    return problems


# ---------------------------------------------------------------------------------------------
# Checks after a restart


@dataclass
class Ledger:
    """Codes validated with an acknowledged 200, to be re-checked after later kills."""

    recent: list[Session] = field(default_factory=list)  # since the last kill
    older: list[Session] = field(default_factory=list)


def validate(client: Client, s: Session) -> int | None:
    return client.post("/auth/v1/otp/validate", {**s.body, "otp": s.code})


def check_deliveries(gw: Gateway, rnd: Round) -> float:
    """5: every acknowledged code arrives; one code per session. Returns the wait."""
    began = time.monotonic()
    wanted = {s.dest: 1 for s in rnd.sessions if s.generate == ACKED}
    if rnd.limited_acked:
        wanted[rnd.limited_dest] = rnd.limited_acked
    short = gw.wait_all(wanted, DELIVERY_DEADLINE)
    if short:
        sample = ", ".join(f"+{d} ({n} of {wanted[d]} codes)" for d, n in list(short.items())[:10])
        raise Violation(f"5. {len(short)} acknowledged OTP(s) of round {rnd.number} never "
                        f"delivered within {DELIVERY_DEADLINE:.0f} s of the restart: {sample}")
    take_delivered_codes(gw, rnd)
    return time.monotonic() - began


def take_delivered_codes(gw: Gateway, rnd: Round) -> list[Session]:
    """5: one code per session. Sets each session's code from the gateway; returns those that
    have one."""
    sent = []
    for s in rnd.sessions:
        codes = gw.distinct(s.dest)
        if len(codes) > 1:
            raise Violation(f"5. session of +{s.dest} (round {rnd.number}) had one generate but "
                            f"{len(codes)} different codes were delivered: {codes}")
        if codes:
            s.code = codes[0]
            sent.append(s)
    return sent


def check_exactly_once(s: Session, client: Client) -> str | None:
    """2: an unvalidated code validates now, once."""
    first = validate(client, s)
    second = validate(client, s)
    known = "acknowledged" if s.generate == ACKED else "unacknowledged but delivered"
    if s.validate == UNACKED:  # a validate was in flight at the kill: at most once from now
        if second == 200:
            return (f"3. +{s.dest}: code {s.code} validated twice after the restart "
                    f"({first}, {second})")
        if first == 200:
            s.validate = ACKED
        return None
    if first != 200 and s.generate == UNACKED:
        return (f"6. +{s.dest}: code {s.code} was delivered, but after the kill its session "
                f"{s.body['sessionId']} has no such code (validate answered {first}; 1537: no "
                "code issued): the job was sent before its transaction was on disk, and the "
                "code, the limit charge and the log record died with the process")
    if first != 200:
        return (f"2. +{s.dest}: {known} OTP {s.code} (session {s.body['sessionId']}) no longer "
                f"validates: answer {first} (1505: session lost, 1537: code lost, 1506: wrong "
                "code)")
    s.validate = ACKED
    if second != 1506:
        return (f"3. +{s.dest}: code {s.code} validated, then the second validate answered "
                f"{second}, not 1506")
    return None


def check_stays_used(s: Session, client: Client) -> str | None:
    """3: an acknowledged validation is never undone."""
    answer = validate(client, s)
    if answer == 200:
        return (f"3. +{s.dest}: code {s.code} (session {s.body['sessionId']}) validated again "
                "after a kill, though its earlier validate was acknowledged")
    if answer not in (1506, 1505, 1518):
        return f"3. +{s.dest}: re-validating a used code answered {answer}"
    return None


def run_parallel(port: int, items: list, check) -> list[str]:
    def one(item) -> str | None:
        client = Client(port)
        try:
            return check(item, client)
        finally:
            client.close()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return [p for p in pool.map(one, items) if p]


def check_limit(server: Server, gw: Gateway, rnd: Round) -> str:
    """4: the day's count is at least the acknowledged codes, at most the limit, and at least
    the distinct codes delivered."""
    if not rnd.limited_dest:
        return ""
    issued = server.issued_today(rnd.limited_dest)
    delivered = len(gw.distinct(rnd.limited_dest))
    today = datetime.datetime.now(datetime.timezone.utc).date()
    if rnd.limited_day is not None and rnd.limited_day != today:
        return f"limit: day changed since round {rnd.number}, count not compared"
    if issued < rnd.limited_acked and not PERIODIC:
        raise Violation(f"4. +{rnd.limited_dest}: {rnd.limited_acked} OTPs acknowledged today "
                        f"but the day's count is {issued}")
    if issued > DAILY_LIMIT:
        raise Violation(f"4. +{rnd.limited_dest}: the day's count is {issued}, above the limit "
                        f"{DAILY_LIMIT}")
    line = f"limited customer {rnd.limited_acked} acked / {issued} counted / {delivered} delivered"
    if delivered > issued:
        problem = (f"6. +{rnd.limited_dest}: {delivered} different codes delivered but the day's "
                   f"count is {issued}: a code was sent before its limit charge was on disk")
        if not note_early(problem):
            raise Violation(problem)
        line += " (EARLY DELIVERY)"
    return line


def check_sent_survived(s: Session, client: Client) -> str | None:
    """--periodic: a code that was sent validates now if it never was, and once at most."""
    first = validate(client, s)
    second = validate(client, s)
    if s.validate is None and first != 200:
        return (f"6. +{s.dest}: code {s.code} was delivered, but after the kill its session "
                f"{s.body['sessionId']} has no such code (validate answered {first}): the job "
                "was sent before its commit reached the operating system")
    if first == 200 and second == 200:
        return f"3. +{s.dest}: code {s.code} validated twice after the restart"
    return None


def stop_on_problems(rnd: Round, problems: list[str]) -> None:
    """Raises a Violation naming the problems found after the kill that ended `rnd` (early
    deliveries only counted with --warn-early-delivery)."""
    problems = [p for p in problems if not note_early(p)]
    if problems:
        shown = "\n  ".join(problems[:20])
        raise Violation(f"{len(problems)} problem(s) after the kill that ended round "
                        f"{rnd.number}:\n  {shown}")


def check_after_restart_periodic(server: Server, gw: Gateway,
                                 rnd: Round) -> tuple[float, int, str]:
    """--periodic: what must outlive a SIGKILL there (see the module docs)."""
    sent = take_delivered_codes(gw, rnd)
    stop_on_problems(rnd, run_parallel(server.port, sent, check_sent_survived))
    return 0.0, 2 * len(sent), check_limit(server, gw, rnd)


def check_after_restart(server: Server, gw: Gateway, rnd: Round, ledger: Ledger,
                        rng: random.Random) -> tuple[float, int, str]:
    """Invariants 2–5 for what round `rnd` was told before its kill. Returns the delivery wait,
    the number of validations and the limit line."""
    if PERIODIC:
        return check_after_restart_periodic(server, gw, rnd)
    waited = check_deliveries(gw, rnd)
    # 3 first: what was validated before this kill (in the load, or in the last check).
    acked_in_load = [s for s in rnd.sessions if s.validate == ACKED]
    older = rng.sample(ledger.older, min(OLD_VALIDATED_SAMPLE, len(ledger.older)))
    used = acked_in_load + ledger.recent + older
    problems = run_parallel(server.port, used, check_stays_used)
    # 2: the rest, each validated now (then it joins the ledger for the next kill).
    fresh = [s for s in rnd.sessions if s.code and s.validate != ACKED]
    problems += run_parallel(server.port, fresh, check_exactly_once)
    stop_on_problems(rnd, problems)
    ledger.older += ledger.recent + acked_in_load
    ledger.recent = [s for s in fresh if s.validate == ACKED]
    limit_line = check_limit(server, gw, rnd)
    return waited, len(used) + 2 * len(fresh), limit_line


# ---------------------------------------------------------------------------------------------
# The campaign


def set_up(server: Server, gw: Gateway, settle: float) -> None:
    server.start("setup")
    server.cli("brand", "create", BRAND, *BRAND_SETTINGS)
    server.cli("channel", "set", BRAND, "SMS", "provider=http",
               f"url=http://127.0.0.1:{gw.port}/sms", "timeoutSeconds=5",
               'body={"to":"{to}","message":"{message}"}')
    server.cli("template", "set", BRAND, "SMS", "--text", "code {otp}")
    # The setup is not what is under test: with --power-loss it waits a second more, so the
    # admin changes are on disk before the first cut whatever the durability.
    time.sleep(max(settle, 1.0) if server.disk else settle)
    server.crash()


def campaign(args: argparse.Namespace, work: Path) -> int:
    binary = work / "otpd"
    shutil.copy2(args.bin, binary)
    gw = Gateway()
    server = Server(binary, work / "data", work / "server.log")
    if args.power_loss:
        server.disk = LazyDisk(work)
    try:
        return rounds(args, server, gw)
    finally:
        server.kill()
        if server.disk:
            server.disk.close()


def rounds(args: argparse.Namespace, server: Server, gw: Gateway) -> int:
    rng = random.Random(args.seed)  # kill moments, gateway moods: the same for a seed
    sample_rng = random.Random(args.seed + 1)
    ledger = Ledger()
    totals = {"generates": 0, "validates": 0, "checked": 0, "limited": 0, "deliveries_wait": 0.0,
              "ready_max": 0.0, "pending": 0}
    set_up(server, gw, args.settle)
    previous: Round | None = None
    began = time.monotonic()
    for number in range(1, args.rounds + 2):  # the extra start checks the last round
        last = number == args.rounds + 1
        early = rng.random() < EARLY_KILLS
        if early:  # killed while it opens the store, before it is ready
            server.spawn(f"round {number}, killed while starting")
            time.sleep(rng.uniform(0, 0.3))
            server.crash()
        ready = server.start(f"round {number}" if not last else "final check")
        totals["ready_max"] = max(totals["ready_max"], ready)
        line = f"{'killed while starting, then ' if early else ''}ready {ready:.2f} s"
        if previous is not None:
            waited, checked, limit_line = check_after_restart(server, gw, previous, ledger,
                                                              sample_rng)
            totals["checked"] += checked
            totals["deliveries_wait"] = max(totals["deliveries_wait"], waited)
            line += (f"; round {previous.number} checked: {checked} validations, deliveries "
                     f"after {waited:.2f} s")
            line += f"; {limit_line}" if limit_line else ""
        if last:
            print(f"final: {line}", flush=True)
            server.stop()
            break
        rnd = Round(number, kill_after=rng.uniform(*KILL_AFTER),
                    limited_dest=mobile("848", number, 0), mood=rng.choice(Gateway.MOODS))
        gw.mood = rnd.mood
        problems = run_load_and_kill(server, gw, rnd, rng, args.settle)
        if problems:
            raise Violation("\n".join(problems[:20]))
        acked = sum(s.generate == ACKED for s in rnd.sessions)
        validated = sum(s.validate == ACKED for s in rnd.sessions)
        totals["generates"] += acked
        totals["validates"] += validated
        totals["limited"] += rnd.limited_acked
        totals["pending"] += rnd.pending_at_kill
        print(f"round {number}/{args.rounds}: {line}; load {rnd.kill_after:.2f} s ({rnd.mood} "
              f"gateway), then {server.crash_name}: {acked} generates ({rnd.pending_at_kill} "
              f"not yet delivered) and {validated} validates acknowledged, limited customer "
              f"{rnd.limited_acked}/{DAILY_LIMIT} ({time.monotonic() - began:.0f} s so far)",
              flush=True)
        previous = rnd
    elapsed = time.monotonic() - began
    print(f"\nOK: {args.rounds} rounds, each ending in a {server.crash_name}, in {elapsed:.0f} s "
          f"(seed {args.seed}); acknowledged: "
          f"{totals['generates']} generates, {totals['validates']} validates in the load, "
          f"{totals['limited']} codes to limited customers; {totals['checked']} validations "
          f"checked after restarts; slowest start {totals['ready_max']:.2f} s, slowest "
          f"delivery catch-up {totals['deliveries_wait']:.2f} s; {totals['pending']} "
          f"acknowledged codes were still undelivered at their kill; the gateway accepted "
          f"{gw.received} messages, {gw.duplicates()} of them a code sent again after a kill.")
    if EARLY_DELIVERIES:
        print(f"FAILED: invariant 6 broken {len(EARLY_DELIVERIES)} time(s) (--warn-early-delivery "
              "let the campaign go on); invariants 1-5 held.")
        return 1
    print("No invariant violated.")
    return 0


# ---------------------------------------------------------------------------------------------
# Power loss: a FUSE file system that forgets what was not fsynced
#
# This machine has no device-mapper (see POWER_LOSS_HELP), so the power cut is emulated one
# level up, as Jepsen's LazyFS does: the data directory is a FUSE mount served by this script
# (`--lazyfs BACKING MOUNTPOINT`, speaking the kernel's FUSE protocol on /dev/fuse directly).
# It passes everything through to a backing directory except file contents, which it keeps in
# memory, page by page, until the file is fsynced (fsync or fdatasync: both reach it). A power
# cut freezes otpd (SIGSTOP, and waits until every thread has stopped), kills the file system
# (what it kept in memory is gone), kills otpd and mounts the backing directory afresh.
# Creating, renaming and removing files and directories reach the backing directory at once:
# the emulation loses unsynced data, never unsynced metadata, which is kinder than a real disk.

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR = 1, 2, 3, 4
FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME = 8, 9, 10, 11, 12
FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE = 14, 15, 16, 17, 18
FUSE_FSYNC, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR, FUSE_READDIR = 20, 25, 26, 27, 28
FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_ACCESS, FUSE_CREATE = 29, 30, 34, 35
FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_RENAME2 = 36, 38, 42, 45
FATTR_MODE, FATTR_UID, FATTR_GID, FATTR_SIZE, FATTR_ATIME, FATTR_MTIME = 1, 2, 4, 8, 16, 32
FATTR_FH, FATTR_ATIME_NOW, FATTR_MTIME_NOW = 64, 128, 256
FUSE_BIG_WRITES, FOPEN_DIRECT_IO = 1 << 5, 1
PAGE = 4096
MAX_WRITE = 128 * 1024
NO_REPLY = object()


@dataclass
class Unsynced:
    """A file's writes since its last fsync: whole pages, the size it has now, and how much of
    the backing file is still its content (a truncation cuts it)."""

    size: int
    cut: int
    pages: dict[int, bytearray] = field(default_factory=dict)


class LazyFs:
    """The FUSE request loop. Node ids are allocated per path and never reused."""

    def __init__(self, backing: str, fd: int) -> None:
        self.backing, self.fd = backing, fd
        self.paths: dict[int, str] = {1: ""}
        self.nodes: dict[str, int] = {"": 1}
        self.next_node = 2
        self.unsynced: dict[int, Unsynced] = {}
        self.files: dict[int, tuple[int, int]] = {}  # fh → (node, backing fd)
        self.dirs: dict[int, list[tuple[str, int, int]]] = {}
        self.next_fh = 1
        self.handlers = {
            FUSE_INIT: self.init, FUSE_LOOKUP: self.lookup, FUSE_GETATTR: self.getattr,
            FUSE_SETATTR: self.setattr, FUSE_MKDIR: self.mkdir, FUSE_UNLINK: self.unlink,
            FUSE_RMDIR: self.rmdir, FUSE_RENAME: self.rename, FUSE_RENAME2: self.rename2,
            FUSE_OPEN: self.open, FUSE_CREATE: self.create, FUSE_READ: self.read,
            FUSE_WRITE: self.write, FUSE_RELEASE: self.release, FUSE_FSYNC: self.fsync,
            FUSE_FLUSH: self.ok, FUSE_OPENDIR: self.opendir, FUSE_READDIR: self.readdir,
            FUSE_RELEASEDIR: self.releasedir, FUSE_FSYNCDIR: self.ok, FUSE_ACCESS: self.ok,
            FUSE_STATFS: self.statfs, FUSE_DESTROY: self.ok,
            FUSE_FORGET: self.no_reply, FUSE_BATCH_FORGET: self.no_reply,
            FUSE_INTERRUPT: self.no_reply,
        }

    # -- the loop

    def serve(self) -> None:
        while True:
            try:
                req = os.read(self.fd, MAX_WRITE + PAGE)
            except OSError as e:
                if e.errno == 19:  # ENODEV: unmounted
                    return
                if e.errno in (4, 11, 2):  # EINTR, EAGAIN, ENOENT (an interrupted request)
                    continue
                raise
            _len, op, unique, node = struct.unpack_from("<IIQQ", req)
            handler = self.handlers.get(op)
            try:
                reply = handler(node, req[40:]) if handler else OSError(38, "ENOSYS")
                if isinstance(reply, OSError):
                    raise reply
                error = 0
            except OSError as e:
                reply, error = b"", -(e.errno or 5)
            if reply is NO_REPLY:
                continue
            try:
                os.write(self.fd, struct.pack("<IiQ", 16 + len(reply), error, unique) + reply)
            except OSError:
                pass  # the request was interrupted meanwhile

    # -- helpers

    def path(self, node: int, name: bytes | None = None) -> str:
        rel = self.paths[node]
        if name is not None:
            rel = os.path.join(rel, os.fsdecode(name))
        return os.path.join(self.backing, rel)

    def rel(self, node: int, name: bytes) -> str:
        return os.path.join(self.paths[node], os.fsdecode(name))

    def node_for(self, rel: str) -> int:
        if rel not in self.nodes:
            self.nodes[rel], self.paths[self.next_node] = self.next_node, rel
            self.next_node += 1
        return self.nodes[rel]

    def attr(self, node: int, st: os.stat_result) -> bytes:
        size = self.unsynced[node].size if node in self.unsynced else st.st_size
        return struct.pack(
            "<QQQQQQIIIIIIIIII", st.st_ino, size, (size + 511) // 512, int(st.st_atime),
            int(st.st_mtime), int(st.st_ctime), st.st_atime_ns % 10**9, st.st_mtime_ns % 10**9,
            st.st_ctime_ns % 10**9, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev,
            PAGE, 0)

    def entry(self, rel: str) -> bytes:
        node = self.node_for(rel)
        st = os.lstat(os.path.join(self.backing, rel))
        return struct.pack("<QQQQII", node, 0, 0, 0, 0, 0) + self.attr(node, st)

    def forget_path(self, rel: str) -> None:
        node = self.nodes.pop(rel, None)
        if node is not None:
            self.paths[node] = rel + f".gone-{node}"  # still open handles use their fd

    @staticmethod
    def names(data: bytes, count: int) -> list[bytes]:
        return data.split(b"\0")[:count]

    def ok(self, node: int, data: bytes) -> bytes:
        return b""

    def no_reply(self, node: int, data: bytes) -> object:
        return NO_REPLY

    # -- file contents: the part that is lazy

    def state(self, node: int, fd: int) -> Unsynced:
        if node not in self.unsynced:
            size = os.fstat(fd).st_size
            self.unsynced[node] = Unsynced(size=size, cut=size)
        return self.unsynced[node]

    def read_backing(self, fd: int, u: Unsynced | None, off: int, n: int) -> bytearray:
        buf = bytearray(os.pread(fd, n, off))
        if u is not None and u.cut < off + len(buf):
            del buf[max(0, u.cut - off):]
        return buf + bytes(n - len(buf))

    def page(self, node: int, fd: int, index: int) -> bytearray:
        u = self.state(node, fd)
        if index not in u.pages:
            u.pages[index] = self.read_backing(fd, u, index * PAGE, PAGE)
        return u.pages[index]

    def write_at(self, node: int, fd: int, off: int, data: bytes) -> None:
        pos = 0
        while pos < len(data):
            index, within = divmod(off + pos, PAGE)
            chunk = data[pos:pos + PAGE - within]
            self.page(node, fd, index)[within:within + len(chunk)] = chunk
            pos += len(chunk)
        u = self.unsynced[node]
        u.size = max(u.size, off + len(data))

    def truncate(self, node: int, fd: int, size: int) -> None:
        u = self.state(node, fd)
        for index in [i for i in u.pages if i * PAGE >= size]:
            del u.pages[index]
        index, within = divmod(size, PAGE)
        if index in u.pages:
            u.pages[index][within:] = bytes(PAGE - within)
        u.cut, u.size = min(u.cut, size), size

    def sync(self, node: int, fd: int) -> None:
        u = self.unsynced.pop(node, None)
        if u is None:
            return
        if os.fstat(fd).st_size > u.cut:
            os.ftruncate(fd, u.cut)
        for index, page in u.pages.items():
            end = min(PAGE, u.size - index * PAGE)
            if end > 0:
                os.pwrite(fd, page[:end], index * PAGE)
        os.ftruncate(fd, u.size)

    # -- requests

    def init(self, node: int, data: bytes) -> bytes:
        major, minor, readahead, _flags = struct.unpack_from("<IIII", data)
        return struct.pack("<IIIIHHIIHHI7I", 7, min(minor, 31), readahead, FUSE_BIG_WRITES,
                           16, 12, MAX_WRITE, 1, 0, 0, 0, *([0] * 7))

    def lookup(self, node: int, data: bytes) -> bytes:
        return self.entry(self.rel(node, self.names(data, 1)[0]))

    def getattr(self, node: int, data: bytes) -> bytes:
        return struct.pack("<QII", 0, 0, 0) + self.attr(node, os.lstat(self.path(node)))

    def setattr(self, node: int, data: bytes) -> bytes:
        (valid, _pad, fh, size, _owner, atime, mtime, _ctime, atimens, mtimens, _ctimens, mode,
         _u4, uid, gid) = struct.unpack_from("<IIQQQQQQIIIIIII", data)
        path = self.path(node)
        if valid & FATTR_MODE:
            os.chmod(path, mode & 0o7777)
        if valid & (FATTR_UID | FATTR_GID):
            os.chown(path, uid if valid & FATTR_UID else -1, gid if valid & FATTR_GID else -1)
        if valid & FATTR_SIZE:
            if valid & FATTR_FH and fh in self.files:
                self.truncate(node, self.files[fh][1], size)
            else:
                fd = os.open(path, os.O_RDWR)
                try:
                    self.truncate(node, fd, size)
                    self.sync(node, fd)  # no handle to sync through later: take it as synced
                finally:
                    os.close(fd)
        if valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW):
            now = time.time_ns()
            st = os.lstat(path)
            a = (now if valid & FATTR_ATIME_NOW
                 else atime * 10**9 + atimens if valid & FATTR_ATIME else st.st_atime_ns)
            m = (now if valid & FATTR_MTIME_NOW
                 else mtime * 10**9 + mtimens if valid & FATTR_MTIME else st.st_mtime_ns)
            os.utime(path, ns=(a, m))
        return self.getattr(node, b"")

    def mkdir(self, node: int, data: bytes) -> bytes:
        mode, umask = struct.unpack_from("<II", data)
        rel = self.rel(node, self.names(data[8:], 1)[0])
        os.mkdir(os.path.join(self.backing, rel), mode & ~umask & 0o7777)
        return self.entry(rel)

    def unlink(self, node: int, data: bytes) -> bytes:
        rel = self.rel(node, self.names(data, 1)[0])
        os.unlink(os.path.join(self.backing, rel))
        self.forget_path(rel)
        return b""

    def rmdir(self, node: int, data: bytes) -> bytes:
        rel = self.rel(node, self.names(data, 1)[0])
        os.rmdir(os.path.join(self.backing, rel))
        self.forget_path(rel)
        return b""

    def rename(self, node: int, data: bytes) -> bytes:
        return self.move(node, struct.unpack_from("<Q", data)[0], 0, data[8:])

    def rename2(self, node: int, data: bytes) -> bytes:
        newdir, flags, _pad = struct.unpack_from("<QII", data)
        return self.move(node, newdir, flags, data[16:])

    def move(self, node: int, newdir: int, flags: int, names: bytes) -> bytes:
        old, new = self.names(names, 2)
        src, dst = self.rel(node, old), self.rel(newdir, new)
        if flags & 1 and os.path.lexists(os.path.join(self.backing, dst)):  # RENAME_NOREPLACE
            raise OSError(17, "EEXIST")
        if flags & ~1:
            raise OSError(22, "EINVAL")
        os.rename(os.path.join(self.backing, src), os.path.join(self.backing, dst))
        self.forget_path(dst)
        for rel in [r for r in self.nodes if r == src or r.startswith(src + "/")]:
            moved = dst + rel[len(src):]
            n = self.nodes.pop(rel)
            self.nodes[moved], self.paths[n] = n, moved
        return b""

    def new_handle(self, node: int, fd: int) -> bytes:
        fh, self.next_fh = self.next_fh, self.next_fh + 1
        self.files[fh] = (node, fd)
        return struct.pack("<QII", fh, FOPEN_DIRECT_IO, 0)

    def open(self, node: int, data: bytes) -> bytes:
        return self.new_handle(node, os.open(self.path(node), os.O_RDWR))

    def create(self, node: int, data: bytes) -> bytes:
        flags, mode, umask, _open_flags = struct.unpack_from("<IIII", data)
        rel = self.rel(node, self.names(data[16:], 1)[0])
        fd = os.open(os.path.join(self.backing, rel),
                     os.O_RDWR | os.O_CREAT | (flags & os.O_EXCL), mode & ~umask & 0o7777)
        entry = self.entry(rel)
        return entry + self.new_handle(self.nodes[rel], fd)

    def read(self, node: int, data: bytes) -> bytes:
        fh, off, size = struct.unpack_from("<QQI", data)
        node, fd = self.files[fh]
        u = self.unsynced.get(node)
        end = min(off + size, u.size if u else os.fstat(fd).st_size)
        if end <= off:
            return b""
        buf = self.read_backing(fd, u, off, end - off)
        for index, page in (u.pages.items() if u else ()):
            lo, hi = max(off, index * PAGE), min(end, index * PAGE + PAGE)
            if lo < hi:
                buf[lo - off:hi - off] = page[lo - index * PAGE:hi - index * PAGE]
        return bytes(buf)

    def write(self, node: int, data: bytes) -> bytes:
        fh, off, size = struct.unpack_from("<QQI", data)
        node, fd = self.files[fh]
        self.write_at(node, fd, off, data[40:40 + size])
        return struct.pack("<II", size, 0)

    def fsync(self, node: int, data: bytes) -> bytes:
        fh = struct.unpack_from("<Q", data)[0]
        if fh in self.files:
            self.sync(*self.files[fh])
        return b""

    def release(self, node: int, data: bytes) -> bytes:
        fh = struct.unpack_from("<Q", data)[0]
        entry = self.files.pop(fh, None)
        if entry is not None:
            os.close(entry[1])
        return b""

    def opendir(self, node: int, data: bytes) -> bytes:
        path = self.path(node)
        listing = [(".", 1, 4), ("..", 1, 4)] + [
            (e.name, e.inode(), (e.stat(follow_symlinks=False).st_mode >> 12) & 0o17)
            for e in os.scandir(path)]
        fh, self.next_fh = self.next_fh, self.next_fh + 1
        self.dirs[fh] = listing
        return struct.pack("<QII", fh, 0, 0)

    def readdir(self, node: int, data: bytes) -> bytes:
        fh, off, size = struct.unpack_from("<QQI", data)
        out = b""
        for i, (name, ino, kind) in enumerate(self.dirs.get(fh, [])[off:], start=off + 1):
            raw = os.fsencode(name)
            dirent = struct.pack("<QQII", ino, i, len(raw), kind) + raw
            dirent += bytes(-len(dirent) % 8)
            if len(out) + len(dirent) > size:
                break
            out += dirent
        return out

    def releasedir(self, node: int, data: bytes) -> bytes:
        self.dirs.pop(struct.unpack_from("<Q", data)[0], None)
        return b""

    def statfs(self, node: int, data: bytes) -> bytes:
        s = os.statvfs(self.backing)
        return struct.pack("<QQQQQIIII6I", s.f_blocks, s.f_bfree, s.f_bavail, s.f_files,
                           s.f_ffree, s.f_bsize, s.f_namemax, s.f_frsize, 0, *([0] * 6))


def libc():
    import ctypes
    lib = ctypes.CDLL("libc.so.6", use_errno=True)
    return ctypes, lib


def lazyfs_main(backing: str, mountpoint: str) -> int:
    """`--lazyfs BACKING MOUNTPOINT`: mounts, says "mounted", serves until unmounted or killed."""
    ctypes, lib = libc()
    fd = os.open("/dev/fuse", os.O_RDWR)
    opts = f"fd={fd},rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other"
    if lib.mount(b"lazyfs", os.fsencode(mountpoint), b"fuse.lazyfs", 2 | 4, opts.encode()) != 0:
        err = ctypes.get_errno()
        print(f"mount {mountpoint}: {os.strerror(err)}", file=sys.stderr)
        return 2
    print("mounted", flush=True)
    LazyFs(os.path.abspath(backing), fd).serve()
    return 0


def unmount(mountpoint: Path) -> None:
    ctypes, lib = libc()
    lib.umount2(os.fsencode(str(mountpoint)), 2)  # MNT_DETACH


def wait_frozen(pid: int, deadline: float = 10.0) -> None:
    """Returns once every thread of `pid` is stopped. SIGSTOP stops a process's threads one by
    one, some time after the signal is sent; a thread still running when the file system dies
    would see its writes fail and could answer a client with that error, which no real power
    cut lets a process do."""
    began = time.monotonic()
    while True:
        states = []
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            try:
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue  # a thread that exited meanwhile
        if all(state in "tTZX" for state in states):
            return
        if time.monotonic() - began > deadline:
            raise RuntimeError(f"otpd (pid {pid}) did not stop within {deadline:.0f} s of SIGSTOP")
        time.sleep(0.001)


class LazyDisk:
    """The data directory on a LazyFs mount, and the power cut."""

    def __init__(self, work: Path) -> None:
        self.backing, self.mountpoint = work / "disk", work / "data"
        self.backing.mkdir()
        self.mountpoint.mkdir()
        self.proc: subprocess.Popen | None = None
        self.mounted = False

    def ensure_mounted(self) -> None:
        if not self.mounted:
            self.mount()

    def mount(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--lazyfs", str(self.backing),
             str(self.mountpoint)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "mounted":
            self.proc.kill()
            raise RuntimeError(f"the FUSE file system did not mount ({line or 'no answer'})")
        self.mounted = True

    def power_cut(self, server: Server) -> None:
        """Everything stops at once: otpd frozen, the unsynced data gone, then both killed."""
        if server.proc and server.proc.poll() is None:
            server.proc.send_signal(signal.SIGSTOP)
            wait_frozen(server.proc.pid)
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        server.kill()
        unmount(self.mountpoint)
        self.mounted = False

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.mounted:
            unmount(self.mountpoint)
        self.mounted = False


POWER_LOSS_HELP = """\
--power-loss cannot run here: it needs root and /dev/fuse (a kernel with CONFIG_FUSE_FS).

It emulates a power cut with a FUSE file system (LazyFs, in this script) that keeps file
contents in memory until they are fsynced and forgets them at the cut. The faithful ways need
more than this workplace's machine has; what was checked there (re-check with the commands):

  * device-mapper (dm-log-writes to replay up to any flush, or dm-flakey with drop_writes):
    `zcat /proc/config.gz` says "# CONFIG_MD is not set" and "# CONFIG_MODULES is not set" (no
    device-mapper, built in or loadable); /proc/misc has no "device-mapper" line, /dev/mapper
    does not exist, there is no modprobe and no /lib/modules. dmsetup is installed but has no
    kernel side to talk to. Also not set: CONFIG_BLK_DEV_NBD (so qemu-nbd cannot export a
    disk image as a block device), CONFIG_BLK_DEV_UBLK, CONFIG_FAULT_INJECTION.
  * a VM: /dev/kvm exists, but the kernel (a Firecracker microVM, 6.18.44-fc, /.dockerenv
    present) has "# CONFIG_KVM_INTEL is not set", "# CONFIG_KVM_AMD is not set" and
    CONFIG_KVM_PVM=y: only PVM guests run on it, not a stock Debian kernel; and
    qemu-system-x86_64 is not installed (qemu-img and qemu-nbd are). A fully emulated (TCG) qemu
    guest with a Debian kernel and dm-log-writes would work in principle, slowly.
  * what is there: root with every capability, CONFIG_FUSE_FS=y with /dev/fuse, and
    CONFIG_BLK_DEV_LOOP=y (loop devices, of no use without device-mapper).
"""


def power_loss_possible() -> bool:
    return os.geteuid() == 0 and os.path.exists("/dev/fuse")


def server_errors(log: Path, last: int = 20) -> list[str]:
    """The server log's last ERROR lines: what a violation's cause most likely left there,
    printed before the data directory and the log are deleted."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line[:400] for line in lines if " ERROR " in line][-last:]


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--lazyfs":  # the FUSE process of --power-loss
        return lazyfs_main(sys.argv[2], sys.argv[3])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    p.add_argument("--rounds", type=int, default=20,
                   help="rounds, each ending in a kill (default 20)")
    p.add_argument("--full", action="store_true", help="1,000 rounds")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    p.add_argument("--bin", type=Path, default=target / "debug" / "otpd", help="the otpd binary")
    p.add_argument("--keep", action="store_true", help="keep the data directory when a check fails")
    p.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                   help="stop the load this long before each kill; with --power-loss a control "
                        "run (the store fsyncs in the background every 0.5 s with periodic)")
    p.add_argument("--warn-early-delivery", action="store_true",
                   help="count invariant 6 (a code delivered before it was on disk) and go on")
    p.add_argument("--periodic", action="store_true",
                   help="run the server with durability periodic and check only what a "
                        "SIGKILL must not take back there (codes that were sent)")
    p.add_argument("--power-loss", action="store_true",
                   help="end each round with an emulated power cut that drops what was not "
                        "fsynced, instead of SIGKILL (root, /dev/fuse)")
    args = p.parse_args()
    if args.full:
        args.rounds = 1000
    global WARN_EARLY, PERIODIC
    WARN_EARLY = args.warn_early_delivery
    PERIODIC = args.periodic
    if args.periodic and args.power_loss:
        print("--periodic checks a SIGKILL only: a power cut may take back a sent code there",
              file=sys.stderr)
        return 2
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.power_loss and not power_loss_possible():
        print(POWER_LOSS_HELP, file=sys.stderr)
        return 2
    if not args.bin.is_file():
        print(f"no otpd binary at {args.bin}: cargo build --bin otpd (or --bin PATH)",
              file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="otpd-crash-"))
    print(f"crash campaign: {args.rounds} rounds, seed {args.seed}, {args.bin}, work dir {work}",
          flush=True)
    ok = False
    try:
        status = campaign(args, work)
        ok = status == 0
        return status
    except Violation as v:
        print(f"\nVIOLATION (seed {args.seed}): {v}", file=sys.stderr)
        errors = server_errors(work / "server.log")
        if errors:
            print("the server logged (last 20 errors):\n" + "\n".join(errors), file=sys.stderr)
        return 1
    except (RuntimeError, OSError) as e:
        print(f"\nthe campaign could not run: {e}", file=sys.stderr)
        return 2
    finally:
        if ok or not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if not ok:
                print("(the data directory is deleted; --keep keeps it)", file=sys.stderr)
        else:
            data = work / ("disk" if args.power_loss else "data")
            print(f"kept: data directory {data}, server log {work / 'server.log'}",
                  file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
