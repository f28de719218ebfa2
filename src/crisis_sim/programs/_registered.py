"""Imports every program module so that each registers itself (one import line per program)."""
