#!/usr/bin/env python3
"""e2e (root): the agent restarts without a gap (programs, links and maps pinned).

The sample function is enforced, the agent is SIGKILLed, and while no agent runs the kernel
keeps refusing the attacks and keeps learning for a function in learn mode. The next agent
adopts the pinned programs (attached once: the same links), takes over the slots and tracked
cgroups, reads what happened in the gap (violations from the pinned ring buffer, behaviours
from the kernel sets) and goes on enforcing. A function set to fail open stops blocking once
the agent's heartbeat is older than --fail-open-after. `--cleanup` removes everything.
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AGENT, free_port, wait_for  # noqa: E402
from enforce_e2e_test import EnforceE2E, UdpSink  # noqa: E402

FAIL_OPEN_AFTER = 4  # seconds (--sync-interval 1: the heartbeat is renewed every second)


def pinned_link(path):
    r = subprocess.run(["bpftool", "-j", "link", "show", "pinned", path], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


def prog_exists(prog_id):
    return subprocess.run(["bpftool", "prog", "show", "id", str(prog_id)],
                          capture_output=True).returncode == 0


class RestartE2E(EnforceE2E):
    def setUp(self):
        self.pins = f"/sys/fs/bpf/fg-e2e-{os.getpid()}-{time.time_ns()}"
        self.flags = ["--bpf-pin-dir", self.pins, "--fail-open-after", f"{FAIL_OPEN_AFTER}s"]
        super().setUp()

    def agent(self, **kw):
        kw.setdefault("extra", self.flags)
        return super().agent(**kw)

    def tearDown(self):
        super().tearDown()  # stops the agents: the pins stay
        r = subprocess.run([AGENT, "--bpf-pin-dir", self.pins, "--cleanup"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(self.pins))

    def links(self):
        d = os.path.join(self.pins, "links")
        return {n: pinned_link(os.path.join(d, n)) for n in sorted(os.listdir(d))}

    def kill_agent(self):
        self.a.proc.send_signal(signal.SIGKILL)
        self.a.proc.wait()
        self.a.log.close()

    def restart(self):
        self.a = self.agent(state=self.a.state).start()
        return self.a

    def attack(self, tag):
        payload = f"x;touch {self.pwned_path(tag)}"
        self.get("/?name=" + urllib.parse.quote(payload))
        time.sleep(0.2)
        return os.path.exists(self.pwned_path(tag))

    def test_sigkill_keeps_enforcement_and_learning(self):
        # A second function that stays in learn mode through the gap.
        port2 = free_port()
        learner = self.run_function(self.a, "learner", port2)
        self.learn(150)
        self.mode("enforce")
        self.assertFalse(self.attack("before"))
        links = self.links()
        self.assertGreaterEqual(len(links), 10, links)
        status = json.loads(self.a.ctl("status", "-o", "json").stdout)
        self.assertEqual(status["pinDir"], self.pins)
        self.assertEqual({p["link"] for p in status["programs"]}, {"new"}, status["programs"])

        self.kill_agent()
        # No agent: the kernel still refuses, and still learns.
        self.assertFalse(self.attack("gap"), "enforcement stopped with the agent")
        r = self.get(f"/?name=a&callback={urllib.parse.quote(self.evil_hook.url)}")
        self.assertIn("Operation not permitted", r)
        self.assertIsNone(self.fn.poll())
        gap_sink = UdpSink()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port2}/?name=gap&notify="
                                        f"{gap_sink.target}", timeout=15) as resp:
                self.assertIn("[notified]", resp.read().decode())
        finally:
            gap_sink.close()

        self.restart()
        logs = self.a.logs()
        self.assertIn("took over from the earlier agent", logs)
        self.assertEqual(self.links(), links, "the restarted agent attached again")
        status = json.loads(self.a.ctl("status", "-o", "json").stdout)
        self.assertTrue(status.get("adopted"), status)
        self.assertEqual({p["link"] for p in status["programs"]}, {"adopted"}, status["programs"])
        metrics = urllib.request.urlopen(self.a.metrics_url() + "/metrics", timeout=10).read()
        self.assertIn(b"\nfaasguard_pinned 1\n", metrics)
        self.assertIn(b"\nfaasguard_adopted 1\n", metrics)
        # It knows both functions and their replicas again.
        fns = {f["function"]["name"]: f
               for f in json.loads(self.a.ctl("functions", "-o", "json").stdout)["functions"]}
        self.assertEqual(fns["hello"]["mode"], "MODE_ENFORCE")
        self.assertEqual(int(fns["hello"].get("replicas", 0)), 1, fns["hello"])
        self.assertEqual(int(fns["learner"].get("replicas", 0)), 1, fns["learner"])
        # What happened in the gap: the violation (from the pinned ring buffer) ...
        wait_for(lambda: any(v["kind"] == "exec" and v["attempted"].endswith("/touch")
                             and v["action"] == "killed" for v in self.violations()),
                 what="the gap's exec violation")
        self.assertTrue(any(v["kind"] == "egress" and v["action"] == "denied"
                            and v["attempted"] == f"tcp 127.0.0.1:{self.evil_hook.port}"
                            for v in self.violations()), self.violations())
        # ... and what the learning function did (from the kernel's sets).
        def learned_gap_target():
            p = json.loads(self.a.ctl("profile", "show", "default/learner", "-o", "json").stdout)
            egress = [e for c in p.get("containers", []) for e in c.get("egress", [])]
            return any(int(e.get("port", 0)) == gap_sink.port for e in egress)
        wait_for(learned_gap_target, what="the gap's new egress in the learner's profile")

        # Enforcement goes on, driven by the new agent.
        self.assertFalse(self.attack("after"))
        self.assertIsNone(self.fn.poll())
        self.assertIsNone(learner.poll())
        self.a.ctl("mode", "default/hello", "learn")
        self.assertTrue(self.attack("learning-again"), "the new agent does not drive the slots")

        # The learner's faasguardctl run connected to the killed agent: on exit it unregisters
        # with the new one (its first call fails on the dead connection and is made again).
        learner.send_signal(signal.SIGINT)
        learner.wait(timeout=20)
        with open(os.path.join(self.tmp, f"learner-{port2}.log")) as f:
            self.assertNotIn("warning", f.read())
        wait_for(lambda: any('"msg":"cgroup unregistered"' in line and "default/learner" in line
                             for line in self.a.logs().splitlines()),
                 what="the learner unregistered with the new agent", timeout=5)

    def test_fail_open_function_stops_blocking_without_agent(self):
        self.learn(150)
        self.mode("enforce", "--when-agent-absent", "open")
        fn = json.loads(self.a.ctl("functions", "-o", "json").stdout)["functions"][0]
        self.assertEqual(fn.get("whenAgentAbsent"), "AGENT_ABSENCE_FAIL_OPEN", fn)
        self.assertFalse(self.attack("agent-up"))

        self.kill_agent()
        killed = time.monotonic()
        self.assertFalse(self.attack("just-killed"), "opened before --fail-open-after")
        self.assertLess(time.monotonic() - killed, FAIL_OPEN_AFTER - 1, "the check came too late")
        time.sleep(FAIL_OPEN_AFTER + 1)
        self.assertTrue(self.attack("agent-gone"), "a fail-open function still blocks")

        self.restart()
        self.assertFalse(self.attack("agent-back"), "blocking did not come back with the agent")
        wait_for(lambda: any(v["action"] == "failed-open" and v["kind"] == "exec"
                             for v in self.violations()), what="the failed-open violation")

    def test_fail_closed_is_the_default(self):
        self.learn(150)
        self.mode("enforce")
        self.kill_agent()
        time.sleep(FAIL_OPEN_AFTER + 1)
        self.assertFalse(self.attack("long-gone"))

    def test_pinned_state_of_another_abi_is_replaced(self):
        self.a.stop()
        before = self.links()
        # Rewrite the mark's ABI version (the second u32 of fg_agent[0]).
        mark = os.path.join(self.pins, "maps", "fg_agent")
        dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "pinned", mark],
                                         capture_output=True, text=True, check=True).stdout)
        value = [int(b, 16) for b in dump[0]["value"]]
        value[4:8] = [0xe7, 0x03, 0, 0]  # 999
        subprocess.run(["bpftool", "map", "update", "pinned", mark, "key", "0", "0", "0", "0",
                        "value", *[str(b) for b in value]], check=True)
        self.restart()
        self.assertIn("pinned state of another ABI removed", self.a.logs())
        after = self.links()
        # The file hooks follow what tracked functions need: the state of another ABI held the
        # only replica, which is tracked again when it is found (started again), not before.
        file_hooks = {"fg_sys_exit", "fg_uring_open"}
        self.assertTrue(file_hooks <= set(before), before)
        # sys_enter is attached (and pinned) only while a tracked cgroup needs it: the old
        # state, its tracked cgroups with it, is gone, so nothing does.
        self.assertIn("fg_sys_enter", before)
        self.assertNotIn("fg_sys_enter", after)
        self.assertEqual(set(after), set(before) - {"fg_sys_enter"} - file_hooks)
        for name in after:
            self.assertNotEqual(after[name]["id"], before[name]["id"], name)
        wait_for(lambda: not any(prog_exists(l["prog_id"]) for l in before.values()),
                 timeout=30, what="the old programs unloaded")

    def test_pinned_link_of_a_program_not_run_is_removed(self):
        self.a.stop()
        before = self.links()
        # A link to a program this agent does not load (an optional program no longer loaded,
        # the other variant of one): the earlier agent's fg_exit link, pinned under a new name.
        d = os.path.join(self.pins, "links")
        os.rename(os.path.join(d, "fg_exit"), os.path.join(d, "fg_retired"))
        self.restart()
        self.assertIn("removed the pinned link of a program this agent does not run",
                      self.a.logs())
        after = self.links()
        self.assertEqual(set(after), set(before))
        self.assertNotEqual(after["fg_exit"]["id"], before["fg_exit"]["id"])
        self.assertEqual(after["fg_fork"]["id"], before["fg_fork"]["id"], "not adopted")
        wait_for(lambda: not prog_exists(before["fg_exit"]["prog_id"]), timeout=30,
                 what="the retired link's program unloaded")

    def test_second_agent_on_the_same_pins_is_refused(self):
        other = os.path.join(self.tmp, "other")
        os.makedirs(other)
        r = subprocess.run([AGENT, "--socket", os.path.join(other, "s"), "--state-dir", other,
                            "--metrics-addr", "off", *self.flags], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("another faasguard-agent is running", r.stdout + r.stderr)

    def test_cleanup_detaches_everything(self):
        self.learn(150)
        self.mode("enforce")
        progs = [l["prog_id"] for l in self.links().values()]
        self.a.stop()
        self.assertFalse(self.attack("stopped"), "a stopped agent's programs keep enforcing")
        r = subprocess.run([AGENT, "--bpf-pin-dir", self.pins, "--cleanup"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("programs are detached", r.stdout)
        self.assertFalse(os.path.exists(self.pins))
        # The kernel frees a released link and its program from a work queue, a moment later.
        wait_for(lambda: not any(prog_exists(p) for p in progs), timeout=30,
                 what="every program unloaded")
        self.assertTrue(self.attack("cleaned-up"))


if __name__ == "__main__":
    unittest.main()
