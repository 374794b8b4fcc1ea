"""How the magic shows long work and results: ipywidgets where the frontend renders them, text elsewhere.

Results render as HTML in Lab and as plain text elsewhere; their text holds no timestamps
and no temporary paths, so notebooks that use the magic can themselves be checked with nbval.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envcapsule.progress import NullProgress, Progress

LOG_TAIL = 8


class TextProgress:
    """One line per step, printed as it starts."""

    def __init__(self, title: str) -> None:
        self.title = title

    def step(self, description: str, total: int | None = None) -> None:
        print(f"[{self.title}] {description}", flush=True)

    def advance(self, item: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        pass


class WidgetProgress:
    """A progress bar, the current step and a log tail; its plain-text fallback names the step."""

    def __init__(self, title: str) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.title = title
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="60%"))
        self.current = widgets.HTML(value=f"<b>{html.escape(title)}</b>: starting")
        self.tail = widgets.HTML(value="")
        self.lines: list[str] = []
        self.box = widgets.VBox([self.current, self.bar, self.tail])
        self.handle = display(self._bundle("starting"), raw=True, display_id=True)

    def _bundle(self, text: str) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(self.box._repr_mimebundle_() or {})
        bundle["text/plain"] = f"envcapsule {self.title}: {text}"
        return bundle

    def step(self, description: str, total: int | None = None) -> None:
        self.bar.value, self.bar.max = 0, max(total or 1, 1)
        self.bar.bar_style = "" if total else "info"
        self.current.value = f"<b>{html.escape(self.title)}</b>: {html.escape(description)}"
        if self.handle is not None:
            self.handle.update(self._bundle(description), raw=True)

    def advance(self, item: str = "") -> None:
        self.bar.value = min(self.bar.value + 1, self.bar.max)

    def log(self, line: str) -> None:
        self.lines = [*self.lines[-(LOG_TAIL - 1) :], line]
        self.tail.value = "<pre style='margin:0'>" + html.escape("\n".join(self.lines)) + "</pre>"

    def done(self, text: str) -> None:
        self.bar.value, self.bar.bar_style = self.bar.max, "success"
        self.current.value = f"<b>{html.escape(self.title)}</b>: {html.escape(text)}"
        if self.handle is not None:
            self.handle.update(self._bundle(text), raw=True)


def progress_view(mode: str, title: str) -> Progress:
    if mode == "none":
        return NullProgress()
    if mode == "text" or (mode == "auto" and not _frontend_renders_widgets()):
        return TextProgress(title)
    try:
        return WidgetProgress(title)
    except ImportError:
        if mode == "widget":
            from IPython.core.error import UsageError

            raise UsageError("--progress widget needs ipywidgets in the kernel; install it or use --progress text.") from None
        return TextProgress(title)


def _frontend_renders_widgets() -> bool:
    """A kernel talking to a frontend (not a terminal IPython), with ipywidgets importable."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


@dataclass(frozen=True)
class MagicResult:
    """What a subcommand ends with: a title, a verdict, and detail lines."""

    title: str
    verdict: str
    lines: Sequence[str] = ()
    ok: bool = True

    def __repr__(self) -> str:
        return "\n".join([f"envcapsule {self.title}: {self.verdict}", *(f"  {line}" for line in self.lines)])

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.ok else "#9a6700"
        items = "".join(f"<li>{html.escape(line)}</li>" for line in self.lines)
        return (
            f"<div class='envcapsule-result'><b>envcapsule {html.escape(self.title)}</b>: "
            f"<span style='color:{colour}'>{html.escape(self.verdict)}</span>"
            f"{'<ul>' + items + '</ul>' if items else ''}</div>"
        )
