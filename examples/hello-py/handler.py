#!/usr/bin/env python3
"""hello-py: a tiny serverless-style HTTP function, used by the faasguard demo and tests.

GET  /?name=NAME      -> "Hello, NAME! (N words)"
     &notify=HOST:PORT   also sends a UDP notification "greeted NAME" there
     &callback=URL       also POSTs the greeting to URL (a webhook)
POST /                -> counts the words of the body with `wc -w`
GET  /calc?expr=EXPR  -> evaluates an arithmetic expression
GET  /healthz         -> "ok"

It has two real injection bugs, on purpose:
* command injection: the name reaches a shell command line (`sh -c "echo ... | wc -w"`),
  so /?name=x;touch%20/tmp/pwned runs a command of the attacker's choosing;
* code injection: /calc hands the expression to Python's eval(), so
  /calc?expr=__import__('os').system('id') runs attacker code inside the function.
The webhook and notification targets come from the request too (an exfiltration channel).
faasguard learns that this function only ever runs /bin/sh and wc, talks to its usual
webhook and notification ports, and makes a known set of syscalls; in enforce mode the
kernel refuses everything else.
"""
import http.server
import os
import socket
import subprocess
import sys
import urllib.parse
import urllib.request


def count_words(text: str) -> str:
    # BUG (deliberate): text is pasted into a shell command line unquoted.
    out = subprocess.run("echo " + text + " | wc -w", shell=True,
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


def notify(target: str, message: str) -> str:
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.sendto(message.encode(), (host, int(port)))
        return "notified"
    except OSError as e:
        return f"notify failed: {e}"


def callback(url: str, body: str) -> str:
    try:
        req = urllib.request.Request(url, data=body.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            return f"callback {r.status}"
    except OSError as e:
        return f"callback failed: {getattr(e, 'reason', e)}"


def calc(expr: str) -> str:
    # BUG (deliberate): eval() of request input is code execution, not arithmetic.
    try:
        return str(eval(expr))  # noqa: S307
    except Exception as e:  # noqa: BLE001
        return f"error: {e}"


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "hello-py/1.0"

    def _reply(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/healthz":
            self._reply(200, "ok\n")
            return
        if url.path == "/calc":
            self._reply(200, calc(q.get("expr", ["0"])[0]) + "\n")
            return
        name = q.get("name", ["world"])[0]
        text = f"Hello, {name}! ({count_words(name)} words)"
        extra = []
        if "notify" in q:
            extra.append(notify(q["notify"][0], f"greeted {name}"))
        if "callback" in q:
            extra.append(callback(q["callback"][0], text))
        self._reply(200, text + "".join(f" [{e}]" for e in extra) + "\n")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(min(length, 1 << 20)).decode(errors="replace")
        self._reply(200, count_words(body) + "\n")

    def log_message(self, fmt: str, *args) -> None:
        if os.environ.get("HELLO_QUIET") != "1":
            sys.stderr.write("hello-py: " + (fmt % args) + "\n")


def main() -> None:
    port = int(os.environ.get("PORT", sys.argv[1] if len(sys.argv) > 1 else "8080"))
    host = os.environ.get("HOST", "127.0.0.1")
    srv = http.server.ThreadingHTTPServer((host, port), Handler)
    sys.stderr.write(f"hello-py: listening on {host}:{port}\n")
    sys.stderr.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
