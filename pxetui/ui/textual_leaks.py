"""Two places where Textual keeps what the console no longer shows, and how we let go.

Measured by opening and closing the assign, detail and help screens 10 times each with 100
clients, counting live objects after a full collection: +94,000 objects (450 dead footer
keys, 800 styles caches) without these; +15,000 with them, Textual's bounded caches — the
same after 30 times each. (A closed detail screen also lives on until its last request's
timeout would have fired: asyncio keeps the cancelled timer, and with it the worker's
context, till then. That ends by itself.) Pinned by tests/ui/test_textual_leaks.py.

* ``Footer`` recomposes its keys whenever the bindings change (every screen switch) and each
  new key binds its ``compact`` to the footer's (``data_bind``): a watcher on the footer that
  refers to the key. Textual prunes those watchers only when ``compact`` changes, which it
  never does here, so every key ever shown stayed alive. :class:`ConsoleFooter` drops the
  watchers of nodes no longer in the DOM after each recompose.
* ``StylesCache.get_inner_outer`` is an ``lru_cache`` on a method: its 1,024 entries keep the
  styles cache (and its rendered lines) of the last 1,024 widgets, closed dialogs' included.
  :func:`drop_styles_caches` empties it when the main screen is shown again.
"""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.widgets import Footer


class ConsoleFooter(Footer):
    """Textual's footer, without a watcher (and a dead key) per key ever shown, and without
    rebuilding its keys when the keys it would show are the ones it shows (back on the main
    screen from a dialog: ~7 % of the console's time under a 5,000 events/s stream went to
    footer rebuilds)."""

    _shown: tuple[object, ...] | None = None

    def _keys(self) -> tuple[object, ...] | None:
        """What the footer would show now (None: not ready to say)."""
        if not self._bindings_ready or not self.is_attached:
            return None
        active = self.screen.active_bindings.values()
        return (
            self.compact,
            self.show_command_palette,
            *((b.key, b.action, b.description, on, tip) for _, b, on, tip in active if b.show),
        )

    async def recompose(self) -> None:
        keys = self._keys()
        if keys is not None and keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
        watchers = getattr(self, "__watchers", None)  # Textual's per-object watcher lists
        if not isinstance(watchers, dict):
            return
        for entries in watchers.values():
            entries[:] = [
                (node, callback) for node, callback in entries if getattr(node, "is_attached", True)
            ]


def drop_styles_caches() -> None:
    """Empty Textual's per-method cache that holds widgets' styles caches alive."""
    cache_clear = getattr(getattr(StylesCache, "get_inner_outer", None), "cache_clear", None)
    if callable(cache_clear):
        cache_clear()
