"""The new verbs are registered and documented."""

from __future__ import annotations

import pytest

from scenario import cli


def test_help_lists_the_verbs(capsys) -> None:
    assert cli("--help") == 0
    out = capsys.readouterr().out
    for verb in ("gate", "compare", "report", "export"):
        assert f"  {verb} " in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["gate", "--help"], ["--baseline", "--junit", "--exit-zero", "--model-version"]),
        (["compare", "--help"], ["--model", "--spec", "V1 V2"]),
        (["report", "--help"], ["--output", "--gates", "--model"]),
        (["export", "--help"], ["prometheus", "tensorboard", "parquet", "csv"]),
        (["export", "prometheus", "--help"], ["--pushgateway", "--model-version"]),
        (["evaluate", "--help"], ["--mlflow", "--mlflow-experiment"]),
    ],
)
def test_verb_help(capsys, argv: list[str], words: list[str]) -> None:
    assert cli(*argv) == 0
    out = capsys.readouterr().out
    for word in words:
        assert word in out
