#!/usr/bin/env python3
"""End-to-end tests (root): the faasguard-agent binary, faasguardctl, the sample function and
curl, as a user runs them. Each test starts its own agent on a private socket and state
directory.

Environment: FG_AGENT, FG_CTL (binaries), FG_EXAMPLES (examples/ directory).
"""
import json
import os
import signal
import socket
import subprocess
import time
import unittest

from harness import AGENT, CTL, AgentTestCase, free_port, wait_for  # noqa: F401


class E2E(AgentTestCase):
    # --- the main path -------------------------------------------------------------------

    def test_sample_function_profile(self):
        a = self.agent().start()
        port = free_port()
        fn = self.run_function(a, "hello", port)
        for name in ("alice", "bob", "carol"):
            self.assertIn(f"Hello, {name}!", self.curl(f"http://127.0.0.1:{port}/?name={name}"))

        prof = json.loads(a.ctl("profile", "show", "default/hello", "-o", "json").stdout)
        self.assertEqual(prof["function"]["name"], "hello")
        self.assertEqual(prof["function"]["namespace"], "default")
        c = {x["name"]: x for x in prof["containers"]}["main"]
        execs = [(e["path"], e.get("parent", "")) for e in c["execs"]]
        self.assertTrue(any(os.path.basename(p).startswith("python3") for p, _ in execs), execs)
        self.assertTrue(any(p.endswith("/wc") for p, _ in execs), execs)
        syscalls = {s["name"] for s in c["syscalls"]}
        self.assertTrue({"accept4", "accept"} & syscalls, syscalls)
        self.assertIn("execve", syscalls)
        self.assertIn({"protocol": "PROTOCOL_TCP", "port": port},
                      [{k: v for k, v in n.items() if k in ("protocol", "port")}
                       for n in c["listen"]])
        self.assertTrue(any(n["address"] == "127.0.0.1" and n["port"] == port
                            for n in c.get("ingress", [])), c.get("ingress"))

        # The table views work too.
        table = a.ctl("functions").stdout
        self.assertIn("hello", table)
        self.assertIn("learn", table)
        shown = a.ctl("profile", "show", "default/hello").stdout
        self.assertIn("tcp/%d" % port, shown)
        status = json.loads(a.ctl("status", "-o", "json").stdout)
        names = {p["name"] for p in status["programs"]}
        self.assertTrue({"fg_exec", "fg_connect4", "fg_bind4"} <= names, names)
        # sys_enter behind the task mark, or the cgroup-only variant where the kernel has none
        self.assertEqual(len(names & {"fg_sys_enter", "fg_sys_enter_cg"}), 1, names)
        self.assertTrue(any(f["name"] == "bpf_lsm" for f in status["features"]))

        # Stop the function: the exit code passes through and the cgroup is removed.
        fn.send_signal(signal.SIGTERM)
        self.assertEqual(fn.wait(timeout=20), 128 + signal.SIGTERM)
        listed = json.loads(a.ctl("functions", "-o", "json").stdout)["functions"]
        self.assertEqual(listed[0].get("replicas", 0), 0)

    def test_run_passes_exit_code_and_removes_cgroup(self):
        a = self.agent().start()
        r = a.ctl("run", "--function", "exiter", "--", "/bin/sh", "-c", "exit 7", check=False)
        self.assertEqual(r.returncode, 7, r.stderr)
        r = a.ctl("run", "--function", "exiter", "--", "/nonexistent/binary", check=False)
        self.assertEqual(r.returncode, 127)
        self.assertIn("cannot run /nonexistent/binary", r.stderr)
        mount = json.loads(a.ctl("status", "-o", "json").stdout)["cgroup2Mount"]
        leftovers = [d for d in os.listdir(os.path.join(mount, "faasguard"))
                     if d.startswith("default_exiter-")]
        self.assertEqual(leftovers, [])

    def test_run_kills_what_the_command_leaves(self):
        # A double fork + setsid leaves a daemon that outlives the command: shown untracked
        # first, then under faasguardctl run it is killed before its cgroup is unregistered.
        a = self.agent().start()
        tmp = self.tmp
        daemon = ("( setsid sh -c 'sleep 1; echo alive > {}' </dev/null >/dev/null 2>&1 & ); "
                  "exit 0")
        plain = os.path.join(tmp, "plain")
        subprocess.run(["/bin/sh", "-c", daemon.format(plain)], check=True, timeout=10)
        wait_for(lambda: os.path.exists(plain), what="the untracked daemon ran", timeout=5)
        tracked = os.path.join(tmp, "tracked")
        r = a.ctl("run", "--function", "leftover", "--", "/bin/sh", "-c", daemon.format(tracked),
                  check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("warning", r.stderr)
        time.sleep(2)
        self.assertFalse(os.path.exists(tracked), "the daemon outlived faasguardctl run")
        mount = json.loads(a.ctl("status", "-o", "json").stdout)["cgroup2Mount"]
        leftovers = [d for d in os.listdir(os.path.join(mount, "faasguard"))
                     if d.startswith("default_leftover-")]
        self.assertEqual(leftovers, [])

    def test_a_command_that_cannot_run_leaves_nothing_behind(self):
        a = self.agent().start()
        a.ctl("run", "--function", "keep", "--", "/bin/sh", "-c", "/bin/true")
        before = json.loads(a.ctl("profile", "show", "default/keep", "-o", "json").stdout)
        data = os.path.join(self.tmp, "data.txt")
        with open(data, "w") as f:
            f.write("not a program\n")
        os.chmod(data, 0o644)
        cases = [(["/nonexistent/cmd"], 127, "cannot run /nonexistent/cmd: No such file"),
                 (["no-such-command-fg"], 127,
                  "cannot run no-such-command-fg: command not found (not in PATH)"),
                 ([data], 126, "not executable (no execute permission)"),
                 ([self.tmp], 126, "it is a directory")]
        for function in ("tmp1", "keep"):
            for cmd, code, message in cases:
                with self.subTest(function=function, cmd=cmd[0]):
                    r = a.ctl("run", "--function", function, "--", *cmd, check=False)
                    self.assertEqual(r.returncode, code, r.stderr)
                    self.assertIn(message, r.stderr)
        after = json.loads(a.ctl("profile", "show", "default/keep", "-o", "json").stdout)
        self.assertEqual(after, before)  # the existing function: nothing changed at all

        # Found and executable, but the exec fails in the child (a missing interpreter): the
        # function this run created is deleted again; an existing one is kept, with its mode.
        script = os.path.join(self.tmp, "script")
        with open(script, "w") as f:
            f.write("#!/nonexistent/interpreter\n")
        os.chmod(script, 0o755)
        for function in ("tmp2", "keep"):
            r = a.ctl("run", "--function", function, "--", script, check=False)
            self.assertEqual(r.returncode, 127, r.stderr)
            self.assertIn("interpreter or loader is missing", r.stderr)

        listed = json.loads(a.ctl("functions", "-o", "json").stdout)["functions"]
        self.assertEqual([f["function"]["name"] for f in listed], ["keep"])
        self.assertEqual(listed[0].get("replicas", 0), 0)
        self.assertEqual(listed[0]["mode"], before["mode"])
        for name in ("tmp1", "tmp2"):
            self.assertEqual(a.ctl("profile", "show", name, check=False).returncode, 4)
        mount = json.loads(a.ctl("status", "-o", "json").stdout)["cgroup2Mount"]
        self.assertEqual([d for d in os.listdir(os.path.join(mount, "faasguard"))
                          if d.startswith(("default_tmp", "default_keep"))], [])

    def test_profiles_survive_restart(self):
        a = self.agent().start()
        r = a.ctl("run", "--function", "persist", "--", "/bin/sh", "-c", "/bin/true; exit 0")
        a.stop()
        files = os.listdir(os.path.join(a.state, "profiles"))
        self.assertIn("default_persist.json", files)
        b = self.agent(state=a.state).start()
        prof = json.loads(b.ctl("profile", "show", "default/persist", "-o", "json").stdout)
        paths = {e["path"] for e in prof["containers"][0]["execs"]}
        self.assertIn(os.path.realpath("/bin/true"), paths)
        del r

    # --- bad input -----------------------------------------------------------------------

    def test_unknown_function(self):
        a = self.agent().start()
        r = a.ctl("profile", "show", "default/nope", check=False)
        self.assertEqual(r.returncode, 4)
        self.assertIn("no function default/nope", r.stderr)
        r = a.ctl("profile", "show", "Bad_Name", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid function name", r.stderr)
        # Lists of an unknown function are not empty lists: exit 4 too.
        for cmd in (["violations", "default/nope"], ["events", "default/nope"],
                    ["events", "-n", "default", "nope", "--follow"], ["functions", "nope"],
                    ["mode", "default/nope", "enforce"]):
            with self.subTest(cmd=cmd):
                r = a.ctl(*cmd, check=False, timeout=20)
                self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
                self.assertIn("no function default/nope", r.stderr)
                self.assertEqual(r.stdout, "")

    def test_agent_unreachable(self):
        def ctl(sock, *args, user=()):
            return subprocess.run([*user, CTL, "--socket", sock, *args, "functions"],
                                  capture_output=True, text=True, timeout=60)
        none = os.path.join(self.tmp, "none.sock")
        r = ctl(none)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stderr, f"faasguardctl: the agent is not running (no socket at {none}; "
                                   "start faasguard-agent, or give its socket with --socket)\n")
        # A socket an agent left behind: nobody listens.
        stale = os.path.join(self.tmp, "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(stale)
        s.close()
        r = ctl(stale)
        self.assertEqual(r.returncode, 3)
        self.assertIn(f"connection refused at {stale}: the agent is not running", r.stderr)
        self.assertNotIn("failed to connect to all addresses", r.stderr)
        # Not root: the socket is root's only.
        a = self.agent().start()
        os.chmod(self.tmp, 0o755)
        r = ctl(a.socket, user=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        self.assertEqual(r.returncode, 3)
        self.assertIn(f"permission denied on {a.socket}: run as root", r.stderr)
        # An agent that does not answer in time.
        a.proc.send_signal(signal.SIGSTOP)
        try:
            r = ctl(a.socket, "--timeout", "1s")
        finally:
            a.proc.send_signal(signal.SIGCONT)
        self.assertEqual(r.returncode, 3)
        self.assertIn("did not answer within 1s (timed out)", r.stderr)

    def test_corrupt_profile_is_quarantined(self):
        state = os.path.join(self.tmp, "state")
        os.makedirs(os.path.join(state, "profiles"))
        bad = os.path.join(state, "profiles", "default_broken.json")
        with open(bad, "w") as f:
            f.write('{"schemaVersion": 1, "function": {"namespace": "default", "name": ')
        good = os.path.join(state, "profiles", "default_fine.json")
        with open(good, "w") as f:
            json.dump({"schemaVersion": 1, "function": {"platform": "local",
                       "namespace": "default", "name": "fine"}, "mode": "MODE_LEARN"}, f)
        a = self.agent(state=state).start()
        self.assertFalse(os.path.exists(bad))
        moved = os.listdir(os.path.join(state, "quarantine"))
        self.assertEqual(len(moved), 1)
        self.assertTrue(moved[0].startswith("default_broken.json."))
        self.assertIn("moved to quarantine", a.logs())
        self.assertIn("fine", a.ctl("functions").stdout)

    def test_socket_in_use(self):
        self.agent().start()
        second = self.agent(state=os.path.join(self.tmp, "state2")).start(wait=False)
        self.assertEqual(second.proc.wait(timeout=60), 1)
        self.assertIn("in use by a running process", second.logs())

    def test_stale_socket_is_replaced(self):
        path = os.path.join(self.tmp, "agent.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.close()  # a socket file nobody serves
        a = self.agent().start()
        self.assertEqual(oct(os.stat(path).st_mode & 0o777), "0o600")
        a.ctl("functions")

    def test_socket_refuses_peers_that_are_not_root(self):
        a = self.agent().start()
        # Open the way on purpose (directory and socket mode): the peer check still refuses.
        os.chmod(self.tmp, 0o755)
        os.chmod(a.socket, 0o666)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CTL,
                            "--socket", a.socket, "functions"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertIn("closed the connection: it serves root only (run as root)", r.stderr)
        wait_for(lambda: "refused a client that is not root" in a.logs(), what="refusal logged")
        self.assertIn('"uid":65534', a.logs())
        a.ctl("functions")  # root still gets in, and the agent serves on

    def test_not_root(self):
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", AGENT,
                            "--socket", os.path.join(self.tmp, "x.sock"), "--state-dir",
                            os.path.join(self.tmp, "st")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("must run as root", r.stderr)

    def test_no_btf(self):
        a = self.agent(extra=["--btf", os.path.join(self.tmp, "no-such-btf")])
        a.start(wait=False)
        self.assertEqual(a.proc.wait(timeout=60), 1)
        self.assertIn("BTF file", a.logs())

    def test_vanished_cgroup_is_dropped(self):
        a = self.agent().start()
        mount = json.loads(a.ctl("status", "-o", "json").stdout)["cgroup2Mount"]
        p = subprocess.Popen([CTL, "--socket", a.socket, "run", "--function", "vanish", "--",
                              "/bin/sleep", "60"])
        self.procs.append(p)
        wait_for(lambda: (json.loads(a.ctl("functions", "-o", "json").stdout).get("functions") or [{}])[0]
                 .get("replicas", 0) == 1, what="replica registered")
        cgdir = os.path.join(mount, "faasguard", f"default_vanish-{p.pid}")
        self.assertTrue(os.path.isdir(cgdir))
        # faasguardctl dies without cleaning up; then the cgroup goes away behind the agent.
        p.kill()
        p.wait(timeout=10)
        with open(os.path.join(cgdir, "cgroup.kill"), "w") as f:
            f.write("1")
        wait_for(lambda: self._try_rmdir(cgdir), what="cgroup removed")
        # The rmdir event untracks it at once (the 30-s path walk is only the safety net).
        wait_for(lambda: '"msg":"cgroup removed"' in a.logs() and str(p.pid) in a.logs(),
                 what="agent notices the rmdir", timeout=5)
        self.assertNotIn("tracked cgroup vanished", a.logs())
        listed = json.loads(a.ctl("functions", "-o", "json").stdout)["functions"]
        self.assertEqual(listed[0].get("replicas", 0), 0)
        a.ctl("profile", "show", "default/vanish")  # the learning is kept

    @staticmethod
    def _try_rmdir(d):
        try:
            os.rmdir(d)
            return True
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
