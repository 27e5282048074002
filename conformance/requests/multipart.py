"""A step's file upload (``upload:`` in a case) as a multipart/form-data body.

The body is byte-for-byte the same for the same upload: its boundary is derived from the parts, so a
recording matches at replay (the run id in a file name comes from the recording too).
"""

from __future__ import annotations

import hashlib
import mimetypes
import dataclasses
from dataclasses import dataclass
from typing import Any

from conformance.cases.targets import Target
from conformance.requests.placeholders import assets, substitute


@dataclass(frozen=True)
class Upload:
    """Form fields and one file, sent as multipart/form-data."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    field: str = "file"
    fields: dict[str, str] = dataclasses.field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        """The body and its Content-Type header (with the boundary)."""
        digest = hashlib.sha256(repr((sorted(self.fields.items()), self.field, self.filename, self.content_type))
                                .encode() + self.content).hexdigest()
        boundary = f"conformance-{digest[:24]}"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                 for name, value in self.fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{self.field}"; '
                     f'filename="{self.filename}"\r\nContent-Type: {self.content_type}\r\n\r\n'.encode()
                     + self.content + b"\r\n")
        return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"

    def describe(self) -> dict[str, Any]:
        """What was sent, as the checks and reports see a request body: the fields and the file's name and size."""
        return {**self.fields, self.field: {"filename": self.filename, "bytes": len(self.content),
                                            "content_type": self.content_type}}


def upload_of(spec: dict[str, Any], target: Target, results: dict[str, Any], run_id: str | None = None) -> Upload:
    """The Upload a step's ``upload:`` describes, its placeholders resolved (``Unresolved`` as for bodies)."""
    path = assets() / spec["asset"]
    resolved = substitute({k: v for k, v in spec.items() if k != "asset"}, target, results, run_id)
    return Upload(
        filename=resolved.get("filename") or path.name,
        content=path.read_bytes(),
        content_type=resolved.get("content_type") or mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        field=resolved.get("field") or "file",
        fields={str(k): str(v) for k, v in (resolved.get("fields") or {}).items()},
    )
