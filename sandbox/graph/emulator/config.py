"""Run-time settings: defaults, loading from a JSON file, and partial updates (admin API)."""
import copy
import json

DEFAULTS = {
    # Added to every Graph request (asyncio sleep, never blocks other requests).
    "latency_ms": 0,
    "latency_jitter_ms": 0,
    "authority_latency_ms": 0,
    # Fault injection on Graph requests, as probabilities 0..1 per HTTP request.
    "rate_503": 0.0,
    "rate_504": 0.0,
    "rate_drop": 0.0,
    "fault_retry_after_s": None,  # Retry-After on injected 503/504; None = no header
    "seed": None,  # makes faults and jitter deterministic
    "throttle": {
        # Outlook service limits that list "Profile API / Photo", per app and mailbox.
        "mailbox_requests": 10000,
        "mailbox_window_s": 600,
        "mailbox_concurrency": 4,
        # Global per-app limit; 0 = off (the real one, 130,000 / 10 s, is never reached here).
        "app_requests": 0,
        "app_window_s": 10,
        "concurrency_retry_after_s": 1,
        # Strict readings (docs/sandbox.md): 4 in flight per app whatever the mailbox (0 = off); uploads per
        # app and mailbox: 150 MB per 5 minutes.
        "app_concurrency": 0,
        "upload_bytes": 150 * 1024 * 1024,
        "upload_window_s": 300,
    },
    # Items of one $batch run at most this many at once; the share of 429s answered without Retry-After.
    "batch_parallelism": 4,
    "retry_after_omit_rate": 0.0,
    # Reads serve the photo (and ETag) from before a PUT or DELETE for this long.
    "write_visibility_delay_s": 0,
    # GET /users/{id} needs User.Read.All, User.ReadWrite.All or Directory.Read*.All.
    "require_user_read_permission": True,
    # A PATCH of photoUpdateSettings is enforced this many seconds later; a plain subject mismatch of a
    # federated token answers AADSTS700213 or (the other wording Microsoft uses) 7002137.
    "policy_delay_s": 0,
    "federated_subject_error": 700213,
    "max_upload_bytes": 4 * 1024 * 1024,
    "min_photo_px": 48,
    "accepted_photo_content_types": ["image/jpeg"],
    "jpeg_quality": 85,
    "delete_missing_photo_status": 404,
    # variants.py: "exchange" (square sizes) or "entra" (own dimensions); "ImageNotFound", "ErrorEntityNotFound", "1x1".
    "photo_store": "exchange",
    "no_photo_answer": "ImageNotFound",
    "batch_max_requests": 20,
    # Paged lists (GET /users, transitiveMembers): the page size without $top (Microsoft's default for users),
    # and the most one page holds whatever $top asks (999 in Graph; lower it to page small tenants).
    "page_size_default": 100,
    "page_size_max": 999,
    "token_lifetime_s": 3600,
    "graph_audience": "https://graph.microsoft.com",
}


class ConfigError(ValueError):
    pass


def merge(target, update, path=""):
    """Deep-merge `update` into `target`, refusing keys the defaults do not know."""
    for key, value in update.items():
        if key not in target:
            raise ConfigError(f"unknown setting '{path}{key}'")
        if isinstance(target[key], dict):
            if not isinstance(value, dict):
                raise ConfigError(f"setting '{path}{key}' must be an object")
            merge(target[key], value, f"{path}{key}.")
        else:
            target[key] = value


class Config:
    def __init__(self, overrides=None):
        self.values = copy.deepcopy(DEFAULTS)
        self.listeners = []
        if overrides:
            self.update(overrides)

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as handle:
            return cls(json.load(handle))

    def update(self, changes):
        candidate = copy.deepcopy(self.values)
        merge(candidate, changes)
        self.values = candidate
        for listener in self.listeners:
            listener(self)

    def reset(self, overrides=None):
        self.values = copy.deepcopy(DEFAULTS)
        if overrides:
            merge(self.values, overrides)
        for listener in self.listeners:
            listener(self)

    def __getitem__(self, key):
        return self.values[key]

    @property
    def throttle(self):
        return self.values["throttle"]
