"""The control IDs cdk-nag maps its HIPAA, NIST 800-53 r5 and PCI DSS rules to, read from cdk-nag.

cdk-nag states each rule's controls only in the rule's ``info`` text inside its compiled packs
(``... - (Control IDs: 164.312(a)(2)(iv), 164.312(e)(1)).``) and decides which resources a rule
inspects with ``node instanceof aws_<service>.Cfn<Type>`` in the rule's own file. Both are read
here from the jsii tarball the installed ``cdk_nag`` Python package ships, so the matrix always
shows the mapping of the cdk-nag version that ran, never a copy that drifts from it.
"""

from __future__ import annotations

import importlib.util
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from report import ReportError

FRAMEWORKS: Mapping[str, tuple[str, str]] = {
    "HIPAA": ("HIPAA.Security", "hipaa-security"),
    "NIST": ("NIST.800.53.R5", "nist-800-53-r5"),
    "PCI": ("PCI.DSS.321", "pci-dss-321"),
}
"""Framework key (as the rule pack's ``controls`` use it) -> (cdk-nag pack name, pack file)."""

_APPLY_RULE = re.compile(
    r"this\.applyRule\(\{\s*info:\s*(?P<q>['\"])(?P<info>.*?)(?P=q),.*?"
    r"rule:\s*(?P<module>\w+)\.(?P<rule>\w+),",
    re.DOTALL,
)
_REQUIRE = re.compile(r"const (\w+) = require\(\"\.\./rules/(\w+)\"\);")
_INSTANCEOF = re.compile(r"node instanceof aws_(\w+?)_1\.Cfn(\w+)")


@dataclass(frozen=True)
class NagRule:
    """One cdk-nag compliance-pack rule: its ID, the controls it maps, what it inspects."""

    framework: str
    rule_id: str
    """As cdk-nag reports it, e.g. ``HIPAA.Security-S3BucketSSLRequestsOnly``."""
    name: str
    """The rule's name without the pack prefix, e.g. ``S3BucketSSLRequestsOnly``."""
    info: str
    controls: tuple[str, ...]
    inspects: tuple[tuple[str, str], ...]
    """(service, type) pairs from ``aws_<service>.Cfn<Type>``, e.g. ``("s3", "Bucket")``."""

    def applies_to(self, resource_type: str) -> bool:
        """True when the rule inspects resources of this CloudFormation type."""
        parts = resource_type.split("::")
        if len(parts) != 3:
            return False
        service, kind = parts[1].lower(), parts[2]
        return any(s.replace("_", "") == service and k == kind for s, k in self.inspects)


def split_control_ids(text: str) -> tuple[str, ...]:
    """``"164.312(b), AU-9(3), SC-8(3)"`` -> the IDs, in order, without repeats."""
    found: list[str] = []
    for part in text.split(","):
        control = part.strip()
        if control and control not in found:
            found.append(control)
    return tuple(found)


def parse_pack(framework: str, pack_js: str, rule_sources: Mapping[str, str]) -> list[NagRule]:
    """The rules of one compiled pack; ``rule_sources`` maps ``<dir>/<Rule>`` to its JS source.

    Raises ``ReportError`` when a rule's controls or inspected types cannot be read (a cdk-nag
    upgrade changed the compiled shape), so the matrix never silently loses rows.
    """
    pack_name = FRAMEWORKS[framework][0]
    modules = dict(_REQUIRE.findall(pack_js))
    rules: list[NagRule] = []
    for match in _APPLY_RULE.finditer(pack_js):
        info, module, name = match["info"], match["module"], match["rule"]
        start = info.rfind("(Control ID")
        if start < 0 or ":" not in info[start:]:
            raise ReportError(f"cdk-nag {pack_name} rule {name}: no control IDs in {info!r}")
        ids = info[start:].split(":", 1)[1].strip().removesuffix(".").removesuffix(")")
        source = rule_sources.get(f"{modules.get(module, '?')}/{name}")
        if source is None:
            raise ReportError(f"cdk-nag {pack_name} rule {name}: its rule file is not in cdk-nag")
        inspects = tuple(sorted(set(_INSTANCEOF.findall(source))))
        if not inspects:
            raise ReportError(f"cdk-nag rule {name}: cannot tell which resource types it inspects")
        rules.append(
            NagRule(
                framework=framework,
                rule_id=f"{pack_name}-{name}",
                name=name,
                info=info[:start].rstrip(" -"),
                controls=split_control_ids(ids),
                inspects=inspects,
            )
        )
    if not rules:
        raise ReportError(f"cdk-nag {pack_name}: no rules found in its compiled pack")
    return rules


def jsii_tarball() -> Path:
    """The installed cdk-nag's jsii tarball (``cdk_nag/_jsii/cdk-nag@<version>.jsii.tgz``)."""
    # find_spec locates the package without importing it (importing starts jsii's Node process).
    spec = importlib.util.find_spec("cdk_nag")
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = sorted(p for f in folders for p in (Path(f) / "_jsii").glob("cdk-nag@*.jsii.tgz"))
    if not found:
        raise ReportError("cdk-nag: no jsii tarball in the installed package; run 'make synth'")
    return found[-1]


@cache
def nag_rules(tarball: Path | None = None) -> tuple[NagRule, ...]:
    """Every HIPAA, NIST 800-53 r5 and PCI DSS rule of the installed cdk-nag, pack by pack."""
    path = tarball or jsii_tarball()
    packs: dict[str, str] = {}
    sources: dict[str, str] = {}
    wanted = {f"package/lib/packs/{file}.js": key for key, (_, file) in FRAMEWORKS.items()}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            name = member.name
            relative = name.removeprefix("package/lib/rules/")
            is_rule = relative != name and "/" in relative and name.endswith(".js")
            if name not in wanted and not is_rule:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8")
            if name in wanted:
                packs[wanted[name]] = text
            else:
                folder, file = relative.split("/", 1)
                sources[f"{folder}/{file.removesuffix('.js')}"] = text
    missing = sorted(set(FRAMEWORKS) - set(packs))
    if missing:
        raise ReportError(f"cdk-nag {path.name}: no compiled pack for {', '.join(missing)}")
    return tuple(rule for key in FRAMEWORKS for rule in parse_pack(key, packs[key], sources))
