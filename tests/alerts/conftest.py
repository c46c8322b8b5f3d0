"""Fixtures of the alert tests: the drift example's data (generated once, small) and specs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def drift_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/generate.py's drift set: 20 days x 4 regions, south degraded on days 8-12."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        from generate import drift, write_parts  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(EXAMPLES))
    folder = tmp_path_factory.mktemp("drift") / "drift"
    write_parts(drift(4000, 7), folder, parts=4)
    return folder


@pytest.fixture
def drift_spec() -> Callable[..., Path]:
    """examples/drift.yaml with its notify list (and any key) replaced, written to a folder."""

    def make(folder: Path, **changes: Any) -> Path:
        doc = yaml.safe_load((EXAMPLES / "drift.yaml").read_text())
        doc.update(changes)
        path = folder / "drift.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return make
