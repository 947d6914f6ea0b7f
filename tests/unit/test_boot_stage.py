"""Which boot stage a requested file is, from the profile's entries and the layout."""

from __future__ import annotations

from pxetui.core.boot_stage import (
    EntryFiles,
    StageMap,
    classify_by_name,
    delivered,
    normalize,
    once_refusal,
)
from pxetui.core.profile.model import Profile

PROFILE = Profile.model_validate(
    {
        "entries": {
            "centos": {
                "kind": "linux",
                "kernel": "http://10.0.0.1:8080/images/centos/vmlinuz",
                "initrds": ["images/centos/initrd.img"],
            },
            "live": {"kind": "live", "kernel": "k", "initrds": ["i"], "image": "live/fs.sqsh"},
            "menu": {"kind": "menu", "items": ["centos", "live"]},
        }
    }
)


def test_request_paths_and_profile_urls_normalise_to_one_name() -> None:
    """Scheme, host, leading and doubled slashes and backslashes do not matter."""
    for raw in ("http://10.0.0.1:8080/images//vmlinuz", "/images/vmlinuz", "images\\vmlinuz"):
        assert normalize(raw) == "images/vmlinuz"


def test_profile_entries_name_kernels_initrds_and_images() -> None:
    """An entry's own files win over name guesses (an odd image name is still the image)."""
    stages = StageMap.from_profile(PROFILE)
    assert stages.classify("/images/centos/vmlinuz") == "kernel"
    assert stages.classify("images/centos/initrd.img") == "initrd"
    assert stages.classify("live/fs.sqsh") == "root_image"
    assert stages.entries_using("k") == frozenset({"live"})
    assert stages.needs("menu") == EntryFiles(
        "menu", items=("centos", "live"), default="centos", timeout=10
    )
    assert stages.needs("local") == EntryFiles("local")
    assert stages.needs("nope") is None


def test_layout_names_are_loaders_and_configs() -> None:
    """Loaders and per-MAC/default configs are known by their layout names."""
    assert [classify_by_name(n) for n in ("undionly.kpxe", "ipxe.efi", "ldlinux.c32")] == [
        "loader"
    ] * 3
    configs = ("boot.ipxe", "pxelinux.cfg/default", "ipxe/aa-bb.ipxe", "grub/grub.cfg-01-aa")
    assert {classify_by_name(n) for n in configs} == {"config"}
    assert classify_by_name("s390x/01-52-54-00-e2-e3-90") == "config"
    assert classify_by_name("other/vmlinuz-6.1") == "kernel"
    assert classify_by_name("notes.txt") == "other"


def test_delivery_needs_kernel_every_initrd_and_the_image() -> None:
    """Only the complete set counts; entries without a kernel are never delivered."""
    live = EntryFiles("live", "k", ("i1", "i2"), "fs")
    assert not delivered(live, {"k", "i1", "fs"})
    assert delivered(live, {"k", "i1", "i2", "fs", "extra"})
    assert not delivered(EntryFiles("local"), {"k"})


def test_entries_served_elsewhere_are_silent_to_the_tracker() -> None:
    """A kernel on someone else's server (or local) makes no request pxetui sees."""
    profile = Profile.model_validate(
        {
            "network": {"server": "10.0.0.1"},
            "entries": {
                "ours": {"kind": "linux", "kernel": "http://{server}:8080/k"},
                "ours2": {"kind": "linux", "kernel": "http://10.0.0.1:8080/k"},
                "theirs": {"kind": "linux", "kernel": "http://mirror.example/k"},
                "chain": {"kind": "chain", "url": "http://boot.example/x.ipxe"},
            },
        }
    )
    stages = StageMap.from_profile(profile)
    silent = {n for n, e in stages.entries.items() if e.silent}
    assert silent == {"theirs", "chain", "local"}


def test_once_is_refused_where_pxetui_could_never_see_the_boot_end() -> None:
    """A menu waiting for a person with a silent item, or files from another server: no once."""
    profile = Profile.model_validate(
        {
            "entries": {
                "k": {"kind": "linux", "kernel": "k"},
                "theirs": {"kind": "linux", "kernel": "http://mirror.example/k"},
                "waits": {"kind": "menu", "items": ["k", "local"], "timeout": 0},
                "times_out": {"kind": "menu", "items": ["k", "local"], "timeout": 5},
            }
        }
    )
    stages = StageMap.from_profile(profile)
    assert once_refusal(stages, "k") is None
    assert once_refusal(stages, "times_out") is None
    assert once_refusal(stages, "local") is None
    waits = once_refusal(stages, "waits")
    assert waits is not None and "timeout 0" in waits and "local" in waits
    theirs = once_refusal(stages, "theirs")
    assert theirs is not None and "server pxetui does not see" in theirs


def test_check_names_the_host_whose_once_could_never_end() -> None:
    """``pxetui check`` (profile_problems) refuses such a host, naming the field."""
    from ipaddress import IPv4Address

    from pxetui.core.profile.audit import profile_problems

    profile = Profile.model_validate(
        {
            "entries": {"waits": {"kind": "menu", "items": ["local"], "timeout": 0}},
            "hosts": {"52:54:00:00:00:01": {"entry": "waits", "once": True}},
        }
    )
    problems = profile_problems(profile, IPv4Address("10.0.0.1"))
    assert any("once: once cannot end for menu 'waits'" in p for p in problems), problems
