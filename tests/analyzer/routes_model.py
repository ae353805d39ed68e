"""Build src/opensts/analyzer/operations.json from botocore's accessanalyzer model.

The server reads the JSON file and never imports botocore; test_api_routes checks that the
file equals what this produces from the botocore installed for the tests. Regenerate with
``PYTHONPATH=src:. python -m tests.analyzer.routes_model > src/opensts/analyzer/operations.json``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

# What the transport needs of a shape to decode and validate a request.
_SHAPE_KEYS = ("type", "min", "max", "pattern", "enum", "required")


def _reduce(shapes: dict[str, Any], name: str, out: dict[str, Any]) -> None:
    if name in out:
        return
    shape = shapes[name]
    reduced: dict[str, Any] = {k: shape[k] for k in _SHAPE_KEYS if k in shape}
    out[name] = reduced
    if shape["type"] == "structure":
        members: dict[str, Any] = {}
        for member, ref in shape.get("members", {}).items():
            entry = {"shape": ref["shape"]}
            for key in ("location", "locationName", "idempotencyToken"):
                if key in ref:
                    entry[key] = ref[key]
            members[member] = entry
            _reduce(shapes, ref["shape"], out)
        reduced["members"] = members
        if shape.get("union"):
            reduced["union"] = True
    elif shape["type"] == "list":
        reduced["member"] = shape["member"]["shape"]
        _reduce(shapes, shape["member"]["shape"], out)
    elif shape["type"] == "map":
        reduced["key"] = shape["key"]["shape"]
        reduced["value"] = shape["value"]["shape"]
        _reduce(shapes, shape["key"]["shape"], out)
        _reduce(shapes, shape["value"]["shape"], out)


def build() -> dict[str, Any]:
    from botocore.loaders import Loader

    model = Loader().load_service_model("accessanalyzer", "service-2")
    shapes: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, op in sorted(model["operations"].items()):
        entry: dict[str, Any] = {
            "method": op["http"]["method"],
            "uri": op["http"]["requestUri"],
            "code": op["http"].get("responseCode", 200),
            "errors": sorted(e["shape"] for e in op.get("errors", [])),
        }
        if "input" in op:
            entry["input"] = op["input"]["shape"]
            _reduce(model["shapes"], op["input"]["shape"], shapes)
        operations[name] = entry
    errors = {
        name: {"status": s["error"]["httpStatusCode"], "members": sorted(s["members"])}
        for name, s in sorted(model["shapes"].items()) if s.get("exception")
    }
    return {
        "apiVersion": model["metadata"]["apiVersion"],
        "signingName": model["metadata"]["signingName"],
        "operations": operations,
        "errors": errors,
        "shapes": dict(sorted(shapes.items())),
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
