"""The errors a user can meet. Each carries one sentence: what happened, and what to do."""

from __future__ import annotations


class EnvcapsuleError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""

    exit_code = 1


class NotebookError(EnvcapsuleError):
    """The notebook is missing, unreadable or not a notebook."""


class InterpreterError(EnvcapsuleError):
    """The kernel's interpreter cannot be found or cannot run the probe."""


class LockError(EnvcapsuleError):
    """A distribution could not be locked exactly (raised only with --strict)."""


class CapsuleError(EnvcapsuleError):
    """A capsule folder is missing, damaged, edited by hand or cannot be written."""
