"""Throttling as the Outlook service limits describe it for "Profile API / Photo".

Per app and mailbox: a request count per window (10,000 / 10 min) and at most N (4) requests
in flight; optionally a global per-app count per window. Fixed windows: simpler than sliding
ones and close enough for clients, which only have to honour Retry-After.
"""
import contextlib
import math
import time
from collections import defaultdict

from .errors import GraphError


def throttled(retry_after_s, code, message):
    return GraphError(429, code, message, {"Retry-After": str(max(1, int(math.ceil(retry_after_s))))})


class Throttle:
    def __init__(self, config):
        self.config = config
        self.windows = {}  # key -> [window start, admitted count]
        self.in_flight = defaultdict(int)

    def reset(self):
        self.windows.clear()
        self.in_flight.clear()

    def _count(self, key, limit, window_s, now):
        """Admit one more request in the key's window, or return the seconds until it reopens."""
        window = self.windows.get(key)
        if window is None or now - window[0] >= window_s:
            window = self.windows[key] = [now, 0]
        if window[1] >= limit:
            return window[0] + window_s - now
        window[1] += 1
        return None

    @contextlib.contextmanager
    def operation(self, app_id, mailbox_id):
        """Hold one operation slot; raises a 429 GraphError when a limit is exceeded."""
        limits, now = self.config.throttle, time.monotonic()
        if limits["app_requests"] > 0:
            wait = self._count(("app", app_id), limits["app_requests"], limits["app_window_s"], now)
            if wait is not None:
                raise throttled(wait, "TooManyRequests",
                                "Too many requests from this application; retry after the indicated time.")
        key = (app_id, mailbox_id)
        if mailbox_id is not None:
            if self.in_flight[key] >= limits["mailbox_concurrency"]:
                raise throttled(limits["concurrency_retry_after_s"], "ApplicationThrottled",
                                "Application is over its MailboxConcurrency limit.")
            wait = self._count(("mailbox",) + key, limits["mailbox_requests"], limits["mailbox_window_s"], now)
            if wait is not None:
                raise throttled(wait, "ApplicationThrottled", "Application is over its MailboxRequests limit.")
            self.in_flight[key] += 1
        try:
            yield
        finally:
            if mailbox_id is not None:
                self.in_flight[key] -= 1
                if not self.in_flight[key]:
                    del self.in_flight[key]
