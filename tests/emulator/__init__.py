"""Offline Microsoft Entra ID (v2.0) + Microsoft Graph v1.0 emulator for tests.

    from tests.emulator import Emulator, EmulatorUser

    with Emulator(token_lifetime=3600) as emu:
        app = msal.PublicClientApplication(
            emu.client_id, authority=emu.authority, instance_discovery=False)
        # with REQUESTS_CA_BUNDLE / SSL_CERT_FILE / BROWSER from emu.env()
        result = app.acquire_token_interactive([f"{emu.graph_resource}/User.Read"], timeout=30)

Runs HTTPS on 127.0.0.1 with a throw-away CA (`emu.ca_bundle`). The real
`msal` signs in against it: interactively through `browser.py` (set as
$BROWSER), or with the device code flow (`emu.approve_device_code`).
`python -m tests.emulator` runs it as a separate process.
"""

from .model import GRAPH_APP_ID, MSA_TENANT_ID, EmulatorUser
from .server import Emulator

__all__ = ["Emulator", "EmulatorUser", "GRAPH_APP_ID", "MSA_TENANT_ID"]
