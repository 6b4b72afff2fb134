# A Knative-like "queue-proxy": listens on 127.0.0.1:$QUEUE_SERVING_PORT and forwards every GET
# to the user container on 127.0.0.1:$USER_PORT, adding a header that says it passed here. Run
# in a test pod by containerd_test.cc as `/usr/bin/python3 -c <this file>`.
import http.client
import http.server
import os
import signal
import sys

QUEUE_PORT = int(os.environ["QUEUE_SERVING_PORT"])
USER_PORT = int(os.environ["USER_PORT"])


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", USER_PORT, timeout=5)
            upstream.request("GET", self.path)
            resp = upstream.getresponse()
            data = resp.read()
            status = resp.status
        except OSError as e:
            data = f"queue-proxy: user container unreachable: {e}\n".encode()
            status = 502
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Queue-Proxy", "faasguard-test")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("queue-proxy: " + (fmt % args) + "\n")


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = http.server.ThreadingHTTPServer(("127.0.0.1", QUEUE_PORT), Proxy)
print(f"queue-proxy on 127.0.0.1:{QUEUE_PORT} -> 127.0.0.1:{USER_PORT}", flush=True)
server.serve_forever()
