"""Compilation of a spec into an executable plan."""

from scoreboard.plan.catalogue import CATALOGUE, MetricInfo
from scoreboard.plan.compile import compile_spec
from scoreboard.plan.plan import PLAN_FORMAT_VERSION, Plan

__all__ = ["CATALOGUE", "PLAN_FORMAT_VERSION", "MetricInfo", "Plan", "compile_spec"]
