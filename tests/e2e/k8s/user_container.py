# A Knative-like "user-container" (and an OpenFaaS-like function): a tiny HTTP server on
# 127.0.0.1:$PORT answering "hello from $FUNCTION ($CONTAINER)". Run in a test pod by
# containerd_test.cc as `/usr/bin/python3 -c <this file>`.
import http.server
import os
import signal
import sys

PORT = int(os.environ["PORT"])
FUNCTION = os.environ.get("FUNCTION", "hello")
CONTAINER = os.environ.get("CONTAINER", "user-container")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"hello from {FUNCTION} ({CONTAINER}, pid {os.getpid()}) path {self.path}\n"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("user-container: " + (fmt % args) + "\n")


# PID 1 of its PID namespace: without a handler SIGTERM would be ignored.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print(f"{CONTAINER} listening on 127.0.0.1:{PORT}", flush=True)
server.serve_forever()
