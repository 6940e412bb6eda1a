"""The emulator's big files: a downloadUrl on file items that honours Range, generated content
streamed without being held, and big uploads kept as a hash (so benchmarks measure only us)."""

from __future__ import annotations

import hashlib
import ssl

import httpx
import pytest

from tests.emulator import Emulator
from tests.emulator.graph_files import BIG_FILE, FRAGMENT_UNIT

pytestmark = pytest.mark.integration


def test_download_url_range_and_generated_big_content() -> None:
    with Emulator() as emu:
        tls = ssl.create_default_context(cafile=emu.ca_bundle)
        token = {"Authorization": f"Bearer {emu.issue_access_token(['Files.ReadWrite'])}"}
        size = BIG_FILE + 5 * 1024 * 1024 + 3
        item = emu.graph.files.add_generated_file("/Bench/big.bin", size)
        assert item["id"] not in emu.graph.files.contents  # nothing stored
        with httpx.Client(base_url=emu.graph_url, verify=tls, timeout=30) as graph, httpx.Client(verify=tls) as plain:
            meta = graph.get("/me/drive/root:/Bench/big.bin:", params={"$select": "id,size,@microsoft.graph.downloadUrl"},
                             headers=token).json()
            url = meta["@microsoft.graph.downloadUrl"]
            assert meta["size"] == size
            assert graph.get("/me/drive/root:/Bench/big.bin:/content", headers=token).headers["Location"] == url
            whole = plain.get(url)
            tail = plain.get(url, headers={"Range": f"bytes={size - 10}-"})
            middle = plain.get(url, headers={"Range": "bytes=1048570-1048585"})
            assert len(whole.content) == size and whole.content.startswith(b"\x00")
            assert tail.status_code == 206 and tail.content == whole.content[-10:]
            assert middle.content == whole.content[1048570:1048586]
            assert tail.headers["Content-Range"] == f"bytes {size - 10}-{size - 1}/{size}"

            total = BIG_FILE + FRAGMENT_UNIT
            session = graph.post("/me/drive/root:/Bench/up.bin:/createUploadSession", json={}, headers=token).json()
            payload = bytes(range(256)) * (total // 256)
            for start in range(0, total, 8 * FRAGMENT_UNIT):
                piece = payload[start:start + 8 * FRAGMENT_UNIT]
                answer = plain.put(session["uploadUrl"], content=piece,
                                   headers={"Content-Range": f"bytes {start}-{start + len(piece) - 1}/{total}"})
            assert answer.status_code == 201 and answer.json()["size"] == total
            stored = answer.json()["id"]
            assert stored not in emu.graph.files.contents
            assert emu.graph.files.digests[stored] == hashlib.sha256(payload).hexdigest()
