"""The one error a profile can raise: every problem at once, each as ``file:line: field: why``."""

from __future__ import annotations


class ProfileError(ValueError):
    """A profile that cannot be used, with every problem found (not just the first).

    ``errors`` holds lines like
    ``lab.yaml:14: hosts.52:54:00:12:34:56.entry: 'centos' is not a defined entry`` so an
    operator can fix the whole file in one pass.
    """

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in profile"
        super().__init__("\n".join([head, *self.errors]))
