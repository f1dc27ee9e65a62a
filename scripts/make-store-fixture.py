#!/usr/bin/env python3
"""Writes tests/fixtures/store-v<N>/: a data directory made by this otpd through its real
interfaces (CLI, public API), and fixture.json saying what is in it. tests/api/embedded/upgrade.rs
opens it with the current code and checks every record is still there and still works, so a
change to a record format cannot silently break existing installations.

Run it once per store schema version (store::embedded::SCHEMA_VERSION), when that version is raised, and
commit the new folder beside the old ones; never regenerate an existing one.

Usage: scripts/make-store-fixture.py [OTPD_BIN]   (default target/debug/otpd)
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OTPD = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "target/debug/otpd").resolve()
PASSWORDS = {"alice": "fixture password alice", "victor": "fixture password victor"}
DEVICE = "fixture-device"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(data: str, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [str(OTPD), "--data-dir", data, *args],
        input=stdin, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        sys.exit(f"otpd {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def main() -> None:
    version = int(re.search(r"pub const SCHEMA_VERSION: u32 = (\d+);",
                            (ROOT / "src/store/embedded/mod.rs").read_text()).group(1))
    target = ROOT / f"tests/fixtures/store-v{version}"
    if target.exists():
        sys.exit(f"{target} exists: fixtures are never regenerated (raise SCHEMA_VERSION first)")

    data = tempfile.mkdtemp(prefix="otpd-fixture-")
    public = f"http://127.0.0.1:{free_port()}"
    log = open(Path(data).parent / f"{Path(data).name}.log", "w+")
    server = subprocess.Popen(
        [str(OTPD), "--data-dir", data, "serve", "--log-json",
         "--public-listen", public.removeprefix("http://"),
         "--admin-listen", f"127.0.0.1:{free_port()}"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "OTPD_DEMO_BRAND": "true", "OTPD_CLIENT_RATE_LIMIT_PER_MINUTE": "0"},
    )
    for _ in range(200):
        if (Path(data) / "admin.url").exists():
            break
        time.sleep(0.05)
    created_ms = int(time.time() * 1000)

    # Console operators, a brand with every kind of setting, a channel with a secret, a
    # template, signing, a per-customer override.
    cli(data, "operator", "add", "alice", "--role", "admin", stdin=PASSWORDS["alice"] + "\n")
    cli(data, "operator", "add", "victor", "--role", "viewer", stdin=PASSWORDS["victor"] + "\n")
    cli(data, "brand", "create", "ACME", "dailyOtpLimit=5", "timeZone=Asia/Ho_Chi_Minh",
        "otpLength=8", "resendCooldownSeconds=0",
        'testIdentifiers=[{"identifierType":"MOBILE","identifierValue":"84900000099","otp":"99999999"}]')
    cli(data, "channel", "set", "ACME", "EMAIL", "provider=smtp", "host=smtp.acme.test",
        "port=587", "username=otp", "password=fixture-smtp-secret", "from=otp@acme.test")
    cli(data, "template", "set", "ACME", "SMS", "--locale", "vi",
        "--text", "Ma {brand}: {otp}")
    signing = cli(data, "signing", "enable", "ACME", "--endpoints", "OTP_VALIDATE")
    secret = re.search(r"\b([A-Za-z0-9+/]{43}=)", signing).group(1)
    cli(data, "limit", "set", "ACME", "+84900000001", "20")

    # Codes through the public API on DEMO (its LOG channel prints them): one validated, one
    # live, one refused by the daily limit of a customer whose limit is 1.
    cli(data, "brand", "set", "DEMO", "resendCooldownSeconds=0")
    cli(data, "limit", "set", "DEMO", "+84900000003", "1")
    sessions = {}
    for number in ["+84900000001", "+84900000002", "+84900000003", "+84900000003"]:
        ident = {"identifierType": "MOBILE", "identifierValue": number, "brand": "DEMO",
                 "deviceId": DEVICE}
        token = post(public, "/auth/v1/token/generate", ident)
        sid = token["user"]["sessionId"]
        sessions[number] = sid
        post(public, "/auth/v1/otp/generate", {**ident, "sessionId": sid})

    def code_for(number: str) -> str:
        for _ in range(200):
            log.seek(0)
            for line in log:
                if "LOG channel delivery" in line and number in line:
                    return re.search(r"\b(\d{6})\b", json.loads(line)["fields"]["text"]).group(1)
            time.sleep(0.05)
        sys.exit(f"no code was logged for {number}")

    first = code_for("+84900000001")
    ok = post(public, "/auth/v1/otp/validate", {
        "identifierType": "MOBILE", "identifierValue": "+84900000001", "brand": "DEMO",
        "deviceId": DEVICE, "sessionId": sessions["+84900000001"], "otp": first})
    assert ok["status"]["code"] == 200, ok
    live = code_for("+84900000002")

    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    assert server.returncode == 0, f"otpd exited with {server.returncode}"

    target.mkdir(parents=True)
    shutil.copytree(Path(data) / "store", target / "store")
    # fjall gives a new journal 64 MiB of zeros after its entries and cuts it back to its last
    # entry when it next opens the store (a clean stop has written every entry into the
    # tables): the fixture keeps the journal as that open leaves it, not 64 MiB of zeros.
    for journal in (target / "store").glob("*.jnl"):
        journal.write_bytes(journal.read_bytes().rstrip(b"\0"))
    shutil.copy(Path(data) / "server-keys.json", target / "server-keys.json")
    version_line = subprocess.run([str(OTPD), "--version"], capture_output=True,
                                  text=True, check=True).stdout.strip()
    manifest = {
        "madeBy": version_line,
        "schemaVersion": version,
        "createdAtMs": created_ms,
        "operators": [{"name": n, "role": r, "password": PASSWORDS[n]}
                      for n, r in [("alice", "admin"), ("victor", "viewer")]],
        "brands": ["ACME", "DEMO"],
        "acmeSigningSecret": secret,
        "liveCode": {"brand": "DEMO", "identifierType": "MOBILE",
                     "identifierValue": "+84900000002", "deviceId": DEVICE,
                     "sessionId": sessions["+84900000002"], "otp": live},
        "logRecords": {"200": 3, "1534": 1},
    }
    (target / "fixture.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(data)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
