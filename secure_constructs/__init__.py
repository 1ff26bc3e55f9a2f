"""Reusable, secure-by-default CDK constructs, grouped by layer.

Groups: ``core`` (shared by all), ``network``, ``data``, ``audit``, ``ml``, ``genai``,
``organization``. Nothing is imported here, so importing one construct does not load the others.
Imports inside a group are relative (``from .x import``), and a group imports only from
``..core`` (``organization`` also from ``..data`` and ``..audit``): copy a group folder together
with ``core/`` (and the groups it names) into any one parent package and it works there
unchanged. Each group's
``README.md`` lists its constructs, the feature flags they need and the cdk-nag
acknowledgements to add; ``tests/unit/test_copy_paste.py`` proves them on such a copy.
"""
