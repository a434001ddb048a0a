"""$batch bodies built by hand, answers parsed (binary bodies base64), throttled items retried after Retry-After."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_batch
from ansible_collections.m365.photos.plugins.module_utils._graph_batch import (
    Answer, BatchRunner, Item, RequestBudget, batch_weight,
)

JPEG = b"\xff\xd8\xff\xe0binary\x00\xffbody"


def test_build_numbers_items_and_sends_binary_bodies_as_base64():
    body = _graph_batch.build([
        Item("a", "get", "/users/alice@contoso.com?$select=id,userPrincipalName"),
        Item("b", "PUT", "/users/x/photo/$value", headers={"Content-Type": "image/jpeg"}, body=JPEG),
        Item("c", "PATCH", "/admin/people/photoUpdateSettings", body={"source": "cloud"}),
    ])
    requests = body["requests"]
    assert [request["id"] for request in requests] == ["0", "1", "2"]
    assert requests[0] == {"id": "0", "method": "GET", "url": "/users/alice@contoso.com?$select=id,userPrincipalName"}
    assert requests[1]["headers"] == {"Content-Type": "image/jpeg"}
    assert base64.b64decode(requests[1]["body"]) == JPEG
    assert requests[2]["body"] == {"source": "cloud"} and requests[2]["headers"]["Content-Type"] == "application/json"
    json.dumps(body)  # serialisable as it is


@pytest.mark.parametrize("count", [0, 21])
def test_build_refuses_an_empty_or_oversized_batch(count):
    with pytest.raises(ValueError):
        _graph_batch.build([Item(n, "GET", "/users/%d" % n) for n in range(count)])


def test_parse_orders_answers_decodes_binary_and_json_and_flags_missing_items():
    payload = {"responses": [
        {"id": "2", "status": 404, "headers": {"Content-Type": "application/json"},
         "body": {"error": {"code": "ImageNotFound", "message": "no photo"}}},
        {"id": "0", "status": 200, "headers": {"Content-Type": "image/jpeg"}, "body": base64.b64encode(JPEG).decode()},
        {"id": "9", "status": 200},  # not ours: ignored
    ]}
    answers = _graph_batch.parse(json.dumps(payload).encode(), 4)
    assert answers[0].status == 200 and answers[0].body == JPEG and answers[0].ok
    assert answers[1].status == 0 and _graph_batch.is_retryable(answers[1])
    assert answers[2].error_parts() == ("ImageNotFound", "no photo") and not answers[2].ok
    assert answers[3].status == 0


def test_parse_reads_json_bodies_sent_as_strings():
    payload = {"responses": [{"id": "0", "status": 200, "headers": {"content-type": "application/json; charset=utf-8"},
                              "body": json.dumps({"id": "u1"})}]}
    assert _graph_batch.parse(payload, 1)[0].body == {"id": "u1"}


def test_retry_delay_honours_retry_after_else_backs_off():
    assert _graph_batch.retry_delay(Answer(429, {"retry-after": "7"}), 1) == 7.0
    assert _graph_batch.retry_delay(Answer(429, {"Retry-After": "100000"}), 1) == _graph_batch.MAX_DELAY_S
    first = _graph_batch.retry_delay(Answer(503), 1)
    third = _graph_batch.retry_delay(Answer(503), 3)
    assert 1.0 <= first < 2.0 and 4.0 <= third < 5.0


class FakeGraph:
    """Answers $batch bodies: items whose url is in throttle are answered 429 (Retry-After) that many times."""

    def __init__(self, throttle: dict | None = None, retry_after: str | None = "2", delay_s: float = 0) -> None:
        self.throttle = dict(throttle or {})
        self.retry_after = retry_after
        self.delay_s = delay_s
        self.bodies = []
        self.in_flight = self.most_in_flight = 0

    async def send(self, body: dict) -> dict:
        self.bodies.append(body)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.delay_s)
        self.in_flight -= 1
        responses = []
        for request in body["requests"]:
            if self.throttle.get(request["url"], 0) > 0:
                self.throttle[request["url"]] -= 1
                headers = {"Retry-After": self.retry_after} if self.retry_after else {}
                responses.append({"id": request["id"], "status": 429, "headers": headers,
                                  "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}})
            else:
                responses.append({"id": request["id"], "status": 200, "headers": {"Content-Type": "application/json"},
                                  "body": {"url": request["url"]}})
        return {"responses": list(reversed(responses))}  # the service answers in any order


def run_items(graph: FakeGraph, items: list, **options):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)

    async def main():
        runner = BatchRunner(graph.send, options.pop("concurrency", 4), sleep=sleep, **options)
        return await runner.run(items), runner

    answers, runner = asyncio.run(main())
    return answers, runner, slept


def test_runner_sends_20_items_a_batch_and_keeps_the_order():
    graph = FakeGraph()
    items = [Item(n, "GET", "/users/u%d" % n) for n in range(45)]
    answers, runner, slept = run_items(graph, items, concurrency=2)
    assert [len(body["requests"]) for body in graph.bodies] == [20, 20, 5]
    assert [answer.body["url"] for answer in answers] == [item.url for item in items]
    assert runner.batches_sent == 3 and not slept
    assert graph.most_in_flight <= 2


def test_runner_retries_throttled_items_after_their_retry_after():
    graph = FakeGraph(throttle={"/users/u3": 2, "/users/u7": 1}, retry_after="3")
    items = [Item(n, "GET", "/users/u%d" % n) for n in range(10)]
    answers, runner, slept = run_items(graph, items)
    assert all(answer.ok for answer in answers)
    assert answers[3].attempts == 3 and answers[7].attempts == 2 and answers[0].attempts == 1
    assert slept == [3.0, 3.0]
    # Only the throttled items are sent again, together.
    assert [[request["url"] for request in body["requests"]] for body in graph.bodies[1:]] == [
        ["/users/u3", "/users/u7"], ["/users/u3"]]
    assert runner.items_retried == 3


def test_runner_backs_off_without_retry_after_and_gives_up_after_the_retries():
    graph = FakeGraph(throttle={"/users/u0": 100}, retry_after=None)
    answers, unused_runner, slept = run_items(graph, [Item(0, "GET", "/users/u0"), Item(1, "GET", "/users/u1")], retries=3)
    assert answers[0].status == 429 and answers[0].attempts == 4 and answers[1].ok
    assert len(slept) == 3 and slept[0] < slept[1] < slept[2]


def test_runner_raises_when_a_whole_batch_fails():
    async def send(body):
        raise RuntimeError("the batch itself failed")

    with pytest.raises(RuntimeError):
        asyncio.run(BatchRunner(send, 2).run([Item(0, "GET", "/users/u0")]))


def test_a_shared_budget_counts_a_batch_as_the_items_graph_runs_at_once():
    graph = FakeGraph()
    budget = RequestBudget(8)
    items = [Item(n, "GET", "/users/u%d" % n) for n in range(100)]

    async def main():
        runner = BatchRunner(graph.send, 99, budget=budget, sleep=lambda _: asyncio.sleep(0))
        return await runner.run(items)

    asyncio.run(main())
    assert graph.most_in_flight == 2  # five batches of 20, each costing 4 of the 8
    assert [batch_weight(n) for n in (1, 3, 4, 20)] == [1, 3, 4, 4]


def test_a_budget_never_lets_more_than_its_capacity_in_flight():
    budget, in_flight, most = RequestBudget(4), [0], [0]

    async def request(weight):
        async with budget.hold(weight):
            in_flight[0] += weight
            most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.001)
            in_flight[0] -= weight

    async def main():
        await asyncio.gather(*(request(weight) for weight in (4, 1, 1, 3, 2, 4, 1, 1)))

    asyncio.run(main())
    assert most[0] == 4


def answered(*statuses):
    return [Answer(status) for status in statuses]


def test_a_ramping_budget_doubles_while_nothing_is_throttled_and_falls_back_for_good_on_a_429():
    budget = RequestBudget(4, ceiling=16)
    budget.learn(answered(*[200] * 3))
    assert budget.capacity == 4  # fewer answers than its capacity so far
    budget.learn(answered(200, 404))  # answers that are not 429 count, whatever they say
    assert budget.capacity == 8
    for _round in range(3):
        budget.learn(answered(*[200] * 20))
    assert budget.capacity == 16  # never above its ceiling
    budget.learn(answered(200, 429))
    assert budget.capacity == 4
    budget.learn(answered(*[200] * 100))
    assert budget.capacity == 4  # the run stays at the strict start once throttled


def test_a_budget_without_a_ceiling_never_ramps():
    budget = RequestBudget(4)
    budget.learn(answered(*[200] * 100))
    assert budget.capacity == 4


def test_a_runner_on_a_ramping_budget_sends_more_batches_at_once_until_one_is_throttled():
    items = [Item(n, "GET", "/users/u%d/photo" % n) for n in range(400)]

    async def main(graph, budget):
        return await BatchRunner(graph.send, 4, budget=budget, sleep=lambda _: asyncio.sleep(0)).run(items)

    graph = FakeGraph(delay_s=0.002)
    assert all(answer.ok for answer in asyncio.run(main(graph, RequestBudget(4))))
    assert graph.most_in_flight == 1  # without a ceiling: one batch (4 items) at a time
    graph = FakeGraph(delay_s=0.002)
    assert all(answer.ok for answer in asyncio.run(main(graph, RequestBudget(4, ceiling=16))))
    assert graph.most_in_flight == 4  # ramped up to 16 items: four batches at once

    graph, budget = FakeGraph(throttle={"/users/u30/photo": 1}, delay_s=0.002), RequestBudget(4, ceiling=16)
    assert all(answer.ok for answer in asyncio.run(main(graph, budget)))
    assert budget.capacity == 4
