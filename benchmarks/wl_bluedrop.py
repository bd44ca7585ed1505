"""Workloads of bluedrop (registered into benchmarks.workloads.WORKLOADS)."""
