#!/usr/bin/env python3
"""deploy/kubernetes: the manifests parse, the kustomizations build (base and overlays, the CRD,
the cleanup), the DaemonSet gives the agent everything its command line points to, and the
cleanup DaemonSet reaches every node the agent ran on with what unpinning needs.

No cluster is needed: kustomize is reproduced for the features these kustomizations use
(manifests.build) and compared with `kubectl kustomize` when kubectl is installed.

Environment: FG_AGENT (optional): the faasguard-agent binary, whose --help is the list of
flags the DaemonSet may pass.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
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


def rendered_others():
    return {name: m.build(d) for name, d in m.OTHERS.items()}


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.variants = rendered()
        cls.others = rendered_others()

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
                self.assertEqual(kinds, {"Namespace", "ServiceAccount", "ClusterRole",
                                         "ClusterRoleBinding", "PriorityClass", "ConfigMap",
                                         "DaemonSet", "Service"})
                for r in res:
                    if r["kind"] not in m.CLUSTER_SCOPED:
                        self.assertEqual(r["metadata"].get("namespace"), "faasguard-system",
                                         m.key(r))

    def test_same_as_kubectl_kustomize(self):
        if not m.kubectl():
            self.skipTest("kubectl is not installed: the Python rendering is not cross-checked")
        ours_all = dict(self.variants, **self.others)
        for name, d in dict(m.VARIANTS, **m.OTHERS).items():
            with self.subTest(variant=name):
                ours = {m.key(r): r for r in ours_all[name]}
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

    # --- the CRD, apart from the agent ------------------------------------------------

    def test_deleting_the_agent_deletes_no_crd(self):
        """`kubectl delete -k` deletes what the kustomization builds, and the namespaces it
        builds take their namespaced objects with them. No agent kustomization may build the
        CRD (its deletion would delete every FunctionProfile), nor a namespace that is not its
        own, nor anything of faasguard.dev."""
        for name, res in dict(self.variants, cleanup=self.others["cleanup"],
                              purge=self.others["cleanup-purge-state"]).items():
            with self.subTest(kustomization=name):
                self.assertEqual([m.key(r) for r in res if r["kind"] == "CustomResourceDefinition"
                                  or r["apiVersion"].startswith("faasguard.dev/")], [])
                namespaces = [r["metadata"]["name"] for r in res if r["kind"] == "Namespace"]
                self.assertEqual(len(namespaces), 1)
                self.assertIn(namespaces[0], ("faasguard-system", "faasguard-cleanup"))
        # The kustomization files say so too: none under deploy/kubernetes refers to deploy/crds.
        for d, _, files in os.walk(m.KUBE):
            if "kustomization.yaml" in files:
                _, k = m.kustomization(d)
                for r in k.get("resources", []):
                    self.assertNotEqual(os.path.realpath(os.path.join(d, r)),
                                        os.path.realpath(m.CRDS), d)

    def test_crds_kustomization_is_the_crd_alone(self):
        res = self.others["crds"]
        self.assertEqual([m.key(r) for r in res],
                         [("CustomResourceDefinition", None, "functionprofiles.faasguard.dev")])
        self.assertEqual(res, m.load(m.CRD_FILE))

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

    def test_daemonset_runs_on_linux_nodes_only(self):
        for name, res in self.variants.items():
            with self.subTest(variant=name):
                spec = m.pod_spec(m.find(res, "DaemonSet", "faasguard-agent"))
                self.assertEqual(spec.get("nodeSelector"), {"kubernetes.io/os": "linux"})

    def test_startup_probe(self):
        """The agent's /healthz is up only once its programs are loaded: the startupProbe gives
        it time for that, and holds the liveness probe off meanwhile (no initialDelaySeconds
        guess)."""
        for name, res in self.variants.items():
            with self.subTest(variant=name):
                _, c, _ = m.agent_command(res)
                startup = c["startupProbe"]
                self.assertEqual(startup["httpGet"]["path"], "/healthz")
                self.assertIn(startup["httpGet"]["port"], ("metrics", 9464))
                window = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
                self.assertGreaterEqual(window, 60, "a busy node loads the programs slowly")
                self.assertLessEqual(startup.get("periodSeconds", 10), 5,
                                     "ready within seconds of starting, not a period later")
                for probe in ("livenessProbe", "readinessProbe"):
                    self.assertNotIn("initialDelaySeconds", c[probe], probe)

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
        cm = m.find(res, "ConfigMap")
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

    def test_configmap_is_generated_with_its_hash_in_its_name(self):
        """agent.env through configMapGenerator: the ConfigMap's name carries the hash of its
        data, and the DaemonSet refers to that name (in every variant, each with its values)."""
        env = dict(m.env_file_pairs(m.read(os.path.join(m.BASE, "agent.env"))))
        names = set()
        for name, res in self.variants.items():
            with self.subTest(variant=name):
                cm = m.find(res, "ConfigMap")
                self.assertEqual(cm["metadata"]["name"],
                                 "faasguard-agent-" + m.config_map_hash(cm))
                self.assertEqual(cm["metadata"]["labels"]["app.kubernetes.io/component"], "agent")
                expect = dict(env)
                if name in ("crio", "k3s"):
                    expect["FG_CRI_ENDPOINT"] = m.parse_flags(
                        m.agent_command(res)[0])["cri-endpoint"]
                    self.assertNotEqual(expect["FG_CRI_ENDPOINT"], env["FG_CRI_ENDPOINT"])
                self.assertEqual(cm["data"], expect)
                ds = m.find(res, "DaemonSet", "faasguard-agent")
                refs = {h[f] for h, f in m.config_map_refs(m.pod_spec(ds))}
                self.assertEqual(refs, {cm["metadata"]["name"]})
                names.add(cm["metadata"]["name"])
        self.assertEqual(len(names), 3, "base and minimal-caps share one; crio, k3s their own")

    def test_config_change_rolls_the_daemonset(self):
        """A changed value in agent.env is a ConfigMap of another name, and so a changed pod
        template: `kubectl apply -k` rolls the DaemonSet out with no `rollout restart`."""
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(m.DEPLOY, os.path.join(tmp, "deploy"))
            kube = os.path.join(tmp, "deploy", "kubernetes")
            before = m.build(kube)
            env_file = os.path.join(kube, "base", "agent.env")
            text = m.read(env_file)
            self.assertIn("FG_LOG_LEVEL=info\n", text)
            with open(env_file, "w") as f:
                f.write(text.replace("FG_LOG_LEVEL=info\n", "FG_LOG_LEVEL=debug\n"))
            after = m.build(kube)
            if m.kubectl():
                self.assertEqual({m.key(r): r for r in after},
                                 {m.key(r): r for r in m.kubectl_kustomize(kube)})
        old_cm, new_cm = m.find(before, "ConfigMap"), m.find(after, "ConfigMap")
        self.assertEqual(new_cm["data"]["FG_LOG_LEVEL"], "debug")
        self.assertNotEqual(old_cm["metadata"]["name"], new_cm["metadata"]["name"])
        old_ds, new_ds = m.find(before, "DaemonSet"), m.find(after, "DaemonSet")
        self.assertNotEqual(old_ds["spec"]["template"], new_ds["spec"]["template"])
        _, _, env = m.agent_command(after)
        self.assertEqual(env["FG_LOG_LEVEL"], "debug")
        # Nothing else changed.
        self.assertEqual([r for r in before if r["kind"] not in ("ConfigMap", "DaemonSet")],
                         [r for r in after if r["kind"] not in ("ConfigMap", "DaemonSet")])

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
        commands = {name: m.agent_command(res)[0] for name, res in self.variants.items()}
        for name in ("cleanup", "cleanup-purge-state"):
            commands[name] = m.cleanup_command(self.others[name])[0]
        for name, argv in commands.items():
            self.assertEqual(argv[0], "faasguard-agent", name)
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
        for name, res in dict(self.variants, **self.others).items():
            for r in res:
                for c in m.pod_containers(r):
                    self.assertEqual(c["image"], f"ghcr.io/faasguard/faasguard:{version}",
                                     (name, c["name"]))
        _, unpin_k = m.kustomization(os.path.join(m.CLEANUP, "unpin"))
        self.assertEqual(unpin_k["images"], base_k["images"])

    # --- the cleanup (uninstall) -------------------------------------------------------

    def test_cleanup_unpins_the_agents_pin_dir(self):
        """The init container runs exactly `faasguard-agent --bpf-pin-dir=<the agent's>
        --cleanup` (tests/deploy/cleanup_e2e_test.py runs that command line for real), with the
        node's bpf filesystem mounted where the agent pinned."""
        for name in ("cleanup", "cleanup-purge-state"):
            res = self.others[name]
            argv, c, _ = m.cleanup_command(res)
            for variant, agent_res in self.variants.items():
                with self.subTest(cleanup=name, variant=variant):
                    pin_dir = m.parse_flags(m.agent_command(agent_res)[0])["bpf-pin-dir"]
                    self.assertEqual(argv, ["faasguard-agent", f"--bpf-pin-dir={pin_dir}",
                                            "--cleanup"])
            spec = m.pod_spec(m.find(res, "DaemonSet", "faasguard-cleanup"))
            mount, vol = self._mount_of(spec, c, argv[1].partition("=")[2])
            self.assertEqual(mount["mountPath"], "/sys/fs/bpf")
            self.assertFalse(mount.get("readOnly", False), "unpinning is unlinking")
            self.assertNotIn("mountPropagation", mount, "it mounts nothing")
            self.assertEqual(vol["hostPath"], {"path": "/sys/fs/bpf", "type": "Directory"})
            self.assertEqual([vm["name"] for vm in c["volumeMounts"]], ["bpffs"])

    def test_cleanup_runs_where_the_agent_ran(self):
        agent = m.pod_spec(m.find(self.variants["base"], "DaemonSet", "faasguard-agent"))
        for name in ("cleanup", "cleanup-purge-state"):
            with self.subTest(cleanup=name):
                ds = m.find(self.others[name], "DaemonSet", "faasguard-cleanup")
                spec = m.pod_spec(ds)
                self.assertEqual(spec["nodeSelector"], agent["nodeSelector"])
                self.assertEqual(spec["tolerations"], agent["tolerations"])
                self.assertNotIn("affinity", spec)
                self.assertIs(spec["automountServiceAccountToken"], False)
                self.assertNotIn("serviceAccountName", spec)
                self.assertFalse(spec.get("hostPID") or spec.get("hostNetwork"))

    def test_cleanup_is_ready_only_once_done(self):
        """The unpinning is an init container: the pod's one container starts (and the pod
        turns Ready, there being no probe) only after it exited 0; `kubectl rollout status`
        then counts the clean nodes. The container waits and holds nothing."""
        ds = m.find(self.others["cleanup"], "DaemonSet", "faasguard-cleanup")
        spec = m.pod_spec(ds)
        self.assertEqual([c["name"] for c in spec["initContainers"]], ["unpin"])
        self.assertEqual(len(spec["containers"]), 1)
        done = spec["containers"][0]
        self.assertEqual(done["command"], ["sleep", "infinity"])
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            self.assertNotIn(probe, done)
        self.assertNotIn("volumeMounts", done)
        self.assertEqual(spec.get("restartPolicy", "Always"), "Always",
                         "a failed cleanup (an agent still running) is retried")
        sc = done["securityContext"]
        self.assertTrue(sc["runAsNonRoot"])
        self.assertNotEqual(sc["runAsUser"], 0)
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertLessEqual(spec["terminationGracePeriodSeconds"], 5, "sleep ignores SIGTERM")

    def test_cleanup_privileges(self):
        """Root without any capability or privilege (the e2e test runs the command line with
        exactly that); the runtime's AppArmor profile lifted for the unpinning container alone
        (it denies writes under /sys/fs/bpf), SELinux's spc_t for the pod; Pod Security at
        "privileged" for its own namespace only."""
        res = self.others["cleanup"]
        _, c, _ = m.cleanup_command(res)
        self.assertEqual(c["securityContext"], {
            "runAsUser": 0, "privileged": False, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}})
        ds = m.find(res, "DaemonSet", "faasguard-cleanup")
        ann = ds["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(ann, {"container.apparmor.security.beta.kubernetes.io/unpin":
                               "unconfined"})
        self.assertEqual(m.pod_spec(ds)["securityContext"],
                         {"seLinuxOptions": {"type": "spc_t"}})
        ns = m.find(res, "Namespace")
        self.assertEqual(ns["metadata"]["name"], "faasguard-cleanup")
        self.assertEqual(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
                         "privileged")
        self.assertEqual({r["kind"] for r in res}, {"Namespace", "DaemonSet"},
                         "no ServiceAccount, RBAC or ConfigMap: it needs none")

    def test_cleanup_and_agent_share_nothing(self):
        """Applying or deleting the cleanup never touches the agent's resources, nor the
        reverse: the cleanup can be applied while the agent's namespace is being deleted."""
        agent_keys = {m.key(r) for res in self.variants.values() for r in res}
        for name in ("cleanup", "cleanup-purge-state"):
            with self.subTest(cleanup=name):
                keys = {m.key(r) for r in self.others[name]}
                self.assertEqual(keys & agent_keys, set())
                for r in self.others[name]:
                    if r["kind"] not in m.CLUSTER_SCOPED:
                        self.assertEqual(r["metadata"]["namespace"], "faasguard-cleanup")

    def test_purge_state_deletes_the_agents_state_only(self):
        """purge-state's second init container, after unpin (so it never runs while an agent
        holds the node), empties exactly the agent's state and socket directories: its command
        is run here on a copy of a node's tree, through the container's mounts."""
        res = self.others["cleanup-purge-state"]
        ds = m.find(res, "DaemonSet", "faasguard-cleanup")
        spec = m.pod_spec(ds)
        self.assertEqual([c["name"] for c in spec["initContainers"]], ["unpin", "purge-state"])
        plain = m.pod_spec(m.find(self.others["cleanup"], "DaemonSet", "faasguard-cleanup"))
        self.assertEqual(spec["initContainers"][0], plain["initContainers"][0])
        self.assertEqual(spec["containers"], plain["containers"])
        purge = spec["initContainers"][1]
        sc = purge["securityContext"]
        self.assertEqual((sc["runAsUser"], sc["capabilities"], sc["privileged"]),
                         (0, {"drop": ["ALL"]}, False))
        vols = {v["name"]: v for v in spec["volumes"]}
        to_node = {vm["mountPath"]: vols[vm["name"]]["hostPath"]["path"]
                   for vm in purge["volumeMounts"]}
        _, _, env = m.agent_command(self.variants["base"])
        self.assertEqual(sorted(to_node.values()),
                         sorted([env["FG_STATE_DIR"], os.path.dirname(env["FG_SOCKET"])]))
        for v in (vols[vm["name"]] for vm in purge["volumeMounts"]):
            self.assertEqual(v["hostPath"]["type"], "DirectoryOrCreate")

        with tempfile.TemporaryDirectory() as node:
            def on_node(path):
                return os.path.join(node, path.lstrip("/"))
            keep = [on_node("/var/lib/other/file"), on_node("/run/other.sock"),
                    on_node("/var/lib/faasguard-not/file")]
            gone = [on_node(env["FG_STATE_DIR"] + "/profiles/default_hello.json"),
                    on_node(env["FG_STATE_DIR"] + "/kernel-state.pb"),
                    on_node(env["FG_SOCKET"])]
            for f in keep + gone:
                os.makedirs(os.path.dirname(f), exist_ok=True)
                with open(f, "w") as out:
                    out.write("x")
            argv = []
            for a in purge["command"]:
                mp = next((p for p in to_node if a == p or a.startswith(p + "/")), None)
                argv.append(on_node(to_node[mp] + a[len(mp):]) if mp else a)
            r = subprocess.run(argv, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            for f in gone:
                self.assertFalse(os.path.exists(f), f)
            for f in keep:
                self.assertTrue(os.path.exists(f), f)
            for d in to_node.values():
                self.assertEqual(os.listdir(on_node(d)), [], "emptied, and kept")


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

    @staticmethod
    def _tree(files):
        tmp = tempfile.mkdtemp(prefix="fgkz.")
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(textwrap.dedent(text))
        return tmp

    def assertSameAsKubectl(self, d, ours):
        if m.kubectl():
            self.assertEqual({m.key(r): r for r in ours},
                             {m.key(r): r for r in m.kubectl_kustomize(d)})

    def test_env_file(self):
        self.assertEqual(m.env_file_pairs("# c\n\n  A=1\nB=x=y # not a comment\nC=\"q\"\n  # c\n"),
                         [("A", "1"), ("B", "x=y # not a comment"), ("C", '"q"')])
        with self.assertRaisesRegex(ValueError, "no '='"):
            m.env_file_pairs("A\n")
        with self.assertRaisesRegex(ValueError, "not a valid key"):
            m.env_file_pairs("A B=1\n")

    def test_config_map_generator(self):
        """Names and hashes as kustomize v5.5 (`kubectl kustomize`) wrote them for these inputs,
        HTML-escaped and non-ASCII characters included."""
        tmp = self._tree({
            "kustomization.yaml": """
            configMapGenerator:
            - name: cm
              literals: [A=1]
            - name: mixed
              literals: ['Q="quoted"', "E=a=b"]
              files: [f.txt, other=f.txt]
              options:
                labels: {l: v}
            - name: nohash
              literals: [A=1]
              options:
                disableNameSuffixHash: true
            """,
            "f.txt": "x <&> \u00fc\n"})
        try:
            res = {r["metadata"]["name"]: r for r in m.build(tmp)}
            self.assertEqual(sorted(res), ["cm-89g4tffbfk", "mixed-cbcbcdft28", "nohash"])
            self.assertEqual(res["mixed-cbcbcdft28"], {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "mixed-cbcbcdft28", "labels": {"l": "v"}},
                "data": {"Q": "quoted", "E": "a=b", "f.txt": "x <&> \u00fc\n",
                         "other": "x <&> \u00fc\n"}})
            self.assertEqual(res["nohash"]["metadata"], {"name": "nohash"})
            self.assertSameAsKubectl(tmp, res.values())
        finally:
            shutil.rmtree(tmp)

    def test_generated_names_are_hashed_last(self):
        """The hash is of the final ConfigMap (after an overlay's merge generator and patches),
        and every reference to it in a pod spec of its namespace takes the new name."""
        tmp = self._tree({
            "base/kustomization.yaml": """
            namespace: ns1
            resources: [ds.yaml]
            configMapGenerator:
            - name: cm
              envs: [a.env]
            """,
            "base/a.env": "# comment\nA=1\nB=two words\n",
            "base/ds.yaml": """
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: d}
            spec:
              template:
                spec:
                  initContainers:
                  - name: i
                    envFrom: [{configMapRef: {name: cm}}]
                  containers:
                  - name: c
                    env:
                    - name: A
                      valueFrom: {configMapKeyRef: {name: cm, key: A}}
                  volumes:
                  - name: v
                    configMap: {name: cm}
                  - name: p
                    projected: {sources: [{configMap: {name: cm}}]}
            """,
            "overlay/other.yaml": """
            apiVersion: v1
            kind: Pod
            metadata: {name: p, namespace: ns2}
            spec:
              containers:
              - name: c
                envFrom: [{configMapRef: {name: cm}}]
            """,
            "overlay/kustomization.yaml": """
            resources: [../base, other.yaml]
            configMapGenerator:
            - name: cm
              behavior: merge
              literals: [A=9]
            patches:
            - patch: |
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: cm, namespace: ns1}
                data: {C: "3"}
            """,
        })
        try:
            base = m.build(os.path.join(tmp, "base"))
            overlay = m.build(os.path.join(tmp, "overlay"))
            self.assertEqual(m.find(base, "ConfigMap")["metadata"]["name"], "cm-5gttg69dkf")
            cm = m.find(overlay, "ConfigMap")
            self.assertEqual(cm["data"], {"A": "9", "B": "two words", "C": "3"})
            self.assertEqual(cm["metadata"], {"name": "cm-" + m.config_map_hash(cm),
                                              "namespace": "ns1"})
            spec = m.pod_spec(m.find(overlay, "DaemonSet"))
            self.assertEqual([h[f] for h, f in m.config_map_refs(spec)],
                             [cm["metadata"]["name"]] * 4)
            other = m.pod_spec(m.find(overlay, "Pod"))
            self.assertEqual([h[f] for h, f in m.config_map_refs(other)], ["cm"],
                             "another namespace's ConfigMap is another one")
            self.assertSameAsKubectl(os.path.join(tmp, "base"), base)
            self.assertSameAsKubectl(os.path.join(tmp, "overlay"), overlay)
        finally:
            shutil.rmtree(tmp)

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
