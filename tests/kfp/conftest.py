import builtins

import pytest


@pytest.fixture(autouse=True)
def _restore_print():
    """kfp.local swaps ``builtins.print`` for one that indents task output and never puts it
    back; keep that from leaking into the tests that run after these."""
    original = builtins.print
    yield
    builtins.print = original
