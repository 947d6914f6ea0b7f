"""GRUB configs (UEFI): ``grub/grub.cfg`` dispatcher, ``grub.cfg-01-<mac>``, ``grub.cfg-default``.

Debian's signed ``grubnetx64.efi`` only sources ``$prefix/grub.cfg``, so that file is a
generic dispatcher deriving the per-MAC name from ``$net_default_mac``. ``[ -e (tftp)/f ]``
is always false in GRUB, so ``configfile`` is never guarded: a missing file is an error
GRUB prints and steps over, then the next line runs.

Kernels and initrds under our roots come over GRUB's HTTP (profile ``grub.files: http``,
the default), falling back to TFTP (our address literally) in the same menu entry when the
HTTP load fails; ``grub.files: tftp`` and shim hosts use TFTP only. GRUB's TFTP waits a
round trip per 1 KB block, its TCP keeps 8 KB in flight: the round trip rules on real
hardware (the issue: 58 MB in 9.5 s over TFTP, 0.6 s over HTTP); under QEMU TCG the emulated
cost per frame does, and HTTP's 536-byte segments (GRUB's SYN has no MSS option) make twice
the frames (README "Secure Boot"). A kernel given as an ``http://`` URL is fetched with
GRUB's ``http`` module
(``(http,<host>:<port>)/path``) — loaded from ``grub/x86_64-efi/http.mod``, which pxetui
installs from grub-efi-amd64-bin, since Debian's signed grubnetx64.efi has none built in —
and, when that fails (Secure Boot forbids loading modules), through iPXE; entries GRUB
cannot boot (``chain``, https kernels) chainload ``ipxe.efi``. A host that boots through
shim never chainloads ipxe.efi (Secure Boot refuses it): the entry says why instead, and
``check`` flags it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pxetui.core.render.context import RenderContext
from pxetui.core.render.handoff import IPXE_EFI
from pxetui.core.render.plan import Boot, ChainBoot, KernelBoot, LocalBoot, Plan, tftp_path

MAC_HYP_VAR = "pxetui_mac_hyp"  # exported by the dispatcher, used for {mac_hyp} in defaults


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _tftp(ctx: RenderContext, path: str) -> str:
    return f"(tftp,{ctx.server})/{tftp_path(path)}"


def grub_http(ctx: RenderContext, location: str) -> str | None:
    """``(http,<host>:<port>)/path`` for a kernel/initrd: our HTTP for paths under the roots,
    the URL's own server for http:// URLs; None when GRUB cannot fetch it over HTTP."""
    url = urlsplit(location if "://" in location else ctx.http_base)
    if url.scheme != "http" or not url.hostname or "@" in url.netloc:
        return None  # https (GRUB has no TLS), tftp://
    if "://" in location:
        return f"(http,{url.netloc})/{url.path.lstrip('/')}"
    path = "/".join(p for p in (url.path.strip("/"), tftp_path(location)) if p)
    return f"(http,{url.netloc})/{path}"


def grub_tftp(ctx: RenderContext, location: str) -> str | None:
    """``(tftp,<server>)/path``: our TFTP for paths under the root (our address literally),
    a tftp:// URL's server; None for http(s) URLs."""
    if "://" not in location:
        return _tftp(ctx, location)
    url = urlsplit(location)
    if url.scheme != "tftp" or not url.hostname or "@" in url.netloc:
        return None
    return f"(tftp,{url.hostname})/{url.path.lstrip('/')}"


def _load(kernel: str | None, initrds: list[str | None], cmdline: str) -> list[str] | None:
    if kernel is None or None in initrds:
        return None
    lines = [" ".join(["linux", kernel, cmdline]).rstrip()]
    if initrds:
        lines.append("initrd " + " ".join(str(i) for i in initrds))
    return lines


def _kernel_lines(boot: KernelBoot, ctx: RenderContext, secure: bool) -> list[str]:
    """Files under our roots over HTTP, else TFTP (``grub.files: tftp`` and shim hosts: TFTP
    only); an http:// URL over HTTP when GRUB has (or can load) its http module, else
    through iPXE (never for a shim host: Secure Boot refuses ipxe.efi)."""
    paths = (boot.kernel, *boot.initrds)
    tftp = _load(grub_tftp(ctx, boot.kernel), [grub_tftp(ctx, i) for i in paths[1:]], boot.cmdline)
    if tftp is not None and (secure or ctx.grub_files == "tftp"):
        return tftp
    http = _load(grub_http(ctx, boot.kernel), [grub_http(ctx, i) for i in paths[1:]], boot.cmdline)
    if tftp is not None:
        # grub.files: http. A GRUB without the http module (or a https base URL) gets TFTP.
        return tftp if http is None else _either(http, tftp)
    if secure:
        # Secure Boot: never hand over to the unsigned ipxe.efi (the firmware refuses it).
        fallback = [f"echo {_quote(SECURE_NO_HTTP)}", "sleep 10"]
    else:
        fallback = [
            "# needs iPXE: chainload it; it boots this entry's iPXE script",
            f"chainloader {_tftp(ctx, IPXE_EFI)}",
        ]
    return fallback if http is None else _either(http, fallback)


def _either(http: list[str], fallback: list[str]) -> list[str]:
    """The HTTP load, else *fallback*.

    Not `if insmod http`: under Secure Boot Debian's GRUB refuses the module ("prohibited
    by secure boot policy") and insmod still returns success. A kernel that does not load
    over HTTP is the test that holds everywhere.
    """
    return [
        f"if {http[0]}; then",
        *(f"  {line}" for line in http[1:]),
        "else",
        *(f"  {line}" for line in fallback),
        "fi",
    ]


SECURE_NO_HTTP = (
    "pxetui: this GRUB cannot fetch the kernel over HTTP under Secure Boot; "
    "serve it from pxetui's root (TFTP) instead"
)


SECURE_NO_CHAIN = "pxetui: a chain entry needs iPXE, which Secure Boot refuses"


def _menuentry(boot: Boot, ctx: RenderContext, secure: bool) -> list[str]:
    lines = [f"menuentry {_quote(boot.title)} --id={boot.name} {{"]
    if isinstance(boot, LocalBoot):
        lines.append("  exit")
    elif isinstance(boot, ChainBoot):
        if secure:
            lines.append(f"  echo {_quote(SECURE_NO_CHAIN)}")
        else:
            lines.append("  # needs iPXE: chainload it; it boots this entry's iPXE script")
            lines.append(f"  chainloader {_tftp(ctx, IPXE_EFI)}")
    else:
        lines.append(f"  echo {_quote('pxetui: loading ' + boot.title)}")
        lines += [f"  {line}" for line in _kernel_lines(boot, ctx, secure)]
    lines.append("}")
    return lines


def render_grub(plan: Plan, ctx: RenderContext, comment: str, secure: bool = False) -> bytes:
    """The GRUB config for one assigned entry (single boot, or a menu).

    *secure*: the host boots through shim (Secure Boot), so nothing chainloads ipxe.efi.
    """
    timeout = (plan.timeout if plan.timeout > 0 else -1) if plan.is_menu else 0
    lines = [f"# {comment}", "# generated by pxetui from the profile; edits are lost"]
    lines += [f"set default={plan.default}", f"set timeout={timeout}"]
    for boot in plan.boots:
        lines += _menuentry(boot, ctx, secure)
    return ("\n".join(lines) + "\n").encode()


def render_grub_dispatcher(ctx: RenderContext) -> bytes:
    """``grub/grub.cfg``: run ``grub.cfg-01-<mac>``, else ``grub.cfg-default``."""
    octet = "([0-9a-f][0-9a-f])"
    pattern = "^" + ":".join([octet] * 6) + "$"
    sets = " ".join(f"--set={i}:pxetui_m{i}" for i in range(1, 7))
    hyp = "-".join(f"${{pxetui_m{i}}}" for i in range(1, 7))
    prefix = f"(tftp,{ctx.server})/grub"
    lines = [
        "# pxetui GRUB dispatcher; generated, edits are lost.",
        "# Debian's grubnetx64.efi only sources $prefix/grub.cfg: pick the per-MAC file here.",
        "# No [ -e ] guard: it is always false on (tftp); a missing file just fails and",
        "# GRUB goes on with the next line.",
        f"regexp {sets} '{pattern}' \"${{net_default_mac}}\"",
        f'set {MAC_HYP_VAR}="{hyp}"',
        f"export {MAC_HYP_VAR}",
        f'echo "pxetui: ${{net_default_mac}} loads {prefix}/grub.cfg-01-${{{MAC_HYP_VAR}}}"',
        f"configfile {prefix}/grub.cfg-01-${{{MAC_HYP_VAR}}}",
        f"configfile {prefix}/grub.cfg-default",
    ]
    return ("\n".join(lines) + "\n").encode()
