"""Reusable, secure-by-default CDK constructs.

Modules are not imported here, so importing one construct does not load the others. A module is
not self-contained: it imports its helpers (``compliance``, ``sizing``, ``log_groups``, ...) by
their ``secure_constructs.*`` names; the README's "Copying one construct" table lists, per
construct, the files to copy with it, the feature flags it needs and what it acknowledges.
"""
