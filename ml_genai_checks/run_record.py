"""The file the plugin leaves beside the templates it checked (no CDK import here).

CDK leaves a plugin with nothing to report out of ``validation-report.json``, so a clean run
would be indistinguishable from no run; the plugin therefore writes this record, and the gates
read it.
"""

RUN_RECORD = "ml-genai-checks.json"
