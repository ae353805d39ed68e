"""A retired token-sealing key stops opening what the sign-in pages sealed with it, as it
stops sessions (``opensts keys retire``: "every session sealed with it stops working")."""

from __future__ import annotations

import subprocess
from pathlib import Path

from opensts.cli.login import pkce_pair
from tests.conftest import BIN, start_server, stop_server
from tests.signin.helpers import Browser, make_user


def test_a_sign_in_flow_sealed_with_a_retired_key_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, {"OPENSTS_KEY_REFRESH_SECONDS": "0"})

    def keys(*args: str) -> str:
        return subprocess.run([str(BIN / "opensts"), "keys", *args, "--data-dir", str(data)],
                              env=server.env, capture_output=True, text=True, timeout=30,
                              check=True).stdout

    try:
        user = make_user(server.client("iam"), server.account_id)
        browser = Browser(server.endpoint)
        page = browser.authorize(challenge=pkce_pair()[1])
        assert page.status_code == 200 and 'action="/v1/signin"' in page.text
        old_key = keys("list").splitlines()[1].split()[0]  # below the header
        keys("rotate")
        keys("retire", old_key)
        refused = browser.sign_in(page.text, user)
        assert refused.status_code == 400 and "expired" in refused.text
        # A flow sealed after the rotation signs in.
        fresh = browser.authorize(challenge=pkce_pair()[1])
        assert browser.sign_in(fresh.text, user).status_code == 200
    finally:
        stop_server(server)
