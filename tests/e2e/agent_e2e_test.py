#!/usr/bin/env python3
"""End-to-end tests of the agent binary itself (root): its command line, a second agent on
taken ports, and its metrics as Prometheus' own checker sees them on a live agent.
"""
import os
import shutil
import subprocess
import unittest
import urllib.request

from api_e2e_test import parse_prometheus
from harness import AGENT, CTL, Agent, AgentTestCase, free_port, wait_for


def listeners(port):
    """How many TCP sockets listen on `port` (IPv4 and IPv6)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                n += state == "0A" and int(local.rsplit(":", 1)[1], 16) == port
    return n


class FlagsE2E(AgentTestCase):
    def test_usage_errors_exit_2_before_anything_starts(self):
        for args, message in ((["--bogus"], "unknown flag --bogus"),
                              (["--sync-interval", "0"], "--sync-interval must be"),
                              (["--metrics-addr", "9464"], "--metrics-addr must be HOST:PORT")):
            r = subprocess.run([AGENT, *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            # One line, and where to look: not the whole usage.
            lines = r.stderr.splitlines()
            self.assertEqual(len(lines), 2, r.stderr)
            self.assertTrue(lines[0].startswith("faasguard-agent: "), r.stderr)
            self.assertIn(message, lines[0])
            self.assertIn("faasguard-agent --help", lines[1])
            self.assertEqual(r.stdout, "")

    def test_help_and_version(self):
        r = subprocess.run([AGENT, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--metrics-addr HOST:PORT|off", r.stdout)
        self.assertLess(max(len(line) for line in r.stdout.splitlines()), 100)
        r = subprocess.run([AGENT, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^faasguard-agent \d+\.\d+")


class StartupE2E(AgentTestCase):
    def second_agent(self, extra):
        """Another agent beside the first: its own socket and state (pins are off)."""
        d = os.path.join(self.tmp, "second")
        os.makedirs(d)
        b = Agent(d, extra=extra)
        self.agents.append(b)
        b.start(wait=False)
        wait_for(lambda: b.proc.poll() is not None or "agent ready" in b.logs(), timeout=60,
                 what="the second agent to exit or be ready")
        self.assertIsNotNone(b.proc.poll(), "the second agent started:\n" + b.logs())
        return b

    def refused_second_agent(self, flags, message):
        """A first agent with `flags`, then a second: it must exit 1 with `message`, leaving
        no socket behind. Returns the first."""
        a = self.agent(extra=flags).start()
        b = self.second_agent(flags)
        self.assertEqual(b.proc.returncode, 1, b.logs())
        self.assertIn(f"faasguard-agent: {message}", b.logs())
        self.assertFalse(os.path.exists(b.socket), "the second agent left its socket behind")
        return a

    def test_a_taken_metrics_port_is_an_error_at_start(self):
        port = free_port()
        a = self.refused_second_agent(
            ["--metrics-addr", f"127.0.0.1:{port}"],
            f"cannot serve metrics: 127.0.0.1:{port} is in use (another faasguard-agent?): "
            "choose another address with --metrics-addr")
        # The first agent has the port to itself.
        self.assertEqual(listeners(port), 1)
        with urllib.request.urlopen(a.metrics_url() + "/healthz", timeout=5) as r:
            self.assertEqual(r.status, 200)

    def test_a_taken_api_port_is_an_error_at_start(self):
        port = free_port()
        a = self.refused_second_agent(
            ["--listen-tcp", f"127.0.0.1:{port}", "--insecure-tcp"],
            f"cannot serve the API: cannot listen on 127.0.0.1:{port} (in use by another "
            "process? choose another address with --listen-tcp)")
        self.assertEqual(listeners(port), 1)
        r = subprocess.run([CTL, "--server", f"127.0.0.1:{port}", "--insecure", "status"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(a.state, r.stdout)


class MetricsE2E(AgentTestCase):
    def scrape(self, a):
        with urllib.request.urlopen(a.metrics_url() + "/metrics", timeout=10) as r:
            return r.read().decode()

    def test_promtool_finds_nothing(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool not found: install the Debian package "
                             "prometheus (FG_TEST_PACKAGES in scripts/lib.sh)")
        a = self.agent().start()
        # A function in enforce mode with a violation...
        a.ctl("run", "--namespace", "shop", "--function", "cart", "--", "/bin/sh", "-c",
              "/bin/true")
        a.ctl("mode", "shop/cart", "enforce")
        r = a.ctl("run", "--namespace", "shop", "--function", "cart", "--", "/bin/sh", "-c",
                  "/bin/ls /", check=False)
        self.assertNotEqual(r.returncode, 0, "the unlearned exec was not refused")
        # ...a learning one with a replica running, and a client following events.
        sleeper = subprocess.Popen([CTL, "--socket", a.socket, "run", "--namespace", "shop",
                                    "--function", "sleeper", "--", "/bin/sleep", "120"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        follower = subprocess.Popen([CTL, "--socket", a.socket, "events", "--follow"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs += [sleeper, follower]

        def live():
            m = parse_prometheus(self.scrape(a))
            replicas = {(l["namespace"], l["function"]): v
                        for l, v in m.get("faasguard_function_replicas", [])}
            return (replicas.get(("shop", "sleeper")) == 1
                    and m["faasguard_event_stream_clients"][0][1] == 1)
        wait_for(live, what="a tracked replica and a streaming client")

        text = self.scrape(a)
        m = parse_prometheus(text)
        violations = {(l["namespace"], l["function"]): v
                      for l, v in m["faasguard_violations_total"] if v > 0}
        self.assertIn(("shop", "cart"), violations, text)
        check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual((check.returncode, check.stdout + check.stderr), (0, ""), text)


if __name__ == "__main__":
    unittest.main()
