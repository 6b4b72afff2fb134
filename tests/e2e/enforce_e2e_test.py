#!/usr/bin/env python3
"""End-to-end enforcement with the sample function (root): learn under benign traffic,
switch to enforce with faasguardctl, then attack it through its real bugs over HTTP.

The sample function (examples/hello-py) has a shell injection (?name=), an eval() code
injection (/calc?expr=) and request-controlled webhook / notification targets (exfiltration).
"""
import http.server
import json
import os
import shutil
import socket
import threading
import time
import urllib.parse
import urllib.request

from harness import AgentTestCase, free_port, wait_for


class Webhook:
    """A loopback HTTP server that counts the POSTs it receives."""

    def __init__(self, family=socket.AF_INET):
        outer = self
        self.hits = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
                outer.hits += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        cls = http.server.ThreadingHTTPServer
        if family == socket.AF_INET6:
            cls = type("V6", (http.server.ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
        self.srv = cls(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.url = (f"http://[::1]:{self.port}/hook" if family == socket.AF_INET6
                    else f"http://127.0.0.1:{self.port}/hook")
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class UdpSink:
    """A loopback UDP socket that counts datagrams."""

    def __init__(self, family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.target = (f"[::1]:{self.port}" if family == socket.AF_INET6
                       else f"127.0.0.1:{self.port}")
        self.hits = 0
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                self.sock.recv(2048)
                self.hits += 1
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.sock.close()


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"]


class EnforceE2E(AgentTestCase):
    def setUp(self):
        super().setUp()
        self.hook = Webhook()
        self.sink = UdpSink()
        self.evil_hook = Webhook()
        self.evil_hook6 = Webhook(socket.AF_INET6)
        self.evil_sink = UdpSink()
        self.evil_sink6 = UdpSink(socket.AF_INET6)
        self.a = self.agent().start()
        self.port = free_port()
        self.fn = self.run_function(self.a, "hello", self.port)

    def tearDown(self):
        for x in (self.hook, self.sink, self.evil_hook, self.evil_hook6, self.evil_sink,
                  self.evil_sink6):
            x.close()
        super().tearDown()

    def get(self, path, timeout=15):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return r.read().decode()

    def post(self, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/", data=body.encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.read().decode()

    def benign(self, i):
        """One benign request of every kind the function serves, with inputs varied by i."""
        w = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(1 + i % 5)]
        name = urllib.parse.quote(" ".join(w))
        kind = i % 5
        if kind == 0:
            return self.get(f"/?name={name}")
        if kind == 1:
            return self.post(" ".join(w * (1 + i % 3)))
        if kind == 2:
            return self.get(f"/calc?expr={urllib.parse.quote(f'{i} * {i % 7 + 1} + {len(w)}')}")
        if kind == 3:
            return self.get(f"/?name={name}&notify={self.sink.target}"
                            f"&callback={urllib.parse.quote(self.hook.url)}")
        return self.get("/healthz")

    def learn(self, n=300):
        for i in range(n):
            self.benign(i)

    def violations(self):
        out = json.loads(self.a.ctl("violations", "default/hello", "--limit", "10000", "-o",
                                    "json").stdout)
        return out.get("violations", [])

    def mode(self, mode, *extra):
        r = self.a.ctl("mode", "default/hello", mode, *extra)
        self.assertIn(f"-> {mode}", r.stdout)

    def pwned_path(self, tag):
        return os.path.join(self.tmp, f"pwned-{tag}")

    def injections(self):
        """The shell-injection payloads: a direct command, through a symlink to the shell, and
        through a copy of the shell in /tmp. Each would create its pwned-* file."""
        link = os.path.join(self.tmp, "sh-link")
        if not os.path.exists(link):
            os.symlink("/bin/sh", link)
        copy = os.path.join(self.tmp, "mysh")
        if not os.path.exists(copy):
            shutil.copy2(os.path.realpath("/bin/sh"), copy)
        return {
            "direct": f"x;touch {self.pwned_path('direct')}",
            "symlink": f"x;{link} -c 'touch {self.pwned_path('symlink')}'",
            "copy": f"x;{copy} -c 'touch {self.pwned_path('copy')}'",
        }

    # --------------------------------------------------------------------------------------

    def test_enforce_stops_the_attacks(self):
        self.learn()
        self.mode("enforce")

        for tag, payload in self.injections().items():
            self.get("/?name=" + urllib.parse.quote(payload))
            self.assertFalse(os.path.exists(self.pwned_path(tag)), f"{tag}: the file appeared")
        self.assertIsNone(self.fn.poll(), "the function itself survives a killed command")

        # Exfiltration through the request-controlled targets.
        before = (self.evil_hook.hits, self.evil_hook6.hits, self.evil_sink.hits,
                  self.evil_sink6.hits)
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook.url)}")
        self.assertIn("Operation not permitted", r)
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook6.url)}")
        self.assertIn("Operation not permitted", r)
        r = self.get(f"/?name=a&notify={self.evil_sink.target}")
        self.assertIn("notify failed", r)
        self.assertIn("Operation not permitted", r)
        r = self.get(f"/?name=a&notify={urllib.parse.quote(self.evil_sink6.target)}")
        self.assertIn("Operation not permitted", r)
        time.sleep(0.3)
        self.assertEqual((self.evil_hook.hits, self.evil_hook6.hits, self.evil_sink.hits,
                          self.evil_sink6.hits), before, "something got out")
        # The learned targets still work.
        r = self.get(f"/?name=a&notify={self.sink.target}"
                     f"&callback={urllib.parse.quote(self.hook.url)}")
        self.assertIn("[notified] [callback 204]", r)

        vs = self.violations()
        kinds = {(v["kind"], v["action"]) for v in vs}
        self.assertIn(("exec", "killed"), kinds, vs)
        self.assertIn(("egress", "denied"), kinds, vs)
        touch = [v for v in vs if v["kind"] == "exec" and v["attempted"].endswith("/touch")]
        self.assertTrue(touch, vs)
        self.assertTrue(touch[0]["parent"].endswith("dash"), touch[0])
        attempted = {v["attempted"] for v in vs}
        self.assertIn(f"tcp 127.0.0.1:{self.evil_hook.port}", attempted)
        self.assertIn(f"tcp [::1]:{self.evil_hook6.port}", attempted)
        self.assertIn(f"udp 127.0.0.1:{self.evil_sink.port}", attempted)
        # Shown to people too.
        table = self.a.ctl("violations").stdout
        self.assertIn("killed", table)
        self.assertIn("denied", table)
        listed = json.loads(self.a.ctl("functions", "-o", "json").stdout)["functions"][0]
        self.assertGreaterEqual(int(listed["violations"]), len(vs))

        # Code injection: a syscall the function never made. kill: the process dies.
        r = self.get_or_error("/calc?expr=" + urllib.parse.quote(
            "__import__('ctypes').CDLL(None).syscall(101, 0, 0, 0, 0)"))
        wait_for(lambda: self.fn.poll() is not None, what="the function killed")
        self.assertTrue(any(v["kind"] == "syscall" and v["action"] == "killed"
                            for v in self.violations()), r)

    def get_or_error(self, path):
        try:
            return self.get(path, timeout=10)
        except OSError as e:
            return f"request failed: {e}"

    def test_alert_reports_syscalls_without_killing(self):
        self.learn(150)
        self.mode("enforce", "--syscall-action", "alert", "--sensitive-action", "alert")
        r = self.get("/calc?expr=" + urllib.parse.quote(
            "__import__('ctypes').CDLL(None).syscall(101, 0, 0, 0, 0)"))
        self.assertIsNone(self.fn.poll(), "alert must not kill")
        ptrace = [v for v in self.violations() if v["attempted"] == "ptrace"]
        self.assertTrue(ptrace, r)
        self.assertEqual(ptrace[0]["action"], "alert")
        self.assertEqual(self.get("/healthz"), "ok\n")

    def test_benign_traffic_causes_no_violation(self):
        self.learn()
        self.mode("enforce")
        for i in range(2000):
            self.benign(i + 100000)  # inputs the learning phase never saw
        self.assertIsNone(self.fn.poll())
        self.assertEqual(self.violations(), [])
        listed = json.loads(self.a.ctl("functions", "-o", "json").stdout)["functions"][0]
        self.assertEqual(int(listed.get("violations", 0)), 0)

    def test_monitor_reports_without_blocking(self):
        self.learn(150)
        self.mode("monitor")
        for tag, payload in self.injections().items():
            self.get("/?name=" + urllib.parse.quote(payload))
            wait_for(lambda: os.path.exists(self.pwned_path(tag)), what=f"{tag} not blocked")
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook.url)}")
        self.assertIn("callback 204", r)
        vs = self.violations()
        self.assertTrue(vs)
        self.assertTrue(all(v["action"] == "reported" for v in vs), vs)
        self.assertIn(f"tcp 127.0.0.1:{self.evil_hook.port}", {v["attempted"] for v in vs})
        # The same attack from a process outside the function is nobody's business.
        outside = self.pwned_path("outside")
        os.system(f"/bin/sh -c 'touch {outside}'")
        self.assertTrue(os.path.exists(outside))

    def test_accept_a_violation(self):
        self.learn(150)
        self.mode("enforce")
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook.url)}")
        self.assertIn("Operation not permitted", r)
        v = [x for x in self.violations() if x["kind"] == "egress"][0]
        out = self.a.ctl("profile", "accept", "default/hello", v["id"]).stdout
        self.assertIn("added to the profile", out)
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook.url)}")
        self.assertIn("callback 204", r)
        shown = self.a.ctl("profile", "show", "default/hello").stdout
        self.assertIn(f"127.0.0.1:{self.evil_hook.port}", shown)


class ModeErrorsE2E(AgentTestCase):
    def test_unknown_function_and_bad_mode(self):
        a = self.agent().start()
        r = a.ctl("mode", "default/nope", "enforce", check=False)
        self.assertEqual(r.returncode, 4)
        self.assertIn("no function default/nope", r.stderr)
        r = a.ctl("mode", "default/nope", "strict", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown mode", r.stderr)

    def test_allow_list_that_does_not_fit_changes_nothing(self):
        a = self.agent(extra=["--max-net-rules", "2"]).start()
        port = free_port()
        fn = self.run_function(a, "small", port)
        hooks = [Webhook() for _ in range(3)]
        try:
            for h in hooks:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/?name=a&callback="
                                       f"{urllib.parse.quote(h.url)}", timeout=10).read()
            r = a.ctl("mode", "default/small", "enforce", check=False)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("do not fit", r.stderr)
            listed = json.loads(a.ctl("functions", "-o", "json").stdout)["functions"][0]
            self.assertEqual(listed["mode"], "MODE_LEARN")
            self.assertIn("mode change refused", a.logs())
            # Still learning: nothing is refused.
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/?name=x;true", timeout=10) as r:
                self.assertEqual(r.status, 200)
            self.assertIsNone(fn.poll())
        finally:
            for h in hooks:
                h.close()

    def test_rule_that_cannot_compile_is_refused_at_start(self):
        state = os.path.join(self.tmp, "state")
        os.makedirs(os.path.join(state, "profiles"))
        with open(os.path.join(state, "profiles", "default_typo.json"), "w") as f:
            json.dump({"schemaVersion": 1,
                       "function": {"platform": "local", "namespace": "default", "name": "typo"},
                       "mode": "MODE_ENFORCE",
                       "containers": [{"name": "main", "egress": [
                           {"protocol": "PROTOCOL_TCP", "address": "10.1.2.3/8", "port": 443}]}]},
                      f)
        a = self.agent(state=state).start()
        self.assertIn("host bits", a.logs())
        self.assertEqual(len(os.listdir(os.path.join(state, "quarantine"))), 1)
        r = a.ctl("profile", "show", "default/typo", check=False)
        self.assertEqual(r.returncode, 4)


if __name__ == "__main__":
    import unittest

    unittest.main(verbosity=2)
