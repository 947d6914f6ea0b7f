"""The lab console: pxetui's real console on the lab's engine, the VM's serial console beside it."""
