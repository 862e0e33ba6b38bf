"""``python -m core.config.schema``: print the config file's JSON Schema (for the ``$schema`` key)."""

from __future__ import annotations

import json
import sys

from core.config.schema.export import json_schema


def main() -> int:
    """Write the schema as indented JSON to stdout."""
    json.dump(json_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
