"""The issue command: one tracking issue per breakage.

The reporting job of the nightly workflow runs this over the report folders the test
jobs uploaded. It reads the reports (`job_reports`), finds the last green run's reports
for the version diff, writes the body (`issue_body`), then opens, updates or closes the
tracking issue as `tracking` decides (`github`).
With `--workflow-run` it reports the current run's own failing jobs and steps instead
(`run_tracking`), for the wheels workflow, whose jobs leave no reports, together with what
the upload job's token check wrote (`token-report.json` below the report-dir setting); that
issue has its own marker key and label. Both entry points share `add_arguments`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nightly_sessions.core.artifacts import REPORT_NAME, TOKEN_NAME
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError
from nightly_sessions.core.log import Log
from nightly_sessions.core.redact import redact
from nightly_sessions.core.step_summary import append_step_summary
from nightly_sessions.tracking import decisions as tracking
from nightly_sessions.tracking import deprecations_issue, issue_body, job_reports, run_tracking
from nightly_sessions.tracking.github import (
    TOKEN_VARIABLES,
    GitHub,
    api_url_from,
    repository_from,
    token_from,
)
from nightly_sessions.tracking.github import Issue as GitHubIssue

LABEL_COLOR = "d73a4a"
LABEL_DESCRIPTION = "The scheduled tests against nightly dependencies are failing"
MAX_ARTIFACT_BYTES = 50 * 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The issue command's options."""
    parser.add_argument(
        "reports", nargs="?", type=Path, default=None,
        help="folder the report artifacts were downloaded to, searched recursively for "
        f"{REPORT_NAME} (default: the report-dir setting)",
    )  # fmt: skip
    parser.add_argument(
        "--expect-jobs", metavar="JOBS",
        help="job names (comma or space separated) that must have a report; a missing one "
        "is reported as 'tests never ran' (default: $NIGHTLY_EXPECT_JOBS)",
    )  # fmt: skip
    parser.add_argument(
        "--tests-result", choices=tracking.TESTS_RESULTS,
        help="the test jobs' overall result, `needs.<job>.result`: cancelled or skipped "
        "leaves the issue alone (default: $NIGHTLY_TESTS_RESULT)",
    )  # fmt: skip
    parser.add_argument(
        "--label", help="label of the tracking issue (default: the issue-label setting)"
    )
    parser.add_argument(
        "--key",
        help="name in the hidden marker; give each workflow that reports its own key "
        f"(default: {tracking.DEFAULT_KEY}; {run_tracking.DEFAULT_KEY} with --workflow-run)",
    )  # fmt: skip
    parser.add_argument(
        "--title", help=f"title of the issue (default: by what fails, {tracking.DEFAULT_TITLE!r} "
        f"or {tracking.UPLOADS_TITLE!r}; {run_tracking.DEFAULT_TITLE!r} with --workflow-run)",
    )  # fmt: skip
    parser.add_argument(
        "--workflow-run", action="store_true",
        help="report this run's own failing jobs and steps, read from the Actions API, instead "
        "of test reports (the wheels workflow; label: the wheels-issue-label setting)",
    )  # fmt: skip
    parser.add_argument(
        "--run-id", help="the run whose jobs --workflow-run reports (default: $GITHUB_RUN_ID)"
    )
    parser.add_argument("--repository", help="owner/name (default: $GITHUB_REPOSITORY)")
    parser.add_argument(
        "--workflow", help="workflow file whose last green run to compare with "
        "(default: from $GITHUB_WORKFLOW_REF)",
    )  # fmt: skip
    parser.add_argument(
        "--branch", help="branch of that green run (default: from $GITHUB_WORKFLOW_REF)"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the diff against the last green run"
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="print the body and the action it would take; read, never write",
    )  # fmt: skip


def _run_command(call: Call) -> None:
    run(call.args, call.settings, log=call.log)


ISSUE = Entry(add_arguments, _run_command)


@dataclass(frozen=True)
class Context:
    """What the environment says about the repository, this run and the GitHub API."""

    repository: str | None
    api_url: str
    token: str | None
    run: tracking.RunInfo
    workflow: str | None
    branch: str | None


def read_context(args: argparse.Namespace, environ: Mapping[str, str]) -> Context:
    """Read the repository, token, API URL and run from arguments and GitHub's variables."""
    token = token_from(environ)
    repository = repository_from(args.repository, environ)
    api_url = api_url_from(environ)
    workflow, ref_branch = _workflow_ref(environ.get("GITHUB_WORKFLOW_REF", ""))
    branch = args.branch or ref_branch or environ.get("GITHUB_REF_NAME") or None
    run_id = getattr(args, "run_id", None) or environ.get("GITHUB_RUN_ID") or None
    server = (environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
    url = f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else None
    run = tracking.RunInfo(
        url=url, run_id=run_id, branch=branch, sha=environ.get("GITHUB_SHA") or None,
        event=environ.get("GITHUB_EVENT_NAME") or None,
    )  # fmt: skip
    return Context(repository, api_url, token, run, args.workflow or workflow, branch)


def _workflow_ref(ref: str) -> tuple[str | None, str | None]:
    """`owner/repo/.github/workflows/nightly.yml@refs/heads/main` -> (nightly.yml, main)."""
    if "@" not in ref:
        return None, None
    path, _, git_ref = ref.partition("@")
    workflow = path.rsplit("/", 1)[-1] or None
    branch = git_ref.removeprefix("refs/heads/") if git_ref.startswith("refs/heads/") else None
    return workflow, branch


def _job_list(value: str | None) -> list[str]:
    return [part for part in (value or "").replace(",", " ").split() if part]


def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    log: Log = print,
) -> int:
    """Read the reports, then open, update or close the tracking issue (or say what it would do)."""
    env = os.environ if environ is None else environ
    context = read_context(args, env)
    if args.workflow_run:
        return _report_run(args, settings, context, env=env, sleep=sleep, log=log)
    key = args.key or tracking.DEFAULT_KEY
    tests_result = _tests_result(args, env)
    if tests_result in ("cancelled", "skipped"):
        log(
            f"Nothing to do: the test jobs were {tests_result}; the tracking issue is left as it is."
        )
        return 0
    folder = args.reports if args.reports is not None else settings.report_path
    jobs = job_reports.load_jobs(
        folder, _job_list(args.expect_jobs or env.get("NIGHTLY_EXPECT_JOBS"))
    )
    failing = tracking.is_failing(jobs, tests_result)
    client = _client(context, settings, sleep, dry_run=args.dry_run)
    label = args.label or settings.issue_label
    try:
        warned = bool(deprecations_issue.current(jobs))  # their diff needs the green run too
        green = _green(client, context, args, log) if failing or warned else None
        body = issue_body.render_body(
            jobs, context.run, key=key, green=green, tests_result=tests_result
        )
        if not args.dry_run:
            append_step_summary(body if failing else "All nightly jobs passed.\n", env, log)
        found = _find_all(client, label, key) if client is not None else []
        existing = found[0] if found else None
        decision = tracking.decide(jobs, body, existing, context.run, tests_result)
        if client is not None:
            decision = _unless_closed_by_newer_run(client, label, key, context.run, decision)
        if args.dry_run or client is None:
            log(body)
            log(_would(decision, client is not None, label))
            log_duplicates(found, log)
            track_deprecations(client, jobs, green, context, settings, dry_run=True, log=log)
            return 0
        title = args.title or tracking.title_for(jobs, tests_result)
        close_duplicates(client, found, log)
        _apply(
            decision, client, body=body, title=title, label=label, key=key,
            run_id=context.run.run_id, log=log,
        )  # fmt: skip
        track_deprecations(client, jobs, green, context, settings, env=env, log=log)
    except NightlyError as exc:
        if not failing:
            raise
        count = sum(job.failing for job in jobs) or "all"
        message = (
            f"{exc} Meanwhile the nightly tests failed ({count} failing job(s)); see the run page."
        )
        raise type(exc)(message) from None
    return 0


def track_deprecations(
    client: GitHub | None,
    jobs: Sequence[job_reports.JobReport],
    green: tracking.GreenRun | None,
    context: Context,
    settings: Settings,
    *,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    log: Log = print,
) -> None:
    """Open, update or close the deprecations issue (its own key and label), or say what
    it would do; it never turns the run red."""
    if not any(isinstance(job.data.get("warnings"), Mapping) for job in jobs):
        return  # reports before schema 3, or runs that never reached pytest: nothing to tell
    found = deprecations_issue.changes(jobs, green)
    label, key = settings.deprecations_issue_label, deprecations_issue.KEY
    body = deprecations_issue.render_body(found, context.run)
    issues = _find_all(client, label, key) if client is not None else []
    decision = deprecations_issue.decide(found, body, issues[0] if issues else None, context.run)
    if decision.action == "nothing" and not found.current:
        return  # no deprecation, no issue: the failure issue's lines stay the only ones
    if dry_run or client is None:
        if found.current:
            log(body)
        log(_would(decision, client is not None, label).replace("a tracking issue", "an issue"))
        return
    if found.new or found.gone:
        append_step_summary(body, os.environ if env is None else env, log)
    close_duplicates(client, issues, log)
    _apply(
        decision, client, body=body, title=deprecations_issue.TITLE, label=label, key=key,
        run_id=context.run.run_id, log=log, titles=(deprecations_issue.TITLE,),
        label_style=(deprecations_issue.LABEL_COLOR, deprecations_issue.LABEL_DESCRIPTION),
    )  # fmt: skip


def _report_run(
    args: argparse.Namespace,
    settings: Settings,
    context: Context,
    *,
    env: Mapping[str, str],
    sleep: Callable[[float], None],
    log: Log,
) -> int:
    """`--workflow-run`: open, update or close the issue of this run's own failing jobs."""
    if args.reports is not None or args.expect_jobs or args.tests_result:
        raise ConfigError(
            "--workflow-run reads this run's jobs from GitHub: drop the reports folder, "
            "--expect-jobs and --tests-result, which belong to test reports."
        )
    run_id = context.run.run_id
    if run_id is None or not run_id.isdigit():
        given = f" ({run_id!r} is not a run id)" if run_id else ""
        raise ConfigError(f"No run to report{given}: set GITHUB_RUN_ID or pass --run-id.")
    if context.token is None:
        names = " or ".join(TOKEN_VARIABLES)
        raise ConfigError(
            f"No GitHub token: --workflow-run reads the run's jobs through the API, so set "
            f"{names} (in a workflow: `env: GITHUB_TOKEN: ${{{{ github.token }}}}` with "
            "`permissions: actions: read, issues: write`), also for --dry-run."
        )
    client = _client(context, settings, sleep, dry_run=False)
    assert client is not None  # a token is present
    key = args.key or run_tracking.DEFAULT_KEY
    label = args.label or settings.wheels_issue_label
    jobs = client.run_jobs(run_id)
    if not run_tracking.finished(jobs):
        raise ConfigError(
            f"Run {run_id} has no finished job to report on, so the tracking issue "
            "is left as it is: run this in a job that `needs` the others."
        )
    failing = run_tracking.failing(jobs)
    token = token_notice(settings.report_path, run_id, log)
    shown = bool(failing) or (token is not None and token.attention)
    workflow = env.get("GITHUB_WORKFLOW") or run_tracking.DEFAULT_WORKFLOW
    body = run_tracking.render_body(jobs, context.run, key=key, workflow=workflow, token=token)
    try:
        found = _find_all(client, label, key)
        existing = found[0] if found else None
        decision = run_tracking.decide(jobs, body, existing, context.run, token)
        decision = _unless_closed_by_newer_run(client, label, key, context.run, decision)
        if args.dry_run:
            log(body)
            log(_would(decision, True, label))
            log_duplicates(found, log)
            return 0
        append_step_summary(body if shown else "Every job of this run passed.\n", env, log)
        close_duplicates(client, found, log)
        _apply(
            decision, client, body=body, title=args.title or run_tracking.title_for(jobs, token),
            label=label, key=key, run_id=run_id, log=log,
            label_style=(run_tracking.LABEL_COLOR, run_tracking.LABEL_DESCRIPTION),
            titles=run_tracking.TITLES,
        )  # fmt: skip
    except NightlyError as exc:
        if not failing:
            raise
        names = ", ".join(job.name for job in failing)
        raise type(exc)(f"{exc} Meanwhile these jobs failed: {names}; see the run page.") from None
    return 0


def token_notice(folder: Path, run_id: str, log: Log) -> run_tracking.TokenNotice | None:
    """What this run's upload token check wrote (token-report.json below `folder`), if any.

    The upload job leaves it as an artifact that the reporting job downloads there. A file
    that cannot be read, or one of another run, is left out with a line saying so: the
    issue then shows the jobs alone.
    """
    found = sorted(folder.rglob(TOKEN_NAME)) if folder.is_dir() else []
    notices: list[run_tracking.TokenNotice] = []
    for path in found:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        notice = run_tracking.TokenNotice.from_report(data) if isinstance(data, dict) else None
        if notice is None:
            log(f"{path} is not a token report that can be read; the issue leaves it out.")
        elif notice.run_id is not None and notice.run_id != run_id:
            log(f"{path} is the token check of run {notice.run_id}, not of run {run_id}; left out.")
        else:
            notices.append(notice)
    return max(notices, key=lambda n: n.attention) if notices else None


def _tests_result(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    value = args.tests_result or environ.get("NIGHTLY_TESTS_RESULT") or None
    if value is not None and value not in tracking.TESTS_RESULTS:
        choices = ", ".join(tracking.TESTS_RESULTS)
        raise ConfigError(f"NIGHTLY_TESTS_RESULT is {value!r}, but it must be one of {choices}.")
    return value


def _client(
    context: Context, settings: Settings, sleep: Callable[[float], None], *, dry_run: bool
) -> GitHub | None:
    if context.token is None and dry_run:
        return None
    return client_for(
        context, settings, sleep, permission="issues: write", or_else=", or use --dry-run"
    )


def client_for(
    context: Context,
    settings: Settings,
    sleep: Callable[[float], None],
    *,
    permission: str,
    or_else: str = "",
) -> GitHub:
    """A GitHub client for the context's repository, or a sentence on what is missing."""
    if context.token is None:
        names = " or ".join(TOKEN_VARIABLES)
        raise ConfigError(
            f"No GitHub token: set {names} (in a workflow: `env: GITHUB_TOKEN: "
            f"${{{{ github.token }}}}` with `permissions: {permission}`){or_else}."
        )
    if context.repository is None:
        raise ConfigError("No repository: set GITHUB_REPOSITORY or pass --repository owner/name.")
    return GitHub(
        api_url=context.api_url, repository=context.repository, token=context.token,
        timeout=settings.timeout, retries=settings.retries, sleep=sleep,
    )  # fmt: skip


def _marked(found: Iterable[GitHubIssue], key: str) -> list[tracking.TrackedIssue]:
    """The issues among `found` that carry the marker of `key`, newest first."""
    issues = (tracking.TrackedIssue(i.number, i.body, i.url, i.title) for i in found)
    return tracking.find_tracking_issues(issues, key)


def _find_all(client: GitHub, label: str, key: str) -> list[tracking.TrackedIssue]:
    """The open issues with the marker of `key`, newest (the tracking issue) first."""
    return _marked(client.open_issues(label), key)


def _find(client: GitHub, label: str, key: str) -> tracking.TrackedIssue | None:
    found = _find_all(client, label, key)
    return found[0] if found else None


def _unless_closed_by_newer_run(
    client: GitHub, label: str, key: str, run: tracking.RunInfo, decision: tracking.IssueDecision
) -> tracking.IssueDecision:
    """Nothing instead of opening an issue when a newer run already closed the last one.

    Re-running an old failing run's jobs must not open an issue for a breakage that a
    newer green run has closed: its comments name that run.
    """
    if decision.action != "open" or not run.run_id:
        return decision
    newest_closed = _marked(client.issues(label, "closed", pages=1), key)
    if not newest_closed:
        return decision
    closed = newest_closed[0]
    comments = [comment.body for comment in client.recent_comments(closed.number)]
    older = tracking.older_than_shown(
        run.run_id, closed, tracking.newest_run(closed.body, comments)
    )
    return decision if older is None else tracking.IssueDecision("nothing", older)


def log_duplicates(found: Sequence[tracking.TrackedIssue], log: Log) -> None:
    """In a dry run, say which open issues would be closed as duplicates of the newest."""
    for duplicate in found[1:]:
        log(f"Would close issue #{duplicate.number} as a duplicate of #{found[0].number}.")


def close_duplicates(client: GitHub, found: Sequence[tracking.TrackedIssue], log: Log) -> None:
    """Close every open tracking issue but the newest, saying which one it duplicates.

    Two open issues with the same marker appear when someone reopens an old one (or two
    reporting jobs race); left open, the older would never be closed by a green run.
    This runs before the decision is carried out, so that the newest stays the tracking
    issue until every duplicate is closed, also across a re-run after a failure.
    """
    for duplicate in found[1:]:
        comment_once(client, duplicate.number, tracking.duplicate_comment(found[0]))
        client.update_issue(duplicate.number, state="closed", state_reason="not_planned")
        log(f"Closed issue #{duplicate.number} as a duplicate of #{found[0].number}.")


def comment_once(client: GitHub, number: int, text: str) -> bool:
    """Post `text` on issue `number` unless it is there already; return whether it was posted.

    A re-run of a job whose comment was posted but whose next step failed (or whose answer
    was lost) must not post it twice: the comment's hidden run marker, or its text, is
    looked up among the issue's newest comments first.
    """
    comments = [comment.body for comment in client.recent_comments(number)]
    if tracking.already_posted(comments, text):
        return False
    client.comment(number, text)
    return True


def _with_marker(comment: str, run_id: str | None, action: str) -> str:
    """`comment` ending with the hidden line that names this run and action, when known."""
    if not run_id:
        return comment
    return f"{comment}\n\n{tracking.comment_marker(run_id, action)}"


def _would(decision: tracking.IssueDecision, looked: bool, label: str) -> str:
    if not looked and decision.action == "open":
        return (
            "Would open a tracking issue, or update the open one labelled "
            f"{label!r} (no GitHub token to look it up)."
        )
    if not looked and decision.action == "nothing" and decision.reason.startswith("every job"):
        return f"Would close the open tracking issue labelled {label!r}, if there is one (no GitHub token to look it up)."
    number = f" #{decision.issue.number}" if decision.issue else ""
    verbs = {
        "open": "open a tracking issue",
        "update": f"update issue{number}",
        "close": f"close issue{number}",
    }
    action = verbs.get(decision.action, "do nothing")
    comment = f" with the comment: {decision.comment}" if decision.comment else ""
    return f"Would {action} ({decision.reason}){comment}."


def _apply(
    decision: tracking.IssueDecision,
    client: GitHub,
    *,
    body: str,
    title: str,
    label: str,
    key: str,
    run_id: str | None,
    log: Log,
    label_style: tuple[str, str] = (LABEL_COLOR, LABEL_DESCRIPTION),
    titles: tuple[str, ...] = tracking.TITLES,
) -> None:
    """Carry out `decision`, so that a re-run after a partial failure finishes it.

    The comment comes first and is posted only once per run; the body or the state follows.
    A re-run after the second call failed finds the issue as before, decides the same,
    skips the comment it finds and makes the call that is missing.
    """
    issue = decision.issue
    if decision.action == "open":
        client.ensure_label(label, *label_style)
        try:
            created = client.create_issue(title, body, [label])
        except NetworkError:
            found = _find(client, label, key)  # the issue may exist although the answer was lost
            if found is None or not tracking.same_body(found.body, body):
                raise
            log(f"Opened issue #{found.number}: {found.url}")
            return
        log(f"Opened issue #{created.number}: {created.url}")
    elif decision.action == "update" and issue is not None:
        comment_once(client, issue.number, _with_marker(decision.comment or "", run_id, "update"))
        fields = {"body": body}
        if issue.title in titles and issue.title != title:
            fields["title"] = title  # what fails changed; a title someone chose is kept
        client.update_issue(issue.number, **fields)
        log(f"Updated issue #{issue.number}: {issue.url}")
    elif decision.action == "close" and issue is not None:
        comment_once(client, issue.number, _with_marker(decision.comment or "", run_id, "close"))
        client.close_issue(issue.number)
        log(f"Closed issue #{issue.number}: {issue.url}")
    else:
        log(f"Nothing to do: {decision.reason}.")


def _green(
    client: GitHub | None, context: Context, args: argparse.Namespace, log: Log
) -> tracking.GreenRun | None:
    """The last green run's reports, or a GreenRun saying why there are none."""
    if args.no_compare or client is None:
        return None
    if not context.workflow or not context.branch:
        return tracking.GreenRun(
            problem="No comparison with a green run: the workflow and branch are unknown outside "
            "GitHub Actions (pass --workflow and --branch)."
        )
    try:
        return fetch_last_green(client, context.workflow, context.branch, log)
    except NetworkError as exc:
        return tracking.GreenRun(
            problem=f"The last green run could not be read: {redact(str(exc))}"
        )


def fetch_last_green(
    client: GitHub, workflow: str, branch: str, log: Log = print
) -> tracking.GreenRun:
    """Download the nightly reports of the newest successful run of `workflow` on `branch`."""
    green = client.latest_successful_run(workflow, branch)
    if green is None:
        return tracking.GreenRun(
            problem=f"No successful run of `{workflow}` on `{branch}` to compare with yet."
        )
    link = f"[run {green.id}]({green.url})"
    artifacts = [
        a for a in client.artifacts(green.id) if a.name.startswith(job_reports.ARTIFACT_PREFIX)
    ]
    if not artifacts:
        return tracking.GreenRun(
            problem=f"The last green run, {link}, has no report artifacts to compare with."
        )
    live = [a for a in artifacts if not a.expired and a.size <= MAX_ARTIFACT_BYTES]
    if not live:
        return tracking.GreenRun(
            problem=f"The report artifacts of the last green run, {link}, have expired."
        )
    reports: list[Mapping[str, Any]] = []
    for artifact in live:
        report = _report_from_zip(client.download_artifact(artifact.id))
        if report is None:
            log(f"The artifact {artifact.name} of run {green.id} holds no readable {REPORT_NAME}.")
        else:
            reports.append(report)
    if not reports:
        return tracking.GreenRun(
            problem=f"The report artifacts of the last green run, {link}, are unreadable."
        )
    return tracking.GreenRun(url=green.url, run_id=str(green.id), reports=tuple(reports))


def _report_from_zip(data: bytes) -> Mapping[str, Any] | None:
    """The nightly report inside an artifact zip (the shallowest one), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == REPORT_NAME]
            if not names:
                return None
            name = min(names, key=lambda n: (n.count("/"), n))
            if archive.getinfo(name).file_size > MAX_ARTIFACT_BYTES:
                return None
            report = json.loads(archive.read(name))
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    return report if isinstance(report, dict) else None
