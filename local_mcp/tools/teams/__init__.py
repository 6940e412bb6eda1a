"""Microsoft Teams tools, one module per job.

- models.py    scopes, the message model (text with mentions named), paging of whole lists
- chats.py     list_chats, list_chat_messages, send_chat_message
- channels.py  list_teams, list_channels, list_channel_messages, send_channel_message
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from . import channels, chats

__all__ = ["register"]


def register(server: MCPServer[Any], settings: Any) -> None:
    for part in (chats, channels):
        part.register(server, settings)
