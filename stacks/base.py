"""Base class of every platform stack: explicit environment, AZs from config, no lookups."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from platform_config import EnvironmentConfig
from secure_constructs.core.secure_function import RUNTIME


class PlatformStack(cdk.Stack):
    """A stack pinned to one configured environment.

    The account, region and Availability Zones come from config, so synthesis needs no
    credentials and performs no context lookup (``availability_zones`` is overridden). Stack
    names are ``<project>-<environment>-<suffix>``; termination protection follows the
    environment's setting.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: str,
        environment: EnvironmentConfig,
        name_suffix: str,
        description: str,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=environment.account, region=environment.region),
            stack_name=f"{project}-{environment.name}-{name_suffix}",
            description=description,
            termination_protection=environment.termination_protection,
        )
        self._configured_azs = list(environment.availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides CDK's context lookup)."""
        return self._configured_azs


LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"
"""The handlers' folders (``lambda/<function>/<function>.py``) and the shared layer's."""


def handler_layer(stack: cdk.Stack) -> lambda_.ILayerVersion:
    """The stack's one ``HandlerKit`` layer: ``lambda/layer`` as is (``python/handler_kit``).

    The helpers every handler uses (structured log line, configuration error, dead-letter
    queue, error code) ship once per stack this way, without bundling; Lambda puts the layer's
    ``python/`` folder on the import path.
    """
    existing = stack.node.try_find_child("HandlerKit")
    if isinstance(existing, lambda_.LayerVersion):
        return existing
    return lambda_.LayerVersion(
        stack,
        "HandlerKit",
        code=lambda_.Code.from_asset(
            str(LAMBDA_DIR / "layer"), exclude=["README.md", "**/__pycache__", "*.pyc"]
        ),
        compatible_runtimes=[RUNTIME],
        description="handler_kit: the platform handlers' shared helpers (boto3 and stdlib only)",
    )
