"""One home for what tests share: free ports, bounded waits that raise, profiles, namespaces.

Import from the modules (``from tests.helpers.wait import wait_for``); nothing here may
depend on ``../shared`` or on a test module.
"""
