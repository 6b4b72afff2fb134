#!/usr/bin/env python3
"""End-to-end tests of the agent binary itself (root): its metrics as Prometheus' own checker
sees them on a live agent.
"""
import shutil
import subprocess
import unittest
import urllib.request

from api_e2e_test import parse_prometheus
from harness import CTL, AgentTestCase, wait_for


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
