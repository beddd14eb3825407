#!/usr/bin/env python3
"""Validates tests/samples against the JSON Schemas in schemas/.

Every file in tests/samples/<kind>/valid/*.json must validate against
schemas/<kind>.schema.json and every file in tests/samples/<kind>/invalid/
must not. The C side checks the same files (tests/unit/test_order.c runs
them through ol_order_parse; tests/unit/test_result.c checks that
result/valid/ is exactly what ol_result_to_json writes), so the schemas and
the code are held to the same samples.

A document counts as invalid before the schema is consulted when it is not
a JSON text the consumer would read: not UTF-8, not JSON, NaN/Infinity, or
an object with a repeated member name (RFC 8259 leaves those undefined; the
consumer rejects them).

Usage: check_samples.py [SOURCE_DIR]   (default: the repository root)
Prints one line per failure and a final "N passed, M failed"; exits 1 when
anything failed.
"""

import json
import pathlib
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover - environment problem, not a test failure
    print("check_samples.py: the jsonschema package is missing (Debian: apt-get install python3-jsonschema)",
          file=sys.stderr)
    sys.exit(2)

KINDS = ("order", "result")


class NotAcceptedJSON(ValueError):
    """The bytes are not a JSON document the consumer would accept."""


def _reject_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise NotAcceptedJSON(f"duplicate member name {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name):
    raise NotAcceptedJSON(f"{name} is not JSON")


def load_document(path):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotAcceptedJSON(f"not UTF-8: {exc}") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise NotAcceptedJSON(f"not JSON: {exc}") from None


def main(argv):
    root = pathlib.Path(argv[1]) if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
    passed = failed = 0

    def fail(message):
        nonlocal failed
        failed += 1
        print(f"FAIL {message}")

    for kind in KINDS:
        schema_path = root / "schemas" / f"{kind}.schema.json"
        try:
            schema = json.loads(schema_path.read_text(encoding="utf-8"))
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, jsonschema.exceptions.SchemaError) as exc:
            fail(f"{schema_path}: unusable schema: {exc}")
            continue
        validator = Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

        for expect_valid in (True, False):
            folder = root / "tests" / "samples" / kind / ("valid" if expect_valid else "invalid")
            files = sorted(folder.glob("*.json"))
            if not files:
                fail(f"{folder}: no samples")
                continue
            for path in files:
                name = f"{kind}/{folder.name}/{path.name}"
                try:
                    doc = load_document(path)
                    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
                    problem = "; ".join(
                        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors)
                except NotAcceptedJSON as exc:
                    problem = str(exc)
                if expect_valid and problem:
                    fail(f"{name}: should be valid, but: {problem}")
                elif not expect_valid and not problem:
                    fail(f"{name}: should be invalid, but the schema accepts it")
                else:
                    passed += 1

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
