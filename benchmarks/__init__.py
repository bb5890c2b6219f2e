"""Benchmarks that print figures side by side (`make bench`); never timed assertions in tests."""
