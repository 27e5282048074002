"""Small capability files for tests that run the suite on a scripted server (one builder, not a copy per test)."""

from __future__ import annotations

HEADER = "capability: demo\ntitle: Demo\ncases:\n"


def chat_case(case_id: str, content: str = "hi", description: str = "A prompt gets an answer.") -> str:
    """One chat-only case sending ``content`` and expecting a non-empty text, as YAML lines of a ``cases:`` list."""
    return (f"  - id: {case_id}\n"
            f"    description: {description}\n"
            f"    claim:\n"
            f'      chat: {{status: supported, doc: "https://example.test/doc"}}\n'
            f"    expect: [text_nonempty]\n"
            f"    chat:\n"
            f'      request: {{body: {{model: "${{model}}", messages: [{{role: user, content: {content}}}]}}}}\n')


def suite(*cases: str) -> str:
    """A capability file named ``demo`` holding ``cases`` (rendered by chat_case or written out)."""
    return HEADER + "".join(cases)
