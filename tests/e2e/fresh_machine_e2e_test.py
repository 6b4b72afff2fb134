#!/usr/bin/env python3
"""e2e (root): the agent on a machine where nothing is mounted at /sys/fs/bpf (no systemd).

Each agent here runs in a private mount namespace of its own whose /sys/fs/bpf is unmounted
first, so the test does not depend on what the machine (or an earlier test) had mounted. The
agent mounts a bpf filesystem itself, says so, pins there and works; it never mounts one over a
directory that holds files, and `--cleanup` with nothing pinned is not an error.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import AGENT, CTL, AgentTestCase, wait_for  # noqa: E402

# Unmount whatever is at /sys/fs/bpf (in this namespace only), then run the command.
FRESH = ("while awk '$5 == \"/sys/fs/bpf\" {f=1} END {exit !f}' /proc/self/mountinfo; do "
         "umount -l /sys/fs/bpf || exit 99; done; exec \"$@\"")


def fresh(cmd):
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", FRESH, "fresh",
            *cmd]


def mounts(pid):
    with open(f"/proc/{pid}/mountinfo") as f:
        return [line.split() for line in f]


class FreshMachineE2E(AgentTestCase):
    def agent_cmd(self, pins, *extra):
        return [AGENT, "--socket", os.path.join(self.tmp, "agent.sock"), "--state-dir",
                os.path.join(self.tmp, "state"), "--metrics-addr", "off", "--cri-endpoint", "off",
                "--log-format", "text", "--bpf-pin-dir", pins, *extra]

    def test_agent_mounts_a_bpf_filesystem_where_none_is(self):
        pins = f"/sys/fs/bpf/fg-fresh-{os.getpid()}-{time.time_ns()}"
        log_path = os.path.join(self.tmp, "agent.log")
        with open(log_path, "w") as log:
            p = subprocess.Popen(fresh(self.agent_cmd(pins)), stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)

        def logs():
            with open(log_path) as f:
                return f.read()

        wait_for(lambda: "agent ready" in logs() or p.poll() is not None, what="agent ready")
        self.assertIsNone(p.poll(), logs())
        self.assertIn("mounted a bpf filesystem: none was mounted at=/sys/fs/bpf", logs())
        # The mount is the agent's namespace's, a bpf filesystem, and holds the pins.
        bpf = [m for m in mounts(p.pid) if m[4] == "/sys/fs/bpf"]
        self.assertTrue(bpf, "no mount at /sys/fs/bpf in the agent's namespace")
        self.assertIn("bpf", bpf[-1][bpf[-1].index("-") + 1], bpf[-1])
        root = f"/proc/{p.pid}/root"
        links = os.listdir(root + pins + "/links")
        # The programs are pinned there (sys_enter only while a tracked cgroup needs it:
        # nothing is tracked yet, so it is not among them).
        self.assertIn("fg_exec", " ".join(links))
        self.assertTrue(os.path.exists(root + pins + "/maps/fg_agent"))
        # It works: a function runs under it and is learned.
        r = subprocess.run([CTL, "--socket", os.path.join(self.tmp, "agent.sock"), "run",
                            "--function", "fresh", "--", "/bin/true"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Stop it (a process keeps the namespace), then clean up there: everything pinned goes.
        holder = subprocess.Popen(["nsenter", f"--mount=/proc/{p.pid}/ns/mnt", "--", "sleep",
                                   "120"])
        self.procs.append(holder)
        wait_for(lambda: os.readlink(f"/proc/{holder.pid}/ns/mnt") ==
                 os.readlink(f"/proc/{p.pid}/ns/mnt"), what="holder in the namespace")
        p.terminate()
        self.assertEqual(p.wait(timeout=20), 0, logs())
        c = subprocess.run(["nsenter", f"--mount=/proc/{holder.pid}/ns/mnt", "--", AGENT,
                            "--bpf-pin-dir", pins, "--cleanup"], capture_output=True, text=True)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertIn("programs are detached", c.stdout)
        self.assertFalse(os.path.exists(f"/proc/{holder.pid}/root{pins}"))

    def test_never_mounts_over_a_directory_that_holds_files(self):
        parent = os.path.join(self.tmp, "holds-files")
        os.makedirs(parent)
        with open(os.path.join(parent, "keep"), "w") as f:
            f.write("mine")
        r = subprocess.run(fresh(self.agent_cmd(os.path.join(parent, "pins"))),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("holds files", r.stderr)
        self.assertIn("--bpf-pin-dir off", r.stderr)
        with open(os.path.join(parent, "keep")) as f:
            self.assertEqual(f.read(), "mine")

    def test_cleanup_with_nothing_pinned(self):
        pins = f"/sys/fs/bpf/fg-none-{os.getpid()}"
        r = subprocess.run(fresh([AGENT, "--bpf-pin-dir", pins, "--cleanup"]),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"nothing is pinned at {pins}", r.stdout)


if __name__ == "__main__":
    unittest.main()
