"""Pure, UI-free domain code: profiles, MACs, boot entries, renderers, events.

Nothing in here opens a socket, spawns a process or imports Textual.
"""
