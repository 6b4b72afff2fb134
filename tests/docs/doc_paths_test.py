#!/usr/bin/env python3
"""unit: every repository path that README.md and docs/*.md name exists.

A path is named in two ways: a relative Markdown link (`[text](docs/deploy.md)`, resolved from
the page's directory), or text that starts with a top-level directory of the repository
(`agent/bpf/loader.cc`, `bpf/*.bpf.h`, `tests/support/fake_apiserver.*`) or with `../` (from
the page's directory). In such text `*` is a glob, `{a,b}` names each of a and b, and whatever
follows a `<placeholder>` is not checked (only the directory before it). Paths a run makes
(bench/results/) need not exist; `kubectl` command lines name resources, not files.
"""
import glob
import itertools
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP = ("agent", "bench", "bpf", "cmake", "deploy", "docs", "examples", "fuzz", "proto",
       "scripts", "tests")
MADE_AT_RUN_TIME = ("bench/results/",)

# A top-level directory, not inside another path, a URL or a word; then path characters.
TEXT_PATH = re.compile(r"(?<![\w./:-])((?:%s)/[\w.*{},<>/-]*)" % "|".join(TOP))
LINK = re.compile(r"\]\(([^)\s]+)\)")
# A path relative to the page that leaves its directory (../shared/x.md).
UP_PATH = re.compile(r"(?<![\w./-])(\.\./[\w.*/-]+)")


def expand_braces(p):
    m = re.search(r"\{([^{}]*)\}", p)
    if not m:
        return [p]
    return list(itertools.chain.from_iterable(
        expand_braces(p[:m.start()] + alt + p[m.end():]) for alt in m.group(1).split(",")))


def named_paths(text, page_dir):
    """(path relative to the repository root, as written) for every path the text names."""
    for line in text.splitlines():
        if line.lstrip().startswith("kubectl "):
            continue  # its arguments are resources (deploy/echo), not files
        found = []
        for m in LINK.finditer(line):
            target = m.group(1).split("#")[0]
            if target and not re.match(r"^[a-z]+:", target) and not target.startswith("/"):
                found.append((m.start(), os.path.join(page_dir, target), m.group(1)))
        for m in UP_PATH.finditer(line):
            found.append((m.start(), os.path.join(page_dir, m.group(1)), m.group(1)))
        for m in TEXT_PATH.finditer(line):
            if line[m.end():m.end() + 1] == "(":
                continue  # a function call such as bpf/...(), not a path
            found.append((m.start(), m.group(1), m.group(1)))
        for _, p, written in sorted(found):
            p = os.path.normpath(p.split("<")[0].rstrip(".,:;")) + ("/" if p.endswith("/") else "")
            yield p, written.rstrip(".,:;")


def missing(root, text, page_dir):
    out = []
    for p, written in named_paths(text, page_dir):
        if any(p.startswith(r) for r in MADE_AT_RUN_TIME):
            continue
        for alt in expand_braces(p):
            full = os.path.join(root, alt)
            found = glob.glob(full) if "*" in alt else os.path.exists(full)
            if not found:
                out.append(written)
                break
    return out


def pages(root):
    return [os.path.join(root, "README.md")] + sorted(glob.glob(os.path.join(root, "docs/*.md")))


class DocPaths(unittest.TestCase):
    def test_every_named_path_exists(self):
        problems = []
        for page in pages(ROOT):
            with open(page, encoding="utf-8") as f:
                text = f.read()
            rel_dir = os.path.relpath(os.path.dirname(page), ROOT)
            for p in missing(ROOT, text, "" if rel_dir == "." else rel_dir):
                problems.append(f"{os.path.relpath(page, ROOT)}: {p}")
        self.assertEqual(problems, [], "paths named in the docs that do not exist")

    def test_the_check_finds_what_is_missing(self):
        text = "\n".join([
            "`agent/bpf/loader.cc` and `bpf/*.bpf.h`, bpf/{lsm,process}.bpf.c,",
            "fuzz/corpus/<target>/ and bench/results/<time>/; see [the API](api.md).",
            "Gone: agent/ctl/nothing.cc, [cli](cli.md), bpf/{lsm,nothing}.bpf.c, bpf/*.nope.",
            "Outside: `../shared/design.md`; inside: ../agent/bpf/loader.h.",
            "Not paths: https://example.com/agent/x, /sys/fs/bpf/x, my-docs/x.md, [w](https://x/y).",
            "kubectl exec deploy/echo -- id",
        ])
        self.assertEqual(missing(ROOT, text, "docs"),
                         ["agent/ctl/nothing.cc", "cli.md", "bpf/{lsm,nothing}.bpf.c",
                          "bpf/*.nope", "../shared/design.md"])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:])
