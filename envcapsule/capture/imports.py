"""The top-level modules a notebook's code cells import, read from their source (nothing is run)."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    # IPython syntax (magics, shell escapes, help) is not Python: blank those lines out, keep the line numbers.
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!", "?")) or line.rstrip().endswith("?") else line for line in text.splitlines()
    )


def notebook_imports(notebook: Mapping[str, Any]) -> set[str]:
    """Top-level names of every ``import x.y`` and ``from x import y`` in the code cells (relative imports aside)."""
    names: set[str] = set()
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_cell_source(cell))
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names
