"""A small GitHub REST client: issues, comments, labels, workflow runs and artifacts.

It keeps its own retry policy on top of `HttpClient` (created with `retries=0`) because
GitHub needs two things a generic client cannot know: creating an issue or a comment is
not idempotent, so a 5xx answer to a POST is never retried blindly; and a rate limit
(429, or 403 with `x-ratelimit-remaining: 0`) says when to come back, which is waited
for only within a bound, with an injectable `sleep` so tests never wait.
"""

from __future__ import annotations

import itertools
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nightly_sessions.core.errors import ConfigError, NetworkError
from nightly_sessions.core.http import RETRY_STATUSES, HttpClient, Response
from nightly_sessions.core.redact import add_secret, redact

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 50
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


# Where a command finds its token, API and repository (the variables of an Actions runner).


def token_from(environ: Mapping[str, str]) -> str | None:
    """The token in GITHUB_TOKEN or GH_TOKEN, registered as a secret so it is never shown."""
    token = next((environ[n].strip() for n in TOKEN_VARIABLES if environ.get(n, "").strip()), None)
    add_secret(token)
    return token


def api_url_from(environ: Mapping[str, str]) -> str:
    """The REST API base URL: GITHUB_API_URL (GitHub Enterprise Server too) or github.com's."""
    api_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"GITHUB_API_URL is {api_url!r}, but it must be an http(s) URL.")
    return api_url


def repository_from(given: str | None, environ: Mapping[str, str]) -> str | None:
    """`given` or GITHUB_REPOSITORY, checked to be owner/name."""
    repository = given or environ.get("GITHUB_REPOSITORY") or None
    if repository is not None and (repository.count("/") != 1 or " " in repository):
        raise ConfigError(f"The repository {repository!r} is not of the form owner/name.")
    return repository


@dataclass(frozen=True)
class Issue:
    """An issue as listed: number, title, body, state and page address."""

    number: int
    title: str
    body: str
    state: str
    url: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Issue:
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            state=str(data.get("state") or ""),
            url=str(data.get("html_url") or ""),
        )


@dataclass(frozen=True)
class Comment:
    """A comment on an issue: its id and text."""

    id: int
    body: str


@dataclass(frozen=True)
class WorkflowRun:
    """A workflow run: its id, page and commit."""

    id: int
    url: str
    head_sha: str
    head_branch: str


@dataclass(frozen=True)
class Artifact:
    """An artifact of a run; `expired` ones can no longer be downloaded."""

    id: int
    name: str
    size: int
    expired: bool


@dataclass(frozen=True)
class JobStep:
    """One step of a job: its number (the log anchor), name and conclusion."""

    number: int
    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class Job:
    """A job of a workflow run as the Actions API lists it, with its steps."""

    id: int
    name: str
    status: str
    conclusion: str | None
    url: str
    steps: tuple[JobStep, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        steps = data.get("steps")
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            status=str(data.get("status") or ""),
            conclusion=_optional_str(data.get("conclusion")),
            url=str(data.get("html_url") or ""),
            steps=tuple(
                JobStep(
                    number=int(step.get("number") or 0),
                    name=str(step.get("name") or ""),
                    status=str(step.get("status") or ""),
                    conclusion=_optional_str(step.get("conclusion")),
                )
                for step in (steps if isinstance(steps, list) else [])
                if isinstance(step, dict)
            ),
        )


@dataclass
class GitHub:
    """Calls to one repository's REST API; every failure is a NetworkError sentence."""

    api_url: str
    repository: str
    token: str = field(repr=False)  # a repr ends up in logs and tracebacks
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    _http: HttpClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        add_secret(self.token)
        self.api_url = self.api_url.rstrip("/")
        self._http = HttpClient(timeout=self.timeout, retries=0)

    # Issues, comments and labels.

    def open_issues(self, label: str) -> Iterator[Issue]:
        """Open issues (not pull requests) carrying `label`, newest first, all pages."""
        return self.issues(label, "open")

    def issues(self, label: str, state: str, *, pages: int = MAX_PAGES) -> Iterator[Issue]:
        """Issues (not pull requests) in `state` carrying `label`, newest first."""
        query = urllib.parse.urlencode({"state": state, "labels": label, "per_page": 100})
        url = f"{self._repo_url}/issues?{query}"
        what = f"listing the {state} issues labelled {label!r}"
        for answer in itertools.islice(self._pages(url, what=what), pages):
            for item in _json_list(answer):
                if isinstance(item, dict) and "pull_request" not in item:
                    yield Issue.from_json(item)

    def create_issue(self, title: str, body: str, labels: list[str]) -> Issue:
        """Open an issue; a 5xx answer is not retried (the issue may exist already)."""
        payload = {"title": title, "body": body, "labels": labels}
        answer = self._call(
            "POST", f"{self._repo_url}/issues", json_body=payload, what="opening the tracking issue",
            expect=(201,), idempotent=False,
        )  # fmt: skip
        return Issue.from_json(answer.json())

    def update_issue(self, number: int, **fields: str) -> Issue:
        """Change an issue's title, body or state (PATCH repeats safely)."""
        answer = self._call(
            "PATCH", f"{self._repo_url}/issues/{number}", json_body=fields,
            what=f"updating issue #{number}",
        )  # fmt: skip
        return Issue.from_json(answer.json())

    def close_issue(self, number: int) -> Issue:
        """Close an issue as completed."""
        return self.update_issue(number, state="closed", state_reason="completed")

    def comment(self, number: int, body: str) -> None:
        """Add a comment; a 5xx answer is not retried, to never post it twice."""
        self._call(
            "POST", f"{self._repo_url}/issues/{number}/comments", json_body={"body": body},
            what=f"commenting on issue #{number}", expect=(201,), idempotent=False,
        )  # fmt: skip

    def recent_comments(self, number: int) -> list[Comment]:
        """The newest comments of an issue (at least the last 100), oldest first.

        GitHub lists an issue's comments oldest first and offers no `direction` for them,
        so this reads the first page, then the page `rel="last"` links to and the one before
        it: a long-lived issue costs three calls, and the newest comments are always read.
        """
        what = f"reading the comments of issue #{number}"
        url = f"{self._repo_url}/issues/{number}/comments?per_page=100"
        first = self._call("GET", url, what=what)
        answers = [first]
        last_url = self._link(first, "last")
        if last_url is not None:
            last = self._call("GET", last_url, what=what)
            before_url = self._link(last, "prev")  # a short last page needs the one before
            if before_url is not None:
                answers.append(self._call("GET", before_url, what=what))
            answers.append(last)
        comments: dict[int, Comment] = {}
        for answer in answers:
            for item in _json_list(answer):
                if isinstance(item, dict) and "id" in item:
                    comments[int(item["id"])] = Comment(
                        int(item["id"]), str(item.get("body") or "")
                    )
        return [comments[key] for key in sorted(comments)]

    def ensure_label(self, name: str, color: str, description: str) -> None:
        """Create the label unless it exists (a concurrent creation counts as existing)."""
        path = f"{self._repo_url}/labels/{urllib.parse.quote(name, safe='')}"
        if self._call("GET", path, what=f"reading label {name!r}", expect=(200, 404)).status == 200:
            return
        payload = {"name": name, "color": color, "description": description}
        answer = self._call(
            "POST", f"{self._repo_url}/labels", json_body=payload, what=f"creating label {name!r}",
            expect=(201, 422),
        )  # fmt: skip
        if answer.status == 422 and not _already_exists(answer):
            raise NetworkError(_sentence(answer, f"creating label {name!r}", self.repository))

    # Workflows, runs, jobs and artifacts.

    def workflow_state(self, workflow: str) -> str:
        """A workflow's state: `active`, `disabled_inactivity`, `disabled_manually`, ..."""
        path = f"{self._repo_url}/actions/workflows/{urllib.parse.quote(workflow, safe='')}"
        answer = self._call(
            "GET", path, what=f"reading the workflow {workflow}",
            hints={
                403: "give the job `permissions: actions: read` (`actions: write` to enable it)",
                404: f"check that .github/workflows/{workflow} exists on the default branch "
                "and that the token can see the repository",
            },
        )  # fmt: skip
        data = answer.json()
        state = data.get("state") if isinstance(data, dict) else None
        if not isinstance(state, str) or not state:
            raise NetworkError(f"GitHub answered reading the workflow {workflow} without a state.")
        return state

    def enable_workflow(self, workflow: str) -> None:
        """Enable a workflow (file name or id) that GitHub or a person disabled.

        That this also restarts GitHub's 60-day inactivity count is observed, not documented.
        """
        path = f"{self._repo_url}/actions/workflows/{urllib.parse.quote(workflow, safe='')}/enable"
        self._call(
            "PUT", path, what=f"enabling the workflow {workflow}", expect=(204,),
            hints={
                403: "give the job `permissions: actions: write`, or use a token that may "
                "manage workflows",
                404: f"check that .github/workflows/{workflow} exists on the default branch "
                "and that the token can see the repository",
            },
        )  # fmt: skip

    def run_jobs(self, run_id: int | str) -> list[Job]:
        """The jobs of a run's latest attempt, with their steps, all pages."""
        url = f"{self._repo_url}/actions/runs/{run_id}/jobs?filter=latest&per_page=100"
        what = f"listing the jobs of run {run_id}"
        hints = {403: "give the job `permissions: actions: read`"}
        jobs: list[Job] = []
        for answer in self._pages(url, what=what, hints=hints):
            data = answer.json()
            items = data.get("jobs") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise NetworkError(f"GitHub answered {what} without a list of jobs.")
            jobs.extend(Job.from_json(i) for i in items if isinstance(i, dict) and "id" in i)
        return jobs

    def latest_successful_run(self, workflow: str, branch: str) -> WorkflowRun | None:
        """The newest successful run of `workflow` (file name or id) on `branch`."""
        query = urllib.parse.urlencode({"branch": branch, "status": "success", "per_page": 1})
        path = f"{self._repo_url}/actions/workflows/{urllib.parse.quote(workflow, safe='')}/runs?{query}"
        runs = self._call("GET", path, what=f"finding the last green run of {workflow}").json()
        items = runs.get("workflow_runs") if isinstance(runs, dict) else None
        if not isinstance(items, list) or not items or not isinstance(items[0], dict):
            return None
        run = items[0]
        return WorkflowRun(
            id=int(run["id"]),
            url=str(run.get("html_url") or ""),
            head_sha=str(run.get("head_sha") or ""),
            head_branch=str(run.get("head_branch") or ""),
        )

    def artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of a run (first 100, which covers any test matrix)."""
        path = f"{self._repo_url}/actions/runs/{run_id}/artifacts?per_page=100"
        data = self._call("GET", path, what=f"listing the artifacts of run {run_id}").json()
        items = data.get("artifacts") if isinstance(data, dict) else None
        return [
            Artifact(
                id=int(item["id"]),
                name=str(item.get("name") or ""),
                size=int(item.get("size_in_bytes") or 0),
                expired=bool(item.get("expired")),
            )
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and "id" in item
        ]

    def download_artifact(self, artifact_id: int) -> bytes:
        """The zip of an artifact: the API answers 302 to a signed URL fetched without the token."""
        what = f"downloading artifact {artifact_id}"
        answer = self._call(
            "GET", f"{self._repo_url}/actions/artifacts/{artifact_id}/zip", what=what,
            expect=(200, 302), redirect=False,
        )  # fmt: skip
        if answer.status == 200:
            return answer.body
        location = answer.headers.get("location")
        if not location:
            raise NetworkError(f"GitHub answered 302 for {what} without a Location header.")
        target = urllib.parse.urljoin(answer.url, location)
        add_secret(urllib.parse.urlsplit(target).query)  # the signature is a short-lived credential
        blob = self._call("GET", target, what=what, authenticated=False)
        return blob.body

    # The request loop.

    @property
    def _repo_url(self) -> str:
        return f"{self.api_url}/repos/{self.repository}"

    def _pages(
        self, url: str, *, what: str, hints: Mapping[int, str] | None = None
    ) -> Iterator[Response]:
        """The answers of a paginated GET, following `Link: rel="next"` on the API host only."""
        next_url: str | None = url
        pages = 0
        while next_url is not None and pages < MAX_PAGES:
            answer = self._call("GET", next_url, what=what, hints=hints)
            pages += 1
            yield answer
            next_url = self._link(answer, "next")

    def _link(self, answer: Response, rel: str) -> str | None:
        """The `rel` URL of a paginated answer's Link header, if it is on the API host.

        A link elsewhere is ignored: the token is never sent to another host.
        """
        url = _link(answer, rel)
        return url if url is not None and url.startswith(f"{self.api_url}/") else None

    def _headers(self, authenticated: bool) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if authenticated:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json_body: Any = None,
        expect: tuple[int, ...] = (200,),
        idempotent: bool = True,
        redirect: bool = True,
        authenticated: bool = True,
        hints: Mapping[int, str] | None = None,
    ) -> Response:
        """Send one call: retry 5xx and network errors when safe, wait out rate limits in bound.

        `hints` replace the advice of the error sentence for a status (e.g. which permission).
        """
        waited = 0.0  # on rate limits: the sleeps and the limited calls, within max_wait
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                answer = self._http.request(
                    method, url, headers=self._headers(authenticated), json_body=json_body,
                    redirect=redirect,
                )  # fmt: skip
            except NetworkError as exc:
                if not idempotent or attempt >= self.retries:
                    raise NetworkError(f"GitHub could not be reached while {what}: {exc}") from None
                attempt += 1
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if answer.status in expect:
                return answer
            delay = self._rate_limit_delay(answer)
            if delay is not None:
                waited += time.monotonic() - started
                if waited + delay > self.max_wait:
                    raise NetworkError(self._rate_limit_sentence(answer, what, delay, waited))
                self.sleep(delay)
                waited += delay
                continue
            if answer.status in RETRY_STATUSES and idempotent and attempt < self.retries:
                attempt += 1
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            hint = (hints or {}).get(answer.status)
            if hint:
                raise NetworkError(_hinted(answer, what, self.repository, hint))
            raise NetworkError(_sentence(answer, what, self.repository))

    def _rate_limit_delay(self, answer: Response) -> float | None:
        """Seconds to wait when `answer` is a rate limit, else None."""
        headers = answer.headers
        limited = answer.status == 429 or (
            answer.status == 403
            and (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers)
        )
        if not limited:
            return None
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return max(retry_after, 1.0)
        reset = _number(headers.get("x-ratelimit-reset"))
        if reset is not None:
            return max(reset - self.clock(), 0.0) + 1.0
        return 60.0  # GitHub's advice for a secondary limit that names no time

    def _rate_limit_sentence(self, answer: Response, what: str, delay: float, waited: float) -> str:
        """Why waiting stops: the limit lifts beyond the bound, or the bound is used up."""
        until = time.strftime("%H:%M:%S UTC", time.gmtime(self.clock() + delay))
        stopped = f"GitHub's rate limit stopped {what} (HTTP {answer.status})"
        if delay > self.max_wait:
            return (
                f"{stopped}; it lifts at about {until}, {delay:.0f} s from now, beyond the "
                f"{self.max_wait:.0f} s this command waits: re-run the job later."
            )
        return (
            f"{stopped}; it still held after {waited:.0f} s of waiting, and waiting until about "
            f"{until} ({delay:.0f} s more) would pass the {self.max_wait:.0f} s this command "
            "waits: re-run the job later."
        )


def _hinted(answer: Response, what: str, repository: str, hint: str) -> str:
    """The sentence for an answer whose fix the caller knows better (e.g. which permission)."""
    message = _message(answer)
    if answer.status == 403:
        return f"GitHub refused {what} in {repository} (HTTP 403{message}): {hint}."
    return f"GitHub answered {answer.status} while {what} ({redact(answer.url)}{message}): {hint}."


def _sentence(answer: Response, what: str, repository: str) -> str:
    """One sentence for an unexpected answer: what failed, GitHub's message, and the fix."""
    message = _message(answer)
    status = answer.status
    if status == 401:
        return (
            f"GitHub rejected the token while {what} (HTTP 401{message}): set GITHUB_TOKEN "
            "(in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`) to a valid token."
        )
    if status == 403:
        return (
            f"GitHub refused {what} in {repository} (HTTP 403{message}): give the job "
            "`permissions: issues: write` (and `actions: read` for the last green run), "
            "or use a token that may do this."
        )
    if status == 404:
        return (
            f"GitHub answered 404 while {what} ({redact(answer.url)}): check that the "
            f"repository {repository} exists and that the token can see it."
        )
    if status == 410:
        return f"GitHub answered 410 while {what}: the artifact has expired."
    if status == 422:
        return f"GitHub rejected the request while {what} (HTTP 422{message})."
    return (
        f"GitHub answered HTTP {status} while {what}{message and f' ({message[2:]})'}; retry later."
    )


def _message(answer: Response) -> str:
    """GitHub's own explanation, prefixed with '; ', or an empty string."""
    try:
        data = answer.json()
    except NetworkError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data.get("message") or "")]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or ""))
        elif isinstance(error, str):
            parts.append(error)
    text = "; ".join(part for part in parts if part)
    return f": {redact(text)[:300]}" if text else ""


def _already_exists(answer: Response) -> bool:
    try:
        data = answer.json()
    except NetworkError:
        return False
    errors = data.get("errors") if isinstance(data, dict) else None
    return any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors or [])


def _json_list(answer: Response) -> list[Any]:
    data = answer.json()
    if not isinstance(data, list):
        raise NetworkError(
            f"GitHub answered {redact(answer.url)} with something other than a list."
        )
    return data


def _link(answer: Response, rel: str) -> str | None:
    """The URL of relation `rel` (next, prev, last) in a paginated answer's Link header."""
    for part in answer.headers.get("link", "").split(","):
        if f'rel="{rel}"' in part and "<" in part and ">" in part:
            return part[part.index("<") + 1 : part.index(">")]
    return None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
