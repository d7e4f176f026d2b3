"""One HTTP client for indexes and APIs: pooled, with timeouts, bounded retries, redaction.

urllib3 does the protocol work (and follows redirects); the retries are ours, so that
each one can wait a jittered, growing while (many threads that failed together do not
retry together) and so that failures become sentences that never show a token.

How long a request may keep trying is bounded twice over. Every idempotent request gets
`retries` retries of a dropped connection, a timeout or a 5xx answer. A caller that
reads many pages of one server (the index client) may pass a `RetryBudget`: answers
from that server fill it, and a request that used its own retries may draw up to
`EXTRA_RETRY_FACTOR * retries` more from it. A flaky index, which answers half the
time, so earns the retries it needs; a dead one earns none and is given up after
`retries + 1` attempts, with waits of at most `max_total_wait(retries)` seconds between
them (1.4 s at the default 3) and `timeout` seconds for each attempt.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import urllib3
from urllib3.util.retry import Retry

from nightly_sessions.core.errors import NetworkError
from nightly_sessions.core.redact import redact

RETRY_STATUSES = frozenset(range(500, 600))  # every 5xx, whatever its body says
# Only idempotent methods: a retried POST could create a second issue or release.
IDEMPOTENT_METHODS = frozenset(Retry.DEFAULT_ALLOWED_METHODS)
EXTRA_RETRY_FACTOR = 3  # a budget may add this many times `retries` to one request
BACKOFF_CAP = 1.0  # seconds: the longest wait before one retry
USER_AGENT = "nightly-sessions"
# urllib3 logs request paths (every request at DEBUG), and a `/t/<token>/` index URL
# puts the token in the path; every record is redacted first.
URLLIB3_LOGGERS = (
    "urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry",
    "urllib3.connection", "urllib3.response",
)  # fmt: skip


class RedactingFilter(logging.Filter):
    """Rewrite a log record's message through `redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


_REDACTING_FILTER = RedactingFilter()
for _name in URLLIB3_LOGGERS:
    logging.getLogger(_name).addFilter(_REDACTING_FILTER)
# nox logs at DEBUG, and urllib3 logs every request, which flooded the sessions' output
# before the one sentence `request` raises; only urllib3's errors get through.
logging.getLogger("urllib3").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Response:
    """A finished response: status, headers (lower-case names), body, and attempts made."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    attempts: int = 1

    def json(self) -> Any:
        """The body as JSON; a NetworkError naming the URL when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise NetworkError(
                f"{redact(self.url)} answered with a body that is not JSON (HTTP {self.status})."
            ) from None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class RetryBudget:
    """Extra retries that a server's answers earn: one per answer, at most `limit` banked.

    Shared by the threads reading one server, so a flaky server (whose other requests
    get answers) pays for more retries, while a dead one never does.
    """

    limit: int = 100
    _tokens: int = field(default=0, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def earn(self) -> None:
        with self._lock:
            self._tokens = min(self.limit, self._tokens + 1)

    def spend(self) -> bool:
        """Take one extra retry if the budget holds one."""
        with self._lock:
            if self._tokens <= 0:
                return False
            self._tokens -= 1
            return True


def backoff_delay(retry: int, base: float, fraction: float, cap: float = BACKOFF_CAP) -> float:
    """The wait before retry number `retry` (1, 2, ...): `base` doubling, capped, jittered.

    `fraction` (0 to 1, random) spreads the wait over its upper half, so threads that
    failed together retry apart, yet each wait still grows.
    """
    ceiling = min(cap, base * 2.0 ** (retry - 1))
    return ceiling * (0.5 + fraction / 2)


def max_total_wait(retries: int, base: float = 0.2, cap: float = BACKOFF_CAP) -> float:
    """The most a request waits between its attempts when it earns no extra retries."""
    return sum(min(cap, base * 2.0 ** (retry - 1)) for retry in range(1, retries + 1))


def may_retry(retry: int, retries: int, budget: RetryBudget | None) -> bool:
    """Whether retry number `retry` may be made: its own `retries`, then the budget's."""
    if retry <= retries:
        return True
    if budget is None or retry > retries * (1 + EXTRA_RETRY_FACTOR):
        return False
    return budget.spend()


@dataclass(frozen=True)
class _Failure:
    """An attempt that got no answer: why in words, whether the request left, and may again."""

    why: str
    sent: bool = True  # False when no connection was made: safe to retry any method
    retryable: bool = True


def worth_retrying(outcome: Response | _Failure, method: str) -> bool:
    """Whether another attempt may help and is safe: a POST that was sent is never repeated."""
    if isinstance(outcome, Response):
        return outcome.status in RETRY_STATUSES and method in IDEMPOTENT_METHODS
    return outcome.retryable and (method in IDEMPOTENT_METHODS or not outcome.sent)


@dataclass
class HttpClient:
    """A thread-safe client; `retries` bounds retries of dropped connections and 5xx answers."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.2
    max_connections: int = 16
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)
    _pool: urllib3.PoolManager = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # urllib3 only follows redirects; every retry is decided in `request`.
        no_retries = Retry(
            total=None, connect=0, read=0, other=0, status=0, redirect=10,
            raise_on_status=False, respect_retry_after_header=False,
        )  # fmt: skip
        self._pool = urllib3.PoolManager(
            num_pools=8,
            maxsize=self.max_connections,
            block=False,
            retries=no_retries,
            timeout=urllib3.Timeout(total=self.timeout),
            headers={"User-Agent": USER_AGENT},
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
        redirect: bool = True,
        budget: RetryBudget | None = None,
    ) -> Response:
        """Send one request, retrying what may be retried; NetworkError if no answer came.

        A 5xx answer left after the retries is returned (the caller names the status).
        """
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, url, all_headers, body, redirect)
            answered = isinstance(outcome, Response) and outcome.status not in RETRY_STATUSES
            if answered and budget is not None:
                budget.earn()
            if not worth_retrying(outcome, method) or not may_retry(attempt, self.retries, budget):
                break
            self.sleep(backoff_delay(attempt, self.backoff, self.random()))
        if isinstance(outcome, _Failure):
            elapsed = time.monotonic() - started
            raise NetworkError(
                f"{method} {redact(url)} failed after {_attempts(attempt)} in {elapsed:.1f} s "
                f"({outcome.why}); check the URL and your network, then retry."
            )
        return Response(outcome.url, outcome.status, outcome.headers, outcome.body, attempt)

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        budget: RetryBudget | None = None,
    ) -> Response:
        """GET `url`."""
        return self.request("GET", url, headers=headers, budget=budget)

    def _attempt(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, redirect: bool
    ) -> Response | _Failure:
        """One try: the answer, or why none came."""
        try:
            answer = self._pool.request(method, url, headers=headers, body=body, redirect=redirect)
        except urllib3.exceptions.LocationValueError:
            raise NetworkError(
                f"{method} {redact(url)} could not be sent: it is not a URL that can be "
                "requested; check the URL."
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
            return _Failure(
                describe_failure(reason or exc, self.timeout),
                sent=not isinstance(reason, urllib3.exceptions.ConnectTimeoutError),
                retryable=not isinstance(reason, urllib3.exceptions.ResponseError),
            )
        except ValueError:
            # http.client refuses a header or URL with a line break, a control or a
            # non-Latin-1 character, quoting it (a token, say) in its message: not shown.
            raise NetworkError(
                f"{method} {redact(url)} could not be sent: a header or the URL holds a "
                "character HTTP does not allow; check the token and the URL."
            ) from None
        headers_out = {name.lower(): value for name, value in answer.headers.items()}
        final_url = urljoin(url, answer.url or url)  # after redirects; relative links need it
        return Response(url=final_url, status=answer.status, headers=headers_out, body=answer.data)


# Why no answer came, by urllib3's exception, most specific first.
_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (urllib3.exceptions.NameResolutionError, "the host name could not be resolved"),
    (urllib3.exceptions.NewConnectionError, "no connection could be made"),
    (urllib3.exceptions.SSLError, "no secure (TLS) connection could be made"),
    (urllib3.exceptions.ProxyError, "the proxy failed"),
    (urllib3.exceptions.ProtocolError, "the connection closed without an answer"),
    (urllib3.exceptions.ResponseError, "it redirected too many times"),
)


def describe_failure(error: BaseException, timeout: float) -> str:
    """Why no answer came, in words: never an exception's repr, which may hold a URL."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, urllib3.exceptions.NewConnectionError) and "refused" in str(error):
        return "the connection was refused"
    if isinstance(error, urllib3.exceptions.TimeoutError) and not isinstance(
        error, urllib3.exceptions.NewConnectionError
    ):
        return f"it timed out after {timeout:g} s"
    return next((words for kind, words in _FAILURES if isinstance(error, kind)), "it failed")


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"
