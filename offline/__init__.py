"""Offline deployment of the synthesized platform into moto, and least-privilege checks."""
