#!/usr/bin/python3
"""A real SMTP server for the e-mail integration tests (Debian's python3-aiosmtpd 1.4).

STARTTLS required (the given certificate), AUTH required after it (one user and
password), and answers chosen by recipient:
  reject550@...  RCPT is answered "550 5.1.1 no such user" (permanent)
  busy451@...    DATA is answered "451 4.3.0 try again later" the first time for a
                 message id, then accepted
  anything else  accepted
Each accepted message is written to <dir>/<n>.json (mail_from, rcpt_tos, data, tls,
authenticated, login); every RCPT and DATA command is one line of <dir>/commands.log. <dir>/ready
appears once the server listens.

usage: smtp_server.py DIR PORT CERT KEY USER PASSWORD
"""
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    out_dir, port, cert, key, user, password = sys.argv[1:7]
    lock = threading.Lock()
    seen_451 = set()
    counter = [0]

    def log(line):
        with lock, open(os.path.join(out_dir, "commands.log"), "a") as f:
            f.write(line + "\n")

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
              and auth_data.password.decode() == password)
        log("AUTH %s %s" % (mechanism, "ok" if ok else "failed"))
        if ok:
            session.hook_login = auth_data.login.decode()
        # handled=False: aiosmtpd answers a failure itself (535), as a real server does;
        # True would leave the client waiting for an answer that never comes.
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            log("RCPT " + address)
            if address.startswith("reject550@"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            data = envelope.content.decode("utf-8", "replace")
            message_id = ""
            for line in data.split("\r\n"):
                if line.lower().startswith("message-id:"):
                    message_id = line.split(":", 1)[1].strip()
                if line == "":
                    break
            log("DATA " + ",".join(envelope.rcpt_tos) + " " + message_id)
            if any(r.startswith("busy451@") for r in envelope.rcpt_tos) and message_id not in seen_451:
                seen_451.add(message_id)
                return "451 4.3.0 try again later"
            with lock:
                counter[0] += 1
                n = counter[0]
            record = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "data": data,
                "tls": session.ssl is not None,
                "authenticated": bool(getattr(session, "authenticated", False)),
                "login": getattr(session, "hook_login", ""),
            }
            tmp = os.path.join(out_dir, "%d.tmp" % n)
            with open(tmp, "w") as f:
                json.dump(record, f)
            os.rename(tmp, os.path.join(out_dir, "%d.json" % n))
            return "250 2.0.0 accepted"

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(Handler(), hostname="127.0.0.1", port=int(port),
                            tls_context=context, require_starttls=True, auth_required=True,
                            auth_require_tls=True, authenticator=authenticator)
    controller.start()
    open(os.path.join(out_dir, "ready"), "w").close()
    threading.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    main()
