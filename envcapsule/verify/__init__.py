"""`envcapsule verify`: re-execute a notebook in its capsule's image and prove, cell by cell, that it reproduces.

check.py runs it (image, container, runner), runner.py is the script that executes the cells
inside the image as Jupyter does, compare.py and sanitize.py judge the outputs, conditions.py
says under what conditions it ran, and report.py is the result in every form.
"""

from envcapsule.errors import VerifyError, VerifyTimeout
from envcapsule.verify.check import verify
from envcapsule.verify.report import VerifyReport

__all__ = ["VerifyError", "VerifyReport", "VerifyTimeout", "verify"]
