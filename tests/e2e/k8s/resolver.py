"""A function container that reaches hosts by name (k8s_e2e_test, egress by name).

Serves on 127.0.0.1:$PORT (host networking):
  GET /connect?name=N&port=P   getaddrinfo(N) through the pod's resolv.conf, then TCP connect
  GET /connectip?addr=A&port=P a TCP connect to an address
  GET /healthz
Answers one JSON object: {"ok": bool, "addr": ..., "error": ...}.
"""
import errno
import http.server
import json
import os
import socket
import urllib.parse


def connect(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect((addr, port))
        return {"ok": True, "addr": addr}
    except OSError as e:
        return {"ok": False, "addr": addr, "error": errno.errorcode.get(e.errno, str(e.errno))}
    finally:
        s.close()


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/healthz":
            r = {"ok": True}
        elif u.path == "/connect":
            try:
                addr = socket.getaddrinfo(q["name"], None, socket.AF_INET)[0][4][0]
                r = connect(addr, int(q["port"]))
            except socket.gaierror as e:
                r = {"ok": False, "error": f"gai {e.errno}"}
        elif u.path == "/connectip":
            r = connect(q["addr"], int(q["port"]))
        else:
            r = {"ok": False, "error": "unknown path"}
        body = json.dumps(r).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
