#!/usr/bin/env python3
"""unit: a packager's build builds (issue: `cmake -DCMAKE_BUILD_TYPE=Release` failed).

- A Release configure with default options succeeds and leaves -Werror off (FG_WERROR is for
  development and CI: scripts/ turn it on), so a compiler's false positive is a warning there.
- The sources GCC 12 at -O3 once raised a false -Wrestrict in (libstdc++'s string
  concatenation, from agent/common/log.cc and agent/profile/convert.cc) compile at Release
  optimisation with -Werror, with the flags of this build's compile_commands.json.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("FG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("FG_BUILD_DIR", os.path.join(SOURCE, "build"))
ONCE_FALSE_POSITIVE = ["agent/common/log.cc", "agent/profile/convert.cc"]


class ReleaseBuild(unittest.TestCase):
    def test_release_configure_keeps_warnings_warnings(self):
        with tempfile.TemporaryDirectory(prefix="fg-release-") as d:
            r = subprocess.run(["cmake", "-S", SOURCE, "-B", d, "-G", "Ninja",
                                "-DCMAKE_BUILD_TYPE=Release", "-DFG_BUILD_TESTS=OFF"],
                               capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join(d, "CMakeCache.txt")) as f:
                cache = f.read()
            self.assertIn("FG_WERROR:BOOL=OFF", cache)
            with open(os.path.join(d, "compile_commands.json")) as f:
                cmds = json.load(f)
            agent = [c for c in cmds if "/agent/daemon/" in c["file"]]
            self.assertTrue(agent)
            for c in agent:
                self.assertNotIn("-Werror", c["command"].split(), c["file"])
                self.assertIn("-O3", c["command"].split(), c["file"])

    def test_sources_once_refused_build_at_release_optimisation_with_werror(self):
        with open(os.path.join(BUILD, "compile_commands.json")) as f:
            cmds = {os.path.realpath(c["file"]): c for c in json.load(f)}
        for src in ONCE_FALSE_POSITIVE:
            path = os.path.realpath(os.path.join(SOURCE, src))
            self.assertIn(path, cmds, src)
            c = cmds[path]
            argv = [a for a in shlex.split(c["command"]) if a not in ("ccache",)]
            out = argv.index("-o")
            argv[out + 1] = "/dev/null"
            argv = [a for a in argv if not a.startswith("-O") and a not in ("-g",)]
            argv += ["-O3", "-DNDEBUG", "-Werror"]
            r = subprocess.run(argv, cwd=c["directory"], capture_output=True, text=True,
                               timeout=600)
            self.assertEqual(r.returncode, 0, f"{src}:\n{r.stderr[-3000:]}")


if __name__ == "__main__":
    unittest.main()
