"""Request checks: a create request in the other API's shape that was accepted anyway.

OpenAI rejects parameters an endpoint does not have with a 400 (for instance
"Unsupported parameter: 'response_format'. In the Responses API, this parameter
has moved to 'text.format'"), and rejects tools and messages of the other API's
shape. So a 2xx answer to such a request means the server silently ignored part
of it (deviations catalog, "request features silently ignored"). In the corpus no
genuine 2xx request carries any of these.
"""

from __future__ import annotations

from typing import Any

from conformance.api.endpoints import other_api
from conformance.api.vocabulary import ONLY_PARAMETERS
from conformance.checks.findings import Ignored
from conformance.checks.registry import CheckContext, check

def _tool_problems(tools: Any, api: str) -> list[str]:
    """Function tools in the other API's shape (chat nests them under ``function``; Responses is flat)."""
    problems = []
    for position, tool in enumerate(tools if isinstance(tools, list) else []):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        if api == "responses" and "name" not in tool and isinstance(tool.get("function"), dict):
            problems.append(f"tools[{position}] is a chat-shaped function tool (nested 'function', no 'name')")
        if api == "chat" and "function" not in tool and "name" in tool:
            problems.append(f"tools[{position}] is a Responses-shaped function tool (flat 'name', no 'function')")
    return problems


def _input_problems(items: Any) -> list[str]:
    """Chat-style tool turns inside Responses ``input`` (rejected there: it wants function_call_output items)."""
    problems = []
    for position, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        if item.get("role") == "tool":
            problems.append(f"input[{position}] has role 'tool' (Responses takes function_call_output items)")
        elif item.get("role") == "assistant" and item.get("tool_calls"):
            problems.append(f"input[{position}] is an assistant message with tool_calls (Responses takes "
                            "function_call items)")
    return problems


@check("request_params", implicit=True)
def request_params(ctx: CheckContext) -> None:
    """A 2xx create request carries no parameter, tool or message of the other API's shape.

    ``POST /responses`` with chat-only parameters (``messages``, ``response_format``,
    ``max_tokens``, ...), chat-shaped function tools or ``role: "tool"`` input, and
    ``POST /chat/completions`` with Responses-only parameters (``input``, ``text``,
    ``max_output_tokens``, ...) or flat function tools, get a 400 from OpenAI: a
    2xx means the server ignored them (verdict ignored; ``fail`` in the audit).
    """
    exchange = ctx.exchange
    body = exchange.request_body
    if exchange.method != "POST" or not isinstance(body, dict):
        return
    route = exchange.route
    if route is None or route.role != "create" or route.api not in ONLY_PARAMETERS:
        return
    api = route.api
    foreign = ONLY_PARAMETERS[other_api(api)]
    params = [name for name in foreign if name in body]
    problems = []
    if params:
        kind = "chat-only" if api == "responses" else "Responses-only"
        problems.append(f"{kind} parameter(s) " + ", ".join(f"'{name}'" for name in params))
    problems += _tool_problems(body.get("tools"), api)
    if api == "responses":
        problems += _input_problems(body.get("input"))
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise Ignored(f"{exchange.method} {exchange.path} accepted with {exchange.status} a request OpenAI "
                      f"rejects with 400: {shown}", {"params": params, "problems": problems})
