"""Broadcaster webhooks on real parts: a real HTTP receiver on loopback, the real Celery worker,
the catalog database, the reconciler. No mocks."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog import webhooks
from catalog.models import Broadcaster, WebhookDelivery, utcnow
from infra.core.database import session_scope
from infra.core.errors import BadRequest, NotFound
from infra.core.queue import send_webhook, worker_queues
from infra.core.settings import JobSettings
from tests.conftest import RUN_ID, end, purge, side_broker, spawn
from workers.context import build_context
from workers.reconciler import reconcile_once
from workers.webhooks import deliver

pytestmark = [pytest.mark.integration, pytest.mark.broker]


# -- a real receiver -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    """Records every POST and answers with the next scripted status (200 once they run out)."""

    daemon_threads = True

    def __init__(self, statuses: list[int] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else 200

    def wait_for(self, count: int, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {len(self.received)} of {count} requests")


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = self.server.answer(Received(self.path, dict(self.headers.items()), body))
        answer = b'{"ok":true}' if status < 300 else b"receiver is having a bad day\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- helpers -------------------------------------------------------------------------------------


def loopback_allowed(config):
    """The receivers here listen on loopback: an operator's explicit allowance."""
    return config.model_copy(
        update={"api": config.api.model_copy(update={"webhook_private_hosts": True})}
    )


def broadcaster(sessions, name: str) -> str:
    with session_scope(sessions) as session:
        row = Broadcaster(name=f"{name} {RUN_ID} {uuid.uuid4().hex[:6]}", territories=["GB"])
        session.add(row)
        session.flush()
        return row.id


def webhook(sessions, broadcaster_id: str, url: str, topics) -> tuple[str, str]:
    with session_scope(sessions) as session:
        hook, secret = webhooks.create_webhook(broadcaster_id, url, topics, session=session)
        return hook.id, secret


def notify(sessions, topic: str, data: dict, broadcaster_ids) -> list[str]:
    with session_scope(sessions) as session:
        return webhooks.notify(topic, data, session=session, broadcaster_ids=broadcaster_ids)


def delivery(sessions, delivery_id: str) -> WebhookDelivery:
    with session_scope(sessions) as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        return row


def wait_for_status(sessions, delivery_id: str, status: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = delivery(sessions, delivery_id)
        if row.status == status:
            return row
        time.sleep(0.1)
    raise AssertionError(f"delivery {delivery_id} is {row.status} ({row.error}), not {status}")


def remove(sessions, *webhook_ids: str) -> None:
    with session_scope(sessions) as session:
        for webhook_id in webhook_ids:
            webhooks.delete_webhook(webhook_id, session=session, broadcaster_id=None)


# -- through the real worker ---------------------------------------------------------------------


def test_a_delivery_through_the_worker_arrives_signed_with_the_exact_body(
    embedded, sessions, worker, receiver
):
    owner = broadcaster(sessions, "signed")
    hook_id, secret = webhook(sessions, owner, receiver.url + "/hooks/vantage", ["replay.ready"])
    data = {"replay_id": "r-1", "event": "Cup final \u2013 2nd leg", "angles": [2, 1], "ok": True}
    [delivery_id] = notify(sessions, "replay.ready", data, [owner])
    send_webhook(embedded, delivery_id)

    [request] = receiver.wait_for(1)
    sent = wait_for_status(sessions, delivery_id, "delivered")
    envelope = {
        "id": delivery_id,
        "topic": "replay.ready",
        "created_at": sent.payload["created_at"],
        "data": data,
    }
    assert request.body == json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()
    assert json.loads(request.body) == envelope
    assert request.path == "/hooks/vantage"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "Vantage-Webhooks/1"
    assert request.headers["Vantage-Delivery"] == delivery_id
    assert request.headers["Vantage-Topic"] == "replay.ready"
    signature = request.headers["Vantage-Signature"]
    assert webhooks.verify(secret, signature, request.body, now=time.time())
    assert not webhooks.verify(secret + "x", signature, request.body, now=time.time())
    assert (sent.attempts, sent.response_status, sent.error) == (1, 200, None)
    assert sent.delivered_at is not None and sent.next_attempt_at is None

    # A second copy of the task (a redelivered message) leaves a finished delivery alone.
    send_webhook(embedded, delivery_id)
    assert deliver(delivery_id, build_context(embedded)) is None
    time.sleep(1)
    assert len(receiver.received) == 1
    assert delivery(sessions, delivery_id).attempts == 1
    remove(sessions, hook_id)


def test_a_receiver_failing_twice_gets_the_delivery_on_the_third_attempt(
    embedded, sessions, receiver
):
    receiver.statuses = [500, 500, 200]
    ctx = build_context(
        loopback_allowed(embedded).model_copy(update={"jobs": JobSettings(retry_base_s=0.2)})
    )
    owner = broadcaster(sessions, "flaky")
    hook_id, secret = webhook(sessions, owner, receiver.url, ["asset.new"])
    [delivery_id] = notify(sessions, "asset.new", {"asset_id": "a-1"}, [owner])

    countdowns = []
    countdown = deliver(delivery_id, ctx)
    first = delivery(sessions, delivery_id)
    assert (first.status, first.attempts, first.response_status) == ("pending", 1, 500)
    # The status is kept, never the receiver's answer (it could be anything it was tricked into).
    assert first.error == "HTTP 500" and first.response_status == 500
    assert deliver(delivery_id, ctx) is None  # not due yet: nothing is sent
    assert len(receiver.received) == 1
    while countdown is not None:
        countdowns.append(countdown)
        time.sleep(countdown)
        countdown = deliver(delivery_id, ctx)

    assert countdowns == [pytest.approx(0.2, abs=0.05), pytest.approx(0.4, abs=0.05)]
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    assert {r.headers["Vantage-Delivery"] for r in requests} == {delivery_id}
    assert len({r.body for r in requests}) == 1
    for request in requests:  # every attempt is signed afresh, and verifies
        assert webhooks.verify(
            secret, request.headers["Vantage-Signature"], request.body, now=time.time()
        )
    done = delivery(sessions, delivery_id)
    assert (done.status, done.attempts, done.response_status, done.error) == (
        "delivered",
        3,
        200,
        None,
    )
    with session_scope(sessions) as session:
        listed = webhooks.list_deliveries(hook_id, session=session, limit=10)
        assert [d.id for d in listed] == [delivery_id]
    remove(sessions, hook_id)


def test_an_unreachable_url_ends_failed_after_its_attempts_through_the_worker(
    embedded, sessions, monkeypatch
):
    """A worker of its own (queues of its own) with three attempts a short backoff apart:
    the task schedules each next attempt itself until the attempts are spent."""
    monkeypatch.setenv("VANTAGE_JOBS__RETRY_BASE_S", "0.2")
    monkeypatch.setenv("VANTAGE_API__WEBHOOK_ATTEMPTS", "3")
    side = side_broker(loopback_allowed(embedded), "webhooks")
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker"]
    argv += ["-Q", worker_queues(side, "analysis")]
    argv += ["-c", "1", "-n", f"webhooks-{RUN_ID}@%h", "--without-gossip", "--without-mingle"]
    side_worker = spawn(argv, side, side.home / "webhooks-worker.log")
    try:
        owner = broadcaster(sessions, "unreachable")
        url = f"http://127.0.0.1:{closed_port()}/hook"
        hook_id, _ = webhook(sessions, owner, url, ["feed.live"])
        [delivery_id] = notify(sessions, "feed.live", {"feed_id": "f-1"}, [owner])
        send_webhook(side, delivery_id)
        failed = wait_for_status(sessions, delivery_id, "failed", timeout=90)
    finally:
        end(side_worker)
        purge(side)
    assert failed.attempts == 3
    assert failed.response_status is None
    assert failed.error is not None and failed.error.startswith("ConnectError")
    assert failed.next_attempt_at is None and failed.delivered_at is None
    remove(sessions, hook_id)


def test_the_reconciler_sends_a_delivery_whose_task_was_lost_once(
    embedded, sessions, worker, receiver
):
    owner = broadcaster(sessions, "lost task")
    hook_id, secret = webhook(sessions, owner, receiver.url, ["replay.ready"])
    [delivery_id] = notify(sessions, "replay.ready", {"replay_id": "r-2"}, [owner])
    # Never sent: as if the process that made it died before its commit was followed up.
    assert delivery_id not in reconcile_once(embedded, sessions).webhooks  # not overdue yet
    with session_scope(sessions) as session:
        row = session.get(WebhookDelivery, delivery_id)
        row.created_at = utcnow() - timedelta(minutes=10)
    assert delivery_id in reconcile_once(embedded, sessions).webhooks
    [request] = receiver.wait_for(1)
    assert webhooks.verify(
        secret, request.headers["Vantage-Signature"], request.body, now=time.time()
    )
    wait_for_status(sessions, delivery_id, "delivered")
    assert delivery_id not in reconcile_once(embedded, sessions).webhooks
    time.sleep(1)
    assert len(receiver.received) == 1
    remove(sessions, hook_id)


# -- the catalog ---------------------------------------------------------------------------------


def test_notify_owes_only_subscribed_active_webhooks_of_the_given_broadcasters(embedded, sessions):
    nowhere = f"http://127.0.0.1:{closed_port()}/hook"
    a, b, c = (broadcaster(sessions, name) for name in ("notify A", "notify B", "notify C"))
    a_replays, _ = webhook(sessions, a, nowhere, ["replay.ready"])
    a_assets, _ = webhook(sessions, a, nowhere, ["asset.new"])
    a_off, _ = webhook(sessions, a, nowhere, ["replay.ready", "feed.live"])
    b_all, _ = webhook(sessions, b, nowhere, list(webhooks.TOPICS))
    c_replays, _ = webhook(sessions, c, nowhere, ["replay.ready"])
    with session_scope(sessions) as session:
        webhooks.get_webhook(a_off, session=session, broadcaster_id=a).active = False

    ids = notify(sessions, "replay.ready", {"replay_id": "r-3"}, [a, b, a])
    assert len(ids) == 2
    with session_scope(sessions) as session:
        rows = [session.get(WebhookDelivery, i) for i in ids]
        assert {row.webhook_id for row in rows} == {a_replays, b_all}
        for row in rows:
            assert (row.status, row.attempts, row.topic) == ("pending", 0, "replay.ready")
            assert row.payload["id"] == row.id and row.payload["topic"] == "replay.ready"
            assert row.payload["data"] == {"replay_id": "r-3"}
            assert row.payload["created_at"].startswith(str(utcnow().year))
        due = webhooks.due_deliveries(session=session, now=utcnow(), limit=10_000)
        assert set(ids) <= set(due)
        assert not set(ids) & set(
            webhooks.due_deliveries(session=session, now=utcnow() - timedelta(minutes=5))
        )
    assert notify(sessions, "feed.live", {"feed_id": "f-2"}, [c]) == []
    assert notify(sessions, "replay.ready", {}, []) == []
    with pytest.raises(BadRequest), session_scope(sessions) as session:
        webhooks.notify("replay.deleted", {}, session=session, broadcaster_ids=[a])
    remove(sessions, a_replays, a_assets, a_off, b_all, c_replays)
    with session_scope(sessions) as session:
        assert all(session.get(WebhookDelivery, i) is None for i in ids)


def test_a_webhook_is_invisible_to_other_broadcasters(embedded, sessions):
    a, b = broadcaster(sessions, "owner A"), broadcaster(sessions, "other B")
    hook_id, secret = webhook(sessions, a, "https://rhb-a.example/hooks", ["asset.new"])
    other_id, other_secret = webhook(sessions, a, "http://rhb-a.example:8080/x", ["feed.live"])
    assert secret.startswith("whsec_") and len(secret) > 40 and secret != other_secret
    with session_scope(sessions) as session:
        with pytest.raises(NotFound, match="no webhook"):
            webhooks.get_webhook(hook_id, session=session, broadcaster_id=b)
        with pytest.raises(NotFound, match="no webhook"):
            webhooks.delete_webhook(hook_id, session=session, broadcaster_id=b)
        with pytest.raises(NotFound):
            webhooks.get_webhook(str(uuid.uuid4()), session=session, broadcaster_id=a)
        assert webhooks.get_webhook(hook_id, session=session, broadcaster_id=a).topics == [
            "asset.new"
        ]
        assert webhooks.get_webhook(hook_id, session=session, broadcaster_id=None).id == hook_id
        assert [w.id for w in webhooks.list_webhooks(a, session=session)] == [hook_id, other_id]
        assert webhooks.list_webhooks(b, session=session) == []
    with session_scope(sessions) as session:
        webhooks.delete_webhook(hook_id, session=session, broadcaster_id=a)
    with session_scope(sessions) as session:
        assert [w.id for w in webhooks.list_webhooks(a, session=session)] == [other_id]
    remove(sessions, other_id)


@pytest.mark.parametrize(
    ("url", "topics"),
    [
        ("ftp://rhb.example/hook", ["asset.new"]),
        ("http://", ["asset.new"]),
        ("rhb.example/hook", ["asset.new"]),
        ("http://rhb.example:99999/hook", ["asset.new"]),
        ("http://rhb.example/a b", ["asset.new"]),
        ("https://rhb.example/hook", ["asset.deleted"]),
        ("https://rhb.example/hook", []),
        ("https://rhb.example/hook", "asset.new"),
    ],
)
def test_a_bad_url_or_topic_is_refused(embedded, sessions, url, topics):
    owner = broadcaster(sessions, "refused")
    with pytest.raises(BadRequest), session_scope(sessions) as session:
        webhooks.create_webhook(owner, url, topics, session=session)
    with session_scope(sessions) as session:
        assert webhooks.list_webhooks(owner, session=session) == []
        with pytest.raises(NotFound):
            webhooks.create_webhook(
                str(uuid.uuid4()), "https://rhb.example/", ["asset.new"], session=session
            )


# -- where deliveries may go ---------------------------------------------------------------------


def test_a_delivery_to_an_inward_address_is_refused_without_connecting(
    embedded, sessions, receiver
):
    """The subscription was checked once; the delivery checks again, at the address it would
    connect to: a name (or an address) that is inward now is never reached, even though a
    receiver is listening right there."""
    ctx = build_context(embedded)  # the default: private addresses refused
    assert ctx.settings.api.webhook_private_hosts is False
    owner = broadcaster(sessions, "rebinding")
    port = receiver.server_address[1]
    targets = [f"http://127.0.0.1:{port}/hook", f"http://[::ffff:127.0.0.1]:{port}/hook"]
    try:
        inward_name = socket.gethostname()
        if not ipaddress.ip_address(socket.gethostbyname(inward_name)).is_global:
            targets.append(f"http://{inward_name}:{port}/hook")  # resolves inward: rebinding
    except OSError:
        pass
    for url in targets:
        with session_scope(sessions) as session:  # as if its name had resolved outward once
            hook, _ = webhooks.create_webhook(owner, url, ["feed.live"], session=session)
            hook_id = hook.id
        [delivery_id] = notify(sessions, "feed.live", {"feed_id": "f-1"}, [owner])
        deliver(delivery_id, ctx)
        row = delivery(sessions, delivery_id)
        assert row.response_status is None and row.attempts == 1
        assert row.error is not None and row.error.startswith("refused: "), row.error
        assert "not an internet address" in row.error
        remove(sessions, hook_id)
    time.sleep(0.5)
    assert receiver.received == []


def test_a_delivery_connects_to_the_address_it_checked(embedded, sessions, receiver):
    """Pinned: the connection goes to the address resolved and checked, and the receiver sees
    its own name in Host."""
    from infra.core.addresses import pin

    url = f"http://localhost:{receiver.server_address[1]}/pinned?x=1"
    target = pin(url, allow_private=True)
    assert target.addresses and all(a.is_loopback for a in target.addresses)
    assert all(u.endswith("/pinned?x=1") and "localhost" not in u for u in target.urls)
    assert target.host_header == f"localhost:{receiver.server_address[1]}"
    owner = broadcaster(sessions, "pinned")
    hook_id, _ = webhook(sessions, owner, url, ["feed.live"])
    [delivery_id] = notify(sessions, "feed.live", {"feed_id": "f-1"}, [owner])
    deliver(delivery_id, build_context(loopback_allowed(embedded)))
    [request] = receiver.wait_for(1)
    assert request.path == "/pinned?x=1"
    assert request.headers["Host"] == f"localhost:{receiver.server_address[1]}"
    assert delivery(sessions, delivery_id).status == "delivered"
    remove(sessions, hook_id)


# -- signing and backoff (pure) ------------------------------------------------------------------


def test_a_signature_is_the_documented_hmac_and_verify_refuses_tampering_and_staleness():
    secret, body, now = "whsec_test", b'{"id":"d-1","topic":"asset.new"}', int(time.time())
    header = webhooks.sign(secret, now, body)
    expected = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={expected}"
    assert webhooks.verify(secret, header, body, now=now)
    assert webhooks.verify(secret, header, body, now=utcnow())
    assert webhooks.verify(secret, header, body, now=now + 299)
    assert webhooks.verify(secret, f"t={now},v1={'0' * 64},v1={expected}", body, now=now)

    assert not webhooks.verify(secret, header, body.replace(b"d-1", b"d-2"), now=now)
    assert not webhooks.verify(secret, header, body + b" ", now=now)
    assert not webhooks.verify("whsec_other", header, body, now=now)
    assert not webhooks.verify(secret, header, body, now=now + 301)  # stale: a replay
    assert not webhooks.verify(secret, header, body, now=now - 301)  # from the future
    stale = webhooks.sign(secret, now - 3600, body)
    assert not webhooks.verify(secret, stale, body, now=now)
    assert webhooks.verify(secret, stale, body, now=now, tolerance_s=7200)
    forged = f"t={now + 5},v1={expected}"  # a fresh timestamp on an old signature
    assert not webhooks.verify(secret, forged, body, now=now)
    for malformed in ("", "garbage", f"v1={expected}", f"t={now}", f"t=soon,v1={expected}"):
        assert not webhooks.verify(secret, malformed, body, now=now)


def test_attempts_back_off_exponentially_up_to_an_hour_then_fail():
    row = WebhookDelivery(status="pending", attempts=0, payload={}, topic="asset.new")
    now = utcnow()
    delays = []
    while True:
        at = webhooks.record_attempt(
            row,
            ok=False,
            status_code=503,
            error=None,
            now=now,
            max_attempts=7,
            retry_base_s=1000,
        )
        if at is None:
            break
        delays.append((at - now).total_seconds())
    assert delays == [1000, 2000, 3600, 3600, 3600, 3600]
    assert (row.status, row.attempts, row.error, row.next_attempt_at) == (
        "failed",
        7,
        "HTTP 503",
        None,
    )
    ok = WebhookDelivery(status="pending", attempts=2, payload={}, topic="asset.new")
    assert (
        webhooks.record_attempt(
            ok, ok=True, status_code=204, error=None, now=now, max_attempts=3, retry_base_s=1
        )
        is None
    )
    assert (ok.status, ok.attempts, ok.response_status, ok.delivered_at) == (
        "delivered",
        3,
        204,
        now,
    )
