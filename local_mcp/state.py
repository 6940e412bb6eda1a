"""AppState: the long-lived objects a tool call reaches through its context (its own module, so that
the start-up path can make one without importing the tools)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class AppState:
    """Long-lived objects, built once per server in the lifespan (with lazy tools: when first needed)."""

    settings: Any
    tokens: Any  # auth.tokens.TokenProvider
    graph: Any  # graph.client.GraphClient
