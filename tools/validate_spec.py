"""Check that a file is a valid OpenAPI 3.x document before anything is generated from it.

Run by ./generate.sh with the pinned tool environment. Prints one line naming the problem
and exits 1 on a bad spec; prints nothing and exits 0 on a good one.
"""

from __future__ import annotations

import sys
from pathlib import Path


def problem_with(path: Path) -> str | None:
    import yaml
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {path}: {exc}"
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return f"{path} is not valid YAML: " + " ".join(str(exc).split())
    if not isinstance(document, dict):
        return f"{path} is not an OpenAPI document: its top level is {type(document).__name__}, not a mapping"
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        return f"{path} is not an OpenAPI 3.x document: 'openapi' is {version or 'missing'!r}"
    try:
        spec_dict, base_uri = read_from_filename(str(path))
        validate(spec_dict, base_uri=base_uri)
    except Exception as exc:  # the validator raises several unrelated types; all mean "invalid"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = detail.split(" within {", 1)[0]  # some messages embed the whole document
        if len(detail) > 300:
            detail = detail[:300] + "..."
        return f"{path} is not a valid OpenAPI {version} document: {type(exc).__name__}: {detail}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: validate_spec.py SPEC", file=sys.stderr)
        return 2
    problem = problem_with(Path(argv[0]))
    if problem is not None:
        print(f"generate.sh: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
