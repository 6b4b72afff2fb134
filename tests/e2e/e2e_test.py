#!/usr/bin/env python3
"""End-to-end tests (root): the faasguard-agent binary, faasguardctl, the sample function and
curl, as a user runs them. Each test starts its own agent on a private socket and state
directory.

Environment: FG_AGENT, FG_CTL (binaries), FG_EXAMPLES (examples/ directory).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

AGENT = os.environ.get("FG_AGENT", "build/agent/faasguard-agent")
CTL = os.environ.get("FG_CTL", "build/agent/faasguardctl")
EXAMPLES = os.environ.get("FG_EXAMPLES", "examples")
PYTHON = "/usr/bin/python3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Agent:
    """A faasguard-agent process with its own socket and state directory."""

    def __init__(self, tmp: str, state: str = None, extra=()):
        self.tmp = tmp
        self.socket = os.path.join(tmp, "agent.sock")
        self.state = state or os.path.join(tmp, "state")
        self.log_path = os.path.join(tmp, f"agent-{time.time_ns()}.log")
        self.extra = list(extra)
        self.proc = None

    def start(self, wait=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [AGENT, "--socket", self.socket, "--state-dir", self.state, "--sync-interval", "1"]
            + self.extra, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            wait_for(lambda: "agent ready" in self.logs() or self.proc.poll() is not None,
                     what="agent ready")
            if self.proc.poll() is not None:
                raise AssertionError("agent exited early:\n" + self.logs())
        return self

    def logs(self) -> str:
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def ctl(self, *args, check=True, timeout=60):
        r = subprocess.run([CTL, "--socket", self.socket, *args], capture_output=True,
                           text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"faasguardctl {' '.join(args)} failed ({r.returncode}):\n"
                                 f"{r.stdout}{r.stderr}")
        return r


class E2E(unittest.TestCase):
    def setUp(self):
        self.assertEqual(os.geteuid(), 0, "e2e tests need root (they run the agent)")
        self.tmp = tempfile.mkdtemp(prefix="fge2e.")
        self.agents = []
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for a in self.agents:
            a.stop()
        if self._outcome_failed():
            for a in self.agents:
                sys.stderr.write(f"--- agent log {a.log_path}\n{a.logs()[-6000:]}\n")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        errors = getattr(outcome, "errors", None) or getattr(getattr(outcome, "result", None),
                                                             "errors", [])
        return bool(errors)

    def agent(self, **kw) -> Agent:
        a = Agent(self.tmp, **kw)
        self.agents.append(a)
        return a

    def run_function(self, agent: Agent, name: str, port: int):
        env = dict(os.environ, HELLO_QUIET="1")
        log_path = os.path.join(self.tmp, f"{name}-{port}.log")
        with open(log_path, "w") as log:
            p = subprocess.Popen([CTL, "--socket", agent.socket, "run", "--function", name, "--",
                                  PYTHON, os.path.join(EXAMPLES, "hello-py", "handler.py"),
                                  str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_for(lambda: self._http_ok(port) or p.poll() is not None, what="function up")
        if p.poll() is not None:
            with open(log_path) as f:
                self.fail("the function exited early:\n" + f.read())
        return p

    @staticmethod
    def _http_ok(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    def curl(self, url):
        r = subprocess.run(["curl", "-sS", "--max-time", "10", url], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

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
        self.assertTrue({"fg_sys_enter", "fg_exec", "fg_connect4", "fg_bind4"} <= names, names)
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

    def test_agent_unreachable(self):
        r = subprocess.run([CTL, "--socket", os.path.join(self.tmp, "none.sock"), "functions"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot reach the faasguard agent", r.stderr)

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
        wait_for(lambda: "tracked cgroup vanished" in a.logs(), what="agent notices")
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
