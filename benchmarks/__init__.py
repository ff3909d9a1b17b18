"""Benchmarks: the integrations against raw HTTP and the peer integrations, on loopback.

Run everything with ``python -m benchmarks`` (``--quick`` for a smoke run).
"""
