"""Makes the harness's fixtures available to every system test."""

from tests.system.harness import bensys_up

__all__ = ["bensys_up"]
