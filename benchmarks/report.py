"""The result table: printed, written as JSON, and drawn as a chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .harness import Row

HEADERS = ("figure", "candidate", "value", "ratio", "target", "met?")


def _value(row: Row) -> str:
    if row.value is None:
        return "-"
    if row.unit.startswith("chunks"):
        return f"{row.value:,.0f} {row.unit}"
    return f"{row.value:.3g} {row.unit}" if row.value < 100 else f"{row.value:.0f} {row.unit}"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "-"
    digits = 3 if row.target else 2  # enough to see which side of the target it falls
    return f"{row.ratio:.{digits}f}x" + (f" vs {row.versus}" if row.versus else "")


def _met(row: Row) -> str:
    met = {True: "yes", False: "NO", None: ""}[row.met]
    return f"{met} ({row.note})" if met and row.note else met or row.note


def cells(row: Row) -> tuple[str, ...]:
    return (row.figure, row.candidate, _value(row), _ratio(row), row.target, _met(row))


def table(rows: list[Row]) -> str:
    """A plain-text table; a missing candidate shows its reason in the last column."""
    lines = [HEADERS, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS) - 1)]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=False))
                   + "  " + line[-1])
        if index == 0:
            out.append("-" * (sum(widths) + 2 * len(widths) + 4))
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    """The same table in Markdown (for the README)."""
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(c.replace("|", "/") for c in cells(r)) + " |" for r in rows]
    return "\n".join(out)


def write_json(rows: list[Row], meta: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "rows": [r.as_dict() for r in rows]}
    path.write_text(json.dumps(document, indent=2) + "\n")


def write_chart(rows: list[Row], path: Path, title: str) -> None:
    """One panel per figure: each ratio as a bar, green when its target is met, red if not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = list(dict.fromkeys(r.figure for r in rows))
    panels = [(f, [r for r in rows if r.figure == f and r.ratio is not None]) for f in figures]
    panels = [(f, rs) for f, rs in panels if rs]
    heights = [max(1.2, 0.32 * len(rs) + 0.6) for _, rs in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, sum(heights) + 0.8),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    colors = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}
    for ax, (name, panel) in zip(axes[:, 0], panels, strict=True):
        ratios = [r.ratio or 0.0 for r in panel]
        ax.barh(range(len(panel)), ratios, color=[colors[r.met] for r in panel])
        ax.set_yticks(range(len(panel)), [r.candidate for r in panel], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", linewidth=0.6)
        wide = max(ratios) / max(min(ratios), 1e-9) > 30
        if wide:
            ax.set_xscale("log")
        for y, r in enumerate(panel):
            text = f" {r.ratio:.2f}x vs {r.versus}" + (f"  [{r.target}]" if r.target else "")
            ax.text(r.ratio or 0.0, y, text, va="center", fontsize=6.5)
        ax.set_title(name + ("  (log scale)" if wide else ""), fontsize=9, loc="left")
        ax.set_xlim(min(ratios) * 0.5 if wide else 0, max(ratios) * (8 if wide else 2.2))
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
