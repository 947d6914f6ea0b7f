"""A transfer's retransmit timeout: RFC 6298 smoothing of send-to-ACK times, with back-off.

The base (1 s, or the client's negotiated ``timeout``) until the first RTT sample; then
``srtt + 4·rttvar`` kept between ``min_rto`` and the base, so a lost ACK on a fast LAN costs a
tenth of a second instead of a full second. Each retransmission without progress doubles it,
up to eight times the base. The smoothed RTT is also what the server remembers per client to
size the window it offers next time (see :mod:`.window`).
"""

from __future__ import annotations

# Never retransmit sooner than this, however fast the path measured.
MIN_RTO = 0.1


class RetransmitTimeout:
    """RTT estimate and back-off of one transfer."""

    __slots__ = ("base", "min_rto", "rttvar", "srtt", "tries")

    def __init__(self, base: float, min_rto: float = MIN_RTO) -> None:
        self.base = base
        self.min_rto = min(min_rto, base)
        self.srtt = -1.0  # smoothed round-trip time; < 0 until the first sample
        self.rttvar = 0.0
        self.tries = 0  # retransmissions since the last progress

    def sample(self, rtt: float) -> bool:
        """Fold in one RTT sample; True if it was the first (the timer may be shortened)."""
        if self.srtt < 0:
            self.srtt, self.rttvar = rtt, rtt / 2
            return True
        self.rttvar += (abs(rtt - self.srtt) - self.rttvar) * 0.25
        self.srtt += (rtt - self.srtt) * 0.125
        return False

    def current(self) -> float:
        """The timeout now, back-off included."""
        base = self.base
        if self.srtt < 0:
            rto = base
        else:
            rto = self.srtt + 4 * self.rttvar
            rto = self.min_rto if rto < self.min_rto else (base if rto > base else rto)
        return float(min(rto * (1 << self.tries), base * 8))

    def give_up_after(self, max_retries: int) -> float:
        """Seconds without progress before the transfer is abandoned: as long as
        *max_retries* back-offs from the base take (1 s: 1+2+4+8+8 = 23 s), however short the
        adaptive timeout is — a client merely slow for a few seconds must not be dropped."""
        base = self.base
        return sum(min(base * (1 << i), base * 8) for i in range(max_retries))
