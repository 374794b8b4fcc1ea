"""Turn a notebook or an interpreter path into EnvironmentFacts."""

from envcapsule.capture.interpreter import probe_interpreter
from envcapsule.capture.kernel import find_kernel_python, read_notebook

__all__ = ["find_kernel_python", "probe_interpreter", "read_notebook"]
