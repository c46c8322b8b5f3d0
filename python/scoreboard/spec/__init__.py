"""The spec: Pydantic models of the YAML file and a loader that locates every problem."""

from scoreboard.spec.loader import load_spec, spec_from_mapping, spec_json_schema
from scoreboard.spec.models import METRIC_KINDS, Spec

__all__ = ["METRIC_KINDS", "Spec", "load_spec", "spec_from_mapping", "spec_json_schema"]
