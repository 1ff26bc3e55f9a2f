"""cdk-nag 3 packs: registration (here) and reading what they reported (``gates.nag_report``).

cdk-nag 3 runs as a CDK policy-validation plugin: ``Validations.of(app).add_plugins(...)``.
"""

from __future__ import annotations

import aws_cdk as cdk
import cdk_nag

from gates.nag_report import (
    ACK_METADATA_TYPE,
    PACK_SOURCES,
    REPORT_FILE,
    Acknowledgement,
    Finding,
    acknowledgement_counts,
    acknowledgements,
    read_findings,
    rule_counts,
)
from ml_genai_checks.plugin import MLGenAIChecks

__all__ = [
    "ACK_METADATA_TYPE",
    "PACKS",
    "PACK_SOURCES",
    "REPORT_FILE",
    "Acknowledgement",
    "Finding",
    "acknowledgement_counts",
    "acknowledgements",
    "read_findings",
    "register_packs",
    "rule_counts",
]

# Pack classes in report order, with the pack source file inside the cdk-nag jsii tarball.
PACKS: tuple[tuple[type[cdk_nag.NagPack], str], ...] = (
    (cdk_nag.AwsSolutionsChecks, "aws-solutions.js"),
    (cdk_nag.HIPAASecurityChecks, "hipaa-security.js"),
    (cdk_nag.NIST80053R5Checks, "nist-800-53-r5.js"),
    (cdk_nag.PCIDSS321Checks, "pci-dss-321.js"),
    (cdk_nag.ServerlessChecks, "serverless.js"),
)


def register_packs(app: cdk.App) -> list[cdk_nag.NagPack]:
    """Register every pack on ``app``; they run during ``app.synth()``.

    The Serverless pack is registered for the whole app: its rules match only Lambda, API
    Gateway, Step Functions, AppSync, EventBridge and SQS/SNS resources, so it acts exactly on
    the stacks that have them.
    """
    packs = [pack_class(app) for pack_class, _ in PACKS]
    cdk.Validations.of(app).add_plugins(*packs, MLGenAIChecks())
    return packs
