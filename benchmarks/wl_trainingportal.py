"""Workloads of trainingportal (registered into benchmarks.workloads.WORKLOADS)."""
