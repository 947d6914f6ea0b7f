"""dnsmasq as pxetui's DHCP side: configuration, preflight checks, supervision, log parsing.

dnsmasq answers DHCP (proxy or full) and nothing else — TFTP is ours. The engine renders its
arguments from the profile (:mod:`.config`), checks the host before starting it
(:mod:`.preflight`), runs and restarts it (:mod:`.supervisor`) and turns its ``--log-dhcp``
lines into events (:mod:`.logparse`).
"""
