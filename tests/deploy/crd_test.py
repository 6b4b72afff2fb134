#!/usr/bin/env python3
"""deploy/crds/functionprofile.yaml: a structural schema that is exactly the profile's JSON
form (proto/faasguard/v1/profile.proto through the protobuf JSON mapping), which accepts
every example in deploy/examples/ and refuses broken ones."""
import copy
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import manifests as m  # noqa: E402
from schema import load_yaml_documents, structural_errors, validate  # noqa: E402

PROTO = os.path.join(m.ROOT, "proto", "faasguard", "v1", "profile.proto")
# Enum values the CRD leaves out on purpose: the agent refuses them (ValidateNetList).
REFUSED_ENUM_VALUES = {"PROTOCOL_UNSPECIFIED", "FILE_ACCESS_UNSPECIFIED"}
UINT32_MAX = 2**32 - 1


def crd():
    return m.load(m.CRD_FILE)[0]


def version_schema(name="v1alpha1"):
    v = next(v for v in crd()["spec"]["versions"] if v["name"] == name)
    return v["schema"]["openAPIV3Schema"]


def parse_proto(path):
    """{"messages": {name: [(label, type, field)]}, "enums": {name: [value names]}}."""
    text = re.sub(r"//[^\n]*", "", m.read(path))
    out = {"messages": {}, "enums": {}}
    for kind, name, body in re.findall(r"\b(message|enum)\s+(\w+)\s*\{([^{}]*)\}", text):
        if kind == "enum":
            out["enums"][name] = re.findall(r"(\w+)\s*=\s*\d+\s*;", body)
        else:
            out["messages"][name] = re.findall(
                r"(repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+\s*;", body)
    return out


def camel(snake):
    first, *rest = snake.split("_")
    return first + "".join(p[:1].upper() + p[1:] for p in rest)


def example_documents():
    """(file name, document) for every FunctionProfile in deploy/examples."""
    out = []
    for f in sorted(os.listdir(m.EXAMPLES)):
        p = os.path.join(m.EXAMPLES, f)
        if f.endswith(".json"):
            with open(p) as fh:
                out.append((f, json.load(fh)))
        elif f.endswith((".yaml", ".yml")):
            out += [(f, d) for d in load_yaml_documents(m.read(p))]
    return out


class Crd(unittest.TestCase):
    def test_names_scope_and_versions(self):
        c = crd()
        self.assertEqual(c["apiVersion"], "apiextensions.k8s.io/v1")
        self.assertEqual(c["kind"], "CustomResourceDefinition")
        self.assertEqual(c["metadata"]["name"], "functionprofiles.faasguard.dev")
        s = c["spec"]
        self.assertEqual(s["group"], "faasguard.dev")
        self.assertEqual(s["scope"], "Namespaced")
        self.assertEqual(s["names"]["kind"], "FunctionProfile")
        self.assertEqual(s["names"]["plural"], "functionprofiles")
        self.assertEqual(s["names"]["singular"], "functionprofile")
        self.assertEqual(s["names"]["listKind"], "FunctionProfileList")
        self.assertIn("fgp", s["names"]["shortNames"])
        self.assertEqual([(v["name"], v["served"], v["storage"]) for v in s["versions"]],
                         [("v1alpha1", True, True)])
        self.assertEqual(s["versions"][0]["subresources"], {"status": {}})

    def test_structural_schema(self):
        errs = structural_errors(version_schema())
        self.assertEqual(errs, [], "\n".join(errs))

    def test_structural_check_catches_mistakes(self):
        bad = {"type": "object", "properties": {
            "a": {"properties": {"b": {"type": "string"}}},
            "c": {"type": "object", "properties": {"d": {"type": "string"}},
                  "additionalProperties": False},
            "e": {"type": "array"},
            "f": {"type": "array", "x-kubernetes-list-type": "map",
                  "x-kubernetes-list-map-keys": ["k"],
                  "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
            "g": {"type": "string", "pattern": "^(?!x)"},
            "h": {"type": "string", "format": "timestamp"},
        }}
        errs = "\n".join(structural_errors(bad))
        for fragment in ("a: type must be set", "c: additionalProperties and properties",
                         "c: additionalProperties: false", "e: an array needs an items",
                         "f: list map key 'k' must be required", "g: pattern uses look-around",
                         "h: unknown format"):
            self.assertIn(fragment, errs)

    def test_printer_columns(self):
        v = crd()["spec"]["versions"][0]
        cols = {c["name"]: c for c in v["additionalPrinterColumns"]}
        self.assertEqual(list(cols), ["Mode", "Platform", "Containers", "Updated", "Age"])
        self.assertEqual(cols["Mode"]["jsonPath"], ".spec.mode")
        self.assertEqual(cols["Platform"]["jsonPath"], r".metadata.labels.faasguard\.dev/platform")
        self.assertEqual(cols["Containers"]["jsonPath"], ".spec.containers[*].name")
        self.assertEqual((cols["Updated"]["jsonPath"], cols["Updated"]["type"]),
                         (".spec.updated", "date"))
        self.assertEqual((cols["Age"]["jsonPath"], cols["Age"]["type"]),
                         (".metadata.creationTimestamp", "date"))
        schema = version_schema()
        for c in cols.values():
            self.assertIn(c["type"], ("integer", "number", "string", "boolean", "date"))
            path = c["jsonPath"]
            if not path.startswith(".spec."):
                continue
            node = schema["properties"]["spec"]
            for part in path[len(".spec."):].split("."):
                many = part.endswith("[*]")
                node = node["properties"][part.replace("[*]", "")]
                if many:
                    self.assertEqual(node["type"], "array", path)
                    node = node["items"]
            self.assertEqual(node["type"], "string", path)

    def test_spec_is_the_profile_message(self):
        """Every field of Profile and the messages under it, with its JSON mapping's name and
        type, and nothing else; every enum with the proto's value names."""
        proto = parse_proto(PROTO)
        self.assertIn("Profile", proto["messages"])

        def check(schema, ptype, where):
            if ptype in proto["messages"]:
                self.assertEqual(schema.get("type"), "object", where)
                fields = proto["messages"][ptype]
                props = schema.get("properties", {})
                self.assertEqual(sorted(props), sorted(camel(f) for _, _, f in fields),
                                 f"{where}: properties != fields of {ptype}")
                for label, ftype, fname in fields:
                    sub = props[camel(fname)]
                    if label:
                        self.assertEqual(sub.get("type"), "array", f"{where}.{camel(fname)}")
                        sub = sub["items"]
                    check(sub, ftype, f"{where}.{camel(fname)}")
            elif ptype in proto["enums"]:
                self.assertEqual(schema.get("type"), "string", where)
                want = set(proto["enums"][ptype]) - REFUSED_ENUM_VALUES
                self.assertEqual(set(schema.get("enum", [])), want, where)
            elif ptype == "google.protobuf.Timestamp":
                self.assertEqual((schema.get("type"), schema.get("format")),
                                 ("string", "date-time"), where)
            elif ptype == "uint64":
                self.assertEqual(schema.get("type"), "string", f"{where}: uint64 is a string")
                self.assertEqual(schema.get("pattern"), "^[0-9]+$", where)
                self.assertLessEqual(schema.get("maxLength", 99), 20, where)
            elif ptype == "uint32":
                self.assertEqual(schema.get("type"), "integer", where)
                self.assertGreaterEqual(schema.get("minimum", -1), 0, where)
                self.assertLessEqual(schema.get("maximum", UINT32_MAX + 1), UINT32_MAX, where)
            elif ptype == "string":
                self.assertEqual(schema.get("type"), "string", where)
            elif ptype == "bool":
                self.assertEqual(schema.get("type"), "boolean", where)
            else:
                self.fail(f"{where}: proto type {ptype} has no mapping in this test")

        check(version_schema()["properties"]["spec"], "Profile", "spec")

    def test_exported_examples_are_what_export_writes(self):
        docs = dict(example_documents())
        exported = [f for f in docs if f.endswith(".json")]
        self.assertGreaterEqual(len(exported), 2)
        for f in exported:
            with self.subTest(example=f):
                with open(os.path.join(m.EXAMPLES, f)) as fh:
                    keys = list(json.load(fh))
                self.assertEqual(keys, ["apiVersion", "kind", "metadata", "spec"])
                d = docs[f]
                # The YAML export of the same profile is the same document.
                self.assertEqual(docs[f[:-len(".json")] + ".yaml"], d)
                fn = d["spec"]["function"]
                self.assertEqual(d["metadata"], {
                    "name": fn["name"], "namespace": fn["namespace"],
                    "labels": {"faasguard.dev/platform": fn.get("platform", "local")}})

    def test_examples_are_valid(self):
        docs = example_documents()
        self.assertGreaterEqual(len(docs), 5)
        kinds = set()
        schema = version_schema()
        for f, d in docs:
            with self.subTest(example=f):
                self.assertEqual((d["apiVersion"], d["kind"]),
                                 ("faasguard.dev/v1alpha1", "FunctionProfile"))
                errs = validate(d, schema)
                self.assertEqual(errs, [], "\n".join(errs))
                kinds.add(d["spec"]["mode"])
        self.assertTrue({"MODE_LEARN", "MODE_ENFORCE"} <= kinds)
        rules = [d for f, d in docs if "rules" in f]
        self.assertTrue(rules, "a hand-written profile with rules")
        text = json.dumps(rules)
        for rule in ('"parent": "*"', '*"', '/8"', '"port": 0'):
            self.assertIn(rule, text)

    def test_broken_documents_are_refused(self):
        schema = version_schema()
        good = dict(example_documents())["default-hello.json"]
        c0 = "spec.containers[0]"

        def variant(change):
            d = copy.deepcopy(good)
            change(d)
            return d

        def c(d):
            return d["spec"]["containers"][0]

        cases = [
            # wrong types
            (lambda d: c(d)["syscalls"][0].update(nr="288"), f"{c0}.syscalls[0].nr: must be of type integer"),
            (lambda d: c(d)["execs"][0]["seen"].update(count=4), f"{c0}.execs[0].seen.count: must be of type string"),
            (lambda d: c(d)["counters"].update(execs=9), f"{c0}.counters.execs: must be of type string"),
            (lambda d: d["spec"].update(containers={}), "spec.containers: must be of type array"),
            (lambda d: c(d)["execs"][0].update(uids=["0"]), f"{c0}.execs[0].uids[0]: must be of type integer"),
            (lambda d: d["spec"].update(schemaVersion="1"), "spec.schemaVersion: must be of type integer"),
            # enums
            (lambda d: d["spec"].update(mode="MODE_PARANOID"), "spec.mode: unsupported value 'MODE_PARANOID'"),
            (lambda d: d["spec"].update(mode="learn"), "spec.mode: unsupported value 'learn'"),
            (lambda d: d["spec"].update(syscallAction="SYSCALL_ACTION_IGNORE"), "spec.syscallAction: unsupported value"),
            (lambda d: c(d)["egress"][0].update(protocol="PROTOCOL_UNSPECIFIED"), f"{c0}.egress[0].protocol: unsupported value"),
            (lambda d: c(d)["egress"][0].update(protocol=6), f"{c0}.egress[0].protocol: must be of type string"),
            (lambda d: c(d)["execs"][0].update(kind="PATH_KIND_SOCKET"), f"{c0}.execs[0].kind: unsupported value"),
            (lambda d: c(d)["syscalls"][0].update(arch="mips"), f"{c0}.syscalls[0].arch: unsupported value"),
            # required
            (lambda d: d["spec"]["function"].pop("name"), "spec.function: required field 'name'"),
            (lambda d: d["spec"].pop("mode"), "spec: required field 'mode'"),
            (lambda d: d["spec"].pop("function"), "spec: required field 'function'"),
            (lambda d: d.pop("spec"), "<root>: required field 'spec'"),
            (lambda d: c(d).pop("name"), f"{c0}: required field 'name'"),
            (lambda d: c(d)["listen"][0].pop("protocol"), f"{c0}.listen[0]: required field 'protocol'"),
            (lambda d: c(d)["execs"][0].pop("path"), f"{c0}.execs[0]: required field 'path'"),
            # unknown fields (snake_case is what the proto file says, not the JSON mapping)
            (lambda d: c(d).update(folders=[]), f"{c0}.folders: unknown field"),
            (lambda d: c(d)["syscalls"][0].update(first_seen="2026-11-26T15:22:00Z"), f"{c0}.syscalls[0].first_seen: unknown field"),
            (lambda d: d["spec"].update(schema_version=1), "spec.schema_version: unknown field"),
            (lambda d: c(d)["execs"][0]["seen"].update(extra="1"), f"{c0}.execs[0].seen.extra: unknown field"),
            # timestamps
            (lambda d: d["spec"].update(created="yesterday"), "spec.created: 'yesterday' is not an RFC 3339"),
            (lambda d: d["spec"].update(updated="2026-13-01T00:00:00Z"), "spec.updated: '2026-13-01T00:00:00Z' is not"),
            (lambda d: d["spec"].update(updated="2026-11-26 15:22:00"), "is not an RFC 3339"),
            (lambda d: d["spec"].update(updated="2026-11-26T15:22:00"), "is not an RFC 3339"),
            (lambda d: c(d)["execs"][0]["seen"].update(lastSeen=1764170520), f"{c0}.execs[0].seen.lastSeen: must be of type string"),
            # numbers and strings out of range
            (lambda d: c(d)["listen"][0].update(port=-1), f"{c0}.listen[0].port: -1 is less than 0"),
            (lambda d: c(d)["egress"][0].update(port=65536), f"{c0}.egress[0].port: 65536 is greater than 65535"),
            (lambda d: c(d)["execs"][0].update(uids=[-1]), "uids[0]: -1 is less than 0"),
            (lambda d: c(d)["execs"][0]["seen"].update(count="-3"), "seen.count: '-3' does not match"),
            (lambda d: c(d)["counters"].update(forks="12\n"), "counters.forks: '12\\n' does not match"),
            (lambda d: c(d)["counters"].update(forks="1" * 21), "counters.forks: longer than 20"),
            (lambda d: d["spec"].update(schemaVersion=3), "spec.schemaVersion: 3 is greater than 2"),
            (lambda d: d["spec"]["function"].update(namespace="Default"), "spec.function.namespace: 'Default' does not match"),
            (lambda d: d["spec"]["function"].update(name="a_b"), "spec.function.name: 'a_b' does not match"),
            (lambda d: d["spec"]["function"].update(namespace="x" * 64), "longer than 63"),
            (lambda d: c(d).update(name="Main"), f"{c0}.name: 'Main' does not match"),
            (lambda d: c(d)["egress"][0].update(address="example.com"), "address: 'example.com' does not match"),
            (lambda d: c(d)["execs"][0].update(path=""), "path: shorter than 1"),
            (lambda d: c(d)["execs"][0].update(path="/" + "a" * 4096), "path: longer than 4096"),
            (lambda d: d["spec"].update(containers=[{"name": f"c{i}"} for i in range(65)]), "spec.containers: more than 64 items"),
        ]
        for change, fragment in cases:
            with self.subTest(expect=fragment):
                errs = validate(variant(change), schema)
                self.assertTrue(any(fragment in e for e in errs),
                                f"expected an error with {fragment!r}, got {errs}")
        # ... and the unchanged document passes.
        self.assertEqual(validate(good, schema), [])

    def test_rules_and_defaults_are_accepted(self):
        schema = version_schema()
        spec = {
            "schemaVersion": 1, "function": {"namespace": "a", "name": "b.c"},
            "mode": "MODE_UNSPECIFIED", "syscallAction": "SYSCALL_ACTION_KILL",
            "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00.123+01:00",
            "containers": [{
                "name": "*",
                "syscalls": [{"name": "read", "nr": 0}, {"name": "syscall_451", "arch": "i386"}],
                "execs": [{"path": "/opt/*", "parent": "*", "kind": "PATH_KIND_FILE",
                           "parentKind": "PATH_KIND_ANONYMOUS", "script": "/x.sh",
                           "sampleArgs": []},
                          {"path": "memfd:x", "kind": "PATH_KIND_ANONYMOUS", "parent": ""}],
                "egress": [{"protocol": "PROTOCOL_ICMPV6", "address": "::/0"},
                           {"protocol": "PROTOCOL_SCTP", "address": "10.0.0.0/8", "port": 0}],
                "listen": [{"protocol": "PROTOCOL_UDP", "port": 65535}],
                "ingress": [{"protocol": "PROTOCOL_TCP", "address": "::ffff:10.0.0.1"}],
                "counters": {"execs": "18446744073709551615"},
            }],
        }
        doc = {"apiVersion": "faasguard.dev/v1alpha1", "kind": "FunctionProfile",
               "metadata": {"name": "b.c", "namespace": "a"}, "spec": spec}
        self.assertEqual(validate(doc, schema), [])

    def test_status(self):
        schema = version_schema()
        doc = copy.deepcopy(dict(example_documents())["default-hello.json"])
        node = {"node": "worker-1", "observedAt": "2026-11-26T18:46:30.381Z",
                "mode": "MODE_LEARN", "syscalls": 61, "execs": 3, "egress": 2, "listen": 1,
                "ingress": 1, "violations": 0, "agentVersion": "0.1.0"}
        cond = {"type": "Synced", "status": "True", "lastTransitionTime": "2026-11-26T18:46:30Z",
                "reason": "Published", "message": "", "observedGeneration": 3}
        doc["status"] = {"nodes": [node, dict(node, node="worker-2")], "conditions": [cond]}
        self.assertEqual(validate(doc, schema), [])
        st = schema["properties"]["status"]["properties"]
        self.assertEqual(st["nodes"]["x-kubernetes-list-type"], "map")
        self.assertEqual(st["nodes"]["x-kubernetes-list-map-keys"], ["node"])
        self.assertEqual(sorted(st["nodes"]["items"]["properties"]), sorted(node))
        for change, fragment in [
            (lambda s: s["nodes"].append(dict(node)), "duplicate entry with key {'node': 'worker-1'}"),
            (lambda s: s["nodes"][0].pop("node"), "status.nodes[0]: required field 'node'"),
            (lambda s: s["nodes"][0].update(violations=-1), "violations: -1 is less than 0"),
            (lambda s: s["nodes"][0].update(syscalls="61"), "syscalls: must be of type integer"),
            (lambda s: s["nodes"][0].update(observedAt="now"), "observedAt: 'now' is not"),
            (lambda s: s["nodes"][0].update(mode="MODE_X"), "mode: unsupported value"),
            (lambda s: s["nodes"][0].update(pods=3), "status.nodes[0].pods: unknown field"),
            (lambda s: s["conditions"][0].update(status="yes"), "status: unsupported value 'yes'"),
            (lambda s: s["conditions"][0].pop("reason"), "required field 'reason'"),
        ]:
            with self.subTest(expect=fragment):
                d = copy.deepcopy(doc)
                change(d["status"])
                errs = validate(d, schema)
                self.assertTrue(any(fragment in e for e in errs), f"{fragment!r} not in {errs}")


class Validator(unittest.TestCase):
    """tests/deploy/schema.py on its own."""

    def test_types(self):
        self.assertEqual(validate(True, {"type": "integer"}), ["<root>: must be of type integer, not boolean (True)"])
        self.assertEqual(validate(3.0, {"type": "integer"}), [])
        self.assertEqual(validate(3, {"type": "number"}), [])
        self.assertTrue(validate(None, {"type": "string"}))
        self.assertEqual(validate(None, {"type": "string", "nullable": True}), [])
        self.assertTrue(validate("x", {"type": "object"}))

    def test_date_time(self):
        s = {"type": "string", "format": "date-time"}
        for ok in ("2026-11-26T15:22:00Z", "2026-11-26T15:22:00.762855280Z",
                   "2026-11-26t15:22:00+05:30", "2024-02-29T00:00:00Z", "2016-12-31T23:59:60Z"):
            self.assertEqual(validate(ok, s), [], ok)
        for bad in ("2026-11-26", "2026-02-29T00:00:00Z", "2026-11-26T24:00:00Z",
                    "2026-11-26T15:22:00.1234567891Z", "2026-11-26T15:22:00+25:00", ""):
            self.assertTrue(validate(bad, s), bad)

    def test_objects(self):
        s = {"type": "object", "properties": {"a": {"type": "string"}}}
        self.assertEqual(validate({"b": 1}, s), ["b: unknown field"])
        s2 = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
              "properties": {"a": {"type": "string"}}}
        self.assertEqual(validate({"b": 1}, s2), [])
        s3 = {"type": "object", "additionalProperties": {"type": "integer"}}
        self.assertEqual(validate({"b": "x"}, s3), ["b: must be of type integer, not string ('x')"])
        self.assertEqual(validate({"b": "x"}, {"type": "object"}), [])

    def test_patterns_are_re2(self):
        s = {"type": "string", "pattern": "^[0-9]+$"}
        self.assertEqual(validate("12", s), [])
        self.assertTrue(validate("12\n", s))  # Python's $ would accept it; RE2's does not
        self.assertTrue(validate("١٢", s))  # Arabic-Indic digits: \d and [0-9] are ASCII in RE2
        self.assertTrue(validate("\u0661", {"type": "string", "pattern": r"^\d$"}))


if __name__ == "__main__":
    unittest.main()
