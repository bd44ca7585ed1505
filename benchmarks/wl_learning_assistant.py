"""Workloads of learning_assistant (registered into benchmarks.workloads.WORKLOADS)."""
