"""Test helpers: the nginx harness."""
