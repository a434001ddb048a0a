"""Counters for tests and benchmarks: what reached the emulator and what it answered."""
import collections
import time


def _endpoint_counter():
    return {"count": 0, "statuses": collections.Counter(), "bytes_in": 0, "bytes_out": 0}


class RequestLog:
    def __init__(self, recent=500):
        self.recent_size = recent
        self.reset()

    def reset(self):
        self.started = time.time()
        self.requests = 0  # HTTP requests (a $batch counts once)
        self.operations = 0  # Graph operations: direct requests plus batch items
        self.batch_items = 0
        self.throttled = 0
        self.bytes_in = self.bytes_out = 0
        self.by_endpoint = collections.defaultdict(_endpoint_counter)
        self.by_status = collections.Counter()
        self.by_app = collections.Counter()
        self.faults = collections.Counter()
        self.recent = collections.deque(maxlen=self.recent_size)

    def record(self, method, pattern, status, bytes_in=0, bytes_out=0, *, path="", app=None,
               operation=False, batch_item=False):
        if not batch_item:
            self.requests += 1
            self.bytes_in += bytes_in
            self.bytes_out += bytes_out
        if operation or batch_item:
            self.operations += 1
            if app:
                self.by_app[app] += 1
        self.batch_items += batch_item
        self.throttled += status == 429
        self.by_status[status] += 1
        endpoint = self.by_endpoint[f"{method} {pattern}"]
        endpoint["count"] += 1
        endpoint["statuses"][status] += 1
        endpoint["bytes_in"] += bytes_in
        endpoint["bytes_out"] += bytes_out
        self.recent.append({"time": round(time.time(), 3), "method": method, "path": path, "pattern": pattern,
                            "status": status, "app": app, "batch_item": batch_item})

    def record_fault(self, kind):
        self.faults[str(kind)] += 1

    def snapshot(self):
        return {
            "since": self.started, "requests": self.requests, "operations": self.operations,
            "batch_items": self.batch_items, "throttled": self.throttled, "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out, "by_status": {str(k): v for k, v in self.by_status.items()},
            "by_app": dict(self.by_app), "faults": dict(self.faults),
            "by_endpoint": {key: {**value, "statuses": {str(k): v for k, v in value["statuses"].items()}}
                            for key, value in sorted(self.by_endpoint.items())},
            "recent": list(self.recent),
        }
