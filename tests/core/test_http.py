from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nightly_sessions.core.errors import NetworkError
from nightly_sessions.core.http import (
    BACKOFF_CAP,
    EXTRA_RETRY_FACTOR,
    HttpClient,
    RetryBudget,
    backoff_delay,
    max_total_wait,
    may_retry,
)
from nightly_sessions.testing.pypi import PypiServer, free_port
from nightly_sessions.testing.simple_index import serve_simple_index
from nightly_sessions.testing.wheelhouse import make_wheel


def test_retries_5xx_then_succeeds(tmp_path: Path) -> None:
    with serve_simple_index(tmp_path) as server:
        server.faults.fail_next = 2
        response = HttpClient(retries=3, backoff=0).get(f"{server.url}/")
        assert response.status == 200
        assert server.requests == 3


def test_gives_up_after_bounded_retries_with_a_redacted_sentence(tmp_path: Path) -> None:
    with serve_simple_index(tmp_path, prefix="/t/tok-abcdef/chan") as server:
        server.faults.drop_next = 10
        with pytest.raises(NetworkError) as caught:
            HttpClient(retries=1, backoff=0).get(f"{server.url}/")
        assert server.requests == 2
    message = str(caught.value)
    assert "failed after 2 attempts" in message
    assert "/t/***/chan/simple/" in message
    assert "tok-abcdef" not in message


def test_refused_connection_is_a_sentence() -> None:
    with pytest.raises(
        NetworkError,
        match=r"GET http://127\.0\.0\.1:\d+/x failed after 1 attempt in \d+\.\d s "
        r"\(the connection was refused\); check",
    ):
        HttpClient(retries=0).get(f"http://127.0.0.1:{free_port()}/x")


def test_json_body_that_is_not_json(tmp_path: Path) -> None:
    with serve_simple_index(tmp_path, formats=("html",)) as server:
        response = HttpClient().get(f"{server.url}/")
    with pytest.raises(NetworkError, match="answered with a body that is not JSON"):
        response.json()


@pytest.mark.integration
def test_response_url_is_absolute_and_final_after_a_redirect(nightly_index: PypiServer) -> None:
    make_wheel(nightly_index.directory, "Foo_Bar", "1.0")
    client = HttpClient()
    assert client.get(f"{nightly_index.url}/Foo_Bar/").url == f"{nightly_index.url}/foo-bar/"
    assert client.get(f"{nightly_index.url}/foo-bar/").url == f"{nightly_index.url}/foo-bar/"


class _Unavailable(BaseHTTPRequestHandler):
    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_post_is_not_retried() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/issues"
        response = HttpClient(retries=3, backoff=0).request("POST", url, body=b"x")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert response.status == 503
    assert _Unavailable.posts == 1  # a retried POST could create a duplicate


def test_retries_of_an_unreachable_index_log_nothing(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # as nox configures logging: everything reaches the root
    with pytest.raises(NetworkError, match="failed after 3 attempts"):
        HttpClient(retries=2, backoff=0).get(f"http://127.0.0.1:{free_port()}/simple/x/")
    captured = capsys.readouterr()
    assert "Retrying" not in caplog.text + captured.out + captured.err
    assert not [record for record in caplog.records if record.name.startswith("urllib3")]


@pytest.mark.parametrize("value", ["token first-half\nsecond-half", "token first-half€second-half"])
def test_a_header_http_cannot_carry_is_a_redacted_sentence(value: str) -> None:
    with pytest.raises(NetworkError) as caught:
        HttpClient(retries=0).get(
            f"http://127.0.0.1:{free_port()}/x", headers={"Authorization": value}
        )
    message = str(caught.value)
    assert message.startswith("GET http://127.0.0.1:")
    assert "first-half" not in message
    assert "second-half" not in message
    assert caught.value.__suppress_context__


# --- The retry policy: jittered waits, a budget that answers fill -----------------------


def test_waits_grow_and_are_capped() -> None:
    assert [backoff_delay(retry, 0.2, 1.0) for retry in (1, 2, 3, 4, 5)] == [
        0.2, 0.4, 0.8, BACKOFF_CAP, BACKOFF_CAP,
    ]  # fmt: skip
    assert [backoff_delay(retry, 0.2, 0.0) for retry in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert max_total_wait(3) == pytest.approx(1.4)


def test_a_request_retries_its_own_retries_then_only_what_the_budget_holds() -> None:
    budget = RetryBudget(limit=2)
    assert [may_retry(retry, 3, None) for retry in (1, 3, 4)] == [True, True, False]
    assert not may_retry(4, 3, budget)  # nothing earned: a dead server gets no more
    for _ in range(5):
        budget.earn()
    assert [may_retry(4, 3, budget) for _ in range(3)] == [True, True, False]  # limit 2
    budget.earn()
    assert not may_retry(3 * (1 + EXTRA_RETRY_FACTOR) + 1, 3, budget)  # beyond the most
    assert not may_retry(1, 0, budget)  # retries=0 means none, whatever the budget


def test_waits_are_jittered_between_half_and_all_of_the_backoff(tmp_path: Path) -> None:
    waits: list[float] = []
    with serve_simple_index(tmp_path) as server:
        server.faults.drop_next = 3
        client = HttpClient(
            retries=3, backoff=0.2, sleep=waits.append, random=iter([0.0, 0.5, 1.0]).__next__
        )
        assert client.get(f"{server.url}/").attempts == 4
    assert waits == pytest.approx([0.1, 0.3, 0.8])


def test_a_dropped_connection_is_a_sentence_not_a_repr(tmp_path: Path) -> None:
    with serve_simple_index(tmp_path) as server:
        server.faults.drop_next = 5
        with pytest.raises(NetworkError) as caught:
            HttpClient(retries=1, backoff=0).get(f"{server.url}/")
    message = str(caught.value)
    assert "failed after 2 attempts in " in message
    assert "(the connection closed without an answer); check the URL" in message
    assert "Error" not in message
    assert "Remote" not in message


def test_a_post_is_retried_only_when_it_never_left() -> None:
    refused = HttpClient(retries=2, backoff=0)
    with pytest.raises(NetworkError, match=r"failed after 3 attempts .*connection was refused"):
        refused.request("POST", f"http://127.0.0.1:{free_port()}/issues", body=b"x")


def test_a_url_that_cannot_be_requested_is_a_sentence_without_retries() -> None:
    waits: list[float] = []
    with pytest.raises(NetworkError, match="it is not a URL that can be requested") as caught:
        HttpClient(sleep=waits.append).get("http://[127.0.0.1/x")
    assert waits == []
    assert "Error" not in str(caught.value)
