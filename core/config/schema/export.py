"""The JSON Schema of the config file, for editor completion and linting (``$schema`` key).

Generated from the models by alias, so it lists exactly the keys the file accepts, with each
field's description, bounds and default; secret fields carry ``"secret": true``. Descriptions are
the field docstrings, tidied for editor hovers (hard line wraps joined, reST ````code```` turned
into Markdown ```code```), and each property's title is its key as written in the file.
"""

from __future__ import annotations

import re
from typing import Any

from core.config.schema.root import ClawtopConfig

__all__ = ["JSON_SCHEMA_DIALECT", "json_schema"]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The dialect pydantic generates."""

_WRAP = re.compile(r"(?<!\n)\n(?!\n)")


def _tidy(text: str) -> str:
    return _WRAP.sub(" ", text).replace("``", "`").strip()


def _polish(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            node["description"] = _tidy(node["description"])
        properties = node.get("properties")
        if isinstance(properties, dict):
            for key, prop in properties.items():
                if isinstance(prop, dict):
                    prop["title"] = key
        for value in node.values():
            _polish(value)
    elif isinstance(node, list):
        for value in node:
            _polish(value)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the config file, keyed by the file's key names."""
    schema = ClawtopConfig.model_json_schema(by_alias=True, mode="validation")
    _polish(schema)
    schema.pop("title", None)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": "clawtop config", **schema}
