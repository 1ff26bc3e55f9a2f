"""What the offline deployment harness reports: per-stack outcomes and its one error type.

``StackReport`` says what moto created, skipped or stood in for one deployed stack (and the
physical IDs, outputs and completed S3 settings read back); ``DeletionReport`` the outcome of
deleting one stack; ``DeploymentError`` is raised, naming the stack and resource when known, when
a stack cannot be deployed. ``offline.deploy`` produces them; ``offline.state`` and
``offline.permissions`` read the reports.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class DeploymentError(RuntimeError):
    """A stack could not be deployed; the message names the stack and, if known, the resource."""


@dataclass
class StackReport:
    """What happened to one stack in the emulator."""

    stack_name: str
    status: str
    reason: str = ""
    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    stood_in: Counter[str] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    not_emulated: Counter[str] = field(default_factory=Counter)
    shims: list[str] = field(default_factory=list)
    physical_ids: dict[str, str] = field(default_factory=dict)
    resource_types: dict[str, str] = field(default_factory=dict)
    bucket_policies: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ids_of_type(self, resource_type: str) -> list[str]:
        """Physical IDs of the created resources of one type, in template order."""
        return [
            self.physical_ids[lid]
            for lid, kind in self.resource_types.items()
            if kind == resource_type and lid in self.physical_ids
        ]

    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def declared(self) -> int:
        """Resources the synthesized template declares."""
        return sum(self.created.values()) + sum(self.skipped.values()) + sum(self.stood_in.values())


@dataclass
class DeletionReport:
    """Outcome of deleting one stack."""

    stack_name: str
    status: str
    reason: str = ""
