"""The HTML trend report (``scoreboard report``): one self-contained page that works offline."""

from .html import AlertMarker, build_report, write_report

__all__ = ["AlertMarker", "build_report", "write_report"]
