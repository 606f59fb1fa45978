"""Benchmarks (``make bench``). Results are printed as tables; nothing here asserts timings."""
