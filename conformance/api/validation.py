"""Validate an object against a contract, as a list of problems a message or a verdict can use.

Most bodies are valid, or valid but for fields OpenAI added later, so ``validate_object`` asks the
exact fast paths of ``fastschema`` first and jsonschema only for the rest.
"""

from __future__ import annotations

from typing import Any, Iterable

from conformance.api import contracts, fastschema

SHOWN = 4  # problems spelled out in a message; the rest are counted
# The annotation on a contract node that names the evidence of each of its required fields (jsonschema ignores it).
EVIDENCE_KEY = "x-evidence"


def role_of(node: Any, name: str) -> str | None:
    """The role contract ``node`` gives its required field ``name`` in its ``x-evidence``: ``informational``
    (OpenAI usually sends it, but its absence is never a failure under the profile) or ``protocol``; None when
    the node names no evidence (the compat and open-responses contracts)."""
    evidence = node.get(EVIDENCE_KEY) if isinstance(node, dict) else None
    if not isinstance(evidence, dict):
        return None
    return "informational" if name in (evidence.get("informational") or {}) else "protocol"


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(part) for part in path)


def validate_object(profile: str, name: str, instance: Any, limit: int = 100) -> list[dict[str, Any]]:
    """Problems of ``instance`` against contract ``name`` under ``profile`` ([] when valid).

    Each problem is ``{"path": JSON pointer, "message": str}``; an absent required field also has
    ``"missing": field name``, and ``"role"`` (``protocol`` or ``informational``) when its contract node names
    its evidence.
    Non-missing problems come first (they matter more). A contract that does not exist raises
    ``contracts.ContractMissing``.
    """
    validator = contracts.validator(profile, name)
    # jsonschema is the slow part of the checks, so the exact fast paths go first (tests/test_perf_equivalence.py):
    # a valid body, then a body whose only problem is absent fields (old recordings), then jsonschema
    fast = fastschema.checker(profile, name)
    if fast is not None and fast(instance):
        return []
    found = fastschema.absent(profile, name, instance, invalid=fast is not None)
    return problems_of(found or validator.iter_errors(instance), limit)


def problems_of(errors: Iterable[Any], limit: int = 100) -> list[dict[str, Any]]:
    """jsonschema's errors (or ``fastschema.Absent`` records standing for its ``required`` ones) as problems."""
    wrong: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for error in errors:
        path = _pointer(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema reports one error per absent name; derive the names from the instance itself
            for field in error.validator_value:
                if field not in error.instance and (path, field) not in seen:
                    seen.add((path, field))
                    problem = {"path": path, "message": f"missing required field {field!r}", "missing": field}
                    role = role_of(getattr(error, "schema", None), field)
                    if role is not None:
                        problem["role"] = role
                    missing.append(problem)
        else:
            wrong.append({"path": path, "message": error.message if len(error.message) <= 200
                          else error.message[:200] + "..."})
        if len(wrong) + len(missing) >= limit:
            break
    return wrong + missing


def describe(problems: list[dict[str, Any]], shown: int = SHOWN) -> str:
    """The first few problems as ``path: message``, then "and N more"."""
    parts = [f"{p['path']}: {p['message']}" for p in problems[:shown]]
    if len(problems) > shown:
        parts.append(f"and {len(problems) - shown} more")
    return "; ".join(parts)
