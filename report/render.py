"""The report's two faces: one self-contained ``index.html`` and a Markdown twin per environment.

The HTML has no external reference at all (styles inline, the pictures inlined SVG, links only
to anchors and to files beside it), so it opens from disk with no network.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gates.cost import PRICE_SOURCE, CostEstimate
from report.controls import (
    FRAMEWORK_TITLES,
    ConfigRuleEntry,
    ControlRow,
    Matrix,
    by_stack,
    resources_text,
)
from report.evidence import Acknowledgement, Environment
from report.sections import PermissionRow, SeedRow, cost_lines, priced


@dataclass(frozen=True)
class EnvironmentReport:
    """Everything the report shows for one environment."""

    env: Environment
    matrix: Matrix
    cost: CostEstimate
    dot: str
    svg: str
    permissions: Sequence[PermissionRow]


@dataclass(frozen=True)
class Report:
    """The whole report."""

    environments: Sequence[EnvironmentReport]
    gates_text: str | None
    seed: Sequence[SeedRow]
    generated: str
    """One line: which commit, when."""
    gate_notes: Sequence[tuple[str, str]] = ()
    """(gate, note): acknowledgements that sit in no template (the policy-reference gate's
    supplements to its reference data), from ``gates-summary.json``."""


STATUS_LEGEND = (
    "passes: the rule ran over the resource and reported no finding (cdk-nag runs in synthesis "
    "and fails it on any unacknowledged finding; the rule pack runs here as in its gate). "
    "acknowledged: an acknowledgement with its reason covers the resource. deployed: an AWS "
    "Config rule in the templates; it evaluates in the account after deployment."
)
NO_GATES = (
    "The gates have not run over this assembly (no gates-summary.txt): run 'make synth', "
    "which synthesizes, runs every gate and then writes this report."
)


def _anchor(name: str) -> str:
    return "env-" + re.sub(r"[^a-z0-9-]", "-", name.lower())


# --- Markdown ---------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(_md(str(c)) for c in row)} |" for row in rows]
    return [*lines, ""]


def _md_resources(keys: Iterable[str]) -> str:
    return resources_text(keys)


def _cost_rows(cost: CostEstimate) -> list[list[str]]:
    rows = [
        [line.item, str(line.count), f"${line.unit_monthly:.2f}", f"${line.monthly:.2f}"]
        for line in cost_lines(cost)
    ]
    total = f"${cost.monthly:.2f}" if priced(cost) else "not priced (region)"
    return [*rows, ["Total", "", "", total]]


def _rules_cell(row: ControlRow) -> str:
    return "; ".join(
        f"{v.kind} {v.rule_id} ({v.status}"
        + (f", {len(v.acknowledged)} acknowledged" if v.acknowledged else "")
        + ")"
        for v in row.verifications
    )


STACK_HEADER = ["stack", "account", "region", "resources"]
PERMISSION_HEADER = ["role", "role resource", "call", "expect", "why"]
SEED_HEADER = ["seed topic", "where", "status"]
PERMISSION_NOTE = (
    "Run against a deployment of these templates by `make deploy-local` and the offline tests: "
    "each role's credentials attempt the call, IAM must give the outcome."
)


def _stack_rows(env: Environment) -> list[list[str]]:
    return [
        [
            s.stack_name,
            s.account,
            s.region,
            str(len(env.templates[s.stack_name].get("Resources", {}))),
        ]
        for s in env.stacks
    ]


def _permission_rows(rows: Sequence[PermissionRow]) -> list[list[str]]:
    return [[p.role, p.resource, p.call, p.expect, p.why] for p in rows]


def _seed_rows(rows: Sequence[SeedRow]) -> list[list[str]]:
    return [[s.topic, s.where, s.status] for s in rows]


def _ack_tool(ack: Acknowledgement) -> str:
    return ack.tool + ("" if ack.ours else " (by aws-cdk-lib)")


def _ack_rows(acks: Sequence[Acknowledgement]) -> list[list[str]]:
    return [
        [
            _ack_tool(a),
            a.rule,
            a.where,
            _md_resources(a.resources),
            a.reason,
        ]
        for a in acks
    ]


def _config_rows(entries: Sequence[ConfigRuleEntry]) -> list[list[str]]:
    return [
        [e.identifier, e.description, e.resource, e.equivalent or "none: no control claimed"]
        for e in entries
    ]


def markdown_environment(report: EnvironmentReport) -> str:
    """``<environment>.md``: the picture, stacks, costs, acknowledgements, matrix, permissions."""
    env, matrix = report.env, report.matrix
    lines = [f"# Environment {env.name}", "", f"![architecture of {env.name}]({env.name}.svg)", ""]
    lines += ["## Stacks", ""]
    lines += _md_table(STACK_HEADER, _stack_rows(env))
    lines += ["## Fixed monthly cost", "", f"{PRICE_SOURCE}; data and usage extra.", ""]
    lines += _md_table(["item", "count", "per month", "subtotal"], _cost_rows(report.cost))
    lines += [f"## Acknowledgements ({len(env.acknowledgements)})", ""]
    lines += _md_table(
        ["tool", "rule", "where", "resources", "reason"], _ack_rows(env.acknowledgements)
    )
    lines += ["## Control matrix", "", STATUS_LEGEND, ""]
    for key, title in FRAMEWORK_TITLES.items():
        rows = matrix.framework(key)
        lines += [f"### {title} ({len(rows)} controls)", ""]
        lines += _md_table(
            ["control", "status", "rules", "resources"],
            [[r.control, r.status, _rules_cell(r), _md_resources(r.resources)] for r in rows],
        )
    lines += [f"### AWS Config rules deployed ({len(matrix.config_rules)})", ""]
    lines += _md_table(
        ["rule", "checks", "deployed by", "controls as cdk-nag rule"],
        _config_rows(matrix.config_rules),
    )
    if report.permissions:
        lines += [f"## Permission matrix ({len(report.permissions)} rows)", ""]
        lines += [PERMISSION_NOTE, ""]
        lines += _md_table(PERMISSION_HEADER, _permission_rows(report.permissions))
    return "\n".join(lines)


def markdown_index(report: Report) -> str:
    """``index.md``: the gate summary, links to each environment, the seed-topic map."""
    lines = ["# Secure ML/GenAI platform: evidence report", "", report.generated, ""]
    lines += ["## Environments", ""]
    lines += [
        f"- [{e.env.name}]({e.env.name}.md): {len(e.env.stacks)} stacks, "
        f"{len(e.env.resources)} resources, {len(e.env.acknowledgements)} acknowledgements, "
        f"{len(e.matrix.rows)} control rows"
        for e in report.environments
    ]
    lines += ["", "OSCAL: [component-definition.json](component-definition.json)", ""]
    lines += ["## Gate summary (as make synth prints it)", ""]
    lines += ["```", report.gates_text.rstrip(), "```"] if report.gates_text else [NO_GATES]
    if report.gate_notes:
        lines += ["", "Acknowledged by the gates outside the templates:", ""]
        lines += _md_table(["gate", "what and why"], report.gate_notes)
    lines += ["", "## Seed topics → code", ""]
    lines += _md_table(SEED_HEADER, _seed_rows(report.seed))
    return "\n".join(lines)


# --- HTML -------------------------------------------------------------------------------------

CSS = """
body { font: 14px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0;
  color: #1d2733 }
header { background: #16324f; color: #fff; padding: 16px 28px }
header h1 { margin: 0; font-size: 22px }
header p { margin: 4px 0 0; opacity: .85 }
nav { background: #eef2f6; padding: 8px 28px; position: sticky; top: 0 }
nav a { margin-right: 14px; color: #16324f; font-weight: 600; text-decoration: none }
main { padding: 8px 28px 40px }
h2 { border-bottom: 2px solid #16324f; padding-bottom: 4px; margin-top: 34px }
h3 { margin-top: 22px }
table { border-collapse: collapse; margin: 8px 0 16px; width: 100% }
th, td { border: 1px solid #cfd8e3; padding: 4px 6px; text-align: left; vertical-align: top;
  font-size: 12.5px; overflow-wrap: anywhere }
th { background: #eef2f6 }
td code { word-break: break-all }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12px;
  border: 1px solid #cfd8e3 }
code { font-size: 12px }
.passes { color: #11692b; font-weight: 600 }
.acknowledged { color: #8a5a00; font-weight: 600 }
.FAILS { color: #b00020; font-weight: 700 }
.deployed { color: #1b4f9c; font-weight: 600 }
.picture { border: 1px solid #cfd8e3; overflow: auto; background: #fff }
.picture svg { width: 100%; height: auto }
.picture text { font-family: Helvetica, Arial, 'Liberation Sans', sans-serif }
details summary { cursor: pointer; color: #16324f }
.muted { color: #5b6b7c }
.cards { display: flex; gap: 12px; flex-wrap: wrap }
.card { border: 1px solid #cfd8e3; border-radius: 6px; padding: 8px 12px; min-width: 150px }
.card b { font-size: 18px; display: block }
"""


def _h(text: object) -> str:
    escaped = html.escape(str(text))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], *, raw: bool = False) -> str:
    head = "".join(f"<th>{_h(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else _h(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_resources(keys: Sequence[str]) -> str:
    if not keys:
        return "-"
    groups = "".join(
        f"<div><b>{_h(stack)}</b>: {_h(', '.join(ids))}</div>"
        for stack, ids in by_stack(keys).items()
    )
    return f"<details><summary>{len(keys)} resources</summary>{groups}</details>"


def _status(status: str) -> str:
    return f'<span class="{_h(status)}">{_h(status)}</span>'


def _html_rules(row: ControlRow) -> str:
    items = []
    for v in row.verifications:
        acked = ""
        if v.acknowledged:
            reasons = sorted(set(v.acknowledged.values()))
            acked = (
                f"<details><summary>{len(v.acknowledged)} acknowledged</summary>"
                + "".join(f"<div>{_h(r)}</div>" for r in reasons)
                + "</details>"
            )
        items.append(
            f"<div>{_h(v.kind)} <code>{_h(v.rule_id)}</code> {_status(v.status)}{acked}</div>"
        )
    return "".join(items)


def _html_environment(report: EnvironmentReport) -> str:
    env, matrix = report.env, report.matrix
    parts = [f'<section id="{_anchor(env.name)}"><h2>Environment {_h(env.name)}</h2>']
    cards = [
        ("stacks", len(env.stacks)),
        ("resources", len(env.resources)),
        ("acknowledgements", len(env.acknowledgements)),
        ("control rows", len(matrix.rows)),
        ("fixed cost / month", f"${report.cost.monthly:.2f}" if priced(report.cost) else "n/a"),
    ]
    parts.append(
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_h(v)}</b>{_h(k)}</div>' for k, v in cards)
        + "</div>"
    )
    parts.append(
        "<h3>Architecture (generated from the templates)</h3><p class=muted>Scaled to the page; "
        f'full size with every label and tooltip: <a href="{_h(env.name)}.svg">'
        f"{_h(env.name)}.svg</a> (hover a node for the resources it stands for).</p>"
    )
    parts.append(f'<div class="picture">{report.svg}</div>')
    parts.append("<h3>Stacks</h3>")
    parts.append(_table(STACK_HEADER, _stack_rows(env)))
    parts.append(
        f"<h3>Fixed monthly cost</h3><p class=muted>{_h(PRICE_SOURCE)}; data and usage extra.</p>"
    )
    parts.append(_table(["item", "count", "per month", "subtotal"], _cost_rows(report.cost)))
    parts.append(f"<h3>Acknowledgements ({len(env.acknowledgements)})</h3>")
    parts.append(
        _table(
            ["tool", "rule", "where", "resources", "reason"],
            [
                [
                    _h(_ack_tool(a)),
                    f"<code>{_h(a.rule)}</code>",
                    _h(a.where),
                    _html_resources(a.resources),
                    _h(a.reason),
                ]
                for a in env.acknowledgements
            ],
            raw=True,
        )
    )
    parts.append(f"<h3>Control matrix</h3><p class=muted>{_h(STATUS_LEGEND)}</p>")
    for key, title in FRAMEWORK_TITLES.items():
        rows = matrix.framework(key)
        parts.append(f"<h4>{_h(title)}: {len(rows)} controls</h4>")
        parts.append(
            _table(
                ["control", "status", "rules", "resources"],
                [
                    [
                        f"<b>{_h(r.control)}</b>",
                        _status(r.status),
                        _html_rules(r),
                        _html_resources(r.resources),
                    ]
                    for r in rows
                ],
                raw=True,
            )
        )
    parts.append(f"<h4>AWS Config rules deployed ({len(matrix.config_rules)})</h4>")
    parts.append(
        _table(
            ["rule", "checks", "deployed by", "controls as cdk-nag rule"],
            _config_rows(matrix.config_rules),
        )
    )
    if report.permissions:
        parts.append(f"<h3>Permission matrix ({len(report.permissions)} rows)</h3>")
        parts.append(f"<p class=muted>{_h(PERMISSION_NOTE)}</p>")
        parts.append(_table(PERMISSION_HEADER, _permission_rows(report.permissions)))
    parts.append("</section>")
    return "".join(parts)


def html_index(report: Report) -> str:
    """``index.html``: every environment on one page, self-contained."""
    nav = "".join(
        f'<a href="#{_anchor(e.env.name)}">{_h(e.env.name)}</a>' for e in report.environments
    )
    gates = f"<pre>{_h(report.gates_text)}</pre>" if report.gates_text else f"<p>{_h(NO_GATES)}</p>"
    if report.gate_notes:
        gates += "<p>Acknowledged by the gates outside the templates:</p>" + _table(
            ["gate", "what and why"], report.gate_notes
        )
    overview = _table(
        [
            "environment",
            "stacks",
            "resources",
            "acknowledgements",
            "control rows",
            "fixed cost / month",
        ],
        [
            [
                f'<a href="#{_anchor(e.env.name)}">{_h(e.env.name)}</a>',
                str(len(e.env.stacks)),
                str(len(e.env.resources)),
                str(len(e.env.acknowledgements)),
                str(len(e.matrix.rows)),
                f"${e.cost.monthly:.2f}" if priced(e.cost) else "not priced",
            ]
            for e in report.environments
        ],
        raw=True,
    )
    seed = _table(SEED_HEADER, _seed_rows(report.seed))
    body = (
        "<header><h1>Secure ML/GenAI platform: evidence report</h1>"
        f"<p>{_h(report.generated)}</p></header>"
        f'<nav><a href="#overview">overview</a>{nav}<a href="#seed">seed map</a></nav><main>'
        f'<section id="overview"><h2>Overview</h2>{overview}'
        "<p>OSCAL component definition (NIST SP 800-53 Rev. 5): "
        '<a href="component-definition.json">component-definition.json</a>; Markdown twins: '
        + ", ".join(
            f'<a href="{_h(e.env.name)}.md">{_h(e.env.name)}.md</a>' for e in report.environments
        )
        + f"</p><h3>Gate summary (as make synth prints it)</h3>{gates}</section>"
        + "".join(_html_environment(e) for e in report.environments)
        + f'<section id="seed"><h2>Seed topics → code</h2>{seed}</section></main>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Secure ML/GenAI platform: evidence report</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def files(report: Report) -> dict[str, str]:
    """Every file of the report by name (``index.html``, ``index.md``, ``<env>.md|.svg|.dot``)."""
    files = {"index.html": html_index(report), "index.md": markdown_index(report) + "\n"}
    for e in report.environments:
        files[f"{e.env.name}.md"] = markdown_environment(e) + "\n"
        files[f"{e.env.name}.svg"] = e.svg + "\n"
        files[f"{e.env.name}.dot"] = e.dot
    return files
