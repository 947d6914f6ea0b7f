"""pxelinux, iPXE and GRUB forms follow PXE-FACTS: who fetches what, from where."""

from __future__ import annotations

import re
from ipaddress import IPv4Address

import pytest
from render_profiles import CTX, profile

from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import GrubSettings
from pxetui.core.render import (
    RenderContext,
    RenderError,
    render_defaults,
    render_entry_for,
    render_host,
)

MAC = MacAddress.parse("52:54:00:12:34:56")
LINUX = (
    "  l:\n    kind: linux\n    kernel: /k/vmlinuz\n    initrds: [k/a.img, k/b.img]\n"
    "    args: console=ttyS0 h={hostname} m={mac} e={entry} s={server} u={http}/x\n"
)
CHAIN = "  c:\n    kind: chain\n    url: '{http}/other/{mac_hyp}.ipxe'\n"
MENU = "  m:\n    kind: menu\n    items: [l, c, local]\n    default: c\n    timeout: 0\n"
HOSTS = f"  {MAC}: {{entry: l, hostname: web1}}\n"
URL_KERNEL = "  u:\n    kind: linux\n    kernel: http://mirror.example.org:81/d/vmlinuz\n"


def test_x86_host_gets_all_three_loader_forms() -> None:
    """DHCP and firmware decide the loader, so an x86 host gets pxelinux, iPXE and GRUB files."""
    files = render_host(profile(LINUX, HOSTS), CTX, MAC)
    assert sorted(files) == [
        "grub/grub.cfg-01-52-54-00-12-34-56",
        "ipxe/52-54-00-12-34-56.ipxe",
        "pxelinux.cfg/01-52-54-00-12-34-56",
    ]


def test_templates_are_filled_per_host_and_entry() -> None:
    """{hostname} {mac} {entry} {server} {http} expand to the host's values."""
    files = render_host(profile(LINUX, HOSTS), CTX, MAC)
    expected = (
        "console=ttyS0 h=web1 m=52:54:00:12:34:56 e=l s=10.250.77.1 u=http://10.250.77.1:8080/x"
    )
    for path in files:
        assert expected in files.text(path)


def test_ipxe_fetches_over_http_and_names_each_initrd_for_efi() -> None:
    """iPXE loads kernel and initrds from our HTTP base; initrd=<name> per initrd (EFI)."""
    script = render_host(profile(LINUX, HOSTS), CTX, MAC).text("ipxe/52-54-00-12-34-56.ipxe")
    lines = script.splitlines()
    assert lines[0] == "#!ipxe"
    kernel = next(line for line in lines if line.startswith("kernel "))
    assert kernel.startswith("kernel http://10.250.77.1:8080/k/vmlinuz console=ttyS0")
    assert kernel.endswith("initrd=a.img initrd=b.img || goto pxetui-failed")
    assert "initrd http://10.250.77.1:8080/k/a.img || goto pxetui-failed" in lines
    assert "initrd http://10.250.77.1:8080/k/b.img || goto pxetui-failed" in lines
    # Every fetch and the boot have a failure path: a bare failing command aborts a script.
    for line in lines:
        if line.startswith(("kernel ", "initrd ", "boot", "chain ")):
            assert "||" in line


def test_pxelinux_fetches_over_tftp_relative_to_the_root() -> None:
    """pxelinux.0 only speaks TFTP: kernel and initrds are root-relative names."""
    text = render_host(profile(LINUX, HOSTS), CTX, MAC).text("pxelinux.cfg/01-52-54-00-12-34-56")
    assert "  KERNEL k/vmlinuz" in text.splitlines()
    assert "  INITRD k/a.img,k/b.img" in text.splitlines()
    assert "http://10.250.77.1:8080/k/" not in text


def test_grub_fetches_our_files_over_http_else_tftp_from_our_address() -> None:
    """grub.files: http (the default): GRUB's HTTP first, the same files over TFTP when the
    kernel does not load that way; both name our server, not the DHCP server it learnt."""
    text = render_host(profile(LINUX, HOSTS), CTX, MAC).text("grub/grub.cfg-01-52-54-00-12-34-56")
    lines = text.splitlines()
    http_linux = next(i for i, line in enumerate(lines) if "linux (http," in line)
    assert lines[http_linux].startswith("  if linux (http,10.250.77.1:8080)/k/vmlinuz console=")
    assert lines[http_linux].endswith("; then")
    assert lines[http_linux + 1] == (
        "    initrd (http,10.250.77.1:8080)/k/a.img (http,10.250.77.1:8080)/k/b.img"
    )
    assert lines[http_linux + 2] == "  else"
    assert lines[http_linux + 3].startswith("    linux (tftp,10.250.77.1)/k/vmlinuz console=")
    assert (
        lines[http_linux + 4] == "    initrd (tftp,10.250.77.1)/k/a.img (tftp,10.250.77.1)/k/b.img"
    )
    assert lines[http_linux + 5] == "  fi"
    assert "insmod" not in text and "ipxe.efi" not in text
    assert "set timeout=0" in text


def test_grub_files_tftp_keeps_grub_on_tftp() -> None:
    """grub.files: tftp: no HTTP attempt at all."""
    tftp = profile(LINUX, HOSTS).model_copy(update={"grub": GrubSettings(files="tftp")})
    ctx = RenderContext.for_profile(tftp, server=CTX.server)
    text = render_host(tftp, ctx, MAC).text("grub/grub.cfg-01-52-54-00-12-34-56")
    assert "  linux (tftp,10.250.77.1)/k/vmlinuz console=ttyS0" in text
    assert "  initrd (tftp,10.250.77.1)/k/a.img (tftp,10.250.77.1)/k/b.img" in text
    assert "http," not in text


def test_a_shim_host_loads_our_files_over_tftp_whatever_grub_files_says() -> None:
    """Debian's signed GRUB may not load http.mod under Secure Boot: TFTP only."""
    hosts = f"  {MAC}: {{entry: l, loader: shim}}\n"
    text = render_host(profile(LINUX, hosts), CTX, MAC).text("grub/grub.cfg-01-52-54-00-12-34-56")
    assert "  linux (tftp,10.250.77.1)/k/vmlinuz console=ttyS0" in text
    assert "(http," not in text


def test_grub_stays_on_tftp_when_our_http_is_https() -> None:
    """GRUB has no TLS: with an https base the kernel comes over TFTP from our address."""
    ctx = RenderContext(CTX.server, "https://boot.example.org/pxe")
    text = render_host(profile(LINUX, HOSTS), ctx, MAC).text("grub/grub.cfg-01-52-54-00-12-34-56")
    assert "  linux (tftp,10.250.77.1)/k/vmlinuz console=ttyS0" in text
    assert "http," not in text


def test_grub_fetches_an_http_kernel_url_itself_with_ipxe_as_the_fallback() -> None:
    """An http:// kernel is fetched by GRUB from that server, else by iPXE; https: iPXE."""
    http = render_entry_for(profile(URL_KERNEL), CTX, MAC, "u").text(
        "grub/grub.cfg-01-52-54-00-12-34-56"
    )
    assert "  if linux (http,mirror.example.org:81)/d/vmlinuz; then" in http.splitlines()
    assert "    chainloader (tftp,10.250.77.1)/ipxe.efi" in http.splitlines()
    https = profile(URL_KERNEL.replace("http://mirror", "https://mirror"))
    text = render_entry_for(https, CTX, MAC, "u").text("grub/grub.cfg-01-52-54-00-12-34-56")
    assert "  chainloader (tftp,10.250.77.1)/ipxe.efi" in text.splitlines()


def test_a_shim_host_never_chainloads_the_unsigned_ipxe_efi() -> None:
    """loader: shim — Secure Boot refuses ipxe.efi, so GRUB says why instead of trying."""
    for entries in (URL_KERNEL, URL_KERNEL.replace("http://", "https://"), CHAIN):
        name = "c" if entries == CHAIN else "u"
        hosts = f"  {MAC}: {{entry: {name}, loader: shim}}\n"
        text = render_entry_for(profile(entries, hosts), CTX, MAC, name).text(
            "grub/grub.cfg-01-52-54-00-12-34-56"
        )
        assert "ipxe.efi" not in text, text
        assert "Secure Boot" in text


def test_local_entry_in_every_form() -> None:
    """local = LOCALBOOT 0 (pxelinux), exit (iPXE, GRUB)."""
    files = render_entry_for(profile(LINUX), CTX, MAC, "local")
    assert "  LOCALBOOT 0" in files.text("pxelinux.cfg/01-52-54-00-12-34-56").splitlines()
    assert "exit 0" in files.text("ipxe/52-54-00-12-34-56.ipxe").splitlines()
    assert "  exit" in files.text("grub/grub.cfg-01-52-54-00-12-34-56").splitlines()


def test_chain_is_native_in_ipxe_and_handed_to_ipxe_elsewhere() -> None:
    """iPXE chains the URL; pxelinux loads ipxe.lkrn and GRUB chainloads ipxe.efi."""
    files = render_entry_for(profile(LINUX + CHAIN), CTX, MAC, "c")
    ipxe = files.text("ipxe/52-54-00-12-34-56.ipxe")
    assert (
        "chain --autofree http://10.250.77.1:8080/other/52-54-00-12-34-56.ipxe "
        "|| goto pxetui-failed" in ipxe
    )
    assert "  KERNEL ipxe.lkrn" in files.text("pxelinux.cfg/01-52-54-00-12-34-56")
    assert "  chainloader (tftp,10.250.77.1)/ipxe.efi" in files.text(
        "grub/grub.cfg-01-52-54-00-12-34-56"
    )


def test_menu_in_every_form_with_default_and_timeout() -> None:
    """Menus: iPXE menu/item/choose, pxelinux menu.c32, GRUB menuentries; 0 waits forever."""
    files = render_entry_for(profile(LINUX + CHAIN + MENU), CTX, MAC, "m")
    ipxe = files.text("ipxe/52-54-00-12-34-56.ipxe").splitlines()
    assert [line for line in ipxe if line.startswith("item ")] == [
        "item l l",
        "item c c",
        "item local Boot from local disk",
    ]
    assert "set pxetui-timeout 0" in ipxe
    assert any(line.startswith("choose --default c --timeout ${pxetui-timeout}") for line in ipxe)
    for label in ("l", "c", "local"):
        assert f":pxetui-entry-{label}" in ipxe
    pxe = files.text("pxelinux.cfg/01-52-54-00-12-34-56").splitlines()
    assert pxe[2:6] == ["UI menu.c32", "PROMPT 0", "MENU TITLE pxetui boot menu", "TIMEOUT 0"]
    assert "ONTIMEOUT c" in pxe
    assert pxe.index("  MENU DEFAULT") == pxe.index("LABEL c") + 2
    grub = files.text("grub/grub.cfg-01-52-54-00-12-34-56").splitlines()
    assert "set default=c" in grub and "set timeout=-1" in grub
    assert [line for line in grub if line.startswith("menuentry")] == [
        "menuentry 'l' --id=l {",
        "menuentry 'c' --id=c {",
        "menuentry 'Boot from local disk' --id=local {",
    ]


def test_boot_ipxe_names_our_address_and_falls_back_to_default() -> None:
    """boot.ipxe: our IP literally, per-MAC script, other NICs in turn, then default.ipxe."""
    ctx = RenderContext(server=IPv4Address("192.0.2.7"), http_base="http://192.0.2.7:8080/")
    text = render_defaults(profile(LINUX), ctx).text("boot.ipxe")
    lines = text.splitlines()
    assert lines[0] == "#!ipxe"
    assert "set pxetui-base http://192.0.2.7:8080/ipxe" in lines
    assert "next-server}/" not in text  # never trust ${next-server} behind proxyDHCP
    per_mac = lines.index("chain --autofree ${pxetui-base}/${mac:hexhyp}.ipxe && exit 0 ||")
    other_nic = lines.index(
        "chain --autofree ${pxetui-base}/${net${pxetui-nic}/mac:hexhyp}.ipxe && exit 0 ||"
    )
    default = lines.index("chain --autofree ${pxetui-base}/default.ipxe || exit 1")
    assert per_mac < other_nic < default
    assert "isset ${net${pxetui-nic}/mac} || goto pxetui-default" in lines  # loop ends


def test_grub_dispatcher_derives_the_per_mac_name_without_e_guards() -> None:
    """grub/grub.cfg builds grub.cfg-01-<mac> from $net_default_mac and never uses -e."""
    text = render_defaults(profile(LINUX), CTX).text("grub/grub.cfg")
    assert "-e " not in text.replace("# No [ -e ]", "")
    assert "[ " not in text.replace("# No [ -e ]", "")
    regexp = next(line for line in text.splitlines() if line.startswith("regexp "))
    pattern = re.search(r"'(.*)'", regexp)
    assert pattern is not None
    # The same ERE, applied to GRUB's $net_default_mac spelling, yields the six octets.
    assert re.fullmatch(pattern.group(1).strip("^$"), "52:54:00:e2:e0:01") is not None
    configfiles = [line for line in text.splitlines() if line.startswith("configfile")]
    assert configfiles == [
        "configfile (tftp,10.250.77.1)/grub/grub.cfg-01-${pxetui_mac_hyp}",
        "configfile (tftp,10.250.77.1)/grub/grub.cfg-default",
    ]


def test_unknown_clients_get_loader_variables_for_the_mac() -> None:
    """In default files {mac} becomes the loader's own variable; pxelinux appends BOOTIF."""
    files = render_defaults(profile(LINUX, unknown="l"), CTX)
    assert "m=${mac} " in files.text("ipxe/default.ipxe")
    assert "m=${net_default_mac} " in files.text("grub/grub.cfg-default")
    assert "  IPAPPEND 2" in files.text("pxelinux.cfg/default").splitlines()


def test_http_kernel_is_handed_to_ipxe_by_pxelinux() -> None:
    """pxelinux.0 cannot fetch http://: it loads iPXE, which fetches the kernel."""
    entries = "  u:\n    kind: linux\n    kernel: http://mirror/vmlinuz\n"
    files = render_entry_for(profile(entries), CTX, MAC, "u")
    assert "  KERNEL ipxe.lkrn" in files.text("pxelinux.cfg/01-52-54-00-12-34-56")
    assert "kernel http://mirror/vmlinuz" in files.text("ipxe/52-54-00-12-34-56.ipxe")


def test_profile_text_cannot_inject_ipxe_commands_through_titles() -> None:
    """A description with || or ${…} is shown as text, not run by iPXE."""
    entries = "  x:\n    kind: local\n    description: 'a || shell ${x}'\n  m:\n    kind: menu\n"
    entries += "    items: [x]\n"
    script = render_entry_for(profile(entries), CTX, MAC, "m").text("ipxe/52-54-00-12-34-56.ipxe")
    assert "item x a __ shell _{x}" in script.splitlines()


def test_unknown_host_and_unknown_entry_are_render_errors() -> None:
    """render_host needs a listed host; render_entry_for needs a defined entry."""
    with pytest.raises(RenderError, match="not a host"):
        render_host(profile(LINUX), CTX, MAC)
    with pytest.raises(RenderError, match="'nope' is not a defined entry"):
        render_entry_for(profile(LINUX), CTX, MAC, "nope")
