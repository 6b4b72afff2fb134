#!/usr/bin/env python3
"""deploy/kubernetes: the manifests parse, the kustomizations build (base and overlays), and
the DaemonSet gives the agent everything its command line points to.

No cluster is needed: kustomize is reproduced for the features these kustomizations use
(manifests.build) and compared with `kubectl kustomize` when kubectl is installed.

Environment: FG_AGENT (optional): the faasguard-agent binary, whose --help is the list of
flags the DaemonSet may pass.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import manifests as m  # noqa: E402
from schema import load_yaml_documents  # noqa: E402

AGENT = os.environ.get("FG_AGENT")

# Flags whose value is a path the agent opens, and whether it must be writable there.
PATH_FLAGS = {
    "state-dir": True,
    "socket": True,
    "cri-endpoint": False,
    "cgroup-root": True,
    "bpf-pin-dir": True,
    "btf": False,
    "kube-token-file": False,
    "kube-ca-file": False,
    "tls-cert": False,
    "tls-key": False,
    "tls-client-ca": False,
}
OFF_VALUES = {"off", "auto", ""}
CRI_AUTO = ["/run/containerd/containerd.sock", "/run/crio/crio.sock",
            "/run/k3s/containerd/containerd.sock"]


def rendered():
    return {name: m.build(d) for name, d in m.VARIANTS.items()}


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.variants = rendered()

    # --- files -------------------------------------------------------------------------

    def test_every_yaml_file_parses(self):
        files = m.yaml_files()
        self.assertGreater(len(files), 15, files)
        for f in files:
            with self.subTest(file=os.path.relpath(f, m.ROOT)):
                docs = m.load(f)
                self.assertTrue(docs, "no document")
                for d in docs:
                    if isinstance(d, list):  # a JSON 6902 patch
                        for op in d:
                            self.assertIn(op.get("op"), ("add", "remove", "replace", "test",
                                                         "move", "copy"), op)
                            self.assertTrue(op.get("path", "").startswith("/"), op)
                        continue
                    self.assertIsInstance(d, dict)
                    self.assertIn("apiVersion", d)
                    self.assertIn("kind", d)

    def test_kustomizations_reference_existing_files(self):
        for d, _, files in os.walk(m.DEPLOY):
            if "kustomization.yaml" not in files:
                continue
            path, k = m.kustomization(d)
            for r in k.get("resources", []):
                p = os.path.normpath(os.path.join(d, r))
                with self.subTest(kustomization=os.path.relpath(path, m.ROOT), resource=r):
                    self.assertTrue(os.path.exists(p), p)
                    if os.path.isdir(p):
                        m.kustomization(p)
                        # kustomize refuses a base that contains the kustomization using it.
                        self.assertFalse(os.path.realpath(d).startswith(
                            os.path.realpath(p) + os.sep), f"{d} is inside its base {p}")
                    else:
                        # ... and files outside the kustomization's own directory tree.
                        self.assertTrue(os.path.realpath(p).startswith(
                            os.path.realpath(d) + os.sep), f"{p} is outside {d}")
            for patch in k.get("patches", []):
                if "path" in patch:
                    p = os.path.join(d, patch["path"])
                    with self.subTest(kustomization=os.path.relpath(path, m.ROOT), patch=p):
                        self.assertTrue(os.path.isfile(p), p)

    def test_every_variant_builds_with_unique_resources(self):
        for name, res in self.variants.items():
            with self.subTest(variant=name):
                keys = [m.key(r) for r in res]
                self.assertEqual(len(keys), len(set(keys)), keys)
                kinds = {r["kind"] for r in res}
                self.assertEqual(kinds, {"CustomResourceDefinition", "Namespace", "ServiceAccount",
                                         "ClusterRole", "ClusterRoleBinding", "PriorityClass",
                                         "ConfigMap", "DaemonSet", "Service"})
                for r in res:
                    if r["kind"] not in m.CLUSTER_SCOPED:
                        self.assertEqual(r["metadata"].get("namespace"), "faasguard-system",
                                         m.key(r))

    def test_same_as_kubectl_kustomize(self):
        if not m.kubectl():
            self.skipTest("kubectl is not installed: the Python rendering is not cross-checked")
        for name, d in m.VARIANTS.items():
            with self.subTest(variant=name):
                ours = {m.key(r): r for r in self.variants[name]}
                theirs = {m.key(r): r for r in m.kubectl_kustomize(d)}
                self.assertEqual(sorted(ours, key=str), sorted(theirs, key=str))
                for k in ours:
                    self.assertEqual(ours[k], theirs[k], k)

    def test_servicemonitor_is_an_example_outside_the_base(self):
        f = os.path.join(m.KUBE, "examples", "servicemonitor.yaml")
        sm = m.load(f)[0]
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(sm["kind"], "ServiceMonitor")
        for name, res in self.variants.items():
            self.assertNotIn("ServiceMonitor", {r["kind"] for r in res}, name)
        svc = m.find(self.variants["base"], "Service")
        labels = svc["metadata"]["labels"]
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(labels.get(k), v, f"the ServiceMonitor does not select {k}={v}")
        self.assertIn(svc["metadata"]["namespace"], sm["spec"]["namespaceSelector"]["matchNames"])
        ports = {p["name"] for p in svc["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            self.assertIn(ep["port"], ports)
            self.assertEqual(ep.get("path", "/metrics"), "/metrics")
            # A function's metrics carry its namespace label (docs/api.md, "Metrics").
            self.assertIs(ep.get("honorLabels"), True)

    # --- the overlays ------------------------------------------------------------------

    def test_overlays_set_the_cri_socket(self):
        for name, sock in (("base", "/run/containerd/containerd.sock"),
                           ("crio", "/run/crio/crio.sock"),
                           ("k3s", "/run/k3s/containerd/containerd.sock"),
                           ("minimal-caps", "/run/containerd/containerd.sock")):
            with self.subTest(variant=name):
                res = self.variants[name]
                argv, c, _ = m.agent_command(res)
                self.assertEqual(m.parse_flags(argv)["cri-endpoint"], sock)
                ds = m.find(res, "DaemonSet")
                vols = {v["name"]: v for v in m.pod_spec(ds)["volumes"]}
                mounts = {vm["name"]: vm for vm in c["volumeMounts"]}
                self.assertEqual(vols["cri-socket-dir"]["hostPath"]["path"], os.path.dirname(sock))
                self.assertEqual(mounts["cri-socket-dir"]["mountPath"], os.path.dirname(sock))
                # Everything else is the base's.
                base_ds = m.find(self.variants["base"], "DaemonSet")
                others = [v for v in m.pod_spec(ds)["volumes"] if v["name"] != "cri-socket-dir"]
                base_others = [v for v in m.pod_spec(base_ds)["volumes"]
                               if v["name"] != "cri-socket-dir"]
                self.assertEqual(others, base_others)

    def test_minimal_caps_overlay(self):
        _, c, _ = m.agent_command(self.variants["minimal-caps"])
        sc = c["securityContext"]
        self.assertFalse(sc.get("privileged", False))
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertEqual(sorted(sc["capabilities"]["add"]),
                         sorted(["BPF", "PERFMON", "SYS_ADMIN", "SYS_RESOURCE", "NET_ADMIN",
                                 "SYS_PTRACE", "DAC_READ_SEARCH"]))
        for vm in c["volumeMounts"]:
            self.assertNotEqual(vm.get("mountPropagation"), "Bidirectional",
                                "Bidirectional propagation needs a privileged container")
        bpf = next(vm for vm in c["volumeMounts"] if vm["mountPath"] == "/sys/fs/bpf")
        self.assertEqual(bpf["mountPropagation"], "HostToContainer")
        self.assertTrue(os.path.isfile(os.path.join(m.OVERLAYS, "minimal-caps", "README.md")))

    # --- the DaemonSet -----------------------------------------------------------------

    def test_daemonset_mounts_every_path_the_agent_uses(self):
        for name, res in self.variants.items():
            with self.subTest(variant=name):
                argv, c, _ = m.agent_command(res)
                ds = m.find(res, "DaemonSet")
                spec = m.pod_spec(ds)
                flags = m.parse_flags(argv)
                unresolved = [a for a in argv if "$(" in a]
                self.assertEqual(unresolved, [], "arguments with an undefined $(VAR)")
                need = []  # (flag, path, writable)
                for flag, writable in PATH_FLAGS.items():
                    v = flags.get(flag)
                    if isinstance(v, str) and v not in OFF_VALUES:
                        self.assertTrue(v.startswith("/"), f"--{flag}={v} is not absolute")
                        need.append((flag, v, writable))
                if flags.get("cri-endpoint", "auto") == "auto":
                    self.fail("--cri-endpoint auto: name the node's runtime socket")
                if "btf" not in flags:
                    need.append(("(kernel BTF)", "/sys/kernel/btf/vmlinux", False))
                for flag, path, writable in need:
                    mount, vol = self._mount_of(spec, c, path)
                    self.assertIsNotNone(mount, f"--{flag} {path}: not under any volumeMount")
                    if mount == m.SA_MOUNT:
                        self.assertTrue(spec.get("automountServiceAccountToken", True),
                                        f"--{flag} {path}: the service-account token is not mounted")
                        continue
                    self.assertIn("hostPath", vol, f"--{flag} {path}: {vol['name']} is no hostPath")
                    self.assertEqual(vol["hostPath"]["path"], mount["mountPath"],
                                     f"{vol['name']}: mounted at another path than the node's")
                    if writable:
                        self.assertFalse(mount.get("readOnly", False),
                                         f"--{flag} {path}: mounted read-only")

    @staticmethod
    def _mount_of(spec, c, path):
        best = None
        for vm in c.get("volumeMounts", []):
            mp = vm["mountPath"].rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                if best is None or len(mp) > len(best["mountPath"]):
                    best = vm
        if best is None:
            if spec.get("automountServiceAccountToken", True) and (
                    path == m.SA_MOUNT or path.startswith(m.SA_MOUNT + "/")):
                return m.SA_MOUNT, None
            return None, None
        vol = next(v for v in spec["volumes"] if v["name"] == best["name"])
        return best, vol

    def test_daemonset_node_access(self):
        res = self.variants["base"]
        ds = m.find(res, "DaemonSet")
        spec = m.pod_spec(ds)
        _, c, _ = m.agent_command(res)
        self.assertTrue(spec.get("hostPID"))
        self.assertTrue(c["securityContext"].get("privileged"))
        bpf = next(vm for vm in c["volumeMounts"] if vm["mountPath"] == "/sys/fs/bpf")
        self.assertEqual(bpf["mountPropagation"], "Bidirectional")
        mounts = {vm["mountPath"]: vm for vm in c["volumeMounts"]}
        vols = {v["name"]: v for v in spec["volumes"]}
        for path, ro in (("/sys/fs/bpf", False), ("/sys/kernel/btf", True),
                         ("/sys/fs/cgroup", False), ("/sys/kernel/tracing", True),
                         ("/var/lib/faasguard", False), ("/run/faasguard", False)):
            with self.subTest(path=path):
                self.assertIn(path, mounts)
                self.assertEqual(bool(mounts[path].get("readOnly")), ro)
                self.assertEqual(vols[mounts[path]["name"]]["hostPath"]["path"], path)
        for path in ("/var/lib/faasguard", "/run/faasguard"):
            self.assertEqual(vols[mounts[path]["name"]]["hostPath"]["type"], "DirectoryOrCreate")
        for v in vols.values():  # one volume per mount, none unused
            self.assertIn(v["name"], {vm["name"] for vm in c["volumeMounts"]})

    def test_daemonset_scheduling_and_lifecycle(self):
        res = self.variants["base"]
        ds = m.find(res, "DaemonSet")
        spec = m.pod_spec(ds)
        self.assertEqual(spec["tolerations"], [{"operator": "Exists"}])
        pc = spec["priorityClassName"]
        m.find(res, "PriorityClass", pc)
        self.assertEqual(ds["spec"]["updateStrategy"],
                         {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
        self.assertEqual(spec["terminationGracePeriodSeconds"], 30)
        self.assertIs(spec["automountServiceAccountToken"], True)
        self.assertEqual(ds["spec"]["selector"]["matchLabels"],
                         {k: v for k, v in ds["spec"]["template"]["metadata"]["labels"].items()
                          if k in ds["spec"]["selector"]["matchLabels"]})

    def test_priority_class(self):
        pc = m.find(self.variants["base"], "PriorityClass")
        self.assertNotIn(pc["metadata"]["name"], ("system-node-critical", "system-cluster-critical"))
        self.assertFalse(pc["metadata"]["name"].startswith("system-"))
        # The API server refuses values above one billion for classes not named system-*.
        self.assertLessEqual(pc["value"], 1000000000)
        self.assertGreaterEqual(pc["value"], 100000000)
        self.assertFalse(pc.get("globalDefault", False))

    def test_probes_resources_and_ports(self):
        argv, c, _ = m.agent_command(self.variants["base"])
        flags = m.parse_flags(argv)
        host, _, port = flags["metrics-addr"].rpartition(":")
        self.assertEqual(host, "0.0.0.0", "metrics must listen on the pod's address for probes")
        port = int(port)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports["metrics"], port)
        for probe in ("readinessProbe", "livenessProbe"):
            with self.subTest(probe=probe):
                get = c[probe]["httpGet"]
                self.assertEqual(get["path"], "/healthz")
                self.assertIn(get["port"], ("metrics", port))
        r = c["resources"]
        self.assertEqual(r["requests"], {"cpu": "50m", "memory": "64Mi"})
        self.assertEqual(r["limits"].get("memory"), "256Mi")
        self.assertNotIn("cpu", r["limits"], "no CPU limit: see the comment in daemonset.yaml")
        svc = m.find(self.variants["base"], "Service")
        sp = svc["spec"]["ports"][0]
        self.assertEqual(sp["port"], port)
        self.assertIn(sp["targetPort"], ("metrics", port))
        ds = m.find(self.variants["base"], "DaemonSet")
        pod_labels = ds["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(pod_labels.get(k), v)
        self.assertEqual(svc["spec"].get("clusterIP"), "None")

    def test_configmap_and_env_agree(self):
        res = self.variants["base"]
        cm = m.find(res, "ConfigMap", "faasguard-agent")
        _, c, env = m.agent_command(res)
        refs = {e["valueFrom"]["configMapKeyRef"]["key"] for e in c["env"]
                if "configMapKeyRef" in e.get("valueFrom", {})}
        self.assertEqual(refs, set(cm["data"]), "every ConfigMap key is used, and only those")
        used = set()
        for a in c["args"]:
            used |= set(re.findall(r"\$\(([A-Za-z_0-9]+)\)", a))
        self.assertEqual(used, set(env), "every variable is used in args, and defined")
        self.assertEqual(env["NODE_NAME"], "<fieldRef:spec.nodeName>")
        for v in cm["data"].values():
            self.assertIsInstance(v, str, "ConfigMap values must be strings")

    def test_agent_flags(self):
        argv, _, _ = m.agent_command(self.variants["base"])
        self.assertEqual(argv[0], "faasguard-agent")
        flags = m.parse_flags(argv[1:])
        self.assertEqual(flags, {
            "state-dir": "/var/lib/faasguard",
            "socket": "/run/faasguard/agent.sock",
            "metrics-addr": "0.0.0.0:9464",
            "cri-endpoint": "/run/containerd/containerd.sock",
            "cgroup-root": "/sys/fs/cgroup",
            "bpf-pin-dir": "/sys/fs/bpf/faasguard",
            "fail-open-after": "15s",
            "log-format": "json",
            "log-level": "info",
            "default-mode": "learn",
            "node-name": "<fieldRef:spec.nodeName>",
            "kube-sync": "auto",
            "kube-sync-interval": "10",
            "kube-token-file": m.SA_MOUNT + "/token",
            "kube-ca-file": m.SA_MOUNT + "/ca.crt",
        })

    def test_every_flag_is_known_to_the_agent(self):
        if not AGENT:
            self.skipTest("FG_AGENT is not set")
        known = m.agent_help_flags(AGENT)
        for name, res in self.variants.items():
            argv, _, _ = m.agent_command(res)
            for a in argv[1:]:
                self.assertTrue(a.startswith("--"), f"{name}: {a!r} is not a --flag=value")
                flag, eq, value = a[2:].partition("=")
                with self.subTest(variant=name, flag=flag):
                    self.assertTrue(flag in known, f"{AGENT} --help lists no --{flag}")
                    if known[flag]["value"]:
                        self.assertTrue(eq, f"--{flag} takes a value")
                    else:
                        self.assertFalse(eq, f"--{flag} is a switch")
                    # "auto|on|off": one of those; "PATH|auto|off": anything.
                    choices = (known[flag]["value"] or "").split("|")
                    if len(choices) > 1 and all(ch.islower() for ch in choices):
                        self.assertIn(value, choices, f"--{flag}: the agent accepts "
                                      f"{known[flag]['value']}")

    def test_rbac_is_least_privilege(self):
        res = self.variants["base"]
        role = m.find(res, "ClusterRole", "faasguard-agent")
        rules = sorted((tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"])))
                       for r in role["rules"])
        self.assertEqual(rules, [
            (("faasguard.dev",), ("functionprofiles",),
             ("create", "get", "list", "patch", "update", "watch")),
            (("faasguard.dev",), ("functionprofiles/status",), ("get", "patch", "update")),
        ])
        binding = m.find(res, "ClusterRoleBinding", "faasguard-agent")
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                              "kind": "ClusterRole", "name": "faasguard-agent"})
        sa = m.find(res, "ServiceAccount")
        ds = m.find(res, "DaemonSet")
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount",
                                                "name": sa["metadata"]["name"],
                                                "namespace": sa["metadata"]["namespace"]}])
        self.assertEqual(m.pod_spec(ds)["serviceAccountName"], sa["metadata"]["name"])
        self.assertEqual(len([r for r in res if r["kind"] in ("Role", "RoleBinding")]), 0)

    def test_namespace_allows_the_agent(self):
        ns = m.find(self.variants["base"], "Namespace")
        self.assertEqual(ns["metadata"]["name"], "faasguard-system")
        self.assertEqual(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
                         "privileged")

    def test_image_and_version(self):
        _, base_k = m.kustomization(m.BASE)
        images = {i["name"]: i for i in base_k["images"]}
        version = re.search(r"project\(faasguard VERSION ([0-9.]+)",
                            m.read(os.path.join(m.ROOT, "CMakeLists.txt"))).group(1)
        self.assertEqual(images["ghcr.io/faasguard/faasguard"]["newTag"], version)
        for name, res in self.variants.items():
            _, c, _ = m.agent_command(res)
            self.assertEqual(c["image"], f"ghcr.io/faasguard/faasguard:{version}", name)


class Kustomize(unittest.TestCase):
    """The test's own kustomize, on small inputs."""

    def test_strategic_merge(self):
        base = {"spec": {"containers": [{"name": "a", "image": "x", "volumeMounts": [
            {"name": "v", "mountPath": "/v"}, {"name": "w", "mountPath": "/w"}]}]}}
        patch = {"spec": {"containers": [{"name": "a", "volumeMounts": [
            {"mountPath": "/w", "$patch": "delete"},
            {"name": "v", "mountPath": "/v", "readOnly": True},
            {"name": "z", "mountPath": "/z"}]}]}}
        out = m.strategic_merge(base, patch)
        self.assertEqual(out["spec"]["containers"][0]["volumeMounts"], [
            {"name": "v", "mountPath": "/v", "readOnly": True}, {"name": "z", "mountPath": "/z"}])
        self.assertEqual(out["spec"]["containers"][0]["image"], "x")

    def test_json6902(self):
        doc = {"a": [{"name": "x", "p": 1}]}
        self.assertEqual(m.json6902(doc, [{"op": "test", "path": "/a/0/name", "value": "x"},
                                          {"op": "replace", "path": "/a/0/p", "value": 2}]),
                         {"a": [{"name": "x", "p": 2}]})
        with self.assertRaises(ValueError):
            m.json6902(doc, [{"op": "test", "path": "/a/0/name", "value": "y"}])

    def test_expand(self):
        env = {"A": "1", "B": "two"}
        self.assertEqual(m.expand("--x=$(A)-$(B)", env), "--x=1-two")
        self.assertEqual(m.expand("$$(A) $(C)", env), "$(A) $(C)")

    def test_yaml_timestamps_stay_strings(self):
        d = load_yaml_documents("t: 2026-01-02T03:04:05Z\n")[0]
        self.assertEqual(d["t"], "2026-01-02T03:04:05Z")


class Registration(unittest.TestCase):
    def test_every_test_is_registered(self):
        """Each test method of tests/deploy is a ctest entry of tests/deploy/CMakeLists.txt
        (ctest runs only what is listed there), and each entry exists."""
        here = os.path.dirname(os.path.abspath(__file__))
        cmake = m.read(os.path.join(here, "CMakeLists.txt"))
        registered = set()
        for f, cls, body in re.findall(
                r"fg_deploy_test\((\S+)\s+\w+\s+(\w+)\s+([^)]*)\)", cmake):
            registered |= {(f, cls, t) for t in body.split()}
        found = set()
        for f in sorted(os.listdir(here)):
            if not f.endswith("_test.py"):
                continue
            text = m.read(os.path.join(here, f))
            for cls, body in re.findall(r"^class (\w+)\(.*?\):\n(.*?)(?=^\S|\Z)", text,
                                        re.M | re.S):
                found |= {(f, cls, t) for t in re.findall(r"^    def (test_\w+)\(", body, re.M)}
        self.assertEqual(sorted(found - registered), [], "tests missing from CMakeLists.txt")
        self.assertEqual(sorted(registered - found), [], "CMakeLists.txt names no such test")


if __name__ == "__main__":
    unittest.main()
