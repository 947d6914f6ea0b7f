"""Small profiles built in code for the renderer tests."""

from __future__ import annotations

from ipaddress import IPv4Address

from pxetui.core.profile import Profile, load_profile_text
from pxetui.core.render import RenderContext

CTX = RenderContext(server=IPv4Address("10.250.77.1"), http_base="http://10.250.77.1:8080")


def profile(entries_yaml: str, hosts_yaml: str = "", unknown: str = "local") -> Profile:
    """A profile from indented ``entries:`` and ``hosts:`` blocks."""
    text = f"entries:\n{entries_yaml}\nhosts:\n{hosts_yaml or '  {}'}\nunknown: {unknown}\n"
    if not hosts_yaml:
        text = text.replace("hosts:\n  {}\n", "")
    return load_profile_text(text, "test.yaml")
