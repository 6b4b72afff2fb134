#!/usr/bin/env python3
"""End-to-end file limits with the sample function (root): it learns its files under benign
traffic, is enforced with faasguardctl, then its code-injection bug (/calc?expr=, eval) is used
to read a token file and to write a new file outside its directories, every way the issue
lists that Python reaches without extra modules. Each attack first works against the same
function run untracked (no faasguard), then kills the enforced function before it can use the
file; a restarted replica still serves benign traffic.
"""
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

from enforce_e2e_test import EnforceE2E
from harness import EXAMPLES, PYTHON, free_port, wait_for

TOKEN = "TOKEN-e2e-s3cr3t"


class FilesE2E(EnforceE2E):
    def setUp(self):
        super().setUp()
        self.secrets = os.path.join(self.tmp, "serviceaccount")
        os.makedirs(self.secrets)
        self.token = os.path.join(self.secrets, "token")
        with open(self.token, "w") as f:
            f.write(TOKEN)
        self.link = os.path.join(self.tmp, "innocent")
        os.symlink(self.token, self.link)
        self.crond = os.path.join(self.tmp, "cron.d")
        os.makedirs(self.crond)

    def attacks(self):
        """Name -> (eval payload, how to tell it worked). Reads return the token in the reply;
        the write leaves its file with content."""
        t, l, c = self.token, self.link, os.path.join(self.crond, "backdoor")
        return {
            "read": (f"open({t!r}).read()", None),
            "symlink": (f"open({l!r}).read()", None),
            "procfd": ("(lambda os: open('/proc/self/fd/%d' % os.open("
                       f"{t!r}, os.O_PATH)).read())(__import__('os'))", None),
            "write": (f"open({c!r}, 'w').write('* * * * * root sh')", c),
        }

    def calc(self, port, expr):
        url = f"http://127.0.0.1:{port}/calc?expr={urllib.parse.quote(expr)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.read().decode()
        except OSError as e:
            return f"request failed: {e}"

    def untracked_function(self):
        port = free_port()
        p = subprocess.Popen([PYTHON, os.path.join(EXAMPLES, "hello-py", "handler.py"),
                              str(port)], env=dict(os.environ, HELLO_QUIET="1"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_for(lambda: self._http_ok(port), what="untracked function up")
        return p, port

    def test_file_attacks_are_stopped_and_benign_traffic_works(self):
        # Untracked, the same function serves every attack.
        up, uport = self.untracked_function()
        for name, (expr, written) in self.attacks().items():
            r = self.calc(uport, expr)
            if written:
                with open(written) as f:
                    self.assertEqual(f.read(), "* * * * * root sh", name)
                os.remove(written)
            else:
                self.assertIn(TOKEN, r, name)
        up.kill()

        self.learn()
        self.mode("enforce")
        shown = self.a.ctl("profile", "show", "default/hello").stdout
        self.assertIn("Files (", shown)
        prof = json.loads(self.a.ctl("profile", "show", "default/hello", "-o", "json").stdout)
        paths = [f["path"] for c in prof["containers"] for f in c.get("files", [])]
        # Python's library folds into one rule (the sample runs /usr/bin/python3, as this does).
        lib = f"/usr/lib/python3.{sys.version_info.minor}"
        self.assertIn(lib + "/*", paths)
        self.assertFalse([p for p in paths if p.startswith(lib + "/") and p != lib + "/*"], paths)
        self.assertFalse(any(p.startswith(self.tmp) for p in paths), paths)
        crd = self.a.ctl("profile", "export", "default/hello", "--format", "crd", "-o",
                         "yaml").stdout
        self.assertIn("kind: FunctionProfile", crd)
        self.assertIn(f"path: {lib}/*", crd)
        self.assertIn("FILE_ACCESS_READ", crd)

        # The replica started in learn mode runs without a seccomp filter: the write kills it
        # at its open's return (created, never written). Replicas started in enforce mode run
        # under the function's filter, whose file rules only read: the write is refused with
        # EPERM before it runs (nothing created) and the function goes on. Reads pass the
        # filter and kill the process at the open's return either way.
        port = self.port
        cron = os.path.join(self.crond, "backdoor")
        order = ["write", "read", "symlink", "procfd", "write"]
        for k, name in enumerate(order):
            expr, written = self.attacks()[name]
            filtered = k > 0
            r = self.calc(port, expr)
            self.assertNotIn(TOKEN, r, name)
            if name == "write" and filtered:
                self.assertIn("Operation not permitted", r)
                self.assertFalse(os.path.exists(cron), "refused before the open ran")
                self.assertIsNone(self.fn.poll(), "EPERM: the function goes on")
                continue
            wait_for(lambda: self.fn.poll() is not None, what=f"{name}: the function killed")
            if written:
                self.assertEqual(os.path.getsize(written), 0, f"{name}: never written")
                os.remove(written)
            # A new replica of the enforced function (on its learned port) serves benign
            # traffic.
            self.fn = self.run_function(self.a, "hello", port)
            self.assertEqual(self.get("/healthz"), "ok\n")
            for i in range(10):
                self.benign(i + 5000)
            self.assertIsNone(self.fn.poll(), f"after {name}: benign traffic killed it")

        vs = [v for v in self.violations() if v["kind"] == "file"]
        attempted = {v["attempted"] for v in vs}
        self.assertIn(f"{self.token} (read)", attempted, vs)
        self.assertIn(f"{cron} (write,create)", attempted, vs)
        self.assertTrue(all(v["action"] == "killed" for v in vs), vs)
        # The plain read, the symlink and /proc/self/fd all name the token itself.
        self.assertEqual(len([v for v in vs if v["attempted"] == f"{self.token} (read)"]), 3, vs)

        # Accepted, the read works (and only the read).
        v = [x for x in vs if x["attempted"] == f"{self.token} (read)"][0]
        out = self.a.ctl("profile", "accept", "default/hello", v["id"]).stdout
        self.assertIn("added to the profile", out)
        self.assertIn(TOKEN, self.calc(self.port, f"open({self.token!r}).read()"))
        self.assertIn(self.token, self.a.ctl("profile", "show", "default/hello").stdout)

    def test_temporary_files_with_new_names_never_kill_the_function(self):
        """A function that writes temporary files (mkstemp's new name each time, O_TMPFILE)
        learns their directory, not their names: in enforce, the next ones, by other names,
        pass; a new file in another directory is still stopped."""
        work = os.path.join(self.tmp, "work")
        os.makedirs(work)
        named = (f"__import__('tempfile').NamedTemporaryFile(dir={work!r}).write(b'x' * 100)")
        anon = f"__import__('tempfile').TemporaryFile(dir={work!r}).write(b'y' * 100)"
        self.learn(150)
        for _ in range(3):
            self.assertEqual(self.calc(self.port, named), "100\n")
            self.assertEqual(self.calc(self.port, anon), "100\n")
        self.mode("enforce")
        prof = json.loads(self.a.ctl("profile", "show", "default/hello", "-o", "json").stdout)
        files = {f["path"]: f.get("access", []) for c in prof["containers"]
                 for f in c.get("files", [])}
        self.assertIn(work + "/*", files, files)
        self.assertIn("FILE_ACCESS_CREATE", files[work + "/*"])
        self.assertFalse([p for p in files if p.startswith(work + "/") and p != work + "/*"],
                         files)

        for i in range(20):
            self.assertEqual(self.calc(self.port, named), "100\n", i)
            self.assertEqual(self.calc(self.port, anon), "100\n", i)
            self.benign(i)
        self.assertIsNone(self.fn.poll(), "a temporary file by a new name killed it")
        self.assertFalse([v for v in self.violations() if v["kind"] == "file"])

        cron = os.path.join(self.crond, "backdoor")
        self.calc(self.port, f"open({cron!r}, 'w').write('* * * * * root sh')")
        wait_for(lambda: self.fn.poll() is not None, what="the write elsewhere killed it")
        self.assertEqual(os.path.getsize(cron), 0, "never written")


if __name__ == "__main__":
    import unittest

    unittest.main(verbosity=2)
