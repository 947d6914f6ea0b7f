"""The lab console: a VM's serial console next to the pxetui events its boot caused."""
