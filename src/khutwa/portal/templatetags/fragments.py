"""`{% per_language "name" %}…{% end_per_language %}`: a part of a page that is the same for
every visitor in a language (translated labels, links reversed by name), rendered once per
process and language and then reused. Its content must not read the page's context: a
fragment that did would show the first visitor's values to everyone (the tag renders it in
a context without the page's values, so such a fragment shows none of them).

`{% nav_links nav_items %}`: the navigation's links (`context_processors.navigation`), each
rendered once per process from `portal/_nav_link.html`: a link's HTML depends only on its
fields (its label already translated, its URL reversed in the language), so it is kept by the
link itself, current or not; a link with a badge (a count of the person's own) is rendered
every time and never kept."""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

_rendered: dict[tuple[str, str | None, str], SafeString] = {}
_links: dict[Any, SafeString] = {}
_lock = threading.Lock()


class PerLanguageNode(template.Node):
    # Not walked for the nodes inside (`{% extends %}` looks for the parent's blocks on every
    # rendering): a fragment's content is fixed, a block in it could not be overridden anyway.
    child_nodelists = ()

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


@register.simple_tag
def nav_links(items: list[Any]) -> SafeString:
    """The `<li>` of each navigation link, in order (`items`: `context_processors.NavItem`s)."""
    html = []
    for item in items:
        link = _links.get(item)
        if link is None:
            link = mark_safe(get_template("portal/_nav_link.html").render({"item": item}))  # noqa: S308
            if not item.badge:  # a count is the person's own: never kept
                with _lock:
                    _links[item] = link
        html.append(link)
    return mark_safe("\n".join(html))  # noqa: S308 - our template's output


def clear() -> None:
    """Forget every rendered fragment and link (tests that change translations or URLs)."""
    with _lock:
        _rendered.clear()
        _links.clear()
