"""The demo dashboard at ``/_sim/``: each system's state as its own staff would see it, the clock and a
live journal timeline.

Pages are rendered on the server from the documented control-plane GET endpoints (dispatched in-process,
so the page shows exactly what ``/_sim`` answers); a small static script drives the remote side's actions
through the same documented endpoints with ``fetch()`` and re-renders the view after each one.
"""

from __future__ import annotations

from .views import dashboard

__all__ = ["dashboard"]
