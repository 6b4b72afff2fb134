#!/usr/bin/env python3
"""End-to-end (root): a live agent's `profile export --format crd`, in JSON and in YAML, is a
FunctionProfile the CRD's schema accepts; and every example in deploy/examples imports into
the agent (hand-written rules included, which must also compile for enforce mode).

Environment: FG_AGENT, FG_CTL (binaries), FG_EXAMPLES (examples/ directory), as for
tests/e2e.
"""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import manifests as m  # noqa: E402
from crd_test import version_schema  # noqa: E402
from harness import AgentTestCase, free_port  # noqa: E402
from schema import load_yaml_documents, validate  # noqa: E402


class CrdE2E(AgentTestCase):
    def assertValid(self, doc, what):
        errs = validate(doc, version_schema())
        self.assertEqual(errs, [], f"{what}:\n" + "\n".join(errs))

    def test_live_export_is_a_valid_function_profile(self):
        a = self.agent(extra=["--cri-endpoint", "off", "--kube-sync", "off"]).start()
        port = free_port()
        self.run_function(a, "hello", port)
        for name in ("alice", "bob"):
            self.assertIn(f"Hello, {name}!", self.curl(f"http://127.0.0.1:{port}/?name={name}"))
        self.curl(f"http://127.0.0.1:{port}/healthz")

        as_json = a.ctl("profile", "export", "default/hello", "--format", "crd", "-o", "json").stdout
        as_yaml = a.ctl("profile", "export", "default/hello", "--format", "crd", "-o", "yaml").stdout
        path = os.path.join(self.tmp, "hello.yaml")
        a.ctl("profile", "export", "default/hello", "--format", "crd", "-o", "yaml", "--file", path)
        doc = json.loads(as_json)
        docs = load_yaml_documents(as_yaml)
        self.assertEqual(len(docs), 1)
        self.assertValid(doc, "export -o json")
        self.assertValid(docs[0], "export -o yaml")
        self.assertEqual(load_yaml_documents(m.read(path)), docs)
        # The same profile in both forms: the YAML keeps strings strings ("4", "-c", times).
        self.assertEqual(docs[0], doc)
        self.assertEqual(list(doc), ["apiVersion", "kind", "metadata", "spec"])
        self.assertEqual(doc["metadata"], {"name": "hello", "namespace": "default",
                                           "labels": {"faasguard.dev/platform": "local"}})
        spec = doc["spec"]
        c = {x["name"]: x for x in spec["containers"]}["main"]
        self.assertTrue(c["syscalls"] and c["execs"] and c["listen"] and c["ingress"])
        self.assertIsInstance(c["execs"][0]["seen"]["count"], str)
        self.assertIsInstance(c["counters"]["execs"], str)
        # The plain export is the resource's spec.
        plain = json.loads(a.ctl("profile", "export", "default/hello", "-o", "json").stdout)
        self.assertEqual(plain, spec)

        # Modes and the syscall action as the agent prints them are in the CRD's enums.
        a.ctl("mode", "default/hello", "enforce", "--syscall-action", "alert")
        doc = json.loads(a.ctl("profile", "export", "default/hello", "--format", "crd",
                               "-o", "json").stdout)
        self.assertEqual((doc["spec"]["mode"], doc["spec"]["syscallAction"]),
                         ("MODE_ENFORCE", "SYSCALL_ACTION_ALERT"))
        self.assertValid(doc, "export after mode enforce")

    def test_examples_import_into_the_agent(self):
        a = self.agent(extra=["--cri-endpoint", "off", "--kube-sync", "off"]).start()
        files = sorted(os.path.join(m.EXAMPLES, f) for f in os.listdir(m.EXAMPLES)
                       if f.endswith((".json", ".yaml")))
        self.assertGreaterEqual(len(files), 5)
        for f in files:
            with self.subTest(example=os.path.basename(f)):
                r = a.ctl("profile", "import", f)
                self.assertIn("from " + f, r.stderr)
        # The hand-written rules compile into the kernel's allow-lists.
        a.ctl("mode", "shop/checkout", "enforce")
        for ref in ("default/hello", "shop/greeter", "shop/checkout"):
            with self.subTest(function=ref):
                doc = json.loads(a.ctl("profile", "export", ref, "--format", "crd",
                                       "-o", "json").stdout)
                self.assertValid(doc, f"{ref} after import")


if __name__ == "__main__":
    unittest.main()
