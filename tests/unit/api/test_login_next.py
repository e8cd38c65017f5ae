"""Where the login page sends the browser after signing in: only to a path on this site."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.pages import local_path

# as the page receives them, after the query string's own decoding
ELSEWHERE = (
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/%5Cevil.com",  # decoded once more by a browser or proxy: "/\evil.com"
    "/%5cevil.com",
    "/%2F%2Fevil.com",
    "/%2f/evil.com",
    "/%252F%252Fevil.com",  # twice encoded
    "%2F%2Fevil.com",
    "/%25252525252F%25252525252Fevil.com",  # encoded past any sensible depth
    "https://evil.com",
    "HTTPS://evil.com/x",
    "http:evil.com",
    "//evil.com@127.0.0.1",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "\t/evil.com",
    "/\t/evil.com",  # browsers drop tabs and newlines: this is "//evil.com" to them
    "/\n/evil.com",
    "/\r/evil.com",
    "/%09/evil.com",
    "/%0a/evil.com",
    " /evil.com",
    "/ /evil.com",
    "/\x00/evil.com",
    "/\u3000/evil.com",  # non-ASCII: no page of ours has it in its path
    "/\uff0f/evil.com",
    "evil.com",
    "console",
    "",
    "/" + "a" * 2001,
    "/supervisor?q=\t",  # control characters refused in the query too
    "/supervisor?q=%0a",
    "/\\evil.com?q=x",  # the path still decides
    "//evil.com?q=/supervisor",
)
LOCAL = (
    "/",
    "/console",
    "/supervisor",
    "/console?view=mine",
    "/supervisor#flags",
    "/docs",
    # a shared dashboard view: the query holds a search's text, which may be anything printable
    "/supervisor?q=gift voucher&flagged=",
    "/supervisor?q=%22gift%20voucher%22&queue=cards",
    "/supervisor?q=Überweisung",
    "/supervisor?q=//evil.com \\x",
)


@pytest.mark.parametrize("target", ELSEWHERE)
def test_a_target_off_this_site_is_refused(target: str) -> None:
    assert local_path(target) is None


@pytest.mark.parametrize("target", LOCAL)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert local_path(target) == target


def test_only_a_local_next_reaches_the_login_script(client: TestClient) -> None:
    for target in ("/%5Cexample.com/phish", "//example.com", "/%09/example.com", "javascript:alert(1)"):
        page = client.get(f"/login?next={target}")
        assert page.status_code == 200 and "data-next" not in page.text, target
    local = quote('/console?view=mine&x="<b>', safe="")
    page = client.get(f"/login?next={local}")
    assert 'data-next="/console?view=mine&amp;x=&#34;&lt;b&gt;"' in page.text  # escaped in the attribute
    assert "data-next" not in client.get("/login").text


def test_signing_in_from_a_shared_view_keeps_its_filters(client: TestClient) -> None:
    shared = "/supervisor?q=%22gift+voucher%22&queue=cards&flagged="
    redirect = client.get(shared, follow_redirects=False)
    assert redirect.status_code == 303
    login = client.get(redirect.headers["location"])
    assert 'data-next="/supervisor?q=%22gift+voucher%22&amp;queue=cards&amp;flagged="' in login.text
