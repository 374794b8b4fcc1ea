"""The verify report: each cell's verdict, the run's conditions, and the text, JSON and JUnit forms of both.

``reproduced`` is true when every compared cell's outputs matched: it is a verdict on outputs.
``exact_conditions`` is true when the run also matched the capture's conditions (conditions.py).
Skipped and ignored cells are counted and named, never folded into "reproduced".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from envcapsule.verify.conditions import Conditions
from envcapsule.verify.sanitize import describe

CellStatus = Literal["reproduced", "differs", "errored", "skipped", "ignored"]
ReportStatus = Literal["reproduced", "not-reproduced", "no-outputs"]
CHECKED: tuple[CellStatus, ...] = ("reproduced", "differs", "errored")


@dataclass(frozen=True)
class CellResult:
    index: int  # position in the notebook's cells, counted from 0 like nbformat and JupyterLab
    id: str | None
    status: CellStatus
    diff: str | None = None
    message: str | None = None
    seconds: float | None = None  # how long the re-run of this cell took
    sanitized: Mapping[str, int] = field(default_factory=dict)  # values replaced before comparing, by kind

    @property
    def label(self) -> str:
        return cell_label(self.index, self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "status": self.status,
            "diff": self.diff,
            "message": self.message,
            "seconds": self.seconds,
            "sanitized": dict(self.sanitized),
        }


@dataclass(frozen=True)
class VerifyReport:
    notebook: Path
    image: str | None
    status: ReportStatus
    cells: tuple[CellResult, ...]
    message: str
    conditions: Conditions | None = None
    ran_at: float | None = None  # when the re-run started, seconds since the epoch

    @property
    def reproduced(self) -> bool:
        return self.status == "reproduced"

    @property
    def exact_conditions(self) -> bool:
        return self.conditions is not None and self.conditions.exact

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.conditions.warnings if self.conditions is not None else ()

    @property
    def total(self) -> int:
        """Cells whose outputs were compared (skipped and ignored cells are not counted)."""
        return sum(1 for cell in self.cells if cell.status in CHECKED)

    @property
    def reproduced_cells(self) -> int:
        return self._count("reproduced")

    @property
    def differing(self) -> int:
        return self._count("differs")

    @property
    def errored(self) -> int:
        return self._count("errored")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def ignored(self) -> int:
        return self._count("ignored")

    def _count(self, status: CellStatus) -> int:
        return sum(1 for cell in self.cells if cell.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": str(self.notebook),
            "image": self.image,
            "status": self.status,
            "reproduced": self.reproduced,
            "exact_conditions": self.exact_conditions,
            "warnings": list(self.warnings),
            "conditions": self.conditions.to_json() if self.conditions else None,
            "ran_at": _iso(self.ran_at),
            "total": self.total,
            "reproduced_cells": self.reproduced_cells,
            "differing": self.differing,
            "errored": self.errored,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "message": self.message,
            "cells": [cell.to_json() for cell in self.cells],
        }

    def render_text(self) -> str:
        """A plain-text report that reads the same on every run: no times, durations or temporary paths."""
        if self.status == "no-outputs":
            return self.message + "\n"
        where = f" in {self.image}" if self.image else ""
        name = self.notebook.name
        if self.reproduced:
            lines = [f"Reproduced {self.total} of {self.total} cells of {name}{where}{self._not_compared()}."]
        elif self.total == 0:
            lines = [self.message]
        else:
            failed = self.differing + self.errored
            lines = [
                f"{failed} of {self.total} cells of {name} did not reproduce{where}: "
                f"{self.differing} differing, {self.errored} errored, {self.reproduced_cells} reproduced{self._not_compared()}."
            ]
        if self.conditions is not None:
            lines.append(self.conditions.render_text())
            lines += [f"warning: {warning}" for warning in self.conditions.warnings]
            if self.conditions.warnings:
                lines.append("Exact conditions: no (the outputs were compared under the conditions above).")
        for cell in self.cells:
            if cell.status != "reproduced":
                lines.append(f"{cell.label} {cell.status}" + (f": {_stable(cell.message)}" if cell.message else ""))
                if cell.diff:
                    lines += [f"    {line}" if line else "" for line in cell.diff.splitlines()]
            if cell.sanitized:
                lines.append(f"{cell.label}: {describe(Counter(cell.sanitized))}")
        return "\n".join(lines) + "\n"

    def _not_compared(self) -> str:
        parts = [f"{self.skipped} skipped"] if self.skipped else []
        parts += [f"{self.ignored} run but not compared"] if self.ignored else []
        return f" ({', '.join(parts)})" if parts else ""

    def to_junit(self) -> str:
        """The report as JUnit XML: one test case per code cell, the conditions as properties."""
        suite = ElementTree.Element(
            "testsuite",
            name=self.notebook.name,
            tests=str(len(self.cells)),
            failures=str(self.differing),
            errors=str(self.errored),
            skipped=str(self.skipped + self.ignored),
        )
        properties = ElementTree.SubElement(suite, "properties")
        facts = {"image": self.image or "", "reproduced": str(self.reproduced).lower()}
        facts["exact_conditions"] = str(self.exact_conditions).lower()
        if self.conditions is not None:
            for key, value in self.conditions.to_json().items():
                if key not in ("warnings", "exact") and value is not None:
                    facts[key] = str(value)
        for key, value in facts.items():
            ElementTree.SubElement(properties, "property", name=key, value=value)
        for warning in self.warnings:
            ElementTree.SubElement(properties, "property", name="warning", value=warning)
        for cell in self.cells:
            case = ElementTree.SubElement(suite, "testcase", classname=self.notebook.name, name=cell.label)
            if cell.seconds is not None:
                case.set("time", f"{cell.seconds:.3f}")
            if cell.status == "differs":
                ElementTree.SubElement(case, "failure", message=cell.message or "outputs differ").text = cell.diff or ""
            elif cell.status == "errored":
                ElementTree.SubElement(case, "error", message=cell.message or "errored")
            elif cell.status in ("skipped", "ignored"):
                ElementTree.SubElement(case, "skipped", message=cell.message or cell.status)
        return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def make_report(
    notebook: Path,
    image: str,
    cells: Sequence[CellResult],
    conditions: Conditions | None = None,
    *,
    ran_at: float | None = None,
) -> VerifyReport:
    checked = [cell for cell in cells if cell.status in CHECKED]
    failed = [cell for cell in checked if cell.status != "reproduced"]
    name = notebook.name

    def report(status: ReportStatus, message: str) -> VerifyReport:
        return VerifyReport(notebook, image, status, tuple(cells), message, conditions, ran_at)

    if not checked:
        return report(
            "not-reproduced",
            f"No cell of {name} was compared (every code cell was skipped, ignored or never run); run it, save it, and verify again.",
        )
    if not failed:
        others = len(cells) - len(checked)
        note = f" ({others} skipped or ignored cell{'s' if others != 1 else ''} not compared)" if others else ""
        exact = (
            ""
            if conditions is None or conditions.exact
            else f"; conditions differ from the capture ({len(conditions.warnings)} warning{'s' if len(conditions.warnings) != 1 else ''})"
        )
        return report(
            "reproduced", f"All {len(checked)} checked cells of {name} reproduced their stored outputs in {image}{note}{exact}."
        )
    named = ", ".join(f"{cell.label} {_short(cell)}" for cell in failed[:3]) + (", and more" if len(failed) > 3 else "")
    return report(
        "not-reproduced",
        f"{len(failed)} of {len(checked)} checked cells of {name} did not reproduce in {image}: {named}; see the report for details.",
    )


def no_outputs_report(notebook: Path) -> VerifyReport:
    return VerifyReport(
        notebook=notebook,
        image=None,
        status="no-outputs",
        cells=(),
        message=f"{notebook.name} has no stored outputs to compare; run it, save it, and verify again.",
    )


def cell_label(index: int, cell_id: str | None) -> str:
    return f"cell {index} (id {cell_id})" if cell_id else f"cell {index}"


def _short(cell: CellResult) -> str:
    return "differs" if cell.status == "differs" else f"errored ({_stable(cell.message or '')})"


def _stable(message: str | None) -> str:
    """Messages without their durations, so the text report reads the same on every run."""
    return re.sub(r" (?:and was stopped )?\(?after \d+\.\d s\)?", "", message or "")


def _iso(instant: float | None) -> str | None:
    if instant is None:
        return None
    return datetime.fromtimestamp(instant, timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
