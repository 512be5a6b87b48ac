"""Fake HydraFlow processes for the integration tests."""
