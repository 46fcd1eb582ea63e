"""What can go wrong with a call, as the API and the desk report it."""

from __future__ import annotations

from casework.kernel.errors import Conflict, NotFound, PermissionDenied


class CallNotFound(NotFound):
    code = "call_not_found"


class CallNotYours(PermissionDenied):
    code = "call_not_yours"


class CallStillRunning(Conflict):
    code = "call_still_running"
