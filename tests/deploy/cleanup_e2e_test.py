#!/usr/bin/env python3
"""End-to-end (root): the uninstall's cleanup, deploy/kubernetes/cleanup, run for real.

The command line of the cleanup DaemonSet's init container, exactly as the manifest has it
(`faasguard-agent` found on PATH as in the image), with what its securityContext grants (root
without capabilities, no_new_privs, a read-only root filesystem: manifests.run_as_container),
against pins that an agent started with the agent DaemonSet's --bpf-pin-dir made.

Each test runs in a mount namespace of its own, with a filesystem of its own at /sys/fs/bpf
standing for the node's: the manifests' own pin path (/sys/fs/bpf/faasguard) is used, and the
machine's /sys/fs/bpf (another developer's agent) is neither seen nor touched. What a test
leaves pinned goes with that filesystem when the test process ends.

Environment: FG_AGENT, FG_CTL (binaries), as for tests/e2e.
"""
import ctypes
import json
import os
import subprocess
import sys
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
import manifests as m  # noqa: E402
from harness import AGENT, AgentTestCase, wait_for  # noqa: E402
from restart_e2e_test import prog_exists  # noqa: E402

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 0x40000


def private_mount_namespace():
    """This process (and what it starts) in a mount namespace of its own, nothing propagated."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")


def mount(fstype, target):
    subprocess.run(["mount", "-t", fstype, fstype, target], check=True)


class CleanupE2E(AgentTestCase):
    def setUp(self):
        super().setUp()
        private_mount_namespace()
        self.pin_dir = m.parse_flags(m.agent_command(m.build(m.KUBE))[0])["bpf-pin-dir"]
        self.argv, c, _ = m.cleanup_command(m.build(m.CLEANUP))
        self.as_container = m.run_as_container(c["securityContext"])
        # The image has faasguard-agent on PATH (/usr/local/bin); here, the built one.
        self.env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(AGENT)) + ":" +
                        os.environ.get("PATH", "/usr/bin:/bin"))

    def cleanup(self):
        return subprocess.run(self.as_container + self.argv, env=self.env, capture_output=True,
                              text=True, timeout=60)

    def assertCleanupFindsNothing(self):
        r = self.cleanup()
        self.assertEqual((r.returncode, r.stdout), (0, f"nothing is pinned at {self.pin_dir}\n"),
                         r.stderr)

    def pinned_programs(self, pid=None):
        """The ids of the programs of the pinned links, as seen by this process or in the
        mount namespace of process `pid`."""
        enter = ["nsenter", "-t", str(pid), "-m", "--"] if pid else []
        d = os.path.join(self.pin_dir, "links")
        names = subprocess.run(enter + ["ls", d], capture_output=True, text=True,
                               check=True).stdout.split()
        out = set()
        for n in names:
            r = subprocess.run(enter + ["bpftool", "-j", "link", "show", "pinned",
                                        os.path.join(d, n)],
                               capture_output=True, text=True, check=True)
            out.add(json.loads(r.stdout)["prog_id"])
        return out

    def test_cleanup_unpins_what_the_agent_pinned(self):
        self.assertEqual(self.pin_dir, "/sys/fs/bpf/faasguard")
        mount("bpf", "/sys/fs/bpf")  # the node's bpf filesystem
        a = self.agent(extra=["--bpf-pin-dir", self.pin_dir, "--cri-endpoint", "off",
                              "--kube-sync", "off"]).start()
        progs = self.pinned_programs()
        self.assertGreaterEqual(len(progs), 5)

        # While an agent holds the pins the cleanup fails (the pod stays unready, retried).
        r = self.cleanup()
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("another faasguard-agent is running", r.stderr)
        self.assertEqual(self.pinned_programs(), progs)

        # The agent deleted: its programs stay pinned and attached.
        a.stop()
        self.assertEqual(self.pinned_programs(), progs)
        self.assertTrue(all(prog_exists(p) for p in progs))

        r = self.cleanup()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        unpinned = [l for l in r.stdout.splitlines() if l.startswith("unpinned ")]
        self.assertIn(f"removed {self.pin_dir}: {len(unpinned)} pinned objects; faasguard's "
                      "programs are detached", r.stdout)
        self.assertGreater(len(unpinned), len(progs))  # the links, then the maps
        self.assertFalse(os.path.exists(self.pin_dir))
        # The kernel frees a released link and its program from a work queue, a moment later.
        wait_for(lambda: not any(prog_exists(p) for p in progs), timeout=30,
                 what="every program unloaded")

        # Again (the init container of a restarted pod): nothing to do, and done.
        self.assertCleanupFindsNothing()

    def test_cleanup_on_a_node_without_pins(self):
        # No bpf filesystem on the node: /sys/fs/bpf is a plain directory.
        mount("tmpfs", "/sys/fs/bpf")
        self.assertCleanupFindsNothing()
        self.assertEqual(os.listdir("/sys/fs/bpf"), [])
        # A bpf filesystem, and no agent ever ran.
        mount("bpf", "/sys/fs/bpf")
        self.assertCleanupFindsNothing()

    def test_pins_in_a_bpf_filesystem_the_agent_mounted_privately_go_with_it(self):
        """overlays/minimal-caps/README.md: with HostToContainer propagation, on a node with no
        bpf filesystem, the one the agent mounts stays in its container, and its programs detach
        when the agent exits. The container: a mount namespace of its own for the agent."""
        mount("tmpfs", "/sys/fs/bpf")
        wrapper = os.path.join(self.tmp, "agent-in-its-own-mount-namespace")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec unshare --mount --propagation slave -- {AGENT} "$@"\n')
        os.chmod(wrapper, 0o755)
        with mock.patch.object(harness, "AGENT", wrapper):
            a = self.agent(extra=["--bpf-pin-dir", self.pin_dir, "--cri-endpoint", "off",
                                  "--kube-sync", "off"]).start()
        self.assertIn("mounted a bpf filesystem", a.logs())
        self.assertEqual(os.listdir("/sys/fs/bpf"), [], "the agent's mount reached the node")
        progs = self.pinned_programs(pid=a.proc.pid)
        self.assertGreaterEqual(len(progs), 5)
        a.stop()
        wait_for(lambda: not any(prog_exists(p) for p in progs), timeout=30,
                 what="every program unloaded with the agent's mount namespace")
        self.assertCleanupFindsNothing()


if __name__ == "__main__":
    unittest.main()
