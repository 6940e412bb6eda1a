"""Mail tools (Outlook through Microsoft Graph), one module per job.

- models.py    scopes, fields asked of Graph, result models, rendering
- read.py      list_messages, search_messages, get_message, list_mail_folders, download_attachment
- send.py      send_message, reply_to_message
- organise.py  create_draft, send_draft, forward_message, move_message, delete_message, update_message
- attach.py    files from this computer as attachments (upload sessions above 3 MB)
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from . import organise, read, send
from .models import Address, address, addresses, recipients

__all__ = ["Address", "address", "addresses", "recipients", "register"]


def register(server: MCPServer[Any], settings: Any) -> None:
    for part in (read, send, organise):
        part.register(server, settings)
