"""A small element tree of an HTML report, parsed by the standard library, for assertions."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr", "area", "base"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        """All text inside, children included, in order."""
        return "".join(self.text_parts)

    def iter(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and (cls is None or cls in child.classes):
                found.append(child)
            found.extend(child.iter(tag, cls))
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        for node in self.iter(tag, cls):
            if all(node.attrs.get(k) == v for k, v in attrs.items()):
                return node
        raise LookupError(f"no <{tag} class={cls} {attrs}>")


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        for node in self.stack:
            node.text_parts.append(data)


def parse(markup: str) -> Node:
    builder = _Builder()
    builder.feed(markup)
    builder.close()
    return builder.root


def all_nodes(root: Node) -> list[Node]:
    return root.iter()


def table_rows(table: Node) -> list[list[str]]:
    """Body rows of a table as cell texts."""
    body = table.iter("tbody")[0]
    return [[td.text() for td in tr.children if td.tag == "td"] for tr in body.iter("tr")]


def section(root: Node, section_id: str) -> Node:
    return root.find("section", id=section_id)
