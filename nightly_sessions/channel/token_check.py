"""The upload token check: warn before the anaconda.org token expires, refuse a dead one.

anaconda.org tokens last a year, and an expired one used to show only as weeks of failed
uploads (then the channel deletes the project's nightlies). This check asks anaconda.org
about the token itself, with the calls anaconda-client makes for `anaconda auth --info`
and `anaconda whoami` (`GET /authentication`: `expires`, `scopes`, its name; `GET /user`:
the account that must make the next one), and then:

- warns from `token-warn-days` (30) days before the expiry, with the date, who must make
  a new token and where, the scopes SPEC 4 names and the secret to replace;
- refuses, before anything is sent, a token that has expired, that anaconda.org does not
  accept, or that lacks a scope SPEC 4 asks for (`pypi:upload`, `api:read`, `api:write`):
  `TokenProblem`, a ConfigError (exit code 2: the secret is bad input);
- fails with exit code 3 when anaconda.org could not be asked; the upload only warns then
  and goes on, as its own calls meet the same API a moment later.

`nox -s nightly_token` runs it alone (the template's upload job runs it before
upload-nightly-action); `upload_nightly` runs it first. The result goes to the log, to
$GITHUB_STEP_SUMMARY when there is something to say, and to
`<report-dir>/token/token-report.json`, which `nightly_issue -- --workflow-run` turns into
a section of the wheels tracking issue. The token appears in none of them: it travels in
the Authorization header only, and every text goes through `redact`.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from nightly_sessions.channel.api import AnacondaApi, TokenRefused, what_failed
from nightly_sessions.channel.credentials import read_token, secrets_withheld
from nightly_sessions.core.artifacts import TOKEN_NAME
from nightly_sessions.core.commands import Call, Entry
from nightly_sessions.core.config import Settings
from nightly_sessions.core.errors import ConfigError, NetworkError, NightlyError
from nightly_sessions.core.http import HttpClient
from nightly_sessions.core.log import Log
from nightly_sessions.core.redact import redact
from nightly_sessions.core.step_summary import append_step_summary, notice
from nightly_sessions.core.timestamps import parse_time

FOLDER = "token"  # below the report folder, as `freshness` writes into its own
# SPEC 4's three scopes, as anaconda.org names them, with the words of its token page.
SPEC4_SCOPES: dict[str, str] = {
    "pypi:upload": "Allow uploads to Standard Python repositories",
    "api:read": "Allow read access to the API site",
    "api:write": "Allow write access to the API site",
}
# The wider scopes of anaconda.org's list that include each of them.
WIDER_SCOPES: dict[str, tuple[str, ...]] = {
    "pypi:upload": ("pypi", "repos", "all"),
    "api:read": ("api", "all"),
    "api:write": ("api", "all"),
}
SCOPE_LIST = ", ".join(f'{name} ("{label}")' for name, label in SPEC4_SCOPES.items())
TITLE = "anaconda.org upload token"

# ok and warning pass; the three after them stop an upload; unreadable: not asked.
Outcome = Literal["ok", "warning", "expired", "refused", "missing-scopes", "unreadable", "skipped"]
STOPS: dict[str, str] = {  # outcome -> why the files were not sent, for the upload's report
    "expired": "the upload token has expired",
    "refused": "anaconda.org does not accept the upload token",
    "missing-scopes": "the upload token lacks a scope SPEC 4 asks for",
}


class TokenProblem(ConfigError):
    """A token no upload can succeed with: expired, not accepted, or missing a scope."""

    def __init__(self, message: str, *, why: str) -> None:
        super().__init__(message)
        self.why = why


@dataclass(frozen=True)
class TokenCheckOptions:
    """One check: where the API is, the token's variable, and when to start warning."""

    api_url: str
    token_env: str = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable's name
    warn_days: int = 30
    report_dir: Path | None = None  # where token-report.json goes; None: nowhere
    skip_without_token: bool = True
    http_timeout: float = 30.0
    http_retries: int = 3


def options_for(
    settings: Settings, *, token_env: str | None = None, warn_days: int | None = None
) -> TokenCheckOptions:
    """The check as the settings describe it (the upload's too)."""
    return TokenCheckOptions(
        api_url=settings.anaconda_api_url,
        token_env=token_env or settings.upload_token_env,
        warn_days=settings.token_warn_days if warn_days is None else warn_days,
        report_dir=settings.report_path / FOLDER,
        skip_without_token=settings.skip_upload_without_token,
        http_timeout=settings.timeout,
        http_retries=settings.retries,
    )


def renewal(login: str | None, token_env: str) -> str:
    """SPEC 4's steps for a new token: who makes it, where, with which scopes, which secret."""
    who = f"the anaconda.org user {login}" if login else "the anaconda.org user it belongs to"
    return (
        f"{who} must make a new personal token at "
        f"https://anaconda.org/{login or '<user>'}/settings/access with the scopes SPEC 4 "
        f"names, {SCOPE_LIST}, and store it as the secret {token_env} (of the repository, or "
        "of the environment the upload job runs in) in place of the old one"
    )


def missing_scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    """SPEC 4's scopes that neither `scopes` nor a wider scope in it grants."""
    held = set(scopes)
    return tuple(
        name
        for name in SPEC4_SCOPES
        if name not in held and not held.intersection(WIDER_SCOPES[name])
    )


def _in_days(days: int) -> str:
    return "in less than a day" if days < 1 else f"in {days} day{'s' if days != 1 else ''}"


@dataclass(frozen=True)
class TokenStatus:
    """What anaconda.org said about the token, the verdict, and the sentences to show."""

    token_env: str
    now: datetime
    warn_days: int
    outcome: Outcome
    expires: datetime | None = None  # None: never, or not known (see `outcome`)
    scopes: tuple[str, ...] | None = None  # None: not listed, or not known
    login: str | None = None
    name: str | None = None
    message: str | None = None  # the sentence that stops (an error outcome)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def days_left(self) -> int | None:
        """Whole days until the expiry; None when it never expires or is not known."""
        return None if self.expires is None else (self.expires - self.now).days

    @property
    def missing(self) -> tuple[str, ...]:
        return () if self.scopes is None else missing_scopes(self.scopes)

    @property
    def attention(self) -> bool:
        """Whether a person must act: anything but a quiet pass (or no check at all)."""
        return self.outcome not in ("ok", "skipped")

    @property
    def headline(self) -> str:
        """The step summary's heading: what is the matter, in a few words."""
        days = self.days_left
        return {
            "ok": "valid",
            "warning": f"expires {_in_days(days)}" if days is not None else "needs a look",
            "expired": "expired",
            "refused": "not accepted",
            "missing-scopes": "lacks a scope SPEC 4 asks for",
            "unreadable": "could not be checked",
            "skipped": "not checked",
        }[self.outcome]

    def quiet_line(self) -> str:
        """The one line of a token that passes: valid until when, scopes as SPEC 4 asks."""
        named = f" ({self.name})" if self.name else ""
        until = (
            f"is valid until {self.expires:%Y-%m-%d} ({self.days_left} days left)"
            if self.expires is not None
            else "never expires"
        )
        scopes = (
            " and has the scopes SPEC 4 asks for"
            if self.scopes is not None
            else "; anaconda.org did not list its scopes, so they were not checked"
        )
        return f"The {TITLE} in {self.token_env}{named} {until}{scopes}."

    def lines(self, environ: Mapping[str, str]) -> list[str]:
        """What the log shows (the stopping sentence is the error's, not one of these)."""
        if self.outcome == "ok":
            return [redact(self.quiet_line())]
        shown = [_warning(text, environ) for text in self.warnings]
        return [redact(line) for line in [*shown, *(f"note: {n}" for n in self.notes)]]

    def markdown(self) -> str:
        """The step summary's section."""
        texts = [text for text in (self.message, *self.warnings, *self.notes) if text]
        return redact(f"### {TITLE}: {self.headline}\n\n" + "\n\n".join(texts) + "\n")

    def to_dict(self, run_id: str | None = None) -> dict[str, Any]:
        """The JSON report `nightly_issue -- --workflow-run` reads (schema 1, kind `token`)."""
        expires = self.expires
        return {
            "schema": 1,
            "kind": "token",
            "created": self.now.isoformat(timespec="seconds"),
            "run_id": run_id,
            "token_env": self.token_env,
            "outcome": self.outcome,
            "expires": expires.isoformat(timespec="seconds") if expires else None,
            "days_left": self.days_left,
            "warn_days": self.warn_days,
            "login": self.login,
            "name": self.name,
            "scopes": list(self.scopes) if self.scopes is not None else None,
            "missing_scopes": list(self.missing),
            "message": redact(self.message) if self.message else None,
            "warnings": [redact(text) for text in self.warnings],
            "notes": [redact(text) for text in self.notes],
        }


def _warning(text: str, environ: Mapping[str, str]) -> str:
    """`text` as a warning: an annotation on GitHub Actions (shown on the run page)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        data = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::warning title={TITLE}::{data}"
    return f"warning: {text}"


def _and_join(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def judge(
    record: Mapping[str, Any],
    login: str | None,
    *,
    token_env: str,
    warn_days: int,
    now: datetime,
) -> TokenStatus:
    """The verdict on a token from its `GET /authentication` record (pure)."""
    name = _text(record.get("application"))
    raw_scopes = record.get("scopes")
    scopes = (
        tuple(raw_scopes)
        if isinstance(raw_scopes, list)
        and raw_scopes
        and all(isinstance(s, str) for s in raw_scopes)
        else None
    )
    raw_expires = record.get("expires")
    expires = parse_time(raw_expires)
    named = f" ({name})" if name else ""
    who = f"The {TITLE} in {token_env}{named}"
    renew = renewal(login, token_env)
    known = TokenStatus(token_env, now, warn_days, "ok", expires, scopes, login, name)
    if expires is not None and expires <= now:
        message = (
            f"{who} expired on {expires:%Y-%m-%d} at {expires:%H:%M} UTC, so no nightly can "
            f"be uploaded; {renew}."
        )
        return replace(known, outcome="expired", message=message)
    warnings: list[str] = []
    notes: list[str] = []
    if expires is not None and (expires - now).days <= warn_days:  # whole days left, as shown
        warnings.append(
            f"{who} expires on {expires:%Y-%m-%d} at {expires:%H:%M} UTC, "
            f"{_in_days((expires - now).days)}, and from then on every nightly upload fails: "
            f"{renew}."
        )
    elif expires is None and raw_expires is not None:
        warnings.append(
            f"anaconda.org gave the expiry of the {TITLE} in {token_env} as "
            f"{redact(repr(raw_expires))[:80]}, which is not a date, so nobody can be warned "
            f"before it expires; check it at https://anaconda.org/{login or '<user>'}/settings/access."
        )
    if scopes is None:
        notes.append("anaconda.org did not list the token's scopes, so they were not checked.")
    lacking = () if scopes is None else missing_scopes(scopes)
    if lacking:
        plural = "s" if len(lacking) > 1 else ""
        wanted = _and_join([f'{scope} ("{SPEC4_SCOPES[scope]}")' for scope in lacking])
        assert scopes is not None
        message = (
            f"{who} lacks the scope{plural} {wanted} that SPEC 4 asks for (it has "
            f"{', '.join(scopes)}), so the upload would fail on it; {renew}."
        )
        return replace(
            known, outcome="missing-scopes", message=message, warnings=tuple(warnings),
            notes=tuple(notes),
        )  # fmt: skip
    outcome: Outcome = "warning" if warnings else "ok"
    return replace(known, outcome=outcome, warnings=tuple(warnings), notes=tuple(notes))


def refused(
    status: int, server_message: str, *, token_env: str, warn_days: int, now: datetime
) -> TokenStatus:
    """The verdict when anaconda.org would not describe the token (401 or 403)."""
    answer = f"anaconda.org answered {status}: {redact(server_message)}"
    renew = renewal(None, token_env)
    if status == 401 and "expired" in server_message.lower():
        message = (
            f"The {TITLE} in {token_env} has expired ({answer}), so no nightly can be "
            f"uploaded; {renew}."
        )
        return TokenStatus(token_env, now, warn_days, "expired", message=message)
    if status == 401:
        message = (
            f"anaconda.org does not accept the upload token in {token_env} ({answer}): it was "
            f"revoked, or the secret holds something else; {renew}."
        )
    else:
        message = (
            f"anaconda.org refused to describe the upload token in {token_env} ({answer}), "
            f"which a token with the api:read scope may do; {renew}."
        )
    return TokenStatus(token_env, now, warn_days, "refused", message=message)


def _login(api: AnacondaApi) -> str | None:
    """The token's account, for the advice; None when it cannot be read (the advice says so)."""
    try:
        return _text(api.current_user().get("login"))
    except NightlyError:
        return None


def check(options: TokenCheckOptions, token: str, *, now: datetime | None = None) -> TokenStatus:
    """Ask anaconda.org about the token and judge it; reads only, raises nothing."""
    moment = now or datetime.now(timezone.utc)
    env, days = options.token_env, options.warn_days
    http = HttpClient(timeout=options.http_timeout, retries=options.http_retries)
    api = AnacondaApi(options.api_url, token, http=http)
    try:
        record = api.authentication()
    except TokenRefused as exc:
        return refused(exc.status, exc.server_message, token_env=env, warn_days=days, now=moment)
    except NightlyError as exc:
        message = (
            f"The {TITLE} in {options.token_env} could not be checked: {what_failed(exc)}; "
            "check again later."
        )
        return TokenStatus(env, moment, days, "unreadable", message=redact(message))
    status = judge(record, None, token_env=env, warn_days=days, now=moment)
    if status.attention:  # the advice names the account that must make the next token
        status = judge(record, _login(api), token_env=env, warn_days=days, now=moment)
    return status


def write_report(
    status: TokenStatus, folder: Path, environ: Mapping[str, str], log: Log = print
) -> Path | None:
    """Write token-report.json into `folder`; a failure is a warning (the check stands)."""
    path = folder / TOKEN_NAME
    text = json.dumps(status.to_dict(environ.get("GITHUB_RUN_ID") or None), indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(redact(text), encoding="utf-8")
    except OSError as exc:
        log(
            redact(
                f"warning: could not write {path} ({exc.strerror or exc}); the wheels "
                "tracking issue will not show the token's state."
            )
        )
        return None
    return path


def run(
    options: TokenCheckOptions,
    token: str,
    *,
    environ: Mapping[str, str],
    log: Log = print,
    now: datetime | None = None,
    during_upload: bool = False,
) -> TokenStatus:
    """Check, show, report; raise TokenProblem for a token no upload can succeed with.

    `during_upload`: the upload's own summary says why it stopped, so the stopping sentence
    is left out of this one, and a token that could not be checked is a warning.
    """
    status = check(options, token, now=now)
    for line in status.lines(environ):
        log(line)
    stops = status.outcome in STOPS
    if status.attention and not (during_upload and (stops or status.outcome == "unreadable")):
        append_step_summary(status.markdown(), environ, log)
    if options.report_dir is not None:
        write_report(status, options.report_dir, environ, log)
    if stops:
        raise TokenProblem(status.message or status.headline, why=STOPS[status.outcome])
    if status.outcome == "unreadable":
        message = status.message or "The upload token could not be checked."
        if not during_upload:
            raise NetworkError(message)
        log(redact(f"warning: {what_failed(NetworkError(message))}; the upload goes on."))
    return status


# The command.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The token check's options; defaults (None) come from the settings."""
    add = parser.add_argument
    add("--token-env", help="variable holding the token (default: the upload-token-env setting)")
    add("--days", type=int, help="warn this many days before it expires (default: token-warn-days)")


def options_from(args: argparse.Namespace, settings: Settings) -> TokenCheckOptions:
    """Merge parsed options over the settings."""
    if args.days is not None and args.days < 0:
        raise ConfigError("--days must be a whole number >= 0.")
    return options_for(settings, token_env=args.token_env, warn_days=args.days)


def _run_command(call: Call) -> None:
    options = options_from(call.args, call.settings)
    environ = os.environ
    token = read_token(
        options.token_env, environ, skip_without_token=options.skip_without_token,
        what="be checked",
    )  # fmt: skip
    if token is None:
        message = (
            f"no token in {options.token_env} in {secrets_withheld(environ)}, so the upload "
            "token was not checked."
        )
        call.log(notice(message, "Upload token not checked", environ))
        return
    run(options, token, environ=environ, log=call.log)


TOKEN_CHECK = Entry(add_arguments, _run_command)
