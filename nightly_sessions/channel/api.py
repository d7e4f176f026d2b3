"""The anaconda.org API calls this project makes itself: reads, a file download, a release delete.

Uploads go through anaconda-client (`anaconda_client`); this client reads what the channel
holds before and after, deletes releases for `cleanup`, and reads the token's own
description (expiry, scopes, account) for `token_check`. The token travels in the
`Authorization` header only, and every message goes through `redact`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nightly_sessions.core.errors import NetworkError
from nightly_sessions.core.http import HttpClient, Response
from nightly_sessions.core.redact import add_secret, redact

SCOPES = (
    '"Allow uploads to Standard Python repositories", "Allow read access to the API site" '
    'and "Allow write access to the API site"'
)


class TokenRefused(NetworkError):
    """anaconda.org answered 401 or 403: the token is missing, expired or under-scoped."""

    def __init__(self, message: str, *, status: int, server_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


def token_advice(status: int, server_message: str, token_env: str, channel: str) -> str:
    """The sentence for a refused token: what happened and exactly what to do."""
    if status == 401:
        return (
            f"anaconda.org refused the token in {token_env} (401: {server_message}); make a new "
            f"token at https://anaconda.org/<your user>/settings/access with the scopes SPEC 4 "
            f"names ({SCOPES}), store it as the secret {token_env}, and run again."
        )
    return (
        f"anaconda.org did not let the token in {token_env} write to {channel} "
        f"({status}: {server_message}); check that the token has the scopes SPEC 4 names "
        f"({SCOPES}), that its user is a member of {channel}, and that the secret is named "
        f"{token_env}."
    )


@dataclass(frozen=True)
class RemoteFile:
    """A file on the channel as the API describes it."""

    basename: str
    sha256: str | None
    md5: str | None
    upload_time: object  # as the API sent it; `cleanup` parses it strictly

    def same_content(self, sha256: str, md5: str) -> bool:
        """Whether a local file with these digests is this file; False when the API gave none."""
        if self.sha256:
            return self.sha256.lower() == sha256.lower()
        if self.md5:
            return self.md5.lower() == md5.lower()
        return False


def _segment(value: str) -> str:
    """One URL path segment; a `/` in a name or version can never reach another path."""
    return quote(value, safe="")


class AnacondaApi:
    """A thread-safe client for the calls above; `token` may be None for public reads."""

    def __init__(self, url: str, token: str | None, *, http: HttpClient | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = http or HttpClient()
        self._headers = {"Accept": "application/json"}
        if token:
            add_secret(token)
            self._headers["Authorization"] = f"token {token}"

    def __repr__(self) -> str:
        return f"AnacondaApi({redact(self.url)!r})"

    def distribution(
        self, owner: str, package: str, version: str, basename: str
    ) -> RemoteFile | None:
        """The file `basename` of that release, or None when the channel does not have it."""
        path = "/".join(_segment(part) for part in ("dist", owner, package, version, basename))
        data = self._json("GET", path, missing_ok=True)
        if data is None:
            return None
        return remote_file(data, f"{self.url}/{path}")

    def package(self, owner: str, package: str) -> dict[str, Any] | None:
        """The package record (with `releases`), or None when it does not exist."""
        path = f"package/{_segment(owner)}/{_segment(package)}"
        data = self._json("GET", path, missing_ok=True)
        if data is not None and not isinstance(data, dict):
            raise _unreadable(f"{self.url}/{path}", "not a JSON object")
        return data

    def release(self, owner: str, package: str, version: str) -> dict[str, Any]:
        """The release record (with `distributions`); NetworkError when it cannot be read."""
        path = f"release/{_segment(owner)}/{_segment(package)}/{_segment(version)}"
        data = self._json("GET", path)
        if not isinstance(data, dict):
            raise _unreadable(f"{self.url}/{path}", "not a JSON object")
        return data

    def remove_release(self, owner: str, package: str, version: str) -> bool:
        """Delete one release and its files; False when it was already gone."""
        path = f"release/{_segment(owner)}/{_segment(package)}/{_segment(version)}"
        response = self.http.request("DELETE", f"{self.url}/{path}", headers=self._headers)
        if response.status == 404:
            return False
        self._check(response, "DELETE")
        return True

    def authentication(self) -> dict[str, Any]:
        """The token's own record: `expires`, `scopes`, `application` (its name), `id`.

        `GET /authentication`, the call of anaconda-client's `Binstar.authentication()`
        (`anaconda auth --info`); an expired token answers 401 (TokenRefused).
        """
        data = self._json("GET", "authentication")
        if not isinstance(data, dict):
            raise _unreadable(f"{self.url}/authentication", "not a JSON object")
        return data

    def current_user(self) -> dict[str, Any]:
        """The account the token belongs to (`login`): `GET /user`, anaconda-client's
        `Binstar.user()` without a login (`anaconda whoami`)."""
        data = self._json("GET", "user")
        if not isinstance(data, dict):
            raise _unreadable(f"{self.url}/user", "not a JSON object")
        return data

    def download(self, owner: str, package: str, version: str, basename: str) -> bytes:
        """The bytes of one file (the API redirects to its storage)."""
        path = "/".join(_segment(part) for part in ("download", owner, package, version, basename))
        response = self.http.request("GET", f"{self.url}/{path}", headers=self._headers)
        self._check(response, "GET")
        return response.body

    def _json(self, method: str, path: str, *, missing_ok: bool = False) -> Any:
        response = self.http.request(method, f"{self.url}/{path}", headers=self._headers)
        if missing_ok and response.status == 404:
            return None
        self._check(response, method)
        return response.json()

    def _check(self, response: Response, method: str) -> None:
        if 200 <= response.status < 300:
            return
        message = _server_message(response)
        if response.status in {401, 403}:
            raise TokenRefused(
                f"{method} {redact(response.url)} answered HTTP {response.status} "
                f"({redact(message)}).",
                status=response.status,
                server_message=redact(message),
            )
        raise NetworkError(
            f"{method} {redact(response.url)} answered HTTP {response.status} "
            f"({redact(message)}); try again later, or check the channel and package names."
        )


def _server_message(response: Response) -> str:
    """The API's `error` text, or the start of the body."""
    try:
        data = response.json()
    except NetworkError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return " ".join(response.text.split())[:200] or "no message"


def _unreadable(url: str, why: str) -> NetworkError:
    return NetworkError(f"{redact(url)} answered with data that cannot be read ({why}).")


def remote_file(data: object, where: str) -> RemoteFile:
    """A RemoteFile from an API object; NetworkError when it has no basename."""
    if not isinstance(data, dict) or not isinstance(data.get("basename"), str):
        raise _unreadable(where, "a file without a basename")
    sha256, md5 = data.get("sha256"), data.get("md5")
    return RemoteFile(
        basename=data["basename"],
        sha256=sha256 if isinstance(sha256, str) and sha256 else None,
        md5=md5 if isinstance(md5, str) and md5 else None,
        upload_time=data.get("upload_time"),
    )


def what_failed(error: BaseException) -> str:
    """The "what failed" part of a one-sentence message, without its advice.

    Messages read "what failed; what to do." (see `errors`); a message quoted inside another
    keeps only its first clause, so the outer sentence gives the one thing to do. A `;`
    inside parentheses (a server's own text) does not end the clause.
    """
    text = str(error).strip()
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth <= 0 and text.startswith("; ", index):
            return text[:index]
    return text.removesuffix(".")


def digests(data: bytes) -> tuple[str, str]:
    """(sha256, md5) hex digests, the two the API may report."""
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()  # noqa: S324
