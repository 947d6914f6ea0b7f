"""Good profiles load into typed models without YAML 1.1 surprises."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from pxetui.core.mac import MacAddress
from pxetui.core.profile import CentosEntry, MenuEntry, load_profile, load_profile_text

LAB = """\
name: lab
network:
  server: 10.250.77.1
  dhcp:
    mode: off
    s390x_addresses:
      52:54:00:e2:e3:90: 10.250.77.90
tftp:
  root: tftp
http:
  root: ../www
entries:
  c8:
    kind: centos
    kernel: centos/vmlinuz
    repo: http://mirror/centos
  m:
    kind: menu
    items: [c8, local]
    timeout: 5
hosts:
  52:54:00:12:34:56:
    entry: m
    macs: [52:54:00:12:34:57]
  aa-bb-cc-dd-ee-ff: {entry: c8, once: yes}
unknown: local
"""


def test_unquoted_sexagesimal_macs_stay_macs() -> None:
    """52:54:00:12:34:56 is an int in YAML 1.1; as a key, list item or map key it stays a MAC."""
    profile = load_profile_text(LAB, "lab.yaml", base_dir=Path("/srv/lab"))
    mac = MacAddress.parse("52:54:00:12:34:56")
    assert mac in profile.hosts
    assert profile.hosts[mac].macs == (MacAddress.parse("52:54:00:12:34:57"),)
    s390 = MacAddress.parse("52:54:00:e2:e3:90")
    assert profile.network.dhcp.s390x_addresses[s390] == IPv4Address("10.250.77.90")


def test_off_means_the_dhcp_mode_and_yes_means_true() -> None:
    """`mode: off` is the word "off", not False; `once: yes` is still a boolean."""
    profile = load_profile_text(LAB, "lab.yaml", base_dir=Path("/srv/lab"))
    assert profile.network.dhcp.mode == "off"
    assert profile.hosts[MacAddress.parse("aa:bb:cc:dd:ee:ff")].once is True


def test_relative_roots_resolve_against_the_profile_directory(tmp_path: Path) -> None:
    """tftp.root and http.root are relative to the profile file, not the working directory."""
    (tmp_path / "lab").mkdir()
    path = tmp_path / "lab" / "lab.yaml"
    path.write_text(LAB)
    profile = load_profile(path)
    assert profile.tftp.root == tmp_path / "lab" / "tftp"
    assert profile.http.root == tmp_path / "lab" / ".." / "www"


def test_entries_are_typed_by_kind() -> None:
    """The `kind` key picks the entry model."""
    profile = load_profile_text(LAB, "lab.yaml", base_dir=Path("/srv/lab"))
    assert isinstance(profile.entries["c8"], CentosEntry)
    menu = profile.entries["m"]
    assert isinstance(menu, MenuEntry) and menu.items == ("c8", "local")


def test_where_names_file_and_line_for_later_checks() -> None:
    """The loaded profile remembers where each value was written."""
    profile = load_profile_text(LAB, "lab.yaml", base_dir=Path("/srv/lab"))
    assert profile.where("entries", "c8", "kernel") == "lab.yaml:15"
    assert profile.where("hosts", "52:54:00:12:34:56", "entry") == "lab.yaml:23"
    assert profile.where("nowhere") == "lab.yaml"


def test_empty_profile_gets_defaults() -> None:
    """An empty file is a valid profile: local boot for everyone."""
    profile = load_profile_text("", "empty.yaml", base_dir=Path("/srv"))
    assert profile.unknown == "local" and profile.entries == {}
    assert profile.tftp.root == Path("/srv/tftp")


def test_readme_example_profile_is_valid() -> None:
    """The full example in README's "Profiles" section loads as documented."""
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text()
    section = readme.split("## Profiles", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    profile = load_profile_text(example, "README.md", base_dir=Path("/srv"))
    assert set(profile.entries) == {"centos8", "diskless", "plain", "other", "disk", "menu", "s390"}
    assert profile.unknown == "menu" and len(profile.hosts) == 3
