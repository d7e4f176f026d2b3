"""The wheels workflow's test-published job, and the nightly build requirements answer."""

from __future__ import annotations

from pathlib import Path

from template.template_world import (
    COMBINATIONS,
    nox_steps,
    published_job,
    steps,
    workflow,
)


def test_the_published_job_follows_the_upload_on_the_build_platforms(
    rendered: dict[str, Path],
) -> None:
    seen = set()
    for name, project in rendered.items():
        answers = COMBINATIONS[name]
        jobs = workflow(project, "nightly-wheels.yml")["jobs"]
        seen.add(published_job(answers))
        if not published_job(answers):
            assert "test-published" not in jobs
            assert (
                "nightly_published"
                not in (project / ".github/workflows/nightly-wheels.yml").read_text()
            )
            continue
        job = jobs["test-published"]
        assert job["needs"] == ["upload"]
        assert "if" not in job  # it runs when the upload succeeded, and only then
        assert job["permissions"] == {"contents": "read"}
        assert job["strategy"]["matrix"]["os"] == jobs["build"].get("strategy", {}).get(
            "matrix", {}
        ).get("os", ["ubuntu-latest"])
        assert job["runs-on"] == "${{ matrix.os }}"
        text = str(job)
        assert "secrets." not in text
        assert "environment" not in job
        download = next(s for s in steps(job) if "download-artifact" in s.get("uses", ""))
        assert download["with"] == {
            "pattern": "nightly-wheels-*", "path": "dist", "merge-multiple": True,
        }  # fmt: skip
        arguments, step = nox_steps(job)["nightly_published"]
        assert arguments == ""
        assert step["env"] == {"NIGHTLY_DIST_DIR": "dist"}
        assert steps(job).index(download) < steps(job).index(step)
    assert seen == {True, False}  # both answers rendered


def test_the_build_requirements_answer_reaches_the_noxfile(rendered: dict[str, Path]) -> None:
    for name, project in rendered.items():
        answer = COMBINATIONS[name].get("nightly_build_deps", "")
        noxfile = next(project.glob("noxfile*.py")) if name != "module-layout" else (
            project / "noxfile_nightly.py"
        )  # fmt: skip
        text = noxfile.read_text()
        names = answer.replace(",", " ").split()
        if names:
            quoted = ", ".join(f'"{item}"' for item in names)
            assert f"    build_nightly_packages=[{quoted}],\n" in text
        else:
            assert "build_nightly_packages" not in text
