"""What a proxy in front of anaconda.org sends on a bad day, with the real anaconda-client.

An HTML 503 page, an empty 502, a plain-text 500 or a dropped connection, on the API or on
the file storage, is retried whatever the body; a file that keeps failing is reported
with a sentence, never an exception's repr.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from channel.upload_world import assert_channel_holds, options, output, run, wheels
from nightly_sessions.core.errors import NetworkError
from nightly_sessions.testing.anaconda import AnacondaServer, ApiFault

FAULTS = {
    "html-503": ApiFault.html(503),
    "empty-502": ApiFault.empty(502),
    "text-500": ApiFault.text(500),
    "dropped": ApiFault.drop(),
}
# (call, fault): every fault on the storage and the stage; two each on the others.
PASSING = [
    *((call, name) for call in ("storage", "stage") for name in FAULTS),
    ("commit", "empty-502"), ("commit", "dropped"), ("check", "html-503"), ("user", "dropped"),
]  # fmt: skip
LASTING = [*(("storage", name) for name in FAULTS), ("stage", "text-500"), ("stage", "dropped")]
# What an exception's repr or a parser's complaint looks like in a message.
REPR = re.compile(r"\b\w+(Error|Exception)\b|NoneType|not well-formed|no element found|[A-Z]\w+\(")


@pytest.mark.parametrize(("call", "fault"), PASSING, ids=[f"{c}-{f}" for c, f in PASSING])
def test_a_passing_fault_is_retried_whatever_the_body(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], call: str, fault: str
) -> None:
    server.inject(call, FAULTS[fault], times=1)
    report = run(options(server, dist))
    assert_channel_holds(server, wheels(dist))
    assert len(report.uploaded) == 3
    text = output(capfd)
    if call in {"stage", "storage", "commit"}:
        assert "after 2 attempts" in text


@pytest.mark.parametrize(("call", "fault"), LASTING, ids=[f"{c}-{f}" for c, f in LASTING])
def test_a_lasting_fault_fails_the_file_with_a_sentence(
    server: AnacondaServer, dist: Path, capfd: pytest.CaptureFixture[str], call: str, fault: str
) -> None:
    last = wheels(dist)[-1]
    server.inject(call, FAULTS[fault], times=None, match=last.name if call == "stage" else None)
    if call == "storage":  # the storage URL does not name the file: fail every transfer
        expected = r"3 of 3 file\(s\) were not uploaded"
    else:
        expected = r"1 of 3 file\(s\) were not uploaded"
    with pytest.raises(NetworkError, match=expected) as caught:
        run(options(server, dist))
    text = output(capfd)
    failed = [line for line in text.splitlines() if line.lstrip().startswith("FAILED")]
    assert failed
    for line in failed:
        assert "(after 3 attempt(s))" in line, line
        assert not REPR.search(line), line
    assert not REPR.search(str(caught.value))
