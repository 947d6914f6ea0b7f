"""The event bus: every engine fact goes to every subscriber, in order.

Producers (TFTP, HTTP, dnsmasq supervisor, store) call :meth:`EventBus.publish` from the
engine's event loop thread. Subscribers are plain callables and must be quick (append to a
queue, fold into state); a subscriber that raises is reported once and dropped, so one bad
consumer never stalls a transfer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pxetui.core.events import Event

Subscriber = Callable[[Event], None]
log = logging.getLogger(__name__)


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add *subscriber*; returns a function that removes it again."""
        self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: Event) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber %r failed; dropping it", subscriber)
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)
