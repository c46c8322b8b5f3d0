"""Interoperability with the tools users already have: MLflow, Prometheus, TensorBoard, files."""
