#!/usr/bin/env python3
"""Generates wharf's per-service Rust from botocore's service-2.json specs.

For every service in codegen/services.toml this writes one `generated.rs` holding:
  * Rust types for every shape reachable from the implemented operations (exact member names,
    `Option` unless required, enums as strings checked by the validator),
  * the static model table (shapes, constraints, XML names) the wire codecs and validators walk,
  * the error enum and error table (shape name, wire code, HTTP status),
  * the service trait (one method per implemented operation) and the dispatch `Handler`.

Run it through scripts/codegen.sh, which installs the pinned botocore first. The output is
checked in, so building wharf needs no Python.
"""
import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

import botocore
from botocore.loaders import Loader

ROOT = Path(__file__).resolve().parent.parent
RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final",
    "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
}
RESERVED_TYPES = {
    "String", "Option", "Result", "Vec", "Box", "Value", "Timestamp", "Blob", "Error",
    "BTreeMap", "Handler", "RequestContext", "ServiceError", "ServiceHandler", "ServiceModel",
}
PRIMITIVE_RUST = {
    "string": "String", "integer": "i32", "long": "i64", "boolean": "bool", "double": "f64",
    "float": "f64", "timestamp": "Timestamp", "blob": "Blob",
}
KIND = {
    "structure": "Structure", "list": "List", "map": "Map", "string": "String",
    "integer": "Integer", "long": "Long", "boolean": "Boolean", "double": "Double",
    "float": "Float", "timestamp": "Timestamp", "blob": "Blob",
}


def snake(name):
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    s = re.sub(r"[^a-z0-9_]", "_", s)
    if s[0].isdigit():
        s = "_" + s
    if s in ("self", "super", "crate", "Self"):
        return s + "_"
    if s in RUST_KEYWORDS:
        return "r#" + s
    return s


def type_name(shape_name):
    n = re.sub(r"[^A-Za-z0-9]", "", shape_name)
    n = n[0].upper() + n[1:]
    if n in RESERVED_TYPES:
        n += "Shape"
    return n


def variant_name(code):
    parts = re.split(r"[^A-Za-z0-9]+", code)
    return "".join(p[0].upper() + p[1:] for p in parts if p)


def rust_str(s):
    return json.dumps(s)


def opt_str(s):
    return "None" if s is None else f"Some({rust_str(s)})"


def opt_num(n):
    return "None" if n is None else f"Some({float(n)!r})"


class ServiceGen:
    def __init__(self, key, cfg, spec):
        self.key = key
        self.cfg = cfg
        self.spec = spec
        self.shapes = spec["shapes"]
        self.meta = spec["metadata"]
        self.ops = cfg["operations"]
        for op in self.ops:
            if op not in spec["operations"]:
                sys.exit(f"{key}: operation {op} is not in the spec")
        self.order = []  # reachable shape names, in discovery order
        self.index = {}
        for op in self.ops:
            o = spec["operations"][op]
            for ref in (o.get("input"), o.get("output")):
                if ref:
                    self.reach(ref["shape"])
            for err in o.get("errors", []):
                self.reach(err["shape"])

    def reach(self, name):
        if name in self.index:
            return
        self.index[name] = len(self.order)
        self.order.append(name)
        s = self.shapes[name]
        t = s["type"]
        if t == "structure":
            for m in s.get("members", {}).values():
                self.reach(m["shape"])
        elif t == "list":
            self.reach(s["member"]["shape"])
        elif t == "map":
            self.reach(s["key"]["shape"])
            self.reach(s["value"]["shape"])

    def is_document(self, name):
        s = self.shapes[name]
        return s.get("document", False) or s["type"] == "document"

    def rust_type(self, name):
        s = self.shapes[name]
        if self.is_document(name):
            return "serde_json::Value"
        t = s["type"]
        if t == "structure":
            return type_name(name)
        if t == "list":
            return f"Vec<{self.rust_type(s['member']['shape'])}>"
        if t == "map":
            return f"BTreeMap<String, {self.rust_type(s['value']['shape'])}>"
        return PRIMITIVE_RUST[t]

    def reaches_by_struct(self, start, goal, seen=None):
        """Whether structure `start` contains `goal` through structure members only (a cycle
        that needs a Box; lists and maps already break it)."""
        seen = seen or set()
        if start in seen:
            return False
        seen.add(start)
        s = self.shapes[start]
        if s["type"] != "structure" or self.is_document(start):
            return False
        for m in s.get("members", {}).values():
            target = m["shape"]
            if target == goal:
                return True
            if self.reaches_by_struct(target, goal, seen):
                return True
        return False

    def error_shapes(self):
        names = []
        for op in self.ops:
            for err in self.spec["operations"][op].get("errors", []):
                if err["shape"] not in names:
                    names.append(err["shape"])
        return names

    def errors(self):
        """(variant, shape-or-code, wire code, status, sender_fault) for every error."""
        out = []
        for name in self.error_shapes():
            shape = self.shapes[name]
            e = shape.get("error", {})
            # A shape marked `fault` is the server's fault: 500 unless the spec says otherwise.
            server_fault = shape.get("fault", False) or not e.get("senderFault", True)
            default_status = 500 if server_fault and "senderFault" not in e else 400
            out.append((variant_name(name), name, e.get("code", name),
                        e.get("httpStatusCode", default_status), e.get("senderFault", not server_fault)))
        for extra in self.cfg.get("extra_errors", []):
            code = extra["code"]
            if any(x[1] == code for x in out):
                continue
            out.append((variant_name(code), code, code, extra.get("status", 400),
                        extra.get("status", 400) < 500))
        validation = self.cfg["validation_error"]
        if not any(x[1] == validation for x in out):
            sys.exit(f"{self.key}: validation_error {validation} is neither an error of an "
                     "implemented operation nor an extra_error")
        return out

    # ---- emitters -------------------------------------------------------------------------

    def emit(self):
        w = []
        w.append(f"// @generated by codegen/generate.py from botocore {botocore.__version__} "
                 f"({self.cfg['spec']} {self.meta['apiVersion']}). Do not edit by hand.\n")
        w.append("#![allow(clippy::all, clippy::pedantic, non_camel_case_types, dead_code, unused_imports)]\n")
        w.append("use serde::{Deserialize, Serialize};")
        w.append("use std::collections::BTreeMap;")
        w.append("use wharf_core::handler::{decode_input, encode_output};")
        w.append("use wharf_core::model::{ErrorInfo, Kind, Member, Operation, Protocol, Shape, ServiceModel};")
        w.append("use wharf_core::{Blob, RequestContext, ServiceError, ServiceHandler, Timestamp};\n")
        w.append("/// The botocore release this model was generated from.")
        w.append(f"pub const BOTOCORE_VERSION: &str = {rust_str(botocore.__version__)};\n")
        self.emit_types(w)
        self.emit_errors(w)
        self.emit_model(w)
        self.emit_trait(w)
        return "\n".join(w) + "\n"

    def emit_types(self, w):
        for name in self.order:
            s = self.shapes[name]
            if s["type"] != "structure" or self.is_document(name):
                continue
            tname = type_name(name)
            w.append("#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]")
            w.append("#[serde(default)]")
            w.append(f"pub struct {tname} {{")
            required = set(s.get("required", []))
            used = set()
            for mname, m in s.get("members", {}).items():
                field = snake(mname)
                while field in used:
                    field += "_"
                used.add(field)
                rtype = self.rust_type(m["shape"])
                if (self.shapes[m["shape"]]["type"] == "structure"
                        and not self.is_document(m["shape"])
                        and (m["shape"] == name or self.reaches_by_struct(m["shape"], name))):
                    rtype = f"Box<{rtype}>"
                if mname in required:
                    w.append(f"    #[serde(rename = {rust_str(mname)})]")
                    w.append(f"    pub {field}: {rtype},")
                else:
                    w.append(f"    #[serde(rename = {rust_str(mname)}, skip_serializing_if = \"Option::is_none\")]")
                    w.append(f"    pub {field}: Option<{rtype}>,")
            w.append("}\n")

    def emit_errors(self, w):
        errs = self.errors()
        w.append("/// Every error this service's implemented operations can answer with.")
        w.append("#[derive(Debug, Clone, PartialEq, Eq)]")
        w.append("pub enum Error {")
        for variant, shape, *_ in errs:
            w.append(f"    /// `{shape}`")
            w.append(f"    {variant}(String),")
        w.append("}\n")
        w.append("impl Error {")
        w.append("    /// The error shape name (the awsJson `__type`).")
        w.append("    pub fn shape(&self) -> &'static str {")
        w.append("        match self {")
        for variant, shape, *_ in errs:
            w.append(f"            Error::{variant}(_) => {rust_str(shape)},")
        w.append("        }")
        w.append("    }\n")
        w.append("    /// The message for the user.")
        w.append("    pub fn message(&self) -> &str {")
        w.append("        match self {")
        for variant, *_ in errs:
            w.append(f"            Error::{variant}(m) => m,")
        w.append("        }")
        w.append("    }")
        w.append("}\n")
        w.append("impl std::fmt::Display for Error {")
        w.append("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {")
        w.append("        write!(f, \"{}: {}\", self.shape(), self.message())")
        w.append("    }")
        w.append("}\n")
        w.append("impl std::error::Error for Error {}\n")
        w.append("impl From<Error> for ServiceError {")
        w.append("    fn from(e: Error) -> Self {")
        w.append("        let shape = e.shape();")
        w.append("        match e {")
        for variant, *_ in errs:
            w.append(f"            Error::{variant}(m) => ServiceError::new(shape, m),")
        w.append("        }")
        w.append("    }")
        w.append("}\n")

    def emit_model(self, w):
        names = {"json": "Json", "query": "Query", "ec2": "Ec2", "smithy-rpc-v2-cbor": "Cbor"}
        proto = names[self.meta["protocol"]]
        protocols = [names[p] for p in self.meta.get("protocols", [self.meta["protocol"]])]
        w.append("/// The service model table the wire codecs walk.")
        w.append("pub static MODEL: ServiceModel = ServiceModel {")
        w.append(f"    endpoint_prefix: {rust_str(self.meta['endpointPrefix'])},")
        w.append(f"    signing_name: {rust_str(self.meta.get('signingName', self.meta['endpointPrefix']))},")
        w.append(f"    protocol: Protocol::{proto},")
        w.append("    protocols: &[" + ", ".join(f"Protocol::{p}" for p in protocols) + "],")
        w.append(f"    query_compatible: {str('awsQueryCompatible' in self.meta).lower()},")
        w.append(f"    target_prefix: {rust_str(self.meta.get('targetPrefix', ''))},")
        w.append(f"    smithy_namespace: {rust_str(self.smithy_namespace())},")
        w.append(f"    json_version: {rust_str(self.meta.get('jsonVersion', ''))},")
        w.append(f"    api_version: {rust_str(self.meta['apiVersion'])},")
        w.append(f"    xml_namespace: {rust_str(self.xml_namespace())},")
        w.append("    shapes: SHAPES,")
        w.append("    operations: OPERATIONS,")
        w.append("    all_operations: ALL_OPERATIONS,")
        w.append("    errors: ERRORS,")
        w.append(f"    validation_error: {rust_str(self.cfg['validation_error'])},")
        w.append("};\n")
        w.append("static OPERATIONS: &[Operation] = &[")
        for op in self.ops:
            o = self.spec["operations"][op]
            inp = o.get("input", {}).get("shape")
            out = o.get("output", {}).get("shape")
            rw = o.get("output", {}).get("resultWrapper")
            w.append(f"    Operation {{ name: {rust_str(op)}, input: {self.opt_id(inp)}, "
                     f"output: {self.opt_id(out)}, result_wrapper: {opt_str(rw)} }},")
        w.append("];\n")
        w.append("static ALL_OPERATIONS: &[&str] = &[")
        for op in sorted(self.spec["operations"]):
            w.append(f"    {rust_str(op)},")
        w.append("];\n")
        w.append("static ERRORS: &[ErrorInfo] = &[")
        for _variant, shape, code, status, sender in self.errors():
            w.append(f"    ErrorInfo {{ shape: {rust_str(shape)}, code: {rust_str(code)}, "
                     f"status: {status}, sender_fault: {str(sender).lower()} }},")
        w.append("];\n")
        w.append("static SHAPES: &[Shape] = &[")
        for name in self.order:
            w.append(f"    {self.shape_literal(name)},")
        w.append("];")
        w.append("")

    def xml_namespace(self):
        ns = self.meta.get("xmlNamespace")
        if isinstance(ns, dict):
            return ns.get("uri", "")
        if ns:
            return ns
        if self.meta["protocol"] in ("query", "ec2"):
            return f"http://{self.meta['endpointPrefix']}.amazonaws.com/doc/{self.meta['apiVersion']}/"
        return ""

    def smithy_namespace(self):
        """The Smithy namespace AWS's models put the service's shapes in: `com.amazonaws.` and
        the serviceId lower-cased without spaces or dashes (CloudWatch -> com.amazonaws.cloudwatch,
        Elastic Load Balancing v2 -> com.amazonaws.elasticloadbalancingv2)."""
        sid = self.meta.get("serviceId", self.meta["endpointPrefix"])
        return "com.amazonaws." + re.sub(r"[^a-z0-9]", "", sid.lower())

    def opt_id(self, name):
        return "None" if not name else f"Some({self.index[name]})"

    def shape_literal(self, name):
        s = self.shapes[name]
        kind = "Document" if self.is_document(name) else KIND[s["type"]]
        fields = [f"name: {rust_str(name)}", f"kind: Kind::{kind}"]
        if s["type"] == "structure" and not self.is_document(name):
            required = set(s.get("required", []))
            members = []
            for mname, m in s.get("members", {}).items():
                parts = [f"name: {rust_str(mname)}", f"shape: {self.index[m['shape']]}"]
                if mname in required:
                    parts.append("required: true")
                if m.get("locationName"):
                    parts.append(f"location_name: Some({rust_str(m['locationName'])})")
                if m.get("queryName"):
                    parts.append(f"query_name: Some({rust_str(m['queryName'])})")
                if m.get("flattened"):
                    parts.append("flattened: true")
                members.append("Member { " + ", ".join(parts) + ", ..Member::EMPTY }")
            fields.append("members: &[" + ", ".join(members) + "]")
        if s["type"] == "list":
            fields.append(f"target: {self.index[s['member']['shape']]}")
            if s["member"].get("locationName"):
                fields.append(f"member_name: Some({rust_str(s['member']['locationName'])})")
        if s["type"] == "map":
            fields.append(f"key: {self.index[s['key']['shape']]}")
            fields.append(f"target: {self.index[s['value']['shape']]}")
            if s["key"].get("locationName"):
                fields.append(f"key_name: Some({rust_str(s['key']['locationName'])})")
            if s["value"].get("locationName"):
                fields.append(f"value_name: Some({rust_str(s['value']['locationName'])})")
        if s.get("flattened"):
            fields.append("flattened: true")
        if "min" in s:
            fields.append(f"min: {opt_num(s['min'])}")
        if "max" in s:
            fields.append(f"max: {opt_num(s['max'])}")
        if s.get("pattern"):
            fields.append(f"pattern: Some({rust_str(s['pattern'])})")
        if s.get("enum"):
            fields.append("enum_values: &[" + ", ".join(rust_str(v) for v in s["enum"]) + "]")
        if s.get("sensitive"):
            fields.append("sensitive: true")
        return "Shape { " + ", ".join(fields) + ", ..Shape::EMPTY }"

    def emit_trait(self, w):
        trait = self.cfg["trait"]
        w.append(f"/// The operations of `{self.key}` that wharf implements; one method per operation.")
        w.append(f"pub trait {trait}: Send + Sync + 'static {{")
        for op in self.ops:
            o = self.spec["operations"][op]
            inp = o.get("input", {}).get("shape")
            out = o.get("output", {}).get("shape")
            args = "&self, ctx: &RequestContext"
            if inp:
                args += f", input: {type_name(inp)}"
            ret = type_name(out) if out else "()"
            w.append(f"    /// `{op}`")
            w.append(f"    fn {snake(op)}({args}) -> Result<{ret}, Error>;")
        w.append("}\n")
        w.append("/// Adapts a service implementation to the gateway's [`ServiceHandler`].")
        w.append("pub struct Handler<S>(pub S);\n")
        w.append(f"impl<S: {trait}> ServiceHandler for Handler<S> {{")
        w.append("    fn model(&self) -> &'static ServiceModel {")
        w.append("        &MODEL")
        w.append("    }\n")
        w.append("    fn call(&self, ctx: &RequestContext, op: &str, input: serde_json::Value) -> Result<serde_json::Value, ServiceError> {")
        w.append("        match op {")
        for op in self.ops:
            o = self.spec["operations"][op]
            inp = o.get("input", {}).get("shape")
            if inp:
                w.append(f"            {rust_str(op)} => encode_output(self.0.{snake(op)}(ctx, decode_input(input, MODEL.validation_error)?)?),")
            else:
                w.append(f"            {rust_str(op)} => encode_output(self.0.{snake(op)}(ctx)?),")
        w.append("            other => Err(ServiceError::new(MODEL.validation_error, format!(\"operation {other} is not implemented by wharf\"))),")
        w.append("        }")
        w.append("    }")
        w.append("}")


def rustfmt(code):
    """Formats generated code as `cargo fmt` would, so `cargo fmt --check` passes on it."""
    import subprocess
    done = subprocess.run(["rustfmt", "--edition", "2021", "--emit", "stdout"], input=code,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"rustfmt failed on generated code:\n{done.stderr}")
    return done.stdout


def main():
    parser = argparse.ArgumentParser(
        description="Writes each service's generated.rs (and docs/services.md) from the pinned "
                    "botocore specs named in codegen/services.toml.")
    parser.add_argument("services", nargs="*", help="only these services (keys of services.toml)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing every generated file that differs "
                             "from what the specs produce")
    args = parser.parse_args()
    cfg = tomllib.loads((ROOT / "codegen/services.toml").read_text())
    want = cfg.pop("botocore")
    if botocore.__version__ != want:
        sys.exit(f"botocore {botocore.__version__} is installed but services.toml pins {want}; "
                 "run scripts/codegen.sh")
    only = set(args.services)
    loader = Loader()
    doc = ["# AWS operations wharf serves", "",
           "Generated by `codegen/generate.py` from `codegen/services.toml`; do not edit by hand.",
           "Any other operation of these services answers with a clear error naming it.", ""]
    outputs = {}
    for key, scfg in cfg.items():
        spec = loader.load_service_model(scfg["spec"], "service-2")
        gen = ServiceGen(key, scfg, spec)
        doc.append(f"## {key} ({', '.join(gen.meta.get('protocols', [gen.meta['protocol']]))}, API {gen.meta['apiVersion']}): "
                   f"{len(gen.ops)} of {len(spec['operations'])} operations")
        doc.append("")
        doc.extend(f"- {op}" for op in gen.ops)
        doc.append("")
        if scfg.get("notes"):
            doc.extend([scfg["notes"].strip(), ""])
        if only and key not in only:
            continue
        outputs[scfg["output"]] = rustfmt(gen.emit())
        if not args.check:
            print(f"{key}: {len(gen.ops)} operations, {len(gen.order)} shapes -> {scfg['output']}")
    outputs["docs/services.md"] = "\n".join(doc)
    if args.check:
        stale = [name for name, text in outputs.items()
                 if not (ROOT / name).is_file() or (ROOT / name).read_text() != text]
        for name in stale:
            print(f"codegen: {name} differs from what codegen/generate.py produces from botocore {want}")
        if stale:
            sys.exit("codegen: run scripts/codegen.sh and commit the result "
                     "(generated files are never edited by hand)")
        print(f"codegen: {len(outputs)} generated files match botocore {want}")
        return
    for name, text in outputs.items():
        (ROOT / name).write_text(text)


if __name__ == "__main__":
    main()
