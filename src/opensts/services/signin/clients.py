"""The two public OAuth clients of ``aws login`` and their redirect URIs.

* ``arn:aws:signin:::devtools/same-device``: the CLI listens on the loopback interface and
  redirects to ``http://127.0.0.1:PORT/oauth/callback``. RFC 8252 §7.3 (loopback redirect
  for native apps): the scheme is ``http``, the host a loopback IP literal, any port.
  ``localhost`` is refused as §8.3 recommends (it may resolve off the machine).
* ``arn:aws:signin:::devtools/cross-device`` (``aws login --remote``): the redirect target
  is this server's ``/v1/sessions/confirmation``, which shows the code to paste back.

Each client maps to the IAM resource of the ``signin`` actions (Service Authorization
Reference, resource types ``oauth2-public-client-localhost`` and ``-remote``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

SAME_DEVICE = "arn:aws:signin:::devtools/same-device"
CROSS_DEVICE = "arn:aws:signin:::devtools/cross-device"
CLIENTS = (SAME_DEVICE, CROSS_DEVICE)
CONFIRMATION_PATH = "/v1/sessions/confirmation"
MAX_REDIRECT_URI = 2048


def resource_arn(client_id: str, region: str, account_id: str) -> str:
    kind = "localhost" if client_id == SAME_DEVICE else "remote"
    return f"arn:aws:signin:{region}:{account_id}:oauth2/public-client/{kind}"


def is_loopback_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: ``http://<loopback IP literal>:<port>/<path>``, no fragment."""
    if len(uri) > MAX_REDIRECT_URI:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "http" or parts.fragment or parts.username or parts.password:
        return False
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback and port is not None and parts.path == "/oauth/callback"


def redirect_uri_allowed(client_id: str, uri: str, base_url: str) -> bool:
    """Whether ``uri`` is a registered redirect for ``client_id`` on the server at
    ``base_url`` (scheme://host[:port], as the CLI derives it; the server's configured
    public URL, empty when none is configured: then no cross-device redirect is allowed)."""
    if client_id == SAME_DEVICE:
        return is_loopback_redirect(uri)
    if client_id == CROSS_DEVICE:
        return bool(base_url) and uri == base_url.rstrip("/") + CONFIRMATION_PATH
    return False
