"""Reusable, secure-by-default CDK constructs. Each module stands alone: copy the one you need.

Modules are not imported here, so importing one construct does not load the others.
"""
