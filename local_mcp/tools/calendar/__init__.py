"""Calendar tools (Outlook through Microsoft Graph), in the user's time zone; one module per job.

- models.py        scopes, fields asked of Graph, result models, times in the user's zone
- read.py          list_events, get_event
- availability.py  find_free_time
- write.py         create_event, respond_to_event
- manage.py        update_event, cancel_event (decline or delete for invitations)
- calendars.py     list_calendars
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from . import availability, calendars, manage, read, write
from .models import UTC_PREFER, in_zone

__all__ = ["UTC_PREFER", "in_zone", "register"]


def register(server: MCPServer[Any], settings: Any) -> None:
    for part in (read, availability, write, manage, calendars):
        part.register(server, settings)
