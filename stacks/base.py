"""Base class of every platform stack: explicit environment, AZs from config, no lookups."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from platform_config import EnvironmentConfig


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
