"""Throttling as the Outlook service limits describe it for "Profile API / Photo".

Per app and mailbox: a request count per window (10,000 / 10 min), at most N (4) requests in
flight and uploaded bytes per window (150 MB / 5 min); optionally a global per-app count per
window and at most N requests in flight per app whatever the mailbox. Fixed windows: simpler than sliding
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
        key, app_key = (app_id, mailbox_id), ("app", app_id)
        app_limit = limits["app_concurrency"] if mailbox_id is not None else 0
        if app_limit > 0 and self.in_flight[app_key] >= app_limit:
            raise throttled(limits["concurrency_retry_after_s"], "ApplicationThrottled",
                            "Application is over its MailboxConcurrency limit.")
        if mailbox_id is not None:
            if self.in_flight[key] >= limits["mailbox_concurrency"]:
                raise throttled(limits["concurrency_retry_after_s"], "ApplicationThrottled",
                                "Application is over its MailboxConcurrency limit.")
            wait = self._count(("mailbox",) + key, limits["mailbox_requests"], limits["mailbox_window_s"], now)
            if wait is not None:
                raise throttled(wait, "ApplicationThrottled", "Application is over its MailboxRequests limit.")
        held = ([key] if mailbox_id is not None else []) + ([app_key] if app_limit > 0 else [])
        for slot in held:
            self.in_flight[slot] += 1
        try:
            yield
        finally:
            for slot in held:
                self.in_flight[slot] -= 1
                if not self.in_flight[slot]:
                    del self.in_flight[slot]

    def charge_upload(self, app_id, mailbox_id, size):
        """Count an upload's bytes in its app and mailbox's window, or raise a 429 when they would exceed it."""
        limits, now = self.config.throttle, time.monotonic()
        window = self.windows.get(("upload", app_id, mailbox_id))
        if window is None or now - window[0] >= limits["upload_window_s"]:
            window = self.windows[("upload", app_id, mailbox_id)] = [now, 0]
        if window[1] + size > limits["upload_bytes"]:
            raise throttled(window[0] + limits["upload_window_s"] - now, "ApplicationThrottled",
                            "Application is over its MailboxUploadSize limit.")
        window[1] += size
