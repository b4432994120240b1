"""Benchmarks: scripts that print figures beside floors and peers measured in the same run."""
