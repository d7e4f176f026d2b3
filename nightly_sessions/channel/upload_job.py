"""What one upload is given, works with and gives back: its options, job and report.

The orchestration (`upload`) and the `--replace` safety net (`replace`) both read the
options, use the job's API, token and client, and fill in the report, so these live
below both of them: neither module has to import the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from nightly_sessions.channel.api import AnacondaApi
from nightly_sessions.channel.client import FileOutcome, Retry
from nightly_sessions.core.log import Log

PYPI_URL = "https://pypi.anaconda.org"
DEFAULT_API_URL = "https://api.anaconda.org"
DONE = frozenset({"uploaded", "present"})  # outcomes that leave the file on the channel


@dataclass(frozen=True)
class UploadOptions:
    """Everything one upload needs, resolved from settings and command-line options."""

    dist_dir: Path
    channel: str
    labels: tuple[str, ...] = ("main",)
    api_url: str = DEFAULT_API_URL
    token_env: str = "ANACONDA_ORG_UPLOAD_TOKEN"  # noqa: S105 - a variable's name
    sdist: bool = False
    dry_run: bool = False
    replace: bool = False
    verify: bool = False
    verify_timeout: float = 600.0
    verify_interval: float = 10.0
    index_url: str | None = None
    skip_without_token: bool = True
    jobs: int = 4
    retry: Retry = field(default_factory=Retry)
    http_timeout: float = 30.0
    http_retries: int = 3
    anaconda: str | None = None  # the anaconda-client executable; None: `anaconda` on PATH

    @property
    def label(self) -> str:
        """The first label: the one whose index `--verify` reads."""
        return self.labels[0]

    @property
    def label_text(self) -> str:
        """ "label main" or "labels main, dev" for the messages."""
        many = len(self.labels) > 1
        return f"label{'s' if many else ''} {', '.join(self.labels)}"

    @property
    def simple_url(self) -> str:
        """The channel's simple index (where `--verify` looks)."""
        if self.index_url:
            return self.index_url.rstrip("/")
        root = PYPI_URL if self.api_url.rstrip("/") == DEFAULT_API_URL else self.api_url
        middle = "" if self.label == "main" else f"/label/{quote(self.label, safe='')}"
        return f"{root.rstrip('/')}/{quote(self.channel, safe='')}{middle}/simple"


@dataclass
class UploadReport:
    """What happened to each file: uploaded, skipped (already there) or failed, with why."""

    channel: str
    label: str  # as said in its lines: "label main", "labels main, dev"
    uploaded: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # copies of replaced files not on the channel
    not_sent: list[str] = field(default_factory=list)  # the run stopped before judging them
    why_not_sent: str = ""

    def stop_before(self, names: Sequence[str], why: str) -> None:
        """Note the files the run stopped before reaching, so no count claims they are fine."""
        counted = {*self.uploaded, *(n for n, _ in self.skipped), *(n for n, _ in self.failed)}
        self.not_sent += [
            name for name in names if name not in counted and name not in self.not_sent
        ]
        self.why_not_sent = self.why_not_sent or why

    def counts(self) -> str:
        """ "3 uploaded, 0 skipped, 0 failed"; when files were not sent, they come first."""
        counts = {
            "uploaded": len(self.uploaded), "skipped": len(self.skipped), "failed": len(self.failed)
        }  # fmt: skip
        if not self.not_sent:
            return ", ".join(f"{count} {word}" for word, count in counts.items())
        head = f"{len(self.not_sent)} not sent because {self.why_not_sent}"
        done = ", ".join(f"{count} {word}" for word, count in counts.items() if count)
        return f"{head}; {done}" if done else head

    def render(self) -> str:
        if self.planned:
            return "\n".join(self.planned)
        lines = [f"Upload to {self.channel} ({self.label}): {self.counts()}."]
        lines += [f"  uploaded  {name}" for name in self.uploaded]
        lines += [f"  skipped   {name}: {why}" for name, why in self.skipped]
        lines += [f"  FAILED    {name}: {why}" for name, why in self.failed]
        lines += [f"  not sent  {name}" for name in self.not_sent]
        return "\n".join(lines)

    def markdown(self, stopped: str | None = None) -> str:
        """The step summary: a row per file so far, then why the upload stopped, if it did."""
        rows = [(name, "uploaded", "") for name in self.uploaded]
        rows += [(name, "skipped", why) for name, why in self.skipped]
        rows += [(name, "**failed**", why) for name, why in self.failed]
        rows += [(name, "**not sent**", self.why_not_sent) for name in self.not_sent]
        table = "\n".join(f"| `{name}` | {state} | {why} |" for name, state, why in rows)
        text = f"### Nightly upload to {self.channel}\n\n"
        if rows:
            text += f"| file | result | detail |\n|---|---|---|\n{table}\n"
        if stopped:
            text += f"\n**The upload stopped:** {stopped}\n"
        return text


@dataclass
class UploadJob:
    """One upload's parts; the client is looked for (or installed) only once it is needed."""

    options: UploadOptions
    api: AnacondaApi
    client: Callable[[], Path]
    token: str = field(repr=False)
    say: Log
    outcomes: dict[Path, FileOutcome] = field(default_factory=dict)  # as reported, live
    _python: Path | None = None

    @property
    def python(self) -> Path:
        if self._python is None:
            self._python = self.client()
        return self._python
