"""osmo2argo: compile NVIDIA OSMO workflow specs into Argo Workflows manifests."""

from __future__ import annotations

__version__ = "0.1.0"
