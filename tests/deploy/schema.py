"""A small OpenAPI v3 validator for Kubernetes CRD schemas (structural schemas), and a check
that a schema is structural. Enough for deploy/crds: no $ref, allOf/anyOf/oneOf/not, CEL.

validate(value, schema) returns a list of error strings (empty: valid), each naming the path
of the offending value ("spec.containers[0].egress[1].port: 70000 is greater than 65535").

Semantics follow the API server with strict field validation (kubectl's default since 1.27):
an object whose schema lists `properties` and neither sets `additionalProperties` nor
`x-kubernetes-preserve-unknown-fields` is closed, so an unknown field is an error (the API
server would prune it, or refuse it under strict validation).

load_yaml_documents() reads YAML the way Kubernetes does (sigs.k8s.io/yaml): an unquoted
timestamp stays a string.
"""
import datetime
import math
import re

import yaml

__all__ = ["validate", "structural_errors", "load_yaml_documents", "KubeYamlLoader"]


class KubeYamlLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: `created: 2026-01-01T00:00:00Z` is a string,
    as it is for kubectl (YAML -> JSON), not a datetime."""


KubeYamlLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_documents(text):
    return [d for d in yaml.load_all(text, Loader=KubeYamlLoader) if d is not None]


# RFC 3339 date-time, as the API server's format checker (go-openapi strfmt) accepts it.
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$")

_INT_RANGES = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def is_date_time(s):
    m = _DATE_TIME.match(s)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        datetime.datetime(year, month, day, hour, minute, min(second, 59))
    except ValueError:
        return False
    if second > 60:  # 60: a leap second
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return True


def _re2_pattern(pattern):
    """The pattern with RE2's meaning in Python: `$` (outside a character class) matches only at
    the very end (Python's also matches before a final newline), and \\d, \\w, \\s are ASCII."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # "[]...]": the first ] is literal
                out.append("[]")
                i += 2
                continue
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return "".join(out)


def re2_search(pattern, s):
    return re.search(_re2_pattern(pattern), s, re.ASCII) is not None


def _type_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _matches_type(v, t):
    actual = _type_of(v)
    if t == "number":
        return actual in ("integer", "number") and not (isinstance(v, float) and
                                                        (math.isnan(v) or math.isinf(v)))
    if t == "integer" and isinstance(v, float) and v.is_integer():
        return True  # JSON has one number type: 3.0 is an integer
    return actual == t


def _p(path):
    return path or "<root>"


def validate(value, schema, path=""):
    errors = []
    _validate(value, schema, path, errors)
    return errors


def _validate(v, s, path, errors):
    if v is None:
        if not s.get("nullable", False):
            errors.append(f"{_p(path)}: null is not allowed")
        return
    if s.get("x-kubernetes-int-or-string"):
        if _type_of(v) not in ("integer", "string"):
            errors.append(f"{_p(path)}: must be an integer or a string, not {_type_of(v)}")
            return
    elif "type" in s:
        if not _matches_type(v, s["type"]):
            errors.append(f"{_p(path)}: must be of type {s['type']}, not {_type_of(v)} ({v!r:.60})")
            return

    if "enum" in s and v not in s["enum"]:
        allowed = ", ".join(repr(e) for e in s["enum"])
        errors.append(f"{_p(path)}: unsupported value {v!r}: allowed {allowed}")

    t = _type_of(v)
    if t == "string":
        if "minLength" in s and len(v) < s["minLength"]:
            errors.append(f"{_p(path)}: shorter than {s['minLength']} characters")
        if "maxLength" in s and len(v) > s["maxLength"]:
            errors.append(f"{_p(path)}: longer than {s['maxLength']} characters")
        if "pattern" in s and not re2_search(s["pattern"], v):
            errors.append(f"{_p(path)}: {v!r:.80} does not match {s['pattern']}")
        fmt = s.get("format")
        if fmt == "date-time" and not is_date_time(v):
            errors.append(f"{_p(path)}: {v!r:.80} is not an RFC 3339 date-time")
    elif t in ("integer", "number"):
        if "minimum" in s:
            if v < s["minimum"] or (s.get("exclusiveMinimum") and v == s["minimum"]):
                errors.append(f"{_p(path)}: {v} is less than {'or equal to ' if s.get('exclusiveMinimum') else ''}{s['minimum']}")
        if "maximum" in s:
            if v > s["maximum"] or (s.get("exclusiveMaximum") and v == s["maximum"]):
                errors.append(f"{_p(path)}: {v} is greater than {'or equal to ' if s.get('exclusiveMaximum') else ''}{s['maximum']}")
        if t == "integer" and s.get("format") in _INT_RANGES:
            lo, hi = _INT_RANGES[s["format"]]
            if not lo <= v <= hi:
                errors.append(f"{_p(path)}: {v} does not fit {s['format']}")
        if "multipleOf" in s and v % s["multipleOf"] != 0:
            errors.append(f"{_p(path)}: {v} is not a multiple of {s['multipleOf']}")
    elif t == "array":
        if "minItems" in s and len(v) < s["minItems"]:
            errors.append(f"{_p(path)}: fewer than {s['minItems']} items")
        if "maxItems" in s and len(v) > s["maxItems"]:
            errors.append(f"{_p(path)}: more than {s['maxItems']} items")
        items = s.get("items")
        if isinstance(items, dict):
            for i, x in enumerate(v):
                _validate(x, items, f"{path}[{i}]", errors)
        _check_list_type(v, s, path, errors)
    elif t == "object":
        for k in s.get("required", []):
            if k not in v:
                errors.append(f"{_p(path)}: required field {k!r} is missing")
        if "minProperties" in s and len(v) < s["minProperties"]:
            errors.append(f"{_p(path)}: fewer than {s['minProperties']} fields")
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errors.append(f"{_p(path)}: more than {s['maxProperties']} fields")
        props = s.get("properties", {})
        extra = s.get("additionalProperties")
        preserve = s.get("x-kubernetes-preserve-unknown-fields", False)
        for k, x in v.items():
            sub = f"{path}.{k}" if path else str(k)
            if k in props:
                _validate(x, props[k], sub, errors)
            elif isinstance(extra, dict):
                _validate(x, extra, sub, errors)
            elif extra is True or preserve:
                continue
            elif extra is False or props:
                errors.append(f"{sub}: unknown field")
            # An object schema with neither properties nor additionalProperties (like
            # metadata at the root) says nothing about its fields.


def _check_list_type(v, s, path, errors):
    kind = s.get("x-kubernetes-list-type")
    if kind == "set":
        seen = []
        for i, x in enumerate(v):
            if x in seen:
                errors.append(f"{path}[{i}]: duplicate value {x!r} in a set")
            seen.append(x)
    elif kind == "map":
        keys = s.get("x-kubernetes-list-map-keys", [])
        seen = {}
        for i, x in enumerate(v):
            if not isinstance(x, dict):
                continue
            key = tuple(x.get(k) for k in keys)
            if key in seen:
                errors.append(f"{path}[{i}]: duplicate entry with key "
                              f"{dict(zip(keys, key))} (also at [{seen[key]}])")
            else:
                seen[key] = i


# --- structural schema rules (apiextensions.k8s.io/v1) -------------------------------------

_TYPES = {"object", "array", "string", "integer", "number", "boolean"}
_KNOWN_KEYS = {
    "type", "format", "description", "title", "default", "enum", "nullable", "required",
    "properties", "additionalProperties", "items", "minItems", "maxItems", "minLength",
    "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minProperties", "maxProperties", "uniqueItems", "example",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-embedded-resource", "x-kubernetes-validations",
}
_FORMATS = {
    "bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac", "uuid", "uuid3",
    "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard", "ssn", "hexcolor", "rgbcolor",
    "byte", "password", "date", "duration", "datetime", "date-time", "int32", "int64", "float",
    "double",
}
# RE2 (the API server's regexp engine) has no look-around and no back-references.
_NOT_RE2 = re.compile(r"\(\?[=!<]|\\[1-9]")


def structural_errors(schema, path="", root=True):
    """Why `schema` is not a structural schema the API server accepts (empty: it is)."""
    errs = []
    p = path or "<root>"
    if not isinstance(schema, dict):
        return [f"{p}: a schema must be an object"]
    for k in schema:
        if k not in _KNOWN_KEYS:
            errs.append(f"{p}: unknown schema keyword {k!r}")
        if k in ("allOf", "anyOf", "oneOf", "not", "$ref"):
            errs.append(f"{p}: {k} is not supported by this validator")
    t = schema.get("type")
    untyped_ok = schema.get("x-kubernetes-int-or-string") or schema.get(
        "x-kubernetes-preserve-unknown-fields")
    if not t and not untyped_ok:
        errs.append(f"{p}: type must be set (structural schema)")
    if t and t not in _TYPES:
        errs.append(f"{p}: unknown type {t!r}")
    if "properties" in schema and t != "object":
        errs.append(f"{p}: properties need type object")
    if "items" in schema and t != "array":
        errs.append(f"{p}: items need type array")
    if t == "array" and not isinstance(schema.get("items"), dict):
        errs.append(f"{p}: an array needs an items schema (structural schema)")
    if "additionalProperties" in schema:
        if "properties" in schema:
            errs.append(f"{p}: additionalProperties and properties are mutually exclusive")
        if schema["additionalProperties"] is False:
            errs.append(f"{p}: additionalProperties: false is not allowed")
    if schema.get("uniqueItems"):
        errs.append(f"{p}: uniqueItems cannot be true")
    if "format" in schema and schema["format"] not in _FORMATS:
        errs.append(f"{p}: unknown format {schema['format']!r}")
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except re.error as e:
            errs.append(f"{p}: pattern does not compile: {e}")
        if _NOT_RE2.search(schema["pattern"]):
            errs.append(f"{p}: pattern uses look-around or back-references (not RE2)")
    for v in schema.get("enum", []):
        if t and not _matches_type(v, t):
            errs.append(f"{p}: enum value {v!r} is not of type {t}")
    if "default" in schema:
        errs += [f"{p}: default: {e}" for e in validate(schema["default"], schema)]
    for k in schema.get("required", []):
        if "properties" in schema and k not in schema["properties"]:
            errs.append(f"{p}: required field {k!r} is not in properties")
    lt = schema.get("x-kubernetes-list-type")
    if lt is not None:
        if t != "array":
            errs.append(f"{p}: x-kubernetes-list-type needs type array")
        if lt not in ("atomic", "set", "map"):
            errs.append(f"{p}: unknown x-kubernetes-list-type {lt!r}")
        if lt == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            items = schema.get("items") or {}
            if not keys:
                errs.append(f"{p}: a map list needs x-kubernetes-list-map-keys")
            if items.get("type") != "object":
                errs.append(f"{p}: a map list's items must be objects")
            for k in keys:
                ks = (items.get("properties") or {}).get(k)
                if ks is None:
                    errs.append(f"{p}: list map key {k!r} is not a property of the items")
                elif ks.get("type") not in ("string", "integer", "number", "boolean"):
                    errs.append(f"{p}: list map key {k!r} must be a scalar")
                elif k not in items.get("required", []) and "default" not in ks:
                    errs.append(f"{p}: list map key {k!r} must be required or have a default")
    elif "x-kubernetes-list-map-keys" in schema:
        errs.append(f"{p}: x-kubernetes-list-map-keys without x-kubernetes-list-type: map")
    if root:
        meta = (schema.get("properties") or {}).get("metadata")
        if meta is not None:
            extra = set(meta) - {"type", "description"}
            for k in (meta.get("properties") or {}):
                if k not in ("name", "generateName"):
                    errs.append(f"{p}.metadata: only name and generateName may be specified")
            if extra - {"properties"}:
                errs.append(f"{p}.metadata: only type and properties may be set, not {sorted(extra)}")
    for k, sub in (schema.get("properties") or {}).items():
        errs += structural_errors(sub, f"{path}.{k}" if path else k, root=False)
    if isinstance(schema.get("items"), dict):
        errs += structural_errors(schema["items"], f"{path}[]", root=False)
    if isinstance(schema.get("additionalProperties"), dict):
        errs += structural_errors(schema["additionalProperties"], f"{path}{{}}", root=False)
    return errs
