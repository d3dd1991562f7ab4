#!/usr/bin/env python3
"""Validates FHIR R4 JSON with PyPI's fhir.resources (6.4.0, R4 4.0.1 models): every resource
of the given files must parse into its model (types, required elements, unknown elements,
primitive formats, choice types). Files: a Bundle or a resource (.json), or NDJSON (.ndjson);
a folder stands for the .json/.ndjson files in it (manifest.json excepted).

Prints one JSON object on stdout: {"valid": N, "invalid": N, "types": {type: count},
"errors": ["file:line Type/id: message", ...]}; exits 0 only when every resource is valid and
there is at least one, 1 otherwise, 2 when the validator itself is missing or the wrong one.
"""
import json
import pathlib
import sys

EXPECTED = ("6.4.0", "4.0.1")

try:
    import fhir.resources as fr
    from fhir.resources import construct_fhir_element
except ImportError as e:  # pragma: no cover - reported to the test
    print(f"fhir-validate: the validator is missing ({e}); run `make deps`", file=sys.stderr)
    sys.exit(2)

if (fr.__version__, fr.__fhir_version__) != EXPECTED:
    print(f"fhir-validate: fhir.resources {fr.__version__} (FHIR {fr.__fhir_version__}) found, "
          f"{EXPECTED[0]} (FHIR {EXPECTED[1]}) expected; run `make deps`", file=sys.stderr)
    sys.exit(2)


def files(args):
    for a in args:
        p = pathlib.Path(a)
        if p.is_dir():
            yield from sorted(f for f in p.iterdir()
                              if f.suffix in (".json", ".ndjson") and f.name != "manifest.json")
        else:
            yield p


def resources(path):
    """(where, resource dict) of a file: NDJSON lines, a Bundle's entries and the Bundle."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                yield f"{path.name}:{n}", json.loads(line)
        return
    doc = json.loads(text)
    yield path.name, doc
    if doc.get("resourceType") == "Bundle":
        for n, entry in enumerate(doc.get("entry", []), 1):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield f"{path.name}#entry{n}", entry["resource"]


def main(args):
    report = {"valid": 0, "invalid": 0, "types": {}, "errors": []}
    for path in files(args):
        try:
            items = list(resources(path))
        except (OSError, ValueError) as e:
            report["invalid"] += 1
            report["errors"].append(f"{path}: not JSON: {e}")
            continue
        for where, res in items:
            kind = res.get("resourceType", "?") if isinstance(res, dict) else "?"
            try:
                construct_fhir_element(kind, res)
            except Exception as e:  # pydantic's ValidationError names each field
                report["invalid"] += 1
                msg = " ".join(str(e).split())
                report["errors"].append(f"{where} {kind}/{res.get('id', '?')}: {msg}")
                print(f"INVALID {where} {kind}/{res.get('id', '?')}:\n{e}", file=sys.stderr)
                continue
            report["valid"] += 1
            report["types"][kind] = report["types"].get(kind, 0) + 1
    print(json.dumps(report))
    return 0 if report["invalid"] == 0 and report["valid"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
