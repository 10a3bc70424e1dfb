"""Generators of large OSMO specs for scale, limits and benchmark tests."""
