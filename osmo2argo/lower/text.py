"""User text in Argo: OSMO tokens become paths and Argo variables; every other byte stays literal.

Argo substitutes `{{...}}` and evaluates `{{=...}}` in every string of a template, in several
passes (the template with workflow globals, then with its inputs, then the whole pod with globals,
inputs and `pod.name`; `workflow/common/util.go` `SubstituteParams` and `workflowpod.go`
`substitutePodParams`). A replacement made in one pass is scanned again by the next, so a literal
`{{` cannot be written directly, nor produced by an early pass.

The compiler therefore writes each `{{` of user text as a *deferred brace expression*:

    {{=inputs.parameters.osmo_f == '1' and not (('retr'+'ies') in $env) ? '{'+'{' : nil}}

together with two template inputs, `osmo_f: "{{inputs.parameters.osmo_g}}"` and `osmo_g: "1"`.
`osmo_f` only reads `1` once its own value has been substituted, which happens after the inputs
pass; an expression that yields nil is left untouched (`template.Replace` with
allowUnresolved); so the expression becomes `{{` in the pod pass, the last one, whose output is
never scanned again. The `retries` guard keeps the expression unevaluated in the extra pass
retried templates get. docs/semantics.md cites the Argo source; tests/test_text_injection.py
replays Argo's passes on compiled manifests.

Text without `{{` is emitted as is: `}}`, `$(VAR)` (expanded by the kubelet, as under OSMO),
quotes and newlines are not special to Argo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import ir

_GUARD = "inputs.parameters.osmo_f == '1' and not (('retr'+'ies') in $env)"
DEFERRED_BRACE = "{{=" + _GUARD + " ? '{'+'{' : nil}}"
DEFERRED_SINGLE_BRACE = "{{=" + _GUARD + " ? '{' : nil}}"
BRACE_PARAMETERS = (("osmo_f", "{{inputs.parameters.osmo_g}}"), ("osmo_g", "1"))


class ArgoVar(str):
    """Argo syntax written by the compiler (e.g. `{{workflow.name}}`), emitted as is."""

    __slots__ = ()


TokenResolver = Callable[[ir.Token], Sequence[str]]
"""Resolves a token to pieces: plain strings are literal text, `ArgoVar`s are Argo syntax."""


class ArgoText:
    """Renders user text for one template and remembers whether it needed deferred braces."""

    def __init__(self) -> None:
        self.needs_brace_parameters = False
        self.has_expression_braces = False  # user text holds `{{=` (see gang members' podSpecPatch)

    def literal(self, text: str, *, before_tag: bool = False) -> str:
        """A literal string as Argo template text that Argo turns back into exactly `text`.

        `before_tag`: an Argo tag follows, so a trailing `{` would fuse with it into `{{{`.
        """
        if before_tag and text.endswith("{"):
            self.needs_brace_parameters = True
            return self.literal(text[:-1]) + DEFERRED_SINGLE_BRACE
        if "{{" not in text:
            return text
        self.needs_brace_parameters = True
        self.has_expression_braces = self.has_expression_braces or "{{=" in text
        return text.replace("{{", DEFERRED_BRACE)

    def render(self, text: ir.Text, resolve: TokenResolver) -> str:
        """User text with tokens resolved (to paths or Argo variables) and literals protected.

        Literal text is escaped in runs, so that a token that resolves to a plain path cannot
        hide a `{{` made of the characters around it.
        """
        parts = text.parts
        if len(parts) == 1 and type(parts[0]) is str and "{{" not in parts[0]:
            return parts[0]  # the common case: literal text without braces is itself
        pieces: list[str] = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                pieces.extend(resolve(part))
        return self.join(pieces)

    def join(self, pieces: Sequence[str]) -> str:
        out: list[str] = []
        literal: list[str] = []
        for piece in pieces:
            if isinstance(piece, ArgoVar):
                out.append(self.literal("".join(literal), before_tag=True))
                literal = []
                out.append(str(piece))
            else:
                literal.append(piece)
        out.append(self.literal("".join(literal)))
        return "".join(out)
