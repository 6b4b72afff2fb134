#!/usr/bin/env python3
"""hello-py: a tiny serverless-style HTTP function, used by the faasguard demo and tests.

GET /?name=NAME  -> "Hello, NAME! (N words)"
POST /           -> counts the words of the body with `wc -w`
GET /healthz     -> "ok"

It has a real command-injection bug, on purpose: the name reaches a shell command line
(`sh -c "echo ... | wc -w"`), so a request such as
    /?name=x;touch%20/tmp/pwned
makes the function run a command of the attacker's choosing. faasguard learns that this
function only ever runs /bin/sh and wc, and in enforce mode refuses anything else.
"""
import http.server
import os
import subprocess
import sys
import urllib.parse


def count_words(text: str) -> str:
    # BUG (deliberate): text is pasted into a shell command line unquoted.
    out = subprocess.run("echo " + text + " | wc -w", shell=True,
                         capture_output=True, text=True, timeout=10)
    return out.stdout.strip()


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
        if url.path == "/healthz":
            self._reply(200, "ok\n")
            return
        name = urllib.parse.parse_qs(url.query).get("name", ["world"])[0]
        self._reply(200, f"Hello, {name}! ({count_words(name)} words)\n")

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
