"""Shared by the end-to-end tests: the agent process, faasguardctl, the sample function."""
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
        # Nothing outlives a test's agent unless the test asks for pinning (and cleans up).
        if "--bpf-pin-dir" not in self.extra:
            self.extra += ["--bpf-pin-dir", "off"]
        self.proc = None

    def start(self, wait=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [AGENT, "--socket", self.socket, "--state-dir", self.state, "--sync-interval", "1",
             "--metrics-addr", "127.0.0.1:0"]
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

    def ready(self) -> dict:
        """The fields of the "agent ready" log line (listen, metrics, ...)."""
        for line in self.logs().splitlines():
            if '"agent ready"' in line:
                return json.loads(line)
        raise AssertionError("no 'agent ready' line:\n" + self.logs())

    def metrics_url(self) -> str:
        return "http://" + self.ready()["metrics"]

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



class AgentTestCase(unittest.TestCase):
    """Each test gets a temporary directory; agents and processes it starts are stopped."""

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

    def run_function(self, agent: Agent, name: str, port: int, env_extra=None):
        env = dict(os.environ, HELLO_QUIET="1", **(env_extra or {}))
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
