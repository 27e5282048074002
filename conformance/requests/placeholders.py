"""Build the concrete HTTP requests of a case for one target.

Placeholders in a case's request (strings):
  ``${model}``, ``${model.vision}``           the target's model for a role
  ``${asset:NAME}``                            a ``data:`` URL of ``suites/assets/NAME``
  ``${resource.NAME}``                         a resource the target provides (e.g. a vector store id)
  ``${STEP.path.to.value}``                    a value from an earlier step's answer; a path part
                                               ``items[type=function_call]`` picks the first match
  ``${run.id}``                                the run's id (``new_run_id``): names what a case creates
                                               (files, vector stores), so a crashed live run's leftovers
                                               can be found; replay uses the id of the recording
A string that is exactly one placeholder becomes the value itself (an object stays an object).
"""

from __future__ import annotations

import base64
import copy
import mimetypes
import re
import secrets
import time
from pathlib import Path
from typing import Any

from conformance.api.contracts import package_path
from conformance.cases.targets import Target

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
# A run id: UTC time to the second and 6 random hex digits, e.g. 20261130t120000-a1b2c3 (sortable, greppable).
RUN_ID = re.compile(r"\b\d{8}t\d{6}-[0-9a-f]{6}\b")


def new_run_id() -> str:
    """A fresh run id (see ``RUN_ID``)."""
    return time.strftime("%Y%m%dt%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def assets() -> Path:
    """The folder of files cases send (``${asset:NAME}``)."""
    return package_path("suites", "assets")


class Unresolved(LookupError):
    """A placeholder names something that does not exist (yet)."""


class MissingResource(LookupError):
    """The case needs a resource the target's configuration does not provide."""


def _walk(value: Any, path: list[str], name: str) -> Any:
    for part in path:
        match = re.fullmatch(r"([^\[]*)\[([^=\]]+)=([^\]]*)\]", part)
        if match:
            key, field, wanted = match.groups()
            if key:
                value = _walk(value, [key], name)
            if not isinstance(value, list):
                raise Unresolved(f"${{{name}}}: {key or 'value'} is not a list")
            value = next((v for v in value if isinstance(v, dict) and str(v.get(field)) == wanted), None)
            if value is None:
                raise Unresolved(f"${{{name}}}: no item with {field}={wanted}")
        elif isinstance(value, list) and part.isdigit():
            if int(part) >= len(value):
                raise Unresolved(f"${{{name}}}: index {part} out of range")
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise Unresolved(f"${{{name}}}: no {part!r}")
    return value


def resolve(name: str, target: Target, results: dict[str, Any], run_id: str | None = None) -> Any:
    """The value of one placeholder name."""
    if name == "run.id":
        if run_id is None:
            raise MissingResource("${run.id}: this run has no run id (the runner was given none)")
        return run_id
    if name == "model" or name.startswith("model."):
        return target.model(name.partition(".")[2] or "default")
    if name.startswith("resource."):
        key = name.partition(".")[2]
        if key not in target.resources:
            raise MissingResource(f"target {target.name!r} has no resource {key!r}: set resources.{key} in a targets file")
        return target.resources[key]
    if name.startswith("asset:"):
        path = assets() / name[len("asset:"):]
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()
    step, _, rest = name.partition(".")
    if step not in results:
        raise Unresolved(f"${{{name}}}: step {step!r} has not answered")
    if results[step] is None:
        raise Unresolved(f"${{{name}}}: step {step!r} returned no object")
    return _walk(results[step], rest.split(".") if rest else [], name)


def substitute(value: Any, target: Target, results: dict[str, Any], run_id: str | None = None) -> Any:
    """A deep copy of ``value`` with every placeholder replaced."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return copy.deepcopy(resolve(whole.group(1), target, results, run_id))
        return PLACEHOLDER.sub(lambda m: str(resolve(m.group(1), target, results, run_id)), value)
    if isinstance(value, dict):
        return {k: substitute(v, target, results, run_id) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, target, results, run_id) for v in value]
    return value


def with_stream(body: dict[str, Any] | None, api: str) -> dict[str, Any] | None:
    """The streaming variant of a create body: ``stream: true`` (chat also asks for the usage chunk)."""
    if body is None:
        return None
    out = dict(body)
    out["stream"] = True
    if api == "chat":
        out.setdefault("stream_options", {"include_usage": True})
    return out
