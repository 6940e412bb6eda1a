"""Organising mail through the real process and the emulator: drafts with local files (one over 3 MB,
through an upload session), send, forward, move, flag, delete; the user confirms by elicitation."""

from __future__ import annotations

import base64

import pytest

from tests.graph_fake import accept
from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


async def call(client, name: str, arguments: dict) -> dict:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}: {' '.join(getattr(b, 'text', '') for b in result.content)}"
    return result.structured_content


async def test_drafts_with_attachments_send_forward_move_flag_and_delete(setup: ServerSetup):
    emu = setup.emulator
    uploads = setup.root / "outbox"
    uploads.mkdir()
    small, big = uploads / "notes.txt", uploads / "deck.pdf"
    small.write_text("Thursday notes\n")
    big.write_bytes(bytes(range(256)) * (14 * 1024 + 7))  # ~3.5 MB: an upload session
    outside = setup.root / "secret.txt"
    outside.write_text("not for mail")
    seen: list = []
    env = {"LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_UPLOAD_DIRS": str(uploads), "LOCAL_MCP_TOOLSETS": "mail"}
    async with setup.client(elicitation_callback=accept(seen), **env) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"create_draft", "send_draft", "forward_message", "move_message", "update_message", "delete_message"} <= names
        assert "list_events" not in names  # LOCAL_MCP_TOOLSETS=mail

        refused = await client.call_tool("create_draft", {"to": ["megan@contoso.example"], "body": "x",
                                                          "attachments": [str(outside)]})
        assert refused.is_error and "outside the folders" in refused.content[0].text

        draft = await call(client, "create_draft", {
            "to": ["megan@contoso.example"], "subject": "Deck for Thursday", "body": "Both files attached.",
            "attachments": [str(small), str(big)]})
        assert draft["attachments"] == ["notes.txt", "deck.pdf"]
        stored = {a["name"]: a for a in emu.graph.mail.attachments[draft["id"]]}
        assert base64.b64decode(stored["deck.pdf"]["contentBytes"]) == big.read_bytes()
        assert base64.b64decode(stored["notes.txt"]["contentBytes"]) == small.read_bytes()

        sent = await call(client, "send_draft", {"message_id": draft["id"]})
        assert sent["recipients"] == ["megan@contoso.example"]
        assert emu.graph.mail_organise.sent[0]["action"] == "send"

        original = dict(next(m for m in emu.graph.messages if m["subject"] == "Updated travel policy"))
        forwarded = await call(client, "forward_message", {
            "message_id": original["id"], "to": ["alex@contoso.example"], "comment": "FYI"})
        assert forwarded["to"] == ["alex@contoso.example"]

        flagged = await call(client, "update_message", {"message_id": original["id"], "flag": "flagged", "is_read": False})
        assert flagged["flag"] == "flagged" and flagged["is_read"] is False
        moved = await call(client, "move_message", {"message_id": original["id"], "destination": "Archive"})
        assert moved["folder_id"] == "archive" and moved["id"] != original["id"]
        deleted = await call(client, "delete_message", {"message_id": moved["id"]})
        assert deleted["folder_id"] == "deleteditems"
    assert [p.message.split("\n")[0] for p in seen] == [
        "Attach notes.txt (0 KB), deck.pdf (3586 KB) from this computer to a draft in your mailbox",
        'Send the draft "Deck for Thursday" with attachments to megan@contoso.example',
        'Forward "Updated travel policy" to alex@contoso.example: "FYI"',
        'Change the email "Updated travel policy" from lynne@contoso.example: mark it unread, flag it',
        'Move the email "Updated travel policy" from lynne@contoso.example to archive',
        'Move the email "Updated travel policy" from lynne@contoso.example to Deleted Items',
    ]
    assert emu.graph.mail_organise.sent[1] == {
        "action": "forward", "messageId": original["id"],
        "payload": {"comment": "FYI", "toRecipients": [{"emailAddress": {"address": "alex@contoso.example"}}]}}
