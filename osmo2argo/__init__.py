"""osmo2argo: compile NVIDIA OSMO workflow specs into Argo Workflows manifests.

The library API mirrors the command line:

    from osmo2argo import compile_spec, check_spec, to_hera
    compiled = compile_spec(open("train.yaml").read(), "train.yaml")
    print(compiled.text)          # the Argo manifest as YAML
    workflow = to_hera(open("train.yaml").read(), "train.yaml")   # a hera Workflow

Heavy dependencies (jinja2, hera, kubernetes) are imported only by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["CompileError", "Diagnostic", "__version__", "check_spec", "compile_spec", "to_hera"]

if TYPE_CHECKING:
    from .compiler import compile_spec
    from .errors import CompileError, Diagnostic
    from .hera_bridge import to_hera
    from .pipeline import check_spec

_LAZY = {
    "compile_spec": "compiler",
    "check_spec": "pipeline",
    "to_hera": "hera_bridge",
    "CompileError": "errors",
    "Diagnostic": "errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'osmo2argo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)
