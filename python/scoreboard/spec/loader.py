"""Read a spec file into a :class:`Spec`, locating every problem as FILE:LINE:COL.

Reading happens in three stages, each refusing what the next one could not handle safely:

1. **Bytes** – at most :data:`MAX_BYTES` (1 MiB), decoded as UTF-8 (a BOM is stripped); a bad
   byte or a control character is reported at its line and column.
2. **YAML** – PyYAML composes a node tree (libyaml when available); this module builds plain Python
   data from it while recording a :class:`SourceMap`. Nothing is ever built from a tag: only
   null, bool, int, float, str, lists and mappings exist, keys must be strings, duplicate keys are
   errors, and aliases are capped (:data:`MAX_ALIASES` uses, :data:`MAX_ALIAS_VALUES` values built
   through them), so an alias bomb costs microseconds, not gigabytes.
3. **Schema** – :meth:`Spec.model_validate`; each pydantic error becomes a located
   :class:`Problem` (union tags stripped from its path, unknown keys pointed at the key with a
   "did you mean" suggestion, model-level errors pointed at the enclosing mapping).

Stage 3 runs only on a well-formed document, so that no reported problem is an echo of another.
Every problem of a stage is reported at once, sorted by position, in one :class:`SpecError`; the
loader raises nothing else (C12). Messages never contain a value from the file, only key names and
tags, since specs may hold secrets.

Plain scalars are resolved with PyYAML's SafeLoader (YAML 1.1) rules, with these pinned
exceptions, each chosen so that nothing changes meaning silently:

==================  =================  ===================================================
written             PyYAML SafeLoader  scoreboard
==================  =================  ===================================================
``NO``, ``on``      False, True        False, True (kept; a string field says to quote it)
``1e-3``, ``1e3``   "1e-3", "1e3"      0.001, 1000.0 (floats, with or without a dot)
``1.0e3``           "1.0e3"            1000.0
``-.5``             "-.5"              -0.5
``0755``            493 (octal)        "0755" (a string, as written)
``1:30``            90 (base 60)       "1:30" (a string, as written)
``2024-01-01``      datetime.date      "2024-01-01" (a string)
``=``               an error           "=" (a string)
``1.10``            1.1                1.1 (kept: quote versions)
``0x1F``, ``0b11``  31, 3              31, 3 (kept)
``1_000``           1000               1000 (kept)
``.inf``, ``.nan``  inf, nan           inf, nan (kept; the models reject both)
``nan``, ``inf``    "nan", "inf"       "nan", "inf" (kept; a number field rejects them)
``! 12``            12                 12 (kept)
==================  =================  ===================================================
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from scoreboard.exceptions import Problem, SpecError
from scoreboard.spec.models import METRIC_KINDS, Spec
from scoreboard.spec.secrets import interpolate_secrets
from scoreboard.spec.source import EMPTY_SOURCE, Path, PathPart, SourceMap, format_path

MAX_BYTES: Final = 1024 * 1024
"""Largest spec file read (1 MiB); bigger files are refused before parsing."""
MAX_ALIASES: Final = 100
"""Most alias uses (``*name``) in one document."""
MAX_ALIAS_VALUES: Final = 100_000
"""Most values built by expanding aliases: the billion-laughs guard."""
MAX_DEPTH: Final = 100
"""Deepest nesting of lists and mappings."""

_TAG: Final = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP, _MERGE = _TAG + "seq", _TAG + "map", _TAG + "merge"

_BOOL_RE: Final = re.compile(
    r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"
)
_TRUE: Final = frozenset({"yes", "true", "on"})
# Decimal without a leading zero, or an explicit 0x / 0b prefix with at least one digit.
_INT_RE: Final = re.compile(
    r"^(?:[-+]?0b_*[01][01_]*|[-+]?0x_*[0-9a-fA-F][0-9a-fA-F_]*|[-+]?(?:0|[1-9][0-9_]*))$"
)
_FLOAT_RE: Final = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
         |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
         |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
         |[-+]?\.(?:inf|Inf|INF)
         |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_NULL_RE: Final = re.compile(r"^(?:~|null|Null|NULL|)$")
_MERGE_RE: Final = re.compile(r"^(?:<<)$")
# What PyYAML's reader refuses; checked here first so the position is exact with both parsers.
_NON_PRINTABLE: Final = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LINE_BREAK: Final = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

_RESOLVERS: Final = (
    (_BOOL, _BOOL_RE, "yYnNtTfFoO"),
    (_INT, _INT_RE, "-+0123456789"),
    (_FLOAT, _FLOAT_RE, "-+0123456789."),
    (_NULL, _NULL_RE, ["~", "n", "N", ""]),
    (_MERGE, _MERGE_RE, "<"),
)


def _make_loader(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """``base`` (libyaml's CSafeLoader or PyYAML's SafeLoader) with the pinned scalar rules."""
    loader: type[yaml.SafeLoader] = type("_Loader", (base,), {"yaml_implicit_resolvers": {}})
    for tag, regex, first in _RESOLVERS:
        loader.add_implicit_resolver(tag, regex, list(first))
    return loader


_Loader = _make_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# ----------------------------------------------------------------------------------------------
# Stage 1 and 2: bytes -> text -> YAML nodes -> plain data and a SourceMap


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read, parse and validate the spec file at ``path``; raise :class:`SpecError` if invalid."""
    file = os.fspath(path)
    data, source = load_yaml(file)
    return spec_from_mapping(data, source)


def load_yaml(file: str) -> tuple[object, SourceMap]:
    """The document at ``file`` as plain data plus its SourceMap (stages 1 and 2 only).

    The top level is guaranteed to be a mapping with string keys; raises :class:`SpecError`.
    """
    raw = _read(file)
    text = _decode(file, raw)
    return parse_yaml(text, file=file)


def parse_yaml(text: str, *, file: str = "<spec>") -> tuple[object, SourceMap]:
    """Parse YAML ``text`` into plain data and its SourceMap; raise :class:`SpecError`."""
    bad = _NON_PRINTABLE.search(text)
    if bad:
        line, col = _position(text, bad.start())
        char = f"U+{ord(bad.group()):04X}"
        raise _error(file, line, col, f"control character {char} is not allowed", "yaml_syntax")
    root = _compose(file, text)
    if root is None or (root.tag == _NULL and isinstance(root, yaml.ScalarNode)):
        raise _error(file, 1, 1, "the spec is empty; expected a mapping", "empty")
    if not isinstance(root, yaml.MappingNode):
        line, col = _mark(root.start_mark)
        what = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        message = f"the spec must be a mapping of keys to values; found {what}"
        raise _error(file, line, col, message, "not_a_mapping")
    builder = _Builder(file)
    data = builder.build(root)
    if builder.problems:
        raise SpecError(_sorted(builder.problems))
    return data, builder.source


def _read(file: str) -> bytes:
    """The file's bytes, refusing anything over MAX_BYTES without reading it all."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _error(file, 1, 1, f"cannot read the spec file: {reason}", "unreadable") from None
    except ValueError:  # an embedded NUL in the path, for instance
        raise _error(file, 1, 1, "cannot read the spec file: invalid path", "unreadable") from None
    if len(raw) > MAX_BYTES:
        message = f"the spec file is larger than the 1 MiB limit ({MAX_BYTES} bytes)"
        raise _error(file, 1, 1, message, "too_large")
    return raw


def _decode(file: str, raw: bytes) -> str:
    """UTF-8 text without its BOM; a bad byte is reported at its line and column."""
    body = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = body[: exc.start].decode("utf-8")
        line, col = _position(good, len(good))
        message = "the spec file is not valid UTF-8 text; save it as UTF-8"
        raise _error(file, line, col, message, "encoding") from None


def _compose(file: str, text: str) -> yaml.Node | None:
    """The single document's node tree, or a SpecError at the parser's mark."""
    loader = _Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(file, text, exc) from None
    except yaml.YAMLError as exc:  # ReaderError and friends carry no mark
        raise _error(file, 1, 1, f"invalid YAML: {_short(exc)}", "yaml_syntax") from None
    except RecursionError:  # the pure-Python composer on absurdly deep nesting
        raise _error(file, 1, 1, f"nesting deeper than {MAX_DEPTH} levels", "yaml_depth") from None
    finally:
        loader.dispose()
    return node


def _syntax_error(file: str, text: str, exc: yaml.MarkedYAMLError) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    line, col = _mark(mark) if mark is not None else (1, 1)
    problem = (exc.problem or "").strip()
    if "single document" in problem or "another document" in problem:
        message = "the spec file must hold a single YAML document (found a second '---')"
        return _error(file, line, col, message, "multiple_documents")
    if "nesting depth" in problem:
        return _error(file, line, col, f"nesting is too deep ({problem})", "yaml_depth")
    message = f"invalid YAML: {problem}" if problem else "invalid YAML"
    if exc.context:
        message += f" ({exc.context.strip()})"
    if _tab_near(text, line, col):
        message += "; YAML does not allow tabs for indentation, use spaces"
    return _error(file, line, col, message, "yaml_syntax")


def _tab_near(text: str, line: int, col: int) -> bool:
    """Whether the parser stopped on a tab or in a tab-indented line (the usual culprit)."""
    lines = _LINE_BREAK.split(text)
    if not 0 < line <= len(lines):
        return False
    here = lines[line - 1]
    indent = here[: len(here) - len(here.lstrip(" \t"))]
    return "\t" in indent or here[col - 1 : col] == "\t"


class _Abort(Exception):
    """Stops building at once (alias limits); the problem is already recorded."""


class _Builder:
    """Builds plain data from a node tree, recording positions and every problem met."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[Path, tuple[int, int]] = {}
        self.key_positions: dict[Path, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._seen_problems: set[tuple[int, int, str]] = set()
        self._built: set[int] = set()  # ids of nodes built once: meeting one again is an alias
        self._stack: set[int] = set()  # ids of the nodes being built (a cycle is a bad alias)
        self._aliases = 0
        self._alias_values = 0
        self._expansion: tuple[tuple[int, int], Path] = ((1, 1), ())  # the alias being expanded

    @property
    def source(self) -> SourceMap:
        return SourceMap(self.file, self.positions, self.key_positions)

    def build(self, root: yaml.Node) -> object:
        try:
            return self._node(root, (), 0, False, _mark(root.start_mark))
        except _Abort:
            return None

    def _problem(self, where: tuple[int, int], path: Path, message: str, type_: str) -> None:
        if (*where, type_) in self._seen_problems:  # an alias repeats its target's problems
            return
        self._seen_problems.add((*where, type_))
        self.problems.append(Problem(self.file, *where, format_path(path), message, type_))

    def _node(
        self, node: yaml.Node, path: Path, depth: int, expanding: bool, use: tuple[int, int]
    ) -> object:
        """Build ``node`` at ``path``; ``use`` is where it is used (an alias's best position)."""
        ident = id(node)
        if ident in self._stack:
            message = "an alias refers to a list or mapping that contains it"
            self._problem(use, path, message, "yaml_aliases")
            raise _Abort
        if ident in self._built and not expanding:
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                message = f"too many aliases (*name): the limit is {MAX_ALIASES} per document"
                self._problem(use, path, message, "yaml_aliases")
                raise _Abort
            expanding = True
            self._expansion = (use, path)
        if expanding:
            self._alias_values += 1
            if self._alias_values > MAX_ALIAS_VALUES:
                message = f"aliases expand to more than {MAX_ALIAS_VALUES} values (the limit)"
                self._problem(*self._expansion, message, "yaml_aliases")
                raise _Abort
        self._built.add(ident)
        where = _mark(node.start_mark)
        self.positions[path] = where
        if depth > MAX_DEPTH:
            self._problem(where, path, f"nesting deeper than {MAX_DEPTH} levels", "yaml_depth")
            raise _Abort
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path, where)
        if not _tag_fits(node):
            self._bad_tag(node, path, where)
            return None
        self._stack.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self._node(item, (*path, index), depth + 1, expanding, where)
                    for index, item in enumerate(node.value)
                ]
            assert isinstance(node, yaml.MappingNode)  # the composer makes no other kind
            return self._mapping(node, path, depth, expanding)
        finally:
            self._stack.discard(ident)

    def _mapping(
        self, node: yaml.MappingNode, path: Path, depth: int, expanding: bool
    ) -> dict[str, object]:
        out: dict[str, object] = {}
        first_at: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            key_at = _mark(key_node.start_mark)
            if key_node.tag == _MERGE:
                message = "merge keys (<<) are not supported; write the keys out"
                self._problem(key_at, path, message, "yaml_merge")
                continue
            key = self._key(key_node, path, key_at)
            if key is None:
                continue
            child = (*path, key)
            if key in first_at:
                line, col = first_at[key]
                message = f"duplicate key {key!r} (first defined at line {line}, column {col})"
                self._problem(key_at, child, message, "duplicate_key")
                continue
            first_at[key] = key_at
            self.key_positions[child] = key_at
            out[key] = self._node(value_node, child, depth + 1, expanding, key_at)
        return out

    def _key(self, node: yaml.Node, path: Path, where: tuple[int, int]) -> str | None:
        """A mapping key: a string, or None once the problem is recorded."""
        if not isinstance(node, yaml.ScalarNode):
            message = "a mapping key must be a name, not a list or a mapping"
            self._problem(where, path, message, "key_type")
            return None
        before = len(self.problems)
        key = self._scalar(node, path, where)
        if isinstance(key, str):
            return key
        if len(self.problems) == before:
            self._problem(where, path, _key_message(node), "key_type")
        return None

    def _scalar(self, node: yaml.ScalarNode, path: Path, where: tuple[int, int]) -> object:
        text, tag = node.value, node.tag
        if tag == _STR:
            return text
        if tag == _NULL:
            return None
        pattern = {_BOOL: _BOOL_RE, _INT: _INT_RE, _FLOAT: _FLOAT_RE}.get(tag)
        if pattern is None:
            self._bad_tag(node, path, where)
            return None
        if tag == _FLOAT and _INT_RE.match(text):  # an explicit "!!float 1"
            pattern = _INT_RE
        if not pattern.match(text):  # only an explicit tag can disagree with its value
            message = f"the value does not match its tag {_short_tag(tag)}"
            self._problem(where, path, message, "yaml_value")
            return None
        if tag == _BOOL:
            return text.lower() in _TRUE
        digits = text.replace("_", "")
        if tag == _FLOAT:
            return _parse_float(digits)
        try:
            return _parse_int(digits)
        except ValueError:  # Python refuses decimal ints over 4300 digits
            self._problem(where, path, "the number is too large", "yaml_value")
            return None

    def _bad_tag(self, node: yaml.Node, path: Path, where: tuple[int, int]) -> None:
        message = (
            f"unsupported YAML tag {_short_tag(node.tag)}: a spec holds only plain values, "
            "lists and mappings"
        )
        self._problem(where, path, message, "yaml_tag")


def _parse_float(digits: str) -> float:
    lowered = digits.lower()
    if lowered.endswith((".inf", ".nan")):
        return float(lowered.replace(".", ""))
    return float(digits)


def _parse_int(digits: str) -> int:
    sign = -1 if digits.startswith("-") else 1
    body = digits.lstrip("+-")
    if body.startswith("0b"):
        return sign * int(body[2:], 2)
    if body.startswith("0x"):
        return sign * int(body[2:], 16)
    return sign * int(body)


def _tag_fits(node: yaml.Node) -> bool:
    if isinstance(node, yaml.SequenceNode):
        return bool(node.tag == _SEQ)
    return bool(node.tag == _MAP)


def _key_message(node: yaml.ScalarNode) -> str:
    read_as = {
        _BOOL: "a boolean (YAML 1.1 reads yes/no/on/off as booleans)",
        _INT: "an integer",
        _FLOAT: "a number",
        _NULL: "null",
    }[node.tag]
    shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"the key {shown!r} is read as {read_as}; quote it to use it as a name"


def _short_tag(tag: str) -> str:
    shown = "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")


def _short(exc: BaseException) -> str:
    problem = getattr(exc, "reason", None) or getattr(exc, "problem", None)
    return str(problem) if problem else type(exc).__name__


def _mark(mark: Any) -> tuple[int, int]:
    return (int(mark.line) + 1, int(mark.column) + 1)


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``, counting YAML's line breaks."""
    line, start = 1, 0
    for brk in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, brk.end()
    return line, index - start + 1


def _error(file: str, line: int, col: int, message: str, type_: str) -> SpecError:
    return SpecError([Problem(file, line, col, "", message, type_)])


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.column))


# ----------------------------------------------------------------------------------------------
# Stage 3: pydantic validation, with every error located


def spec_from_mapping(data: object, source: SourceMap = EMPTY_SOURCE) -> Spec:
    """Validate plain data (from YAML or built in Python) into a Spec; raise :class:`SpecError`.

    ``source`` locates the problems; without it every problem is at ``<spec>:1:1`` plus a path.
    """
    data, env_problems = interpolate_secrets(data, source)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        details = exc.errors(include_input=False, include_url=False, include_context=True)
        failed = {p.path for p in env_problems}  # no echo of a value that was never set
        others = [p for p in _problems(details, data, source) if p.path not in failed]
        raise SpecError(_sorted(env_problems + others)) from None
    if env_problems:
        raise SpecError(_sorted(env_problems))
    return spec.with_source(source)


def _problems(details: list[ErrorDetails], data: object, source: SourceMap) -> list[Problem]:
    """One Problem per pydantic error; the failed branches of a plain union become one."""
    entries: list[tuple[ErrorDetails, Path, list[str]]] = []
    unions: dict[Path, list[str]] = {}  # path -> messages of the union branches failed there
    for error in details:
        path, dropped = _real_path(tuple(error["loc"]), data, keep_last=error["type"] == "missing")
        if dropped and error["type"] != "missing":
            if path in unions:
                unions[path].append(error["msg"])
                continue
            unions[path] = messages = [error["msg"]]
        else:
            messages = [error["msg"]]
        entries.append((error, path, messages))
    return [_problem(error, path, messages, data, source) for error, path, messages in entries]


def _problem(
    error: ErrorDetails, path: Path, messages: list[str], data: object, source: SourceMap
) -> Problem:
    type_ = error["type"]
    message = _join_union_messages(messages) if len(messages) > 1 else _clean(messages[0])
    key = False
    if type_ == "extra_forbidden" and path:
        key = True
        message = _unknown_key_message(path, data)
    elif type_ == "missing" and path:
        message = f"missing required key {path[-1]!r}"
    elif _is_metric_entry(path) and type_ in {"union_tag_invalid", "union_tag_not_found"}:
        type_, message, path = _metric_kind_problem(type_, path, data)
    elif type_ == "string_type" and isinstance(_value_at(path, data), bool | int | float):
        message += "; quote it to make it a string"
        if isinstance(_value_at(path, data), bool):
            message += " (unquoted yes/no/on/off/true/false are booleans in YAML)"
    elif _is_metric_entry(path) and type_ == "model_attributes_type":
        message = "a metric entry is a metric kind or a mapping with a 'kind' key"
    line, col = source.locate(path, key=key)
    return Problem(source.file, line, col, format_path(path), message, type_)


def _real_path(loc: tuple[PathPart, ...], data: object, *, keep_last: bool) -> tuple[Path, bool]:
    """Drop the union-branch tags pydantic puts in ``loc``; say whether any was dropped.

    ``("metrics", 2, "fbeta", "beta")`` -> ``("metrics", 2, "beta")``. A part is a real key when
    it indexes the data at that point; the reading that resolves most parts wins (a tag that
    happens to also be a key of the mapping is resolved by what follows it). The last part of a
    ``missing`` error is kept: it is the key that is not there.
    """

    memo: dict[tuple[int, int], tuple[int, Path, bool]] = {}  # (parts left, id(node)): O(n^2)

    def walk(parts: tuple[PathPart, ...], node: object) -> tuple[int, Path, bool]:
        if not parts:
            return (0, (), False)
        if (len(parts), id(node)) in memo:
            return memo[len(parts), id(node)]
        part, rest = parts[0], parts[1:]
        options: list[tuple[int, Path, bool]] = []
        child = _child(node, part)
        if child is not _MISSING:
            score, sub, dropped = walk(rest, child)
            options.append((score + 1, (part, *sub), dropped))
        if not rest and keep_last:
            options.append((0, (part,), False))
        else:
            score, sub, _ = walk(rest, node)
            options.append((score, sub, True))
        memo[len(parts), id(node)] = best = max(options, key=lambda option: option[0])
        return best

    _, path, dropped = walk(loc, data)
    return path, dropped


class _Missing:
    pass


_MISSING: Final = _Missing()


def _child(node: object, part: PathPart) -> object:
    if isinstance(node, Mapping):
        try:
            return node.get(part, _MISSING)
        except TypeError:
            return _MISSING
    if (
        isinstance(node, Sequence)
        and not isinstance(node, str | bytes)
        and isinstance(part, int)
        and not isinstance(part, bool)
        and 0 <= part < len(node)
    ):
        return node[part]
    return _MISSING


def _value_at(path: Path, data: object) -> object:
    node = data
    for part in path:
        node = _child(node, part)
    return node


def _clean(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _join_union_messages(messages: list[str]) -> str:
    """``Input should be a valid integer`` + ``... string`` -> ``... integer or a valid string``."""
    lead = "Input should be "
    if all(m.startswith(lead) for m in messages):
        parts = list(dict.fromkeys(m.removeprefix(lead) for m in messages))
        return lead + " or ".join(parts)
    return "; or ".join(dict.fromkeys(_clean(m) for m in messages))


def _is_metric_entry(path: Path) -> bool:
    return len(path) == 2 and path[0] == "metrics" and isinstance(path[1], int)


def _metric_kind_problem(type_: str, path: Path, data: object) -> tuple[str, str, Path]:
    entry = _child(_child(data, "metrics"), path[1])
    kinds = ", ".join(METRIC_KINDS)
    if type_ == "union_tag_not_found":
        return (type_, f"a metric entry needs a 'kind' (one of: {kinds})", path)
    kind = entry.get("kind", _MISSING) if isinstance(entry, Mapping) else entry
    where = (*path, "kind") if isinstance(entry, Mapping) else path
    if not isinstance(kind, str):
        return ("unknown_metric_kind", f"a metric kind must be a name, one of: {kinds}", where)
    shown = kind if len(kind) <= 40 else kind[:37] + "..."
    close = _closest_kind(kind)
    hint = f"did you mean {close!r}?" if close else f"expected one of: {kinds}"
    return ("unknown_metric_kind", f"unknown metric kind {shown!r}; {hint}", where)


# scikit-learn function names whose scoreboard kind is not a prefix of the name.
_SKLEARN_NAMES: Final = {
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
    "mean_absolute_percentage_error": "mape",
    "matthews_corrcoef": "mcc",
    "explained_variance_score": "explained_variance",
}


def _closest_kind(kind: str) -> str | None:
    """The metric kind a user most likely meant: ``f1_score`` -> ``f1``, ``presicion`` -> ...

    scikit-learn's names come first (``<kind>_score``, ``mean_squared_error``...), then the
    longest kind that prefixes the name, then difflib's closest match.
    """
    lowered = kind.strip().lower().replace("-", "_").replace(" ", "_")
    if lowered in METRIC_KINDS:
        return lowered
    if lowered in _SKLEARN_NAMES:
        return _SKLEARN_NAMES[lowered]
    prefixed = [k for k in METRIC_KINDS if lowered.startswith(k + "_")]
    if prefixed:
        return max(prefixed, key=len)
    close = difflib.get_close_matches(lowered, METRIC_KINDS, n=1)
    return close[0] if close else None


def _unknown_key_message(path: Path, data: object) -> str:
    name = str(path[-1])
    shown = name if len(name) <= 40 else name[:37] + "..."
    parent = _value_at(path[:-1], data)
    present = set(parent) if isinstance(parent, Mapping) else set()
    allowed = sorted(_fields_at(path[:-1], data) - {p for p in present if isinstance(p, str)})
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown key {shown!r}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {shown!r}; expected one of: {', '.join(allowed)}"
    return f"unknown key {shown!r}"


def _fields_at(path: Path, data: object) -> set[str]:
    """Field names of the model(s) that validate the mapping at ``path``."""
    candidates: list[Any] = [Spec]
    node = data
    for part in path:
        node = _child(node, part)
        nxt: list[Any] = []
        for model in _models_or_lists(candidates):
            if isinstance(model, type) and issubclass(model, BaseModel):
                field = _field_named(model, part) if isinstance(part, str) else None
                if field is not None:
                    nxt.append(field.annotation)
            elif typing.get_origin(model) is list and isinstance(part, int):
                nxt.extend(typing.get_args(model)[:1])
        candidates = nxt
    models = [
        m for m in _models_or_lists(candidates) if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    fitting = [m for m in models if _fits_literals(m, node)] or models
    return {field.alias or name for m in fitting for name, field in m.model_fields.items()}


def _field_named(model: type[BaseModel], key: str) -> Any:
    """The field a document key sets: by alias (``for``) or by name."""
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return field
    return model.model_fields.get(key)


def _models_or_lists(annotations: list[Any]) -> Iterator[Any]:
    """Unwrap Annotated and unions down to model classes and ``list[...]`` types."""
    for annotation in annotations:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            yield from _models_or_lists([typing.get_args(annotation)[0]])
        elif origin is typing.Union or origin is types.UnionType:
            yield from _models_or_lists(list(typing.get_args(annotation)))
        else:
            yield annotation


def _fits_literals(model: type[BaseModel], node: object) -> bool:
    """Whether ``node``'s values for the model's Literal fields (``kind``...) are allowed."""
    if not isinstance(node, Mapping):
        return True
    for name, field in model.model_fields.items():
        literal = typing.get_origin(field.annotation) is Literal
        if literal and name in node and node[name] not in typing.get_args(field.annotation):
            return False
    return True


# ----------------------------------------------------------------------------------------------
# JSON Schema


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, for editors; bare metric kinds are allowed in ``metrics``."""
    schema = Spec.model_json_schema()
    metrics = schema["properties"]["metrics"]
    metrics["items"] = {
        "anyOf": [
            {"type": "string", "enum": list(METRIC_KINDS), "description": "A bare metric kind."},
            metrics["items"],
        ]
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "scoreboard spec",
        **{k: v for k, v in schema.items() if k != "title"},
    }
