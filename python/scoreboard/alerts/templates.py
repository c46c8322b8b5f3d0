"""A tiny, safe template substitution for alert labels and annotations: ``{{ name }}``.

Not Jinja: no expressions, no attribute access, no loops; a name is replaced by its text and
nothing else is evaluated. Unknown names are refused when the spec is compiled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

_PLACEHOLDER: Final = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

#: The names a template may use.
VARIABLES: Final = (
    "value",
    "threshold",
    "baseline",
    "segment",
    "window",
    "window_start",
    "window_end",
    "rule",
    "metric",
    "model",
    "model_version",
    "n",
    "severity",
    "state",
)


def unknown_names(template: str) -> list[str]:
    """Names in ``template`` that are not template variables."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1) not in VARIABLES]


def render(template: str, values: Mapping[str, object]) -> str:
    """``template`` with each ``{{ name }}`` replaced by ``values[name]`` (``""`` for None)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    return _PLACEHOLDER.sub(replace, template)
