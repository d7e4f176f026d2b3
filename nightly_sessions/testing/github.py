"""A stand-in for the GitHub REST API on 127.0.0.1: issues, labels, workflows, runs, jobs, artifacts.

It keeps its state in memory, checks the token and the job's permissions the way GitHub
does (401 for a bad token, 403 "Resource not accessible by integration" for a missing
permission, 404 for another repository, 422 for a body over 65,536 characters), answers
an artifact download with a 302 to a signed URL that refuses an Authorization header,
and can be told to fail chosen calls (403, 422, 429, 500, ...) a number of times.

    with serve_github() as github:
        ...  # point GITHUB_API_URL at github.url, GITHUB_TOKEN at github.token
        github.fail("POST", r"/issues$", 500)
        assert github.issues(state="open") == []
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import secrets
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"
BODY_LIMIT = 65_536
LEVELS = {"none": 0, "read": 1, "write": 2}
Json = Any


@dataclass
class IssueRecord:
    """An issue (or a pull request, which the issues list returns too)."""

    number: int
    title: str
    body: str
    labels: list[str]
    state: str = "open"
    state_reason: str | None = None
    pull_request: bool = False
    comments: list[str] = field(default_factory=list)


@dataclass
class StepRecord:
    """One step of a job; `conclusion` None while it runs or when it was never reached."""

    name: str
    conclusion: str | None = "success"
    status: str = "completed"


@dataclass
class JobRecord:
    """A job of a run, as `GET /actions/runs/{id}/jobs` lists it; steps are numbered from 1."""

    name: str
    conclusion: str | None = "success"
    status: str = "completed"
    steps: list[StepRecord] = field(default_factory=list)
    id: int = 0


@dataclass
class RunRecord:
    """A workflow run, the ids of its artifacts and its jobs."""

    id: int
    workflow: str
    branch: str
    conclusion: str
    head_sha: str
    artifacts: list[int] = field(default_factory=list)
    jobs: list[JobRecord] = field(default_factory=list)


@dataclass
class WorkflowRecord:
    """A workflow file: its state (what `GET` answers) and how often `PUT .../enable` ran."""

    path: str
    state: str = "active"
    enabled: int = 0


@dataclass
class ArtifactRecord:
    """An artifact: its name and the zip it downloads as."""

    id: int
    name: str
    data: bytes
    expired: bool = False


@dataclass
class GitHubFault:
    """Answer `status` to calls matching `method` and `path` (a regex), `times` times."""

    method: str
    path: re.Pattern[str]
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: Json = None
    after: bool = False  # do the work first, then answer with the fault (a lost answer)


@dataclass(frozen=True)
class Request:
    """One call the server received (the path without the API prefix)."""

    method: str
    path: str
    query: Mapping[str, str]
    authorization: str | None
    headers: Mapping[str, str]


@dataclass
class _Answer:
    status: int
    body: Json = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


class _Refused(Exception):
    """Raised inside a handler to answer with an error."""

    def __init__(self, status: int, message: str, errors: list[Json] | None = None) -> None:
        super().__init__(message)
        self.answer = _Answer(
            status, {"message": message, **({"errors": errors} if errors else {})}
        )


class FakeGitHub:
    """The state and the controls of a running stand-in; `url` is its API base URL."""

    def __init__(
        self,
        *,
        repository: str,
        token: str,
        permissions: Mapping[str, str],
        api_prefix: str,
        max_per_page: int,
    ) -> None:
        self.repository = repository
        self.token = token
        self.permissions = dict(permissions)
        self.api_prefix = api_prefix.rstrip("/")
        self.max_per_page = max_per_page
        self.port = 0
        self.issue_records: dict[int, IssueRecord] = {}
        self.labels: dict[str, dict[str, str]] = {}
        self.runs: dict[int, RunRecord] = {}
        self.workflows: dict[str, WorkflowRecord] = {}
        self.artifact_records: dict[int, ArtifactRecord] = {}
        self.requests: list[Request] = []
        self.faults: list[GitHubFault] = []
        self._signatures: dict[int, str] = {}
        self._next_id = 1000
        self.lock = threading.RLock()

    @property
    def root_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL, what GITHUB_API_URL holds."""
        return f"{self.root_url}{self.api_prefix}"

    # Controls for tests.

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        message: str | None = None,
        after: bool = False,
    ) -> None:
        """Make the next `times` calls of `method` to a path matching `path` answer `status`."""
        body = {"message": message or HTTPStatus(status).phrase}
        with self.lock:
            self.faults.append(
                GitHubFault(
                    method.upper(),
                    re.compile(path),
                    status,
                    times,
                    dict(headers or {}),
                    body,
                    after,
                )
            )

    def add_issue(
        self, title: str, body: str = "", labels: list[str] | None = None, *,
        pull_request: bool = False, state: str = "open",
    ) -> int:  # fmt: skip
        """Add an issue or pull request directly; return its number."""
        with self.lock:
            number = len(self.issue_records) + 1
            record = IssueRecord(number, title, body, list(labels or []), state, None, pull_request)
            self.issue_records[number] = record
            for name in record.labels:
                self.labels.setdefault(name, {"name": name, "color": "ededed", "description": ""})
            return number

    def add_run(
        self,
        *,
        workflow: str = "nightly.yml",
        branch: str = "main",
        conclusion: str = "success",
        artifacts: Mapping[str, Mapping[str, bytes]] | None = None,
        expired: bool = False,
        jobs: Sequence[JobRecord] = (),
    ) -> int:
        """Add a run with artifacts given as {name: {path in zip: content}} and its jobs."""
        with self.lock:
            run_id = self._new_id()
            run = RunRecord(run_id, workflow, branch, conclusion, secrets.token_hex(20))
            for name, files in (artifacts or {}).items():
                artifact = ArtifactRecord(self._new_id(), name, make_zip(files), expired)
                self.artifact_records[artifact.id] = artifact
                run.artifacts.append(artifact.id)
            for job in jobs:
                job.id = job.id or self._new_id()
                run.jobs.append(job)
            self.runs[run_id] = run
            return run_id

    def add_workflow(self, path: str, state: str = "active") -> WorkflowRecord:
        """Add a workflow file (its name, e.g. nightly-wheels.yml), e.g. `disabled_inactivity`."""
        with self.lock:
            record = WorkflowRecord(path, state)
            self.workflows[path] = record
            return record

    def issues(self, *, state: str | None = None, label: str | None = None) -> list[IssueRecord]:
        """Issues (not pull requests), filtered by state and label, by number."""
        with self.lock:
            return [
                issue
                for _, issue in sorted(self.issue_records.items())
                if not issue.pull_request
                and (state is None or issue.state == state)
                and (label is None or label in issue.labels)
            ]

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """Received calls, filtered by method and a path regex."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or re.search(path, r.path))
            ]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # Request handling (called from the server threads).

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Answer:
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        path = parsed.path
        if path.startswith("/_blobs/"):
            with self.lock:
                self._record(method, path, query, headers)
            return self._blob(path, query, headers)
        if not path.startswith(f"{self.api_prefix}/"):
            return _Answer(404, {"message": "Not Found"})
        path = path[len(self.api_prefix) :]
        with self.lock:
            self._record(method, path, query, headers)
            fault = self._fault(method, path)
            if fault is not None and not fault.after:
                return _Answer(fault.status, fault.body, dict(fault.headers))
            try:
                answer = self._route(method, path, query, headers, body)
            except _Refused as refused:
                answer = refused.answer
            if fault is not None:
                return _Answer(fault.status, fault.body, dict(fault.headers))
            answer.headers.setdefault("x-ratelimit-limit", "5000")
            answer.headers.setdefault("x-ratelimit-remaining", "4999")
            return answer

    def _record(
        self, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str]
    ) -> None:
        self.requests.append(
            Request(method, path, dict(query), headers.get("authorization"), dict(headers))
        )

    def _fault(self, method: str, path: str) -> GitHubFault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.search(path):
                fault.times -= 1
                return fault
        return None

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> _Answer:
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if match is None:
            raise _Refused(404, "Not Found")
        auth = headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            raise _Refused(401, "Bad credentials")
        if match[1] != self.repository:
            raise _Refused(404, "Not Found")
        rest = match[2]
        for verb, pattern, scope, handler in _ROUTES:
            found = re.fullmatch(pattern, rest)
            if verb == method and found:
                self._require(*scope)
                payload = _json_body(body) if method in ("POST", "PATCH") else None
                answer: _Answer = handler(self, query, payload, *found.groups())
                return answer
        raise _Refused(404, "Not Found")

    def _require(self, scope: str, level: str) -> None:
        if LEVELS[self.permissions.get(scope, "none")] < LEVELS[level]:
            raise _Refused(403, "Resource not accessible by integration")

    # Issues.

    def _list_issues(self, query: Mapping[str, str], _payload: Json) -> _Answer:
        state = query.get("state", "open")
        wanted = [name for name in query.get("labels", "").split(",") if name]
        items = [
            issue
            for issue in sorted(self.issue_records.values(), key=lambda i: -i.number)
            if state in ("all", issue.state) and all(n in issue.labels for n in wanted)
        ]
        base = f"{self.url}/repos/{self.repository}/issues"
        chunk, link = self._page(items, query, base)
        answer = _Answer(200, [self._issue_json(issue) for issue in chunk])
        if link:
            answer.headers["link"] = link
        return answer

    def _page(self, items: Sequence[Any], query: Mapping[str, str], base: str) -> tuple[Any, str]:
        """One page of `items` and its Link header, as GitHub writes it (empty: one page).

        Pages before the last link `next` and `last`; pages after the first `prev` and `first`.
        """
        per_page = min(int(query.get("per_page", "30")), self.max_per_page)
        page = int(query.get("page", "1"))
        last = max(1, -(-len(items) // per_page))

        def url(number: int) -> str:
            return f"{base}?{urllib.parse.urlencode({**query, 'page': number})}"

        links = []
        if page < last:
            links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
        if page > 1:
            links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        return items[(page - 1) * per_page : page * per_page], ", ".join(links)

    def _create_issue(self, _query: Mapping[str, str], payload: Json) -> _Answer:
        title = payload.get("title")
        if not isinstance(title, str) or not title:
            raise _Refused(
                422,
                "Validation Failed",
                [{"resource": "Issue", "code": "missing_field", "field": "title"}],
            )
        body = str(payload.get("body") or "")
        _check_length(body, "Issue")
        number = self.add_issue(title, body, [str(name) for name in payload.get("labels") or []])
        return _Answer(201, self._issue_json(self.issue_records[number]))

    def _get_issue(self, _query: Mapping[str, str], _payload: Json, number: str) -> _Answer:
        return _Answer(200, self._issue_json(self._issue(number)))

    def _update_issue(self, _query: Mapping[str, str], payload: Json, number: str) -> _Answer:
        issue = self._issue(number)
        if "body" in payload:
            _check_length(str(payload["body"] or ""), "Issue")
            issue.body = str(payload["body"] or "")
        if "title" in payload:
            issue.title = str(payload["title"])
        if "state" in payload:
            if payload["state"] not in ("open", "closed"):
                raise _Refused(
                    422,
                    "Validation Failed",
                    [{"resource": "Issue", "code": "invalid", "field": "state"}],
                )
            issue.state = payload["state"]
            issue.state_reason = (
                payload.get("state_reason") if issue.state == "closed" else "reopened"
            )
        if "labels" in payload:
            issue.labels = [str(name) for name in payload["labels"]]
        return _Answer(200, self._issue_json(issue))

    def _list_comments(self, query: Mapping[str, str], _payload: Json, number: str) -> _Answer:
        """An issue's comments, oldest first, paginated like the issues (no `direction`)."""
        issue = self._issue(number)
        items = [{"id": i + 1, "body": text} for i, text in enumerate(issue.comments)]
        chunk, link = self._page(
            items, query, f"{self.url}/repos/{self.repository}/issues/{number}/comments"
        )
        return _Answer(200, chunk, {"link": link} if link else {})

    def _add_comment(self, _query: Mapping[str, str], payload: Json, number: str) -> _Answer:
        issue = self._issue(number)
        body = payload.get("body")
        if not isinstance(body, str) or not body:
            raise _Refused(
                422,
                "Validation Failed",
                [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            )
        _check_length(body, "IssueComment")
        issue.comments.append(body)
        url = f"{self.root_url}/{self.repository}/issues/{issue.number}#issuecomment-{len(issue.comments)}"
        return _Answer(201, {"id": len(issue.comments), "body": body, "html_url": url})

    def _issue(self, number: str) -> IssueRecord:
        issue = self.issue_records.get(int(number))
        if issue is None:
            raise _Refused(404, "Not Found")
        return issue

    def _issue_json(self, issue: IssueRecord) -> Json:
        data: dict[str, Json] = {
            "id": issue.number * 7919,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "labels": [self.labels.get(name, {"name": name}) for name in issue.labels],
            "comments": len(issue.comments),
            "html_url": f"{self.root_url}/{self.repository}/issues/{issue.number}",
            "user": {"login": "github-actions[bot]"},
        }
        if issue.pull_request:
            data["pull_request"] = {
                "url": f"{self.url}/repos/{self.repository}/pulls/{issue.number}"
            }
        return data

    # Labels.

    def _get_label(self, _query: Mapping[str, str], _payload: Json, name: str) -> _Answer:
        label = self.labels.get(urllib.parse.unquote(name))
        if label is None:
            raise _Refused(404, "Not Found")
        return _Answer(200, label)

    def _create_label(self, _query: Mapping[str, str], payload: Json) -> _Answer:
        name = payload.get("name")
        color = str(payload.get("color") or "ededed")
        if not isinstance(name, str) or not name:
            raise _Refused(
                422,
                "Validation Failed",
                [{"resource": "Label", "code": "missing_field", "field": "name"}],
            )
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise _Refused(
                422,
                "Validation Failed",
                [{"resource": "Label", "code": "invalid", "field": "color"}],
            )
        if name in self.labels:
            raise _Refused(
                422,
                "Validation Failed",
                [{"resource": "Label", "code": "already_exists", "field": "name"}],
            )
        label = {"name": name, "color": color, "description": str(payload.get("description") or "")}
        self.labels[name] = label
        return _Answer(201, label)

    # Workflow runs and artifacts.

    def _list_runs(self, query: Mapping[str, str], _payload: Json, workflow: str) -> _Answer:
        name = urllib.parse.unquote(workflow)
        runs = [
            run
            for run in sorted(self.runs.values(), key=lambda r: -r.id)
            if run.workflow == name
            and ("branch" not in query or run.branch == query["branch"])
            and ("status" not in query or query["status"] in (run.conclusion, "completed"))
        ]
        per_page = min(int(query.get("per_page", "30")), self.max_per_page)
        return _Answer(
            200,
            {
                "total_count": len(runs),
                "workflow_runs": [self._run_json(r) for r in runs[:per_page]],
            },
        )

    def _run_json(self, run: RunRecord) -> Json:
        return {
            "id": run.id,
            "name": run.workflow,
            "head_branch": run.branch,
            "head_sha": run.head_sha,
            "status": "completed",
            "conclusion": run.conclusion,
            "html_url": f"{self.root_url}/{self.repository}/actions/runs/{run.id}",
        }

    def _list_jobs(self, query: Mapping[str, str], _payload: Json, run_id: str) -> _Answer:
        run = self.runs.get(int(run_id))
        if run is None:
            raise _Refused(404, "Not Found")
        per_page = min(int(query.get("per_page", "30")), self.max_per_page)
        page = int(query.get("page", "1"))
        chunk = run.jobs[(page - 1) * per_page : page * per_page]
        answer = _Answer(
            200, {"total_count": len(run.jobs), "jobs": [self._job_json(run, j) for j in chunk]}
        )
        if page * per_page < len(run.jobs):
            base = f"{self.url}/repos/{self.repository}/actions/runs/{run.id}/jobs"
            answer.headers["link"] = (
                f'<{base}?{urllib.parse.urlencode({**query, "page": page + 1})}>; rel="next"'
            )
        return answer

    def _job_json(self, run: RunRecord, job: JobRecord) -> Json:
        return {
            "id": job.id,
            "run_id": run.id,
            "name": job.name,
            "status": job.status,
            "conclusion": job.conclusion,
            "head_sha": run.head_sha,
            "html_url": f"{self.root_url}/{self.repository}/actions/runs/{run.id}/job/{job.id}",
            "steps": [
                {
                    "name": step.name,
                    "status": step.status,
                    "conclusion": step.conclusion,
                    "number": number,
                }
                for number, step in enumerate(job.steps, start=1)
            ],
        }

    def _workflow(self, path: str) -> WorkflowRecord:
        workflow = self.workflows.get(urllib.parse.unquote(path))
        if workflow is None:
            raise _Refused(404, "Not Found")
        return workflow

    def _get_workflow(self, _query: Mapping[str, str], _payload: Json, path: str) -> _Answer:
        workflow = self._workflow(path)
        number = list(self.workflows).index(workflow.path) + 1
        return _Answer(
            200,
            {
                "id": number,
                "name": workflow.path,
                "path": f".github/workflows/{workflow.path}",
                "state": workflow.state,
                "html_url": f"{self.root_url}/{self.repository}/actions/workflows/{workflow.path}",
            },
        )

    def _enable_workflow(self, _query: Mapping[str, str], _payload: Json, path: str) -> _Answer:
        workflow = self._workflow(path)
        workflow.state = "active"
        workflow.enabled += 1
        return _Answer(204)

    def _list_artifacts(self, _query: Mapping[str, str], _payload: Json, run_id: str) -> _Answer:
        run = self.runs.get(int(run_id))
        if run is None:
            raise _Refused(404, "Not Found")
        items = [self.artifact_records[i] for i in run.artifacts]
        return _Answer(
            200, {"total_count": len(items), "artifacts": [self._artifact_json(a) for a in items]}
        )

    def _artifact_json(self, artifact: ArtifactRecord) -> Json:
        return {
            "id": artifact.id,
            "name": artifact.name,
            "size_in_bytes": len(artifact.data),
            "expired": artifact.expired,
            "archive_download_url": f"{self.url}/repos/{self.repository}/actions/artifacts/{artifact.id}/zip",
        }

    def _download(self, _query: Mapping[str, str], _payload: Json, artifact_id: str) -> _Answer:
        artifact = self.artifact_records.get(int(artifact_id))
        if artifact is None:
            raise _Refused(404, "Not Found")
        if artifact.expired:
            raise _Refused(410, "Artifact has expired")
        signature = secrets.token_hex(16)
        self._signatures[artifact.id] = signature
        return _Answer(
            302, None, {"location": f"{self.root_url}/_blobs/{artifact.id}?sig={signature}"}
        )

    def _blob(self, path: str, query: Mapping[str, str], headers: Mapping[str, str]) -> _Answer:
        """The signed download URL: like cloud storage, it rejects a request carrying a token."""
        if "authorization" in headers:
            return _Answer(400, raw=b"<Error><Code>InvalidAuthenticationInfo</Code></Error>")
        match = re.fullmatch(r"/_blobs/(\d+)", path)
        with self.lock:
            artifact = self.artifact_records.get(int(match[1])) if match else None
            signature = self._signatures.get(artifact.id) if artifact else None
        if artifact is None or signature is None or query.get("sig") != signature:
            return _Answer(403, raw=b"<Error><Code>AuthenticationFailed</Code></Error>")
        return _Answer(200, raw=artifact.data, headers={"content-type": "application/zip"})


_ROUTES: list[tuple[str, str, tuple[str, str], Any]] = [
    ("GET", r"/issues", ("issues", "read"), FakeGitHub._list_issues),
    ("POST", r"/issues", ("issues", "write"), FakeGitHub._create_issue),
    ("GET", r"/issues/(\d+)", ("issues", "read"), FakeGitHub._get_issue),
    ("PATCH", r"/issues/(\d+)", ("issues", "write"), FakeGitHub._update_issue),
    ("GET", r"/issues/(\d+)/comments", ("issues", "read"), FakeGitHub._list_comments),
    ("POST", r"/issues/(\d+)/comments", ("issues", "write"), FakeGitHub._add_comment),
    ("GET", r"/labels/([^/]+)", ("issues", "read"), FakeGitHub._get_label),
    ("POST", r"/labels", ("issues", "write"), FakeGitHub._create_label),
    ("GET", r"/actions/workflows/([^/]+)/runs", ("actions", "read"), FakeGitHub._list_runs),
    ("GET", r"/actions/workflows/([^/]+)", ("actions", "read"), FakeGitHub._get_workflow),
    ("GET", r"/actions/runs/(\d+)/artifacts", ("actions", "read"), FakeGitHub._list_artifacts),
    ("GET", r"/actions/runs/(\d+)/jobs", ("actions", "read"), FakeGitHub._list_jobs),
    (
        "PUT",
        r"/actions/workflows/([^/]+)/enable",
        ("actions", "write"),
        FakeGitHub._enable_workflow,
    ),
    ("GET", r"/actions/artifacts/(\d+)/zip", ("actions", "read"), FakeGitHub._download),
]


def _json_body(body: bytes) -> Json:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise _Refused(400, "Problems parsing JSON") from None
    if not isinstance(payload, dict):
        raise _Refused(400, "Problems parsing JSON")
    return payload


def _check_length(body: str, resource: str) -> None:
    if len(body) > BODY_LIMIT:
        message = f"body is too long (maximum is {BODY_LIMIT} characters)"
        raise _Refused(
            422,
            "Validation Failed",
            [{"resource": resource, "code": "custom", "field": "body", "message": message}],
        )


def make_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip archive holding `files` ({path: content}), as an artifact download is.

    Entries carry a fixed timestamp, so the same files always make the same bytes.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    return buffer.getvalue()


class _GitHubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _GitHubHTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.github.handle(self.command, self.path, headers, body)
        payload = answer.raw if answer.raw is not None else json.dumps(answer.body).encode()
        if answer.raw is None and answer.body is None:
            payload = b""
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.raw is None and "content-type" not in answer.headers:
            self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests inspect `FakeGitHub.requests` instead."""


class _GitHubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    github: FakeGitHub


@contextlib.contextmanager
def serve_github(
    *,
    repository: str = "octo/project",
    token: str | None = None,
    permissions: Mapping[str, str] | None = None,
    api_prefix: str = "",
    max_per_page: int = 100,
) -> Iterator[FakeGitHub]:
    """Run the stand-in on a free loopback port until the block ends.

    `permissions` are the job's grants (default issues: write, actions: read);
    `api_prefix` is "/api/v3" to look like GitHub Enterprise Server.
    """
    github = FakeGitHub(
        repository=repository,
        token=token or f"ghs_{secrets.token_hex(18)}",
        permissions=permissions or {"issues": "write", "actions": "read"},
        api_prefix=api_prefix,
        max_per_page=max_per_page,
    )
    server = _GitHubHTTPServer((LOOPBACK, 0), _GitHubHandler)
    server.github = github
    github.port = int(server.server_address[1])
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield github
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
