"""One HTTP client for indexes and APIs: pooled, with timeouts, bounded retries, redaction.

urllib3 does the protocol work and the retry bookkeeping (connection errors and 5xx,
with exponential backoff); this module only fixes the policy and turns failures into
sentences that never show a token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import urllib3
from urllib3.util.retry import Retry

from nightly_sessions.errors import NetworkError
from nightly_sessions.redact import redact

RETRY_STATUSES = frozenset({500, 502, 503, 504})
USER_AGENT = "nightly-sessions"
# urllib3 logs request paths (retries at WARNING, every request at DEBUG), and a
# `/t/<token>/` index URL puts the token in the path; every record is redacted first.
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
# nox logs at DEBUG, and urllib3 logs every request (DEBUG) and every retry (WARNING,
# "Retrying (Retry(total=2, ...))"), which flooded the sessions' output before the one
# sentence `request` raises; that sentence already says what failed and after how many
# attempts, so only urllib3's errors get through.
logging.getLogger("urllib3").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Response:
    """A finished response: status, headers (lower-case names) and body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes

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
class HttpClient:
    """A thread-safe client; `retries` bounds retries of connection errors and 5xx answers."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.2
    max_connections: int = 16
    _pool: urllib3.PoolManager = field(init=False, repr=False)

    def __post_init__(self) -> None:
        retry = Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            status_forcelist=RETRY_STATUSES,
            # Only idempotent methods: a retried POST could create a second issue or release.
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
            backoff_factor=self.backoff,
            raise_on_status=False,
            # A Retry-After of hours would block silently; callers that must honour it
            # (rate limits) wait themselves, within a bound.
            respect_retry_after_header=False,
        )
        self._pool = urllib3.PoolManager(
            num_pools=8,
            maxsize=self.max_connections,
            block=False,
            retries=retry,
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
    ) -> Response:
        """Send one request; raise NetworkError when no answer came after the retries."""
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        try:
            answer = self._pool.request(
                method, url, headers=all_headers, body=body, redirect=redirect
            )
        except urllib3.exceptions.MaxRetryError as exc:
            reason = exc.reason if exc.reason is not None else exc
            raise NetworkError(
                f"{method} {redact(url)} failed after {self.retries + 1} attempts "
                f"({redact(_describe(reason))}); check the URL and your network, then retry."
            ) from None
        except urllib3.exceptions.HTTPError as exc:
            raise NetworkError(
                f"{method} {redact(url)} failed ({redact(_describe(exc))}); "
                "check the URL and your network, then retry."
            ) from None
        except ValueError as exc:
            # http.client refuses a header or URL with a line break, a control or a
            # non-Latin-1 character, quoting it (a token, say) in its message: not shown.
            raise NetworkError(
                f"{method} {redact(url)} could not be sent: a header or the URL holds a "
                f"character HTTP does not allow ({type(exc).__name__}); check the token and "
                "the URL."
            ) from None
        headers_out = {name.lower(): value for name, value in answer.headers.items()}
        final_url = urljoin(url, answer.url or url)  # after redirects; relative links need it
        return Response(url=final_url, status=answer.status, headers=headers_out, body=answer.data)

    def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Response:
        """GET `url`."""
        return self.request("GET", url, headers=headers)


def _describe(error: BaseException) -> str:
    name = type(error).__name__
    text = str(error)
    if "Read timed out" in text or "timed out" in text.lower():
        return f"timed out: {name}"
    return f"{name}: {text}" if text else name
