#!/usr/bin/env python3
"""deploy/Dockerfile: the build stage is the project's own scripts (no second package list, no
ad-hoc cmake), and the runtime stage installs exactly the Debian packages that own the shared
libraries of the built binaries.

Environment: FG_AGENT, FG_CTL (optional): the built faasguard-agent and faasguardctl; with
them, their `ldd` + `dpkg -S` is compared with the runtime stage's package list.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import manifests as m  # noqa: E402

AGENT = os.environ.get("FG_AGENT")
CTL = os.environ.get("FG_CTL") or (
    os.path.join(os.path.dirname(AGENT), "faasguardctl") if AGENT else None)
LIB_SH = os.path.join(m.ROOT, "scripts", "lib.sh")
SETUP = os.path.join(m.ROOT, "scripts", "setup")
# Commands and tools a build stage must leave to scripts/setup.
BUILD_TOOLS = {"cmake", "ninja", "make", "apt-get", "apt", "dpkg", "gcc", "g++", "c++", "cc",
               "clang", "clang++", "bpftool", "protoc", "ctest", "pip", "pip3"}


def parse_dockerfile(path):
    """[(instruction, argument text)], continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in m.read(path).splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        instr, _, arg = cur.partition(" ")
        out.append((instr.upper(), arg.strip()))
        cur = ""
    return out


def stages(instructions):
    """[{"from": image, "name": alias or None, "steps": [(instr, arg)]}]."""
    out = []
    for instr, arg in instructions:
        if instr == "FROM":
            words = arg.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            out.append({"from": words[0], "name": name, "steps": []})
        elif out:
            out[-1]["steps"].append((instr, arg))
    return out


def fg_packages():
    text = m.read(LIB_SH)
    pkgs = set()
    for body in re.findall(r"FG_(?:BUILD|TEST)_PACKAGES=\(([^)]*)\)", text):
        pkgs |= set(re.sub(r"#[^\n]*", "", body).split())
    assert pkgs, "scripts/lib.sh lists no packages"
    return pkgs


def apt_install_packages(run_arg):
    """The packages of every `apt-get install` in a RUN command."""
    pkgs = []
    for cmd in re.split(r"&&|;|\|\|", run_arg):
        words = shlex.split(cmd)
        words = [w for w in words if "=" not in w or w.startswith("-")]  # VAR=value prefixes
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            after = words[words.index("install") + 1:]
            pkgs += [w for w in after if not w.startswith("-")]
    return pkgs


def shared_library_packages(binaries):
    """The Debian packages that own the shared libraries `ldd` lists for the binaries."""
    libs = set()
    for b in binaries:
        r = subprocess.run(["ldd", b], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError(f"ldd {b}: {r.stderr}")
        for line in r.stdout.splitlines():
            line = line.strip()
            if "=>" in line:
                target = line.split("=>", 1)[1].split()[0]
                if target == "not":
                    raise AssertionError(f"{b}: a library is missing: {line}")
                libs.add(target)
            elif line.startswith("/"):
                libs.add(line.split()[0])  # the dynamic loader
    # Debian 12 is usr-merged (/lib is /usr/lib) and dpkg knows each file by one of its names:
    # ask for all of them at once (dpkg -S is slow to start).
    candidates = {}
    for lib in sorted(libs):
        names = [lib, os.path.realpath(lib)]
        names += [n[len("/usr"):] if n.startswith("/usr/") else "/usr" + n for n in names]
        candidates[lib] = list(dict.fromkeys(names))
    r = subprocess.run(["dpkg", "-S"] + sorted({n for ns in candidates.values() for n in ns}),
                       capture_output=True, text=True, timeout=120)
    owners = {}
    for line in r.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        if pkg.startswith("diversion by"):
            continue
        owners[path.strip()] = pkg.split(",")[0].split(":")[0].strip()
    pkgs = set()
    for lib, names in candidates.items():
        owner = next((owners[n] for n in names if n in owners), None)
        if owner is None:
            raise AssertionError(f"no Debian package owns {lib}")
        pkgs.add(owner)
    return pkgs


def dockerignore_patterns():
    out = []
    for line in m.read(os.path.join(m.ROOT, ".dockerignore")).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _glob_re(pattern):
    rx, i = "", 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            rx += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            rx += ".*"
            i += 2
        elif pattern[i] == "*":
            rx += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            rx += "[^/]"
            i += 1
        else:
            rx += re.escape(pattern[i])
            i += 1
    return re.compile(rx + r"\Z")


def dockerignored(relpath, patterns):
    """Whether the Docker build context leaves relpath out (a pattern that matches one of its
    parent directories leaves out everything below; the last matching pattern decides)."""
    parts = relpath.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for p in patterns:
        neg = p.startswith("!")
        rx = _glob_re(p[1:] if neg else p)
        if any(rx.match(x) for x in prefixes):
            ignored = not neg
    return ignored


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(parse_dockerfile(m.DOCKERFILE))

    def test_two_stages_on_debian_12(self):
        self.assertEqual([(s["from"], s["name"]) for s in self.stages],
                         [("debian:12", "build"), ("debian:12-slim", None)])

    def test_build_stage_runs_the_project_scripts(self):
        build = self.stages[0]
        runs = [a for i, a in build["steps"] if i == "RUN"]
        copies = [a for i, a in build["steps"] if i == "COPY"]
        self.assertIn(". .", copies, "the build stage copies the repository")
        setup = [r for r in runs if re.search(r"(^|[\s;&|])(\./)?scripts/setup(\s|$)", r)]
        self.assertEqual(len(setup), 1, f"exactly one RUN of scripts/setup: {runs}")
        packages = fg_packages()
        for r in runs:
            with self.subTest(run=r):
                words = set(re.split(r"[\s;&|()]+", r))
                self.assertFalse(words & BUILD_TOOLS,
                                 f"build steps belong to scripts/setup, not the Dockerfile: {r}")
                self.assertFalse(words & packages,
                                 f"lib.sh's FG_*_PACKAGES are the package lists: {words & packages}")
        self.assertTrue(os.access(SETUP, os.X_OK))

    def test_scripts_setup_works_in_a_container_build(self):
        """What RUN ./scripts/setup goes through: root (a build runs as root), apt, the build.
        A kernel check would refuse the build container: it belongs to scripts/test."""
        text = m.read(SETUP)
        calls = [l.split()[0] for l in text.splitlines()
                 if l.strip() and not l.lstrip().startswith("#")
                 and re.match(r"^\s*\w+(\s|$)", l)]
        self.assertIn("build", calls)
        self.assertIn("install_packages", calls)
        self.assertNotIn("check_prerequisites", calls)
        # Where the binaries end up, which the runtime stage copies from.
        self.assertIn('FG_BUILD="${FG_BUILD:-$FG_ROOT/build}"', m.read(LIB_SH))

    def test_runtime_stage(self):
        rt = self.stages[1]
        steps = rt["steps"]
        runs = [a for i, a in steps if i == "RUN"]
        self.assertEqual(len(runs), 1, runs)
        self.assertIn("--no-install-recommends", runs[0])
        self.assertIn("rm -rf /var/lib/apt/lists/*", runs[0])
        pkgs = apt_install_packages(runs[0])
        self.assertEqual(pkgs, sorted(pkgs), "keep the package list sorted")
        for p in pkgs:
            self.assertFalse(p.endswith("-dev") or p in fg_packages() - {"openssl"},
                             f"{p}: a build package in the runtime image")
        copies = [a for i, a in steps if i == "COPY"]
        self.assertEqual(copies, ["--from=build /src/build/agent/faasguard-agent "
                                  "/src/build/agent/faasguardctl /usr/local/bin/"])
        entry = [a for i, a in steps if i == "ENTRYPOINT"]
        self.assertEqual(entry, ['["faasguard-agent"]'])
        self.assertNotIn("USER", [i for i, _ in steps], "the agent runs as root")

    def test_runtime_packages_are_the_binaries_libraries(self):
        if not AGENT:
            self.skipTest("FG_AGENT is not set")
        if not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest("ldd or dpkg is not installed")
        want = shared_library_packages([AGENT, CTL])
        run = next(a for i, a in self.stages[1]["steps"] if i == "RUN")
        got = set(apt_install_packages(run))
        self.assertEqual(got, want, f"missing: {sorted(want - got)}, not needed: "
                                    f"{sorted(got - want)}")

    def test_every_manifest_command_is_in_the_image(self):
        """Each container of every kustomization names its command (the image's ENTRYPOINT is
        the agent), and that command is in the image: a binary the runtime stage copies to
        /usr/local/bin, or a program of an Essential Debian package (debian:12-slim keeps every
        one of them), as this Debian 12 machine's dpkg says."""
        if not shutil.which("dpkg"):
            self.skipTest("dpkg is not installed")
        copied = {os.path.basename(w) for i, a in self.stages[1]["steps"] if i == "COPY"
                  for w in a.split()[1:-1]}
        commands = set()
        for d in list(m.VARIANTS.values()) + list(m.OTHERS.values()):
            for res in m.build(d):
                for c in m.pod_containers(res):
                    with self.subTest(kustomization=os.path.relpath(d, m.ROOT),
                                      container=c["name"]):
                        self.assertTrue(c.get("command"),
                                        "no command: the image would run the agent")
                        commands.add(c["command"][0])
        self.assertIn("sleep", commands)
        for cmd in sorted(commands - copied):
            with self.subTest(command=cmd):
                self.assertNotIn("/", cmd, "a command by name, found on the image's PATH")
                r = subprocess.run(["dpkg", "-S", f"bin/{cmd}"], capture_output=True, text=True)
                owners = {line.partition(":")[0] for line in r.stdout.splitlines()
                          if re.search(rf"/bin/{re.escape(cmd)}$", line)}
                self.assertEqual(len(owners), 1, f"which package has {cmd}? {r.stdout}{r.stderr}")
                q = subprocess.run(["dpkg-query", "-W", "-f=${Essential}", owners.pop()],
                                   capture_output=True, text=True, check=True)
                self.assertEqual(q.stdout, "yes", f"{cmd} is not in an Essential package")

    def test_version_label(self):
        version = re.search(r"project\(faasguard VERSION ([0-9.]+)",
                            m.read(os.path.join(m.ROOT, "CMakeLists.txt"))).group(1)
        labels = " ".join(a for i, a in self.stages[1]["steps"] if i == "LABEL")
        self.assertIn(f'org.opencontainers.image.version="{version}"', labels)

    def test_dockerignore(self):
        pats = dockerignore_patterns()
        for p in ("build", "build/agent/faasguard-agent", "build-dev", "build-dev/x.o",
                  "build-unit", ".git", ".git/HEAD", "tests/e2e/__pycache__/h.pyc"):
            self.assertTrue(dockerignored(p, pats), f"{p} is sent to the Docker daemon")
        for p in ("CMakeLists.txt", "agent/daemon/main.cc", "bpf/net.bpf.c", "proto/faasguard/v1/profile.proto",
                  "cmake/bpf.cmake", "scripts/setup", "scripts/lib.sh", "tests/CMakeLists.txt",
                  "examples/hello-py/handler.py", "bench/CMakeLists.txt", "deploy/Dockerfile"):
            self.assertFalse(dockerignored(p, pats), f"{p} is left out of the build context")

    def test_lib_sh_installs_what_the_deploy_tests_need(self):
        self.assertIn("python3-yaml", fg_packages())


class Helpers(unittest.TestCase):
    def test_apt_install_packages(self):
        self.assertEqual(apt_install_packages(
            "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "--no-install-recommends a b && rm -rf x"), ["a", "b"])

    def test_parse_dockerfile(self):
        self.assertEqual(stages(parse_dockerfile(m.DOCKERFILE))[0]["steps"][0],
                         ("WORKDIR", "/src"))


if __name__ == "__main__":
    unittest.main()
