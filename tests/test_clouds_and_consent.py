"""Clouds (issue 9, bug 10) and the v2 admin-consent link (bug 3)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from local_mcp.auth.msal_errors import admin_consent_url
from local_mcp.config import KNOWN_AUTHORITY_HOSTS, Settings


def test_china_uses_the_current_login_host_and_both_are_known():
    # MSAL: login.chinacloudapi.cn is DEPRECATED_AZURE_CHINA; login.partner.microsoftonline.cn is current.
    china = Settings(cloud="china", tenant_id="contoso.partner.onmschina.cn")
    assert china.authority == "https://login.partner.microsoftonline.cn/contoso.partner.onmschina.cn"
    assert china.authority_is_known_to_microsoft
    assert {"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"} <= KNOWN_AUTHORITY_HOSTS


def test_usgov_dod_cloud():
    # https://learn.microsoft.com/graph/deployments: US Government L5 (DOD) -> dod-graph.microsoft.us,
    # tokens from login.microsoftonline.us (the same Entra endpoint as L4).
    dod = Settings(cloud="usgov-dod", tenant_id="contoso.onmicrosoft.us")
    assert dod.authority == "https://login.microsoftonline.us/contoso.onmicrosoft.us"
    assert dod.graph_url == "https://dod-graph.microsoft.us/v1.0"
    assert dod.graph_resource == "https://dod-graph.microsoft.us"


def test_admin_consent_link_is_the_v2_form_with_the_failed_scopes():
    tenant = "11111111-2222-3333-4444-555555555555"
    url = admin_consent_url(
        f"https://login.microsoftonline.com/{tenant}", "c1",
        scopes=["https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/User.Read.All"],
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"https://login.microsoftonline.com/{tenant}/v2.0/adminconsent"
    query = parse_qs(parts.query)
    assert query == {
        "client_id": ["c1"],
        "scope": ["https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read.All"],
        "redirect_uri": ["http://localhost"],
    }


@pytest.mark.parametrize("word", ["organizations", "common", "consumers"])
def test_admin_consent_link_for_a_multi_tenant_authority_asks_for_the_tenant_id(word):
    url = admin_consent_url(f"https://login.microsoftonline.com/{word}", "c1", scopes=["https://graph.microsoft.com/Mail.Read"])
    assert f"/{word}/" not in url
    assert url.startswith("https://login.microsoftonline.com/<your-tenant-id>/v2.0/adminconsent?")
