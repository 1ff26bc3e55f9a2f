"""Tests of ``python -m preflight`` (``make preflight``)."""
