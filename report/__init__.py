"""``make report``: evidence an auditor can read, generated from the synthesized cloud assembly.

``python -m report cdk.out`` writes ``cdk.out/report/``: ``index.html`` (self-contained, opens
from disk with no network), a Markdown twin per environment, the architecture picture per
environment as SVG (``report.architecture``, rendered with graphviz-pure), the control matrix
(``report.controls``) and ``component-definition.json``, an OSCAL component definition
(``report.oscal``).
"""


class ReportError(Exception):
    """The report cannot be written; ``str(err)`` is one line naming what is missing or wrong."""
