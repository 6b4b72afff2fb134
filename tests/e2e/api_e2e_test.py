#!/usr/bin/env python3
"""End-to-end tests of the agent as a service (root): every RPC through faasguardctl over the
real socket, mutual TLS over TCP with certificates made here by openssl, event streaming
(live, slow clients, many clients), the metrics endpoint, and restarts.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

from harness import AGENT, CTL, AgentTestCase, free_port, wait_for


def run_ok(agent, *cmd):
    """faasguardctl run of a short command as function `fn`."""
    r = subprocess.run([CTL, "--socket", agent.socket, "run", *cmd], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def parse_prometheus(text):
    """{name: [(labels dict, value)]}, and checks every line parses."""
    out = {}
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = sample.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(label.findall(m.group(3) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return out


class ApiE2E(AgentTestCase):
    def test_every_command(self):
        a = self.agent().start()
        c = a.ctl
        run_ok(a, "--function", "alpha", "--", "/bin/sh", "-c", "/bin/true; exit 0")
        run_ok(a, "--function", "beta", "--namespace", "team", "--container", "web", "--",
               "/bin/true")

        # status, functions (list and one)
        st = json.loads(c("status", "-o", "json").stdout)
        self.assertEqual(st["functions"], 2)
        self.assertEqual(st["defaultMode"], "MODE_LEARN")
        self.assertTrue(any(l.startswith("unix:") for l in st["listen"]))
        self.assertIn("API:", c("status").stdout)
        fns = json.loads(c("functions", "-o", "json").stdout)["functions"]
        self.assertEqual({f["function"]["name"] for f in fns}, {"alpha", "beta"})
        one = json.loads(c("functions", "team/beta", "-o", "json").stdout)
        self.assertEqual(one["containers"], ["web"])
        self.assertIn("observations", one["lifecycle"])
        self.assertIn("Stable:", c("functions", "team/beta").stdout)
        self.assertEqual(c("functions", "team/nope", check=False).returncode, 4)
        # -n: a namespace for every command that takes a function, and a filter for lists
        team = json.loads(c("functions", "-n", "team", "-o", "json").stdout)["functions"]
        self.assertEqual([f["function"]["name"] for f in team], ["beta"])
        self.assertIn("No functions in namespace nowhere", c("functions", "-n", "nowhere").stdout)
        self.assertIn("Container web", c("profile", "show", "-n", "team", "beta").stdout)
        self.assertEqual(c("profile", "show", "-n", "other", "team/beta",
                           check=False).returncode, 2)
        # version: the client's and the agent's
        v = c("version").stdout
        self.assertRegex(v, r"^Client: faasguardctl \S+\nAgent:  faasguard-agent \S+ on ")
        self.assertEqual(json.loads(c("version", "-o", "json").stdout)["agent"]["version"],
                         st["version"])
        # per-command help
        self.assertIn("profile import", c("profile", "--help").stdout)
        self.assertIn("--dry-run", c("profile", "import", "--help").stdout)

        # profile show in three forms
        self.assertIn("Container main", c("profile", "show", "default/alpha").stdout)
        js = json.loads(c("profile", "show", "default/alpha", "-o", "json").stdout)
        self.assertEqual(js["function"]["name"], "alpha")
        self.assertIn("schemaVersion: 2", c("profile", "show", "default/alpha", "-o", "yaml").stdout)

        # export (plain JSON, CRD YAML, to a file) and import back, diff
        plain = os.path.join(self.tmp, "alpha.json")
        c("profile", "export", "default/alpha", "--file", plain)
        with open(plain) as fh:
            self.assertEqual(json.load(fh)["function"]["name"], "alpha")
        crd = c("profile", "export", "default/alpha", "--format", "crd", "-o", "yaml").stdout
        self.assertTrue(crd.startswith("apiVersion: faasguard.dev/v1alpha1\nkind: FunctionProfile"))
        self.assertIn("identical", c("profile", "diff", "default/alpha", plain).stdout)
        # An edited copy under another name, as a CRD: import creates the function.
        with open(plain) as fh:
            doc = json.load(fh)
        doc["function"]["name"] = "gamma"
        doc["containers"][0]["egress"] = [{"protocol": "PROTOCOL_TCP", "address": "10.0.0.0/8",
                                           "port": 443}]
        gamma = os.path.join(self.tmp, "gamma.yaml")
        with open(gamma, "w") as f:
            f.write("apiVersion: faasguard.dev/v1alpha1\nkind: FunctionProfile\n"
                    "metadata:\n  name: gamma\n  namespace: default\nspec:\n")
            for line in subprocess.run([CTL, "--socket", a.socket, "profile", "export",
                                        "default/alpha", "-o", "yaml"], capture_output=True,
                                       text=True).stdout.splitlines():
                f.write("  " + line.replace("name: alpha", "name: gamma") + "\n")
        r = c("profile", "import", gamma, plain)
        self.assertIn("[1/2] default/gamma", r.stderr)
        self.assertIn("created", r.stderr)
        self.assertIn("[2/2] default/alpha", r.stderr)
        with open(os.path.join(self.tmp, "gamma-rule.json"), "w") as f:
            json.dump(doc, f)
        # profile diff exits 1 when the two differ, as kubectl diff does
        diff = c("profile", "diff", "default/gamma", os.path.join(self.tmp, "gamma-rule.json"),
                 check=False)
        self.assertEqual(diff.returncode, 1, diff.stderr)
        self.assertIn("+ egress  tcp 10.0.0.0/8:443", diff.stdout)
        r = c("profile", "import", "--merge", os.path.join(self.tmp, "gamma-rule.json"))
        self.assertIn("merged", r.stderr)
        shown = json.loads(c("profile", "show", "default/gamma", "-o", "json").stdout)
        self.assertEqual(shown["containers"][0]["egress"][0]["address"], "10.0.0.0/8")
        # A broken file imports nothing.
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("kind: FunctionProfile\napiVersion: faasguard.dev/v9\nspec: {}\n")
        r = c("profile", "import", plain, bad, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("apiVersion", r.stderr)

        # mode, default mode, violations, accept (nothing to accept yet), delete
        self.assertIn("learn -> monitor", c("mode", "default/alpha", "monitor").stdout)
        self.assertIn("-> enforce", c("mode", "--default", "enforce").stdout)
        self.assertEqual(json.loads(c("status", "-o", "json").stdout)["defaultMode"],
                         "MODE_ENFORCE")
        c("mode", "--default", "learn")
        self.assertIn("No violations", c("violations").stdout)
        self.assertEqual(c("profile", "accept", "default/alpha", "99", check=False).returncode, 4)
        self.assertIn("deleted", c("profile", "delete", "default/gamma").stdout)
        self.assertEqual(c("profile", "show", "default/gamma", check=False).returncode, 4)
        self.assertFalse(os.path.exists(os.path.join(a.state, "profiles", "default_gamma.json")))

        # events: replay of what happened, with filters
        ev = c("events", "--replay", "1000", "-o", "json").stdout.splitlines()
        evs = [json.loads(l) for l in ev]
        kinds = {e["kind"] for e in evs}
        self.assertTrue({"EVENT_KIND_NEW_BEHAVIOUR", "EVENT_KIND_LIFECYCLE"} <= kinds, kinds)
        whats = {e.get("what") for e in evs if e["kind"] == "EVENT_KIND_LIFECYCLE"}
        self.assertTrue({"registered", "unregistered", "imported", "mode", "deleted"} <= whats,
                        whats)
        only = c("events", "team/beta", "--kind", "lifecycle", "--replay", "1000", "-o", "json")
        for line in only.stdout.splitlines():
            e = json.loads(line)
            self.assertEqual(e["function"]["name"], "beta")
            self.assertEqual(e["kind"], "EVENT_KIND_LIFECYCLE")
        # --kind is repeatable; -n filters
        two = c("events", "-n", "team", "--kind", "new", "--kind", "lifecycle", "--replay",
                "1000", "-o", "json")
        evs = [json.loads(l) for l in two.stdout.splitlines()]
        self.assertEqual({e["kind"] for e in evs},
                         {"EVENT_KIND_NEW_BEHAVIOUR", "EVENT_KIND_LIFECYCLE"})
        self.assertEqual({e["function"]["namespace"] for e in evs}, {"team"})
        # an unknown function's lists are not empty lists
        for cmd in (["violations", "team/nope"], ["events", "team/nope"]):
            r = c(*cmd, check=False)
            self.assertEqual(r.returncode, 4, r.stderr)
            self.assertEqual(r.stdout, "")

    def test_import_keeps_the_mode_unless_asked(self):
        """Issue 17, item 5: an import changes a function's mode only when asked."""
        a = self.agent().start()
        c = a.ctl
        run_ok(a, "--function", "alpha", "--", "/bin/sh", "-c", "/bin/true; exit 0")
        c("mode", "default/alpha", "enforce")
        doc = json.loads(c("profile", "export", "default/alpha").stdout)
        self.assertEqual(doc["mode"], "MODE_ENFORCE")
        # The document says learn, and has one item more.
        doc["mode"] = "MODE_LEARN"
        doc["containers"][0]["egress"] = [{"protocol": "PROTOCOL_TCP", "address": "10.0.0.0/8",
                                           "port": 443}]
        path = os.path.join(self.tmp, "alpha.json")
        with open(path, "w") as f:
            json.dump(doc, f)

        def mode():
            return json.loads(c("functions", "default/alpha", "-o", "json").stdout)["mode"]

        def egress():
            shown = json.loads(c("profile", "show", "default/alpha", "-o", "json").stdout)
            return shown["containers"][0].get("egress", [])

        # --dry-run: the diff and the mode it would end in; nothing changes.
        r = c("profile", "import", "--dry-run", "--take-mode", path)
        self.assertIn("+ egress  tcp 10.0.0.0/8:443", r.stdout)
        self.assertIn("mode: enforce -> learn", r.stdout)
        self.assertIn("would replace", r.stderr)
        self.assertEqual(mode(), "MODE_ENFORCE")
        self.assertEqual(egress(), [])
        # A plain import takes the items and keeps the mode.
        r = c("profile", "import", path)
        self.assertIn("replaced", r.stderr)
        self.assertIn("mode enforce", r.stderr)
        self.assertEqual(mode(), "MODE_ENFORCE")
        self.assertEqual(egress()[0]["address"], "10.0.0.0/8")
        # --merge too.
        c("profile", "import", "--merge", path)
        self.assertEqual(mode(), "MODE_ENFORCE")
        # --take-mode takes the document's, and says so.
        r = c("profile", "import", "--take-mode", path)
        self.assertIn("mode: enforce -> learn", r.stderr)
        self.assertEqual(mode(), "MODE_LEARN")
        # --mode sets one.
        r = c("profile", "import", "--mode", "monitor", path)
        self.assertIn("mode: learn -> monitor", r.stderr)
        self.assertEqual(mode(), "MODE_MONITOR")
        # A mode change from an import is an event, like any other.
        evs = [json.loads(l) for l in c("events", "default/alpha", "--kind", "lifecycle",
                                        "--replay", "1000", "-o", "json").stdout.splitlines()]
        self.assertGreaterEqual(sum(e["what"] == "mode" for e in evs), 3, evs)

    def test_delete_is_refused_while_replicas_run(self):
        a = self.agent().start()
        p = subprocess.Popen([CTL, "--socket", a.socket, "run", "--function", "busy", "--",
                              "/bin/sleep", "60"])
        self.procs.append(p)
        wait_for(lambda: (json.loads(a.ctl("functions", "-o", "json").stdout).get("functions")
                          or [{}])[0].get("replicas", 0) == 1, what="replica")
        r = a.ctl("profile", "delete", "default/busy", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tracked replicas", r.stderr)
        p.terminate()
        p.wait(timeout=20)
        a.ctl("profile", "delete", "default/busy")

    def test_follow_events_live(self):
        a = self.agent().start()
        log = open(os.path.join(self.tmp, "follow.out"), "w")
        f = subprocess.Popen([CTL, "--socket", a.socket, "events", "--follow", "--replay", "0",
                              "-o", "json"], stdout=log, stderr=subprocess.PIPE, text=True)
        self.procs.append(f)
        wait_for(lambda: "following events" in (f.stderr.readline() or ""), what="follow start")
        run_ok(a, "--function", "live", "--", "/bin/true")
        out = os.path.join(self.tmp, "follow.out")
        wait_for(lambda: '"unregistered"' in open(out).read(), what="live events")
        f.send_signal(signal.SIGINT)
        self.assertEqual(f.wait(timeout=20), 0)
        self.assertIn("events", f.stderr.read())
        lines = [json.loads(l) for l in open(out).read().splitlines()]
        self.assertTrue(any(e["kind"] == "EVENT_KIND_NEW_BEHAVIOUR" and
                            e["function"]["name"] == "live" for e in lines))
        seqs = [int(e["seq"]) for e in lines]
        self.assertEqual(seqs, sorted(seqs))

    def test_slow_client_loses_its_own_events_only(self):
        a = self.agent(extra=["--event-buffer", "256"]).start()
        # A client that does not read: its stream, its transport and its queue fill up.
        slow = subprocess.Popen([CTL, "--socket", a.socket, "events", "--follow", "--replay",
                                 "0", "-o", "json"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        self.procs.append(slow)
        fast_out = os.path.join(self.tmp, "fast.out")
        fast = subprocess.Popen([CTL, "--socket", a.socket, "events", "--follow", "--replay",
                                 "0", "-o", "json"], stdout=open(fast_out, "w"),
                                stderr=subprocess.DEVNULL)
        self.procs.append(fast)
        time.sleep(0.5)
        # Thousands of events: each run is a new function (new syscalls, execs, lifecycle).
        t0 = time.time()
        for i in range(120):
            run_ok(a, "--function", f"burst{i}", "--", "/bin/sh", "-c", "/bin/true")
        elapsed = time.time() - t0
        # The agent stayed responsive for everyone else meanwhile.
        t1 = time.time()
        a.ctl("status")
        self.assertLess(time.time() - t1, 5)
        wait_for(lambda: open(fast_out).read().count('"unregistered"') >= 120, timeout=60,
                 what="the fast client to see everything")
        fast_events = [json.loads(l) for l in open(fast_out).read().splitlines()]
        self.assertEqual(sum(int(e.get("dropped", 0)) for e in fast_events), 0)
        # Now the slow client reads: it lost some, and is told how many.
        lines = []
        drain = threading.Thread(target=lambda: lines.extend(slow.stdout), daemon=True)
        drain.start()
        wait_for(lambda: any(b'"dropped"' in l for l in lines), timeout=30,
                 what="the slow client to hear of its losses")
        time.sleep(1)  # whatever else was queued for it
        slow.send_signal(signal.SIGINT)
        slow.wait(timeout=30)
        drain.join(timeout=10)
        events = [json.loads(l) for l in lines if l.strip()]
        lost = sum(int(e.get("dropped", 0)) for e in events)
        self.assertGreater(lost, 0, f"{len(events)} events read, {len(fast_events)} published")
        # What it read and what it was told it lost never exceed what was published (events
        # still queued when it stopped are simply not read).
        self.assertLessEqual(len(events) + lost, len(fast_events))
        self.assertGreater(len(fast_events), len(events))
        del elapsed

    def test_many_clients_at_once(self):
        a = self.agent().start()
        run_ok(a, "--function", "shared", "--", "/bin/true")
        errors = []

        def client(i):
            for _ in range(10):
                for cmd in (["status"], ["functions", "-o", "json"],
                            ["profile", "show", "default/shared", "-o", "json"],
                            ["events", "--replay", "50"]):
                    r = subprocess.run([CTL, "--socket", a.socket, *cmd], capture_output=True,
                                       text=True, timeout=60)
                    if r.returncode != 0:
                        errors.append((i, cmd, r.stderr))
        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_metrics_and_healthz(self):
        a = self.agent().start()
        run_ok(a, "--function", "metered", "--", "/bin/sh", "-c", "/bin/true")
        a.ctl("mode", "default/metered", "monitor")
        a.ctl("profile", "show", "default/nope", check=False)
        with urllib.request.urlopen(a.metrics_url() + "/healthz", timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read(), b"ok\n")
        with urllib.request.urlopen(a.metrics_url() + "/metrics", timeout=5) as r:
            self.assertIn("text/plain", r.headers["Content-Type"])
            m = parse_prometheus(r.read().decode())
        for name in ("faasguard_up", "faasguard_build_info",
                     "faasguard_kernel_events_lost_total", "faasguard_kernel_map_entries",
                     "faasguard_kernel_map_capacity", "faasguard_tracked_cgroups",
                     "faasguard_functions",
                     "faasguard_new_behaviours_total", "faasguard_violations_total",
                     "faasguard_events_total", "faasguard_api_calls_total"):
            self.assertIn(name, m)
        maps = {l["map"]: v for l, v in m["faasguard_kernel_map_entries"]}
        self.assertGreaterEqual(maps["fg_execs"], 2)
        caps = {l["map"]: v for l, v in m["faasguard_kernel_map_capacity"]}
        self.assertEqual(caps["fg_tracked"], 16384)
        new = {(l["namespace"], l["function"], l["kind"]): v
               for l, v in m["faasguard_new_behaviours_total"]}
        self.assertGreater(new[("default", "metered", "syscall")], 10)
        self.assertGreaterEqual(new[("default", "metered", "exec")], 2)
        self.assertEqual(m["faasguard_build_info"][0][1], 1)
        modes = {l["mode"]: v for l, v in m["faasguard_functions"]}
        self.assertEqual(modes["monitor"], 1)
        calls = {(l["method"], l["code"]): v for l, v in m["faasguard_api_calls_total"]}
        self.assertGreaterEqual(calls[("/faasguard.v1.Agent/SetMode", "OK")], 1)
        self.assertGreaterEqual(calls[("/faasguard.v1.Agent/GetProfile", "NOT_FOUND")], 1)

    def test_restart_keeps_profiles_and_modes(self):
        a = self.agent().start()
        run_ok(a, "--function", "keeper", "--", "/bin/sh", "-c", "/bin/true")
        a.ctl("mode", "default/keeper", "enforce", "--syscall-action", "alert")
        before = json.loads(a.ctl("profile", "show", "default/keeper", "-o", "json").stdout)
        a.stop()
        b = self.agent(state=a.state).start()
        after = json.loads(b.ctl("profile", "show", "default/keeper", "-o", "json").stdout)
        self.assertEqual(after["mode"], "MODE_ENFORCE")
        self.assertEqual(after["syscallAction"], "SYSCALL_ACTION_ALERT")
        self.assertEqual(after["containers"], before["containers"])
        # And the restarted agent enforces it: an unlearned exec is killed.
        r = subprocess.run([CTL, "--socket", b.socket, "run", "--function", "keeper", "--",
                            "/bin/sh", "-c", "/bin/true; /usr/bin/id"], capture_output=True,
                           text=True, timeout=60)
        vs = json.loads(b.ctl("violations", "-o", "json").stdout).get("violations", [])
        self.assertTrue(any(v["attempted"].endswith("/id") for v in vs), (r.stderr, vs))


class LifecycleE2E(AgentTestCase):
    def test_stable_then_auto_promoted(self):
        a = self.agent(extra=["--stable-window", "3s", "--stable-min-observations", "2",
                              "--auto-promote", "enforce"]).start()
        run_ok(a, "--function", "settled", "--", "/bin/sh", "-c", "/bin/true; /bin/true")
        one = json.loads(a.ctl("functions", "default/settled", "-o", "json").stdout)
        self.assertFalse(one["lifecycle"].get("stable", False))
        self.assertGreaterEqual(int(one["lifecycle"]["observations"]), 2)
        self.assertIn("learningStarted", one["lifecycle"])
        # Nothing new for the window: stable, then promoted to enforce.
        wait_for(lambda: json.loads(a.ctl("functions", "default/settled", "-o", "json").stdout)
                 ["mode"] == "MODE_ENFORCE", timeout=30, what="auto-promotion")
        evs = [json.loads(l) for l in
               a.ctl("events", "default/settled", "--kind", "lifecycle", "--replay", "100", "-o",
                     "json").stdout.splitlines()]
        whats = [e["what"] for e in evs]
        self.assertIn("stable", whats)
        self.assertIn("promoted", whats)
        self.assertLess(whats.index("stable"), whats.index("promoted"))
        self.assertIn("function promoted", a.logs())
        st = json.loads(a.ctl("status", "-o", "json").stdout)
        self.assertEqual(st["autoPromote"], "enforce")
        self.assertEqual(st["stableWindowSeconds"], 3)


class TlsE2E(AgentTestCase):
    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=self.tmp)

    def make_pki(self):
        d = self.tmp
        for ca in ("ca", "other-ca"):
            self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                         "-subj", f"/CN=faasguard test {ca}", "-keyout", f"{ca}.key",
                         "-out", f"{ca}.pem")
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for name, ca in (("server", "ca"), ("client", "ca"), ("rogue", "other-ca")):
            self.openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                         "-keyout", f"{name}.key", "-out", f"{name}.csr")
            self.openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
                         f"{ca}.key", "-CAcreateserial", "-days", "1", "-extfile", "san.ext",
                         "-out", f"{name}.pem")
        return lambda n: os.path.join(d, n)

    def test_mutual_tls(self):
        f = self.make_pki()
        port = free_port()
        a = self.agent(extra=["--listen-tcp", f"127.0.0.1:{port}", "--tls-cert", f("server.pem"),
                              "--tls-key", f("server.key"), "--tls-client-ca", f("ca.pem")])
        a.start()
        self.assertIn(f"tcp+tls:127.0.0.1:{port}", a.ready()["listen"])

        def ctl(*extra):
            return subprocess.run([CTL, "--server", f"127.0.0.1:{port}", *extra, "status", "-o",
                                   "json"], capture_output=True, text=True, timeout=60)

        ok = ctl("--tls-cert", f("client.pem"), "--tls-key", f("client.key"), "--tls-ca",
                 f("ca.pem"))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn(f"tcp+tls:127.0.0.1:{port}", json.loads(ok.stdout)["listen"])
        # Each refusal says what is wrong, in plain words.
        for why, flags, message in (
                ("no client certificate", ["--insecure"], "it may require TLS"),
                ("a certificate from another CA",
                 ["--tls-cert", f("rogue.pem"), "--tls-key", f("rogue.key"), "--tls-ca",
                  f("ca.pem")], "refused the TLS handshake"),
                ("we trust another CA than the agent's",
                 ["--tls-cert", f("client.pem"), "--tls-key", f("client.key"), "--tls-ca",
                  f("other-ca.pem")], "the agent's certificate is not signed by --tls-ca"),
                ("a key that does not go with the certificate",
                 ["--tls-cert", f("client.pem"), "--tls-key", f("rogue.key"), "--tls-ca",
                  f("ca.pem")], "cannot use this client's certificate or key")):
            with self.subTest(why):
                r = ctl(*flags)
                self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
                self.assertIn(message, r.stderr)
        # Nothing listens there.
        r = subprocess.run([CTL, "--server", f"127.0.0.1:{free_port()}", "--tls-cert",
                            f("client.pem"), "--tls-key", f("client.key"), "--tls-ca", f("ca.pem"),
                            "status"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 3)
        self.assertIn("connection refused at 127.0.0.1:", r.stderr)
        # gRPC's own log lines stay out of the way.
        self.assertNotIn("ssl_transport_security", r.stderr)
        # The CLI says what is missing before it tries: a usage error.
        r = ctl("--tls-cert", f("client.pem"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("--tls-key", r.stderr)
        # The Unix socket still works alongside.
        a.ctl("status")

    def test_plain_tcp_needs_to_be_asked_for(self):
        port = free_port()
        a = self.agent(extra=["--listen-tcp", f"127.0.0.1:{port}"])
        a.start(wait=False)
        self.assertEqual(a.proc.wait(timeout=60), 1)
        self.assertIn("refusing plain TCP", a.logs())
        b = self.agent(state=os.path.join(self.tmp, "s2"),
                       extra=["--listen-tcp", f"127.0.0.1:{port}", "--insecure-tcp"])
        b.socket = os.path.join(self.tmp, "b.sock")
        b.start()
        r = subprocess.run([CTL, "--server", f"127.0.0.1:{port}", "--insecure", "status"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Half a TLS configuration is an error too.
        c = self.agent(state=os.path.join(self.tmp, "s3"),
                       extra=["--listen-tcp", "127.0.0.1:0", "--tls-cert", "/nonexistent"])
        c.socket = os.path.join(self.tmp, "c.sock")
        c.start(wait=False)
        self.assertEqual(c.proc.wait(timeout=60), 1)
        self.assertIn("needs all of --tls-cert, --tls-key and --tls-client-ca", c.logs())


if __name__ == "__main__":
    import unittest

    unittest.main(verbosity=2)
