"""`{% per_language "name" %}…{% end_per_language %}`: a part of a page that is the same for
every visitor in a language (translated labels, links reversed by name), rendered once per
process and language and then reused. Its content must not read the page's context: a
fragment that did would show the first visitor's values to everyone (the tag renders it in
a context without the page's values, so such a fragment shows none of them)."""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_rendered: dict[tuple[str, str | None, str], SafeString] = {}
_lock = threading.Lock()


class PerLanguageNode(template.Node):
    def __init__(self, name: str, nodelist: template.NodeList) -> None:
        self.name = name
        self.nodelist = nodelist

    def render(self, context: Any) -> str:
        key = (self.name, get_language(), get_script_prefix())
        fragment = _rendered.get(key)
        if fragment is None:
            # Rendered without the page's context: nothing personal can be kept here.
            fragment = mark_safe(self.nodelist.render(context.new()))  # noqa: S308 - our template's output
            with _lock:
                _rendered[key] = fragment
        return fragment


@register.tag("per_language")
def per_language(parser: Any, token: Any) -> PerLanguageNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][0] != bits[1][-1]:
        raise template.TemplateSyntaxError('per_language takes one quoted name: {% per_language "footer" %}')
    nodelist = parser.parse(("end_per_language",))
    parser.delete_first_token()
    return PerLanguageNode(bits[1][1:-1], nodelist)


def clear() -> None:
    """Forget every rendered fragment (tests that change translations or URLs)."""
    with _lock:
        _rendered.clear()
