"""Resource-scoped token requests: the typed errors and the cache key."""

from __future__ import annotations

import pytest

from local_mcp.auth.resource import build_token_request, short_names
from local_mcp.errors import ResourceParameterError


@pytest.mark.parametrize("resource", [None, "", "   "])
def test_missing_resource_is_resource_parameter_required(resource):
    with pytest.raises(ResourceParameterError) as info:
        build_token_request(resource, ["User.Read"])
    assert info.value.code == "resource_parameter_required"


@pytest.mark.parametrize("where", ["extra_query_params", "extra_body_params"])
def test_resource_inside_extra_parameters_is_misplaced(where):
    with pytest.raises(ResourceParameterError) as info:
        build_token_request("https://graph.microsoft.com", ["User.Read"], **{where: {"Resource": "x"}})
    assert info.value.code == "misplaced_resource_parameter"


def test_scope_of_another_resource_is_misplaced():
    with pytest.raises(ResourceParameterError) as info:
        build_token_request("https://graph.microsoft.com", ["https://outlook.office.com/Mail.Read"])
    assert info.value.code == "misplaced_resource_parameter"


def test_scopes_are_normalised_into_one_cache_key():
    a = build_token_request("https://graph.microsoft.com/", ["Mail.Read", "User.Read", "openid", "offline_access"])
    b = build_token_request("https://GRAPH.microsoft.com", ["https://graph.microsoft.com/User.Read", "Mail.Read"])
    assert a.key == b.key == ("https://graph.microsoft.com", ("Mail.Read", "User.Read"))
    assert a.msal_scopes == ["https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/User.Read"]


def test_app_id_uri_resources_work():
    r = build_token_request("api://1111-2222", ["api://1111-2222/Tasks.Read"])
    assert r.msal_scopes == ["api://1111-2222/Tasks.Read"]


def test_short_names_drop_prefix_and_oidc_scopes():
    assert short_names(["https://graph.microsoft.com/User.Read", "openid", "profile", "Mail.Read"]) == ["Mail.Read", "User.Read"]
