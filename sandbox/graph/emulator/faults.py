"""Injected latency and failures: random (503, 504, dropped connection) and scripted (next N matches)."""
import random

from .errors import GraphError

FAULT_ERRORS = {
    429: ("TooManyRequests", "Too many requests (injected by the sandbox)."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable (injected by the sandbox)."),
    504: ("GatewayTimeout", "The gateway timed out (injected by the sandbox)."),
}
DROP = "drop"


def fault_error(status, retry_after_s=None, code=None, message=None):
    default_code, default_message = FAULT_ERRORS.get(status, ("InternalServerError", "Injected fault."))
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
    return GraphError(status, code or default_code, message or default_message, headers)


class Faults:
    def __init__(self, config):
        self.config = config
        self.rng = random.Random(config["seed"])
        self.scripted = []  # [{"status", "match", "method", "count", "retry_after", ...}]

    def reseed(self):
        self.rng = random.Random(self.config["seed"])

    def latency_s(self, authority=False):
        if authority:
            return self.config["authority_latency_ms"] / 1000
        jitter = self.config["latency_jitter_ms"]
        return (self.config["latency_ms"] + (self.rng.uniform(0, jitter) if jitter else 0)) / 1000

    def random_fault(self):
        """DROP, a GraphError, or None, by the configured rates (one draw per request)."""
        draw = self.rng.random()
        for outcome, rate_key in ((DROP, "rate_drop"), (503, "rate_503"), (504, "rate_504")):
            rate = float(self.config[rate_key])
            if draw < rate:
                return DROP if outcome == DROP else fault_error(outcome, self.config["fault_retry_after_s"])
            draw -= rate
        return None

    def add_scripted(self, rule):
        rule = {"match": "", "method": None, "count": 1, "retry_after": None, **rule}
        if rule.get("status") != DROP and not isinstance(rule.get("status"), int):
            raise ValueError("status must be an HTTP status code or \"drop\"")
        self.scripted.append(rule)
        return rule

    def scripted_fault(self, method, path):
        """Consume the first scripted rule matching this operation: DROP, a GraphError, or None."""
        for rule in self.scripted:
            if rule["match"].lower() in path.lower() and rule["method"] in (None, method):
                rule["count"] -= 1
                if rule["count"] <= 0:
                    self.scripted.remove(rule)
                if rule["status"] == DROP:
                    return DROP
                return fault_error(rule["status"], rule["retry_after"], rule.get("code"), rule.get("message"))
        return None
