#!/usr/bin/env python3
"""A standing false-positive test on real runtimes (root): a Python (waitress), a Node
(express + fetch) and a Go (net/http) function learn under one traffic mix, then serve a
different benign mix in enforce mode: bursts, large bodies, no keep-alive, slow clients,
malformed input, 404s, and a backend that restarts and closes its idle connections. Under
enforce they fail no request that the same traffic untracked does not fail, on both paths:
the function that was learning when enforce began (only sys_enter checks it) and a new one
started under its seccomp filter.
"""
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import CTL, AgentTestCase, free_port, wait_for

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtimes")


class Backend:
    """A loopback HTTP/1.1 server with keep-alive; restart() closes every connection (idle
    ones included), as a backend that restarts or times out idle connections does."""

    def __init__(self):
        self.port = free_port()
        self.conns = set()
        self.lock = threading.Lock()
        self._start()

    def _start(self):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with outer.lock:
                    outer.conns.add(self.connection)

            def do_GET(self):  # noqa: N802
                body = b"backend ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.srv = S(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def restart(self):
        self.srv.shutdown()
        self.srv.server_close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns.clear()
        self._start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def request(port, method="GET", path="/", body=None, headers=None, conn=None):
    """(status, body), or (None, error) when the function did not answer."""
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        if conn is not None:
            conn.close()
        return None, repr(e)
    finally:
        if conn is None:
            c.close()


def slow_request(port):
    """A client that sends its request a few bytes at a time."""
    data = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            for i in range(0, len(data), 4):
                s.sendall(data[i:i + 4])
                time.sleep(0.02)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        return (int(got.split()[1]) if got.startswith(b"HTTP/") else None), got[:80]
    except OSError as e:
        return None, repr(e)


def malformed(port):
    """Garbage on the wire: any answer, or a close, is fine; the function must live on."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
            s.sendall(b"\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n")
            s.recv(65536)
    except OSError:
        pass
    return 0, b""


class RuntimesE2E(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.backend = Backend()
        self.a = self.agent(extra=["--seccomp-root", "off"]).start()

    def tearDown(self):
        self.backend.close()
        super().tearDown()

    # --- the functions -------------------------------------------------------------------

    def command(self, runtime):
        if runtime == "python":
            return ["/usr/bin/python3", os.path.join(HERE, "app.py")]
        if runtime == "node":
            return [shutil.which("node") or "/usr/bin/node", os.path.join(HERE, "app.js")]
        out = os.path.join(self.tmp, "gofn")
        if not os.path.exists(out):
            env = dict(os.environ, GOCACHE=os.path.join(self.tmp, "gocache"),
                       GOPATH=os.path.join(self.tmp, "gopath"), GO111MODULE="off")
            subprocess.run(["go", "build", "-o", out, os.path.join(HERE, "main.go")], env=env,
                           check=True, capture_output=True)
        return [out]

    def start(self, runtime, tracked, port):
        env = dict(os.environ, PORT=str(port), BACKEND=f"127.0.0.1:{self.backend.port}",
                   NODE_PATH="/usr/share/nodejs:/usr/lib/nodejs")
        cmd = self.command(runtime)
        if tracked:
            cmd = [CTL, "--socket", self.a.socket, "run", "--function", runtime, "--"] + cmd
        with open(os.path.join(self.tmp, f"{runtime}.log"), "ab") as log:
            p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        p.log_path = log.name
        self.procs.append(p)
        wait_for(lambda: p.poll() is not None or request(port)[0] == 200, timeout=30,
                 what=f"{runtime} serving")
        if p.poll() is not None:
            with open(p.log_path, errors="replace") as f:
                self.fail(f"{runtime} exited {p.returncode}: {f.read()[-3000:]}")
        return p

    def stop(self, p):
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            ps = subprocess.run(["ps", "-eo", "pid,ppid,stat,wchan:30,cmd"], capture_output=True,
                                text=True).stdout
            self.fail("the function did not stop on SIGTERM:\n" + "\n".join(
                l for l in ps.splitlines() if "app" in l or "faasguardctl" in l or "PID" in l))

    # --- the traffic ---------------------------------------------------------------------

    def learning_mix(self, port):
        keep = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        for i in range(150):
            request(port, path="/", conn=keep)
            if i % 5 == 0:
                request(port, path="/backend", conn=keep)
            if i % 10 == 0:
                request(port, "POST", "/echo", body=b"x" * 100, conn=keep)
        # Each kind of request once, large bodies included (a server may buffer those in a
        # temporary file: another code path); the enforced mix differs in sizes and shapes.
        request(port, "POST", "/echo", body=b"z" * (700 << 10), conn=keep)
        keep.close()

    def benign_mix(self, port):
        """Each request's outcome: True when the function answered (< 500)."""
        results = []

        def note(r, what="GET /"):
            ok = r[0] is not None and r[0] < 500
            results.append(ok)
            if not ok:
                self.failures_seen.append((what, r))

        # Bursts: many clients at once.
        threads = [threading.Thread(target=lambda: [note(request(port)) for _ in range(25)])
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for size in (1 << 20, 4 << 20):  # large bodies
            note(request(port, "POST", "/echo", body=b"y" * size), f"POST {size}")
        for _ in range(40):  # no keep-alive
            note(request(port, headers={"Connection": "close"}), "close")
        for _ in range(3):
            note(slow_request(port), "slow")
        for _ in range(5):
            malformed(port)
        for i in range(20):
            note(request(port, path=f"/missing/{i}"), "404")
        # The backend restarts and closes the pooled connections; the function goes on.
        keep = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        for _ in range(5):
            note(request(port, path="/backend", conn=keep), "backend")
        self.backend.restart()
        for _ in range(10):
            note(request(port, path="/backend", conn=keep), "backend after restart")
        keep.close()
        note(request(port))
        return results

    # --- the test ------------------------------------------------------------------------

    def check(self, runtime):
        self.failures_seen = []
        port = free_port()
        p = self.start(runtime, tracked=False, port=port)
        untracked = self.benign_mix(port)
        self.stop(p)
        failed_untracked = untracked.count(False)

        p = self.start(runtime, tracked=True, port=port)
        self.learning_mix(port)
        time.sleep(2.5)  # a sync: the kernel's sets are in the profile
        self.a.ctl("mode", runtime, "enforce")
        enforced = self.benign_mix(port)
        reported = json.loads(self.a.ctl("violations", "-o", "json").stdout).get("violations", [])
        self.assertIsNone(p.poll(), f"{runtime} died under enforce (sys_enter path)")
        self.assertLessEqual(enforced.count(False), failed_untracked,
                             f"{runtime}, sys_enter path: {self.failures_seen}")
        self.stop(p)

        p = self.start(runtime, tracked=True, port=port)  # under its seccomp filter
        enforced = self.benign_mix(port)
        self.assertIsNone(p.poll(), f"{runtime} died under its seccomp filter")
        self.assertLessEqual(enforced.count(False), failed_untracked,
                             f"{runtime}, seccomp path: {self.failures_seen}; reported on the "
                             f"sys_enter path: {[v.get('attempted') for v in reported]}")
        self.stop(p)
        vs = json.loads(self.a.ctl("violations", "-o", "json").stdout).get("violations", [])
        self.assertEqual([v for v in vs if v.get("action") == "killed"], [], vs)

    def test_python_waitress(self):
        self.check("python")

    def test_node_express_and_fetch(self):
        self.check("node")

    def test_go_net_http(self):
        self.check("go")


if __name__ == "__main__":
    unittest.main()
