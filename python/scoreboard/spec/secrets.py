"""``${ENV_VAR}`` interpolation, for the secret fields of ``notify`` entries only.

Compose syntax: ``${VAR}``, ``${VAR:-default}`` (unset or empty: the default), ``${VAR:?message}``
(unset or empty: an error carrying the message) and ``$$`` (a literal ``$``); any other ``$`` is
kept as written. Interpolation runs on the parsed document, so a value is always inserted as one
plain string: a newline or YAML syntax in it cannot change the document's structure. An unset
variable with no default is a :class:`Problem` naming the variable, never its value.

Only fields typed ``SecretStr`` (``url``, ``token``, ``username``, ``password``) are interpolated:
everywhere else ``${...}`` is plain text, so no environment value can leak into a metric name or a
label.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from scoreboard.exceptions import Problem
from scoreboard.spec.models import secret_fields
from scoreboard.spec.source import SourceMap

_TOKEN: Final = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_VAR: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$", re.S)


class InterpolationError(ValueError):
    """A bad or unset reference; ``type`` is the stable problem identifier."""

    def __init__(self, message: str, type_: str) -> None:
        super().__init__(message)
        self.type = type_


def interpolate(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``${...}`` replaced; raises :class:`InterpolationError`."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole == "$$":
            return "$"
        if match.group(1) is None:
            raise InterpolationError("'${' is not closed by '}'", "env_var_syntax")
        inner = _VAR.match(match.group(1))
        if inner is None:
            raise InterpolationError(
                "a reference is ${NAME}, ${NAME:-default} or ${NAME:?message}, with NAME made "
                "of letters, digits and _",
                "env_var_syntax",
            )
        name, op, arg = inner.group(1), inner.group(2), inner.group(3)
        value = env.get(name)
        unset_or_empty = not value if op and op.startswith(":") else value is None
        if op in (":-", "-"):
            return arg if unset_or_empty else str(value)
        if op in (":?", "?"):
            if unset_or_empty:
                detail = f": {arg}" if arg else ""
                raise InterpolationError(
                    f"environment variable {name} is not set{detail}", "env_var_unset"
                )
            return str(value)
        if value is None:
            raise InterpolationError(
                f"environment variable {name} is not set (and ${{{name}}} has no default; "
                f"write ${{{name}:-default}} for one)",
                "env_var_unset",
            )
        if not value:
            raise InterpolationError(f"environment variable {name} is empty", "env_var_empty")
        return value

    return _TOKEN.sub(replace, text)


def interpolate_secrets(
    data: object, source: SourceMap, environ: Mapping[str, str] | None = None
) -> tuple[object, list[Problem]]:
    """A copy of the spec data with the secret fields of ``notify`` entries interpolated."""
    if not isinstance(data, dict) or not isinstance(data.get("notify"), list):
        return data, []
    problems: list[Problem] = []
    entries: list[object] = []
    for index, entry in enumerate(data["notify"]):
        if not isinstance(entry, dict):
            entries.append(entry)
            continue
        secrets = secret_fields(entry.get("type"))
        out = dict(entry)
        for key in secrets:
            value = entry.get(key)
            if not isinstance(value, str):
                continue
            try:
                out[key] = interpolate(value, environ)
            except InterpolationError as exc:
                problems.append(source.problem(("notify", index, key), str(exc), exc.type))
        entries.append(out)
    return {**data, "notify": entries}, problems
