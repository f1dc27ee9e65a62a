"""A real SMTP server for otpd's delivery tests (aiosmtpd on 127.0.0.1).

usage: smtp_sink.py PORT DIR [USER PASSWORD]

Each accepted message becomes one file in DIR: the envelope (X-MailFrom, X-RcptTo), the
client's port (X-Peer: which connection carried it), the decoded headers, then every text part
as "== <content type> ==" followed by its decoded content, so tests can compare what was
rendered without decoding MIME themselves. With USER
and PASSWORD, AUTH PLAIN/LOGIN is required (offered without TLS: loopback only).
Needs aiosmtpd: apt-get install -y python3-aiosmtpd (run with /usr/bin/python3).
"""

import email
import email.policy
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class WriteToDir:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        lines = [
            f"X-MailFrom: {envelope.mail_from}",
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}",
            f"X-Peer: {session.peer[1]}",  # the client's port: which connection carried it
        ]
        for name in ("From", "To", "Subject", "Content-Type", "Date", "Message-ID"):
            if msg[name] is not None:
                lines.append(f"{name}: {msg[name]}")
        lines.append("")
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                lines.append(f"== {part.get_content_type()} ==")
                lines.append(part.get_content().rstrip("\n"))
        self.count += 1
        final = os.path.join(self.directory, f"msg-{self.count:04d}.txt")
        tmp = final + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(tmp, final)
        return "250 2.0.0 Ok: queued"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    credentials = (sys.argv[3], sys.argv[4]) if len(sys.argv) >= 5 else None
    params = {}
    if credentials:
        user, password = (c.encode() for c in credentials)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
            # handled=False: aiosmtpd then answers 535 itself (the default sends nothing).
            return AuthResult(success=ok, handled=False)

        params = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    controller = Controller(WriteToDir(directory), hostname="127.0.0.1", port=port, **params)
    controller.start()
    print(f"smtp sink listening on 127.0.0.1:{port}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
