"""Shared by the deploy tests: the repository's paths, YAML loading, a small kustomize (the
few features deploy/kubernetes uses), the DaemonSet's command line, the agent's flags."""
import copy
import hashlib
import json
import os
import re
import shutil
import subprocess

from schema import load_yaml_documents

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
KUBE = os.path.join(DEPLOY, "kubernetes")
BASE = os.path.join(KUBE, "base")
OVERLAYS = os.path.join(KUBE, "overlays")
CRD_FILE = os.path.join(DEPLOY, "crds", "functionprofile.yaml")
EXAMPLES = os.path.join(DEPLOY, "examples")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")

CRDS = os.path.join(DEPLOY, "crds")
CLEANUP = os.path.join(KUBE, "cleanup")

# Every kustomization of the agent a user may apply (and delete): the base and each overlay.
VARIANTS = {
    "base": KUBE,
    "crio": os.path.join(OVERLAYS, "crio"),
    "k3s": os.path.join(OVERLAYS, "k3s"),
    "minimal-caps": os.path.join(OVERLAYS, "minimal-caps"),
}
# The other kustomizations: the CRD, and the uninstall's cleanup (plain, and purging state).
OTHERS = {
    "crds": CRDS,
    "cleanup": CLEANUP,
    "cleanup-purge-state": os.path.join(CLEANUP, "purge-state"),
}

SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "PriorityClass", "StorageClass", "PersistentVolume", "Node",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}


def read(path):
    with open(path) as f:
        return f.read()


def load(path):
    """The YAML (or JSON) documents of a file."""
    return load_yaml_documents(read(path))


def yaml_files(top=DEPLOY):
    out = []
    for d, _, files in os.walk(top):
        out += [os.path.join(d, f) for f in files if f.endswith((".yaml", ".yml"))]
    return sorted(out)


def key(res):
    m = res.get("metadata", {})
    return (res.get("kind"), m.get("namespace"), m.get("name"))


# --- kustomize, the part deploy/kubernetes uses --------------------------------------------

# Strategic-merge keys of the lists our patches touch (k8s.io/api's patchMergeKey).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "env": "name", "ports": "containerPort", "imagePullSecrets": "name",
}


def strategic_merge(base, patch, field=None):
    if isinstance(patch, dict) and isinstance(base, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in patch.items() if k != "$patch"}
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = strategic_merge_clean(v)
        return out
    if isinstance(patch, list) and isinstance(base, list) and field in MERGE_KEYS:
        mk = MERGE_KEYS[field]
        out = [copy.deepcopy(x) for x in base]
        for p in patch:
            if not isinstance(p, dict) or mk not in p:
                raise ValueError(f"{field}: a patch element without {mk}: {p}")
            idx = next((i for i, x in enumerate(out) if x.get(mk) == p[mk]), None)
            if p.get("$patch") == "delete":
                if idx is not None:
                    del out[idx]
            elif idx is None:
                out.append(strategic_merge_clean(p))
            else:
                out[idx] = strategic_merge(out[idx], p, None)
        return out
    return strategic_merge_clean(patch)


def strategic_merge_clean(v):
    if isinstance(v, dict):
        return {k: strategic_merge_clean(x) for k, x in v.items() if k != "$patch"}
    if isinstance(v, list):
        return [strategic_merge_clean(x) for x in v]
    return copy.deepcopy(v)


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"bad JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    for p in parts:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc


def json6902(doc, ops):
    """RFC 6902 (add, remove, replace, test, move, copy); raises on a failed test or a bad path."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(op["path"])
        parent, last = _walk(doc, parts[:-1]), parts[-1] if parts else None
        kind = op["op"]
        if kind == "test":
            if _walk(doc, parts) != op["value"]:
                raise ValueError(f"test failed: {op['path']} is {_walk(doc, parts)!r}, "
                                 f"not {op['value']!r}")
        elif kind == "remove":
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind == "replace":
            if isinstance(parent, list):
                parent[int(last)] = copy.deepcopy(op["value"])
            else:
                if last not in parent:
                    raise ValueError(f"replace: {op['path']} does not exist")
                parent[last] = copy.deepcopy(op["value"])
        elif kind == "add":
            if isinstance(parent, list):
                parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
            else:
                parent[last] = copy.deepcopy(op["value"])
        elif kind in ("move", "copy"):
            src = _pointer(op["from"])
            v = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                sp = _walk(doc, src[:-1])
                del sp[int(src[-1]) if isinstance(sp, list) else src[-1]]
            json6902_add = [{"op": "add", "path": op["path"], "value": v}]
            doc = json6902(doc, json6902_add)
        else:
            raise ValueError(f"unknown op {kind!r}")
    return doc


def _matches(res, target):
    for field, got in (("kind", res.get("kind")), ("name", res.get("metadata", {}).get("name")),
                       ("namespace", res.get("metadata", {}).get("namespace"))):
        if field in target and target[field] != got:
            return False
    api = res.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    return True


def kustomization(d):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p, load(p)[0]
    raise FileNotFoundError(f"no kustomization in {d}")


def build(d):
    """The resources `kustomize build d` outputs (as a list), for what our kustomizations use:
    resources (files and directories), configMapGenerator (and generatorOptions), patches
    (strategic merge and JSON 6902, from path or inline, with or without target), namespace
    and images. Anything else raises. As kustomize does, a generated ConfigMap's name gets the
    hash of its final content last, at the top kustomization only, and the references to it
    are renamed then."""
    out = _build(d)
    _add_hashes_to_names(out)
    return out


def _build(d):
    path, k = kustomization(d)
    supported = {"apiVersion", "kind", "resources", "configMapGenerator", "generatorOptions",
                 "patches", "namespace", "images"}
    unknown = set(k) - supported
    if unknown:
        raise ValueError(f"{path}: this test's kustomize does not know {sorted(unknown)}")
    out = []
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(d, r))
        if os.path.isdir(p):
            out += _build(p)
        else:
            out += load(p)
    for gen in k.get("configMapGenerator", []):
        _generate_config_map(path, d, gen, k.get("generatorOptions", {}), out)
    for patch in k.get("patches", []):
        if "path" in patch:
            docs = load(os.path.join(d, patch["path"]))
            body = docs[0] if len(docs) == 1 else docs
        else:
            body = load_yaml_documents(patch["patch"])[0]
        target = patch.get("target")
        if isinstance(body, list):  # JSON 6902
            if not target:
                raise ValueError(f"{path}: a JSON 6902 patch needs a target")
            hits = [i for i, res in enumerate(out) if _matches(res, target)]
            if not hits:
                raise ValueError(f"{path}: no resource matches {target}")
            for i in hits:
                out[i] = json6902(out[i], body)
        else:
            t = target or {"kind": body["kind"], "name": body["metadata"]["name"]}
            hits = [i for i, res in enumerate(out) if _matches(res, t)]
            if not hits:
                raise ValueError(f"{path}: no resource matches the patch of {t}")
            for i in hits:
                merged = strategic_merge(out[i], body)
                # A patch never renames or moves what it patches.
                merged["metadata"]["name"] = out[i]["metadata"]["name"]
                if "namespace" in out[i]["metadata"]:
                    merged["metadata"]["namespace"] = out[i]["metadata"]["namespace"]
                out[i] = merged
    if "namespace" in k:
        for res in out:
            if res.get("kind") not in CLUSTER_SCOPED:
                res.setdefault("metadata", {})["namespace"] = k["namespace"]
    for img in k.get("images", []):
        for res in out:
            for c in pod_containers(res):
                name, tag = split_image(c.get("image", ""))
                if name == img["name"]:
                    name = img.get("newName", name)
                    tag = ("@" + img["digest"]) if "digest" in img else (
                        ":" + img["newTag"] if "newTag" in img else tag)
                    c["image"] = name + tag
    return out


# --- configMapGenerator ----------------------------------------------------------------------

# Marks a generated ConfigMap whose name is to get the hash suffix (kustomize's own internal
# annotation; removed from the output).
_NEEDS_HASH = "internal.config.kubernetes.io/needsHashSuffix"
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def env_file_pairs(text, where="env file"):
    """kustomize's env file: KEY=VALUE a line, the value verbatim (quotes kept); blank lines
    and lines starting with # (after leading blanks) skipped. A line without "=" would take
    the value from kustomize's own environment: refused here."""
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        k, eq, v = line.partition("=")
        if not eq:
            raise ValueError(f"{where}:{n}: {line!r} has no '=' (kustomize would read {k} "
                             "from its environment)")
        if not _ENV_NAME.match(k):
            raise ValueError(f"{where}:{n}: {k!r} is not a valid key")
        pairs.append((k, v))
    return pairs


def _literal_pair(lit, where):
    k, eq, v = lit.partition("=")
    if not eq or not k:
        raise ValueError(f"{where}: literal {lit!r} is not KEY=VALUE")
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":  # kustomize drops matching quotes
        v = v[1:-1]
    return k, v


def config_map_hash(cm):
    """kustomize's name suffix for a ConfigMap (api/hasher): sha256 of Go's json.Marshal of
    {"data", "kind", "name"} (+ "binaryData" when it is a map), the first 10 hex digits with
    0 1 3 a e turned into g h k m t. The "name" is always "": kustomize looks it up with the
    path "metadata/name" as one field name, finds nothing and hashes the empty string."""
    m = {"kind": "ConfigMap", "name": "", "data": cm.get("data", "")}
    if isinstance(cm.get("binaryData"), dict):
        m["binaryData"] = cm["binaryData"]
    text = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # Go's HTML-safe escapes
        text = text.replace(ch, esc)
    return hashlib.sha256(text.encode()).hexdigest()[:10].translate(str.maketrans("013ae",
                                                                                  "ghkmt"))


def _generate_config_map(path, d, gen, global_options, out):
    where = f"{path}: configMapGenerator {gen.get('name')}"
    unknown = set(gen) - {"name", "namespace", "behavior", "literals", "envs", "files",
                          "options"}
    if unknown:
        raise ValueError(f"{where}: this test's kustomize does not know {sorted(unknown)}")
    options = dict(global_options, **gen.get("options", {}))
    unknown = set(options) - {"labels", "annotations", "disableNameSuffixHash"}
    if unknown:
        raise ValueError(f"{where}: this test's kustomize does not know options {sorted(unknown)}")
    pairs = [_literal_pair(lit, where) for lit in gen.get("literals", [])]
    for f in gen.get("envs", []):
        pairs += env_file_pairs(read(os.path.join(d, f)), os.path.join(d, f))
    for f in gen.get("files", []):
        k, eq, fp = f.partition("=")
        if not eq:
            k, fp = os.path.basename(f), f
        pairs.append((k, read(os.path.join(d, fp))))
    data = {}
    for k, v in pairs:
        if k in data:
            raise ValueError(f"{where}: key {k} given twice")
        data[k] = v
    meta = {"name": gen["name"]}
    if "namespace" in gen:
        meta["namespace"] = gen["namespace"]
    for field in ("labels", "annotations"):
        if options.get(field):
            meta[field] = dict(options[field])
    needs_hash = not options.get("disableNameSuffixHash", False)

    behavior = gen.get("behavior", "create")
    hits = [r for r in out if r.get("kind") == "ConfigMap" and r["metadata"]["name"] ==
            gen["name"] and ("namespace" not in gen or
                             r["metadata"].get("namespace") == gen["namespace"])]
    if behavior == "create":
        if hits:
            raise ValueError(f"{where}: already exists (behavior: merge or replace?)")
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
        if data:
            cm["data"] = data
        out.append(cm)
    elif behavior in ("merge", "replace"):
        if len(hits) != 1:
            raise ValueError(f"{where}: {len(hits)} ConfigMaps to {behavior}, not one")
        cm = hits[0]
        if behavior == "merge":
            cm["data"] = dict(cm.get("data", {}), **data)
            for field in ("labels", "annotations"):
                if field in meta:
                    cm["metadata"][field] = dict(cm["metadata"].get(field, {}), **meta[field])
        else:
            cm["data"] = data
            for field in ("labels", "annotations"):
                if field in meta:
                    cm["metadata"][field] = meta[field]
        needs_hash = needs_hash or _NEEDS_HASH in cm["metadata"].get("annotations", {})
    else:
        raise ValueError(f"{where}: unknown behavior {behavior!r}")
    ann = cm["metadata"].setdefault("annotations", {})
    ann.pop(_NEEDS_HASH, None)
    if needs_hash:
        ann[_NEEDS_HASH] = "enabled"
    if not ann:
        del cm["metadata"]["annotations"]


def config_map_refs(spec):
    """The places in a pod spec that name a ConfigMap, as (dict, key) pairs."""
    refs = []
    for c in (spec.get("initContainers", []) + spec.get("containers", []) +
              spec.get("ephemeralContainers", [])):
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("configMapKeyRef")
            if ref:
                refs.append((ref, "name"))
        for e in c.get("envFrom", []):
            if "configMapRef" in e:
                refs.append((e["configMapRef"], "name"))
    for v in spec.get("volumes", []):
        if "configMap" in v:
            refs.append((v["configMap"], "name"))
        for src in v.get("projected", {}).get("sources", []):
            if "configMap" in src:
                refs.append((src["configMap"], "name"))
    return refs


def _add_hashes_to_names(out):
    renamed = {}
    for res in out:
        ann = res.get("metadata", {}).get("annotations", {})
        if _NEEDS_HASH not in ann:
            continue
        del ann[_NEEDS_HASH]
        if not ann:
            del res["metadata"]["annotations"]
        old = res["metadata"]["name"]
        res["metadata"]["name"] = f"{old}-{config_map_hash(res)}"
        renamed[(res["metadata"].get("namespace"), old)] = res["metadata"]["name"]
    for res in out:
        spec = pod_spec(res)
        if not spec:
            continue
        ns = res["metadata"].get("namespace")
        for holder, field in config_map_refs(spec):
            holder[field] = renamed.get((ns, holder[field]), holder[field])


def split_image(image):
    """("registry/name", ":tag" or "@digest" or "")."""
    if "@" in image:
        n, _, dg = image.partition("@")
        return n, "@" + dg
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def pod_spec(res):
    if res.get("kind") in ("DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"):
        return res["spec"]["template"]["spec"]
    if res.get("kind") == "Pod":
        return res["spec"]
    return None


def pod_containers(res):
    spec = pod_spec(res)
    if not spec:
        return []
    return spec.get("initContainers", []) + spec.get("containers", [])


def kubectl():
    return shutil.which("kubectl")


def kubectl_kustomize(d):
    r = subprocess.run([kubectl(), "kustomize", d], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"kubectl kustomize {d} failed:\n{r.stderr}")
    return load_yaml_documents(r.stdout)


def find(resources, kind, name=None):
    hits = [r for r in resources if r.get("kind") == kind and
            (name is None or r["metadata"]["name"] == name)]
    if len(hits) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(hits)}")
    return hits[0]


# --- the agent's command line --------------------------------------------------------------

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def container_env(resources, container):
    """name -> value of the container's environment, ConfigMap references resolved, downward
    API fields as "<fieldRef:PATH>"."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
            continue
        src = e.get("valueFrom", {})
        if "configMapKeyRef" in src:
            ref = src["configMapKeyRef"]
            cm = find(resources, "ConfigMap", ref["name"])
            if ref["key"] not in cm.get("data", {}):
                if ref.get("optional"):
                    continue
                raise AssertionError(f"env {e['name']}: ConfigMap {ref['name']} has no key "
                                     f"{ref['key']}")
            env[e["name"]] = cm["data"][ref["key"]]
        elif "fieldRef" in src:
            env[e["name"]] = f"<fieldRef:{src['fieldRef']['fieldPath']}>"
        else:
            env[e["name"]] = f"<{next(iter(src))}>"
    return env


def expand(arg, env):
    """Kubernetes' $(VAR) expansion of command and args ($$ escapes; unknown names stay)."""
    out, i = [], 0
    while i < len(arg):
        if arg.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        m = _VAR.match(arg, i)
        if m and m.group(1) in env:
            out.append(env[m.group(1)])
            i = m.end()
            continue
        out.append(arg[i])
        i += 1
    return "".join(out)


def container_command(resources, workload, container):
    """(argv list after expansion, the container, its env) of a DaemonSet's container or
    init container."""
    ds = find(resources, "DaemonSet", workload)
    c = next(c for c in pod_containers(ds) if c["name"] == container)
    env = container_env(resources, c)
    argv = [expand(a, env) for a in c.get("command", []) + c.get("args", [])]
    return argv, c, env


def agent_command(resources):
    """(argv list after expansion, the agent container, its env)."""
    return container_command(resources, "faasguard-agent", "agent")


def cleanup_command(resources):
    """(argv, container, env) of the cleanup DaemonSet's unpinning init container."""
    return container_command(resources, "faasguard-cleanup", "unpin")


def parse_flags(argv):
    """--flag=value / --flag value / --switch -> {flag: value or True} (repeats: last wins)."""
    flags, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if eq:
                flags[name] = value
            elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                flags[name] = argv[i + 1]
                i += 1
            else:
                flags[name] = True
        i += 1
    return flags


_HELP_FLAG = re.compile(r"^\s+(?:-(\w), )?--([a-z0-9][a-z0-9-]*)(?:\s+(\S+))?")
_HELP_DEFAULT = re.compile(r"\(default: ([^)]*)\)\s*$")


def agent_help_flags(agent):
    """{flag: {"value": metavar or None, "default": default or None}} from `agent --help`."""
    r = subprocess.run([agent, "--help"], capture_output=True, text=True, timeout=30)
    text = r.stdout + r.stderr
    flags = {}
    for line in text.splitlines():
        m = _HELP_FLAG.match(line)
        if not m:
            continue
        metavar = m.group(3)
        # A switch's line goes straight from the flag to its description (two spaces or more).
        after = line[m.end(2):]
        if not after.startswith(" ") or after.startswith("  "):
            metavar = None
        d = _HELP_DEFAULT.search(line)
        flags[m.group(2)] = {"value": metavar, "default": d.group(1) if d else None}
    if "state-dir" not in flags:
        raise AssertionError(f"{agent} --help lists no --state-dir:\n{text}")
    return flags


# --- a container's security context, on this machine ---------------------------------------

RO_ROOT = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
           'mount -o remount,bind,ro / && exec "$@"', "sh"]


def run_as_container(security_context):
    """The command prefix that runs a process (as root, here) with what the securityContext
    grants: setpriv for the user, the capabilities (drop ALL, then add) and no_new_privs, and
    a private mount namespace with / read-only for readOnlyRootFilesystem. Not reproduced:
    seccomp, AppArmor and SELinux (the runtime's profiles)."""
    sc = security_context or {}
    if sc.get("privileged"):
        return []
    caps = sc.get("capabilities", {})
    if [c.upper() for c in caps.get("drop", [])] != ["ALL"]:
        raise ValueError("only `drop: [ALL]` is reproduced: the runtime's default set varies")
    bounding = ",".join(["-all"] + ["+" + c.lower() for c in caps.get("add", [])])
    prefix = RO_ROOT if sc.get("readOnlyRootFilesystem") else []
    cmd = prefix + ["setpriv", f"--bounding-set={bounding}", "--inh-caps=-all"]
    if sc.get("allowPrivilegeEscalation") is False:
        cmd.append("--no-new-privs")
    uid = sc.get("runAsUser")
    if uid not in (None, 0):
        gid = sc.get("runAsGroup", 0)
        cmd += [f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
    return cmd + ["--"]

