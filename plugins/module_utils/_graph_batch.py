# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Microsoft Graph JSON batching ($batch), built by hand: msgraph-core's batch helpers break on binary bodies.

A batch carries at most 20 requests. Binary bodies travel base64 in both directions (a request item says so
with its Content-Type header). Every item is throttled on its own, and no SDK retries items: items answered
429 (or 503/504) are sent again in a later batch once their own Retry-After has passed (without one, after an
exponential backoff with jitter).

Graph runs up to 4 items of a batch at once, and each counts towards the app's concurrent requests: a
RequestBudget shared by batches and single requests keeps what is in flight within the app's limit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ansible_collections.m365.photos.plugins.module_utils._limits import (
    BATCH_PARALLELISM, GRAPH_RETRYABLE_STATUSES as RETRYABLE_STATUSES, MAX_BATCH_REQUESTS,
)

# Per item, after the first attempt: with Retry-After honoured, enough to ride out a throttling window.
ITEM_RETRIES = 6
# Without Retry-After: exponential backoff with jitter from this base.
BACKOFF_BASE_S = 1.0
MAX_DELAY_S = 60.0


@dataclass
class Item:
    """One Graph request to batch: url relative to the version root, e.g. /users/{id}/photo."""
    key: object
    method: str
    url: str
    headers: dict | None = None
    body: bytes | dict | None = None


@dataclass
class Answer:
    """One item's answer: status, headers, and the body (a dict for JSON, bytes otherwise, None when empty)."""
    status: int
    headers: dict = field(default_factory=dict)
    body: object = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        return next((str(value) for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def error_parts(self) -> tuple[str, str]:
        """(code, message) of a Graph error body, empty strings when there is none."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if not isinstance(error, dict):
            return "", ""
        return str(error.get("code") or ""), str(error.get("message") or "")


def build(items: list) -> dict:
    """The $batch request body for up to 20 items; their ids are their positions ("0", "1", ...)."""
    if not 0 < len(items) <= MAX_BATCH_REQUESTS:
        raise ValueError("a batch holds 1 to %d requests, not %d" % (MAX_BATCH_REQUESTS, len(items)))
    requests = []
    for number, item in enumerate(items):
        request = {"id": str(number), "method": item.method.upper(), "url": item.url}
        headers = dict(item.headers or {})
        if isinstance(item.body, (bytes, bytearray)):
            headers.setdefault("Content-Type", "application/octet-stream")
            request["body"] = base64.b64encode(item.body).decode("ascii")
        elif item.body is not None:
            headers.setdefault("Content-Type", "application/json")
            request["body"] = item.body
        if headers:
            request["headers"] = headers
        requests.append(request)
    return {"requests": requests}


def _answer(response: dict) -> Answer:
    headers = response.get("headers") or {}
    answer = Answer(status=int(response.get("status") or 0), headers=dict(headers))
    body = response.get("body")
    content_type = (answer.header("Content-Type") or "").split(";")[0].strip().lower()
    if body is None or body == "":
        answer.body = None
    elif isinstance(body, (dict, list)):
        answer.body = body
    elif content_type.endswith("json") or content_type.startswith("text/"):
        try:
            answer.body = json.loads(body)
        except ValueError:
            answer.body = str(body)
    else:
        # Binary bodies come back base64 inside the JSON.
        try:
            answer.body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError, TypeError):
            answer.body = str(body).encode()
    return answer


def parse(payload: dict | bytes | str, count: int) -> list:
    """The answers of a $batch response, in the order of its count items; an item without an answer gets
    status 0 (the service lost it, so it is worth sending again)."""
    if isinstance(payload, (bytes, bytearray, str)):
        payload = json.loads(payload or b"{}")
    answers: list = [None] * count
    for response in (payload or {}).get("responses") or []:
        try:
            position = int(response.get("id"))
        except (TypeError, ValueError):
            continue
        if 0 <= position < count:
            answers[position] = _answer(response)
    missing = {"error": {"code": "MissingBatchResponse", "message": "the $batch response has no answer for this item"}}
    return [answer or Answer(status=0, body=missing) for answer in answers]


def by_key(items: list, answers: list) -> dict:
    """{first part of an item's key: {second part: its answer}} for items keyed (index, kind)."""
    found: dict = {}
    for item, answer in zip(items, answers):
        index, kind = item.key
        found.setdefault(index, {})[kind] = answer
    return found


def retry_delay(answer: Answer, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before sending an item again: its Retry-After, else exponential backoff with jitter."""
    value = answer.header("Retry-After")
    if value is not None:
        try:
            return min(MAX_DELAY_S, max(0.0, float(value)))
        except ValueError:
            pass
    jitter = (rng or random).uniform(0, BACKOFF_BASE_S)
    return min(MAX_DELAY_S, BACKOFF_BASE_S * (2 ** (attempt - 1)) + jitter)


def is_retryable(answer: Answer) -> bool:
    return answer.status in RETRYABLE_STATUSES or answer.status == 0


class RequestBudget:
    """Requests in flight for one app, counted as the service counts them: a $batch as the items it runs at once.

    With a ceiling above the capacity the budget ramps up like TCP's slow start: the capacity doubles each time
    that many answers came back without a 429, up to the ceiling. The first 429 puts it back to where it started
    for the rest of the run.
    """

    def __init__(self, capacity: int, ceiling: int | None = None) -> None:
        self.capacity = self.start = max(1, capacity)
        self.ceiling = max(self.capacity, ceiling or 0)
        self.used = 0
        self.answered = 0
        self.changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, weight: int = 1):
        async with self.changed:
            await self.changed.wait_for(lambda: self.used + self._cost(weight) <= self.capacity)
            held = self._cost(weight)
            self.used += held
        try:
            yield
        finally:
            async with self.changed:
                self.used -= held
                self.changed.notify_all()

    def _cost(self, weight: int) -> int:
        return max(1, min(weight, self.capacity))

    def learn(self, answers: list) -> None:
        """Ramp up on answers that were not throttled; fall back to the start on a 429."""
        self.learn_statuses([answer.status for answer in answers])

    def learn_statuses(self, statuses: list) -> None:
        if 429 in statuses:
            self.capacity = self.ceiling = self.start
            return
        self.answered += len(statuses)
        if self.capacity < self.ceiling and self.answered >= self.capacity:
            self.capacity, self.answered = min(self.ceiling, self.capacity * 2), 0


def batch_weight(count: int) -> int:
    """Concurrent requests a $batch of count items costs the app."""
    return min(count, BATCH_PARALLELISM)


class BatchRunner:
    """Sends items in $batch requests within a RequestBudget (of concurrency, unless one is given to share with other
    requests), retrying throttled items.

    send(body) posts one $batch body and returns the parsed JSON response; it raises for a failed $batch
    request as a whole (the HTTP client retries those). Items keep their answers' order in run().
    """

    def __init__(self, send: Callable[[dict], Awaitable[dict]], concurrency: int, *,
                 retries: int = ITEM_RETRIES, sleep: Callable[[float], Awaitable] = asyncio.sleep,
                 rng: random.Random | None = None, budget: RequestBudget | None = None) -> None:
        self.send = send
        self.budget = budget or RequestBudget(concurrency)
        self.retries = retries
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.batches_sent = 0
        self.items_retried = 0

    async def run(self, items: list) -> list:
        """Answers for items, in their order. A batch that fails as a whole raises (the first such error)."""
        answers: list = [None] * len(items)
        pending = list(range(len(items)))
        attempt = 0
        while pending:
            attempt += 1
            groups = [pending[start:start + MAX_BATCH_REQUESTS] for start in range(0, len(pending), MAX_BATCH_REQUESTS)]
            outcomes = await asyncio.gather(*(self._send_group([items[i] for i in group]) for group in groups))
            retry, delay = [], 0.0
            for group, outcome in zip(groups, outcomes):
                for position, answer in zip(group, outcome):
                    answer.attempts = attempt
                    answers[position] = answer
                    if is_retryable(answer) and attempt <= self.retries:
                        retry.append(position)
                        delay = max(delay, retry_delay(answer, attempt, self.rng))
            if retry:
                self.items_retried += len(retry)
                await self.sleep(delay)
            pending = retry
        return answers

    async def _send_group(self, group: list) -> list:
        async with self.budget.hold(batch_weight(len(group))):
            self.batches_sent += 1
            answers = parse(await self.send(build(group)), len(group))
            self.budget.learn(answers)
            return answers
