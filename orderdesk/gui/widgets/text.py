"""Text helpers shared by the tabs."""

from __future__ import annotations

import json


def pretty_json(text: str) -> str:
    """Indented JSON when `text` is JSON, else `text` unchanged."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
