"""mkdocs hooks (mkdocs.yml `hooks:`): the API reference, generated at build time.

The reference pages are not written by hand: every name in `mijnklantportaal.__all__` (the
models generated from openapi.yaml included), `mijnklantportaal.resources.__all__` (the
generated resource classes) and `mijnklantportaal.testing.__all__` gets a `::: path` block
that mkdocstrings renders from the code and its docstrings (a model's and a method's come
from the spec). A name added to `__all__` appears on the next build, on the page its kind
or defining module gives (`group_of`), else under "Values and helpers"; nothing is dropped.
The pages and their place in the navigation are added here (`on_config`, `on_files`).

`mkdocs build --strict` turns every warning into a failure: a broken link or reference, a
docstring mkdocstrings cannot read, a name it cannot resolve.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

REFERENCE = "reference"
# Modules whose `__all__` the reference covers: each name is documented under its path here.
PUBLIC_MODULES = ("mijnklantportaal", "mijnklantportaal.resources", "mijnklantportaal.testing")


@dataclass
class Group:
    slug: str
    title: str
    intro: str
    names: list[str] = field(default_factory=list)  # dotted paths, in `__all__` order

    @property
    def path(self) -> str:
        return f"{REFERENCE}/{self.slug}.md"


def _groups() -> list[Group]:
    return [
        Group(
            "clients",
            "Clients and responses",
            "The sync and async clients, and what a call hands back besides the model.",
        ),
        Group(
            "errors",
            "Errors",
            "Every error is a `MijnKlantportaalError`; see the [errors guide](../errors.md).",
        ),
        Group(
            "models",
            "Models",
            "Generated from `openapi.yaml` by `./generate.sh`: fields, types and docstrings "
            "come from the spec. Every field is `None` when the API leaves it out (the spec "
            "requires none); money is `Decimal`, timestamps are aware `datetime`s.",
        ),
        Group(
            "resources",
            "Resources",
            "Generated from `openapi.yaml`: one class per API group (`client.invoices` is an "
            "`Invoices`), with async and raw-response twins.",
        ),
        Group(
            "pagination",
            "Pages",
            "What a list operation returns; see the [pagination guide](../pagination.md).",
        ),
        Group(
            "rate-budgets",
            "Rate budgets",
            "See the [rate budget guide](../rate-budget.md).",
        ),
        Group(
            "testing",
            "Testing kit",
            "`mijnklantportaal.testing`: the fake API for your tests; see the "
            "[testing guide](../testing.md).",
        ),
        Group("values", "Values and helpers", "Defaults, sentinels and the version."),
    ]


def group_of(module: str, name: str, obj: Any, generated: set[str]) -> str:
    """The reference page of a public name: by the module that exports it, its kind, or the
    private module that defines it."""
    if module == "mijnklantportaal.resources":
        return "resources"
    if module == "mijnklantportaal.testing":
        return "testing"
    if name in generated:
        return "models"
    if isinstance(obj, type) and issubclass(obj, BaseException):
        return "errors"
    defined_in = getattr(obj, "__module__", "") if isinstance(obj, type) else ""
    if defined_in.startswith("mijnklantportaal._budget"):
        return "rate-budgets"
    if defined_in == "mijnklantportaal._pagination":
        return "pagination"
    if defined_in in ("mijnklantportaal._client", "mijnklantportaal._response"):
        return "clients"
    if defined_in == "mijnklantportaal._models":
        return "models"
    return "values"


def reference_groups() -> list[Group]:
    """Every public name of PUBLIC_MODULES, on its page."""
    generated = set(importlib.import_module("mijnklantportaal._generated").__all__)
    groups = {group.slug: group for group in _groups()}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            slug = group_of(module_name, name, getattr(module, name), generated)
            groups[slug].names.append(f"{module_name}.{name}")
    return list(groups.values())


def _page(group: Group) -> str:
    lines = [f"# {group.title}", "", group.intro, ""]
    if not group.names:
        lines.append("No public name is on this page today.")
    for path in group.names:
        lines += [f"::: {path}", ""]
    return "\n".join(lines)


def _overview(groups: list[Group]) -> str:
    lines = [
        "# API reference",
        "",
        "Every public name of the package, generated from `__all__` at build time. "
        "Import them from the module named in the first column.",
        "",
        "| name | page |",
        "| --- | --- |",
    ]
    for group in groups:
        for path in group.names:
            lines.append(f"| [`{path}`][{path}] | [{group.title}]({group.slug}.md) |")
    return "\n".join(lines) + "\n"


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    nav = config.nav if config.nav is not None else []
    pages: list[Any] = [{"Overview": f"{REFERENCE}/index.md"}]
    pages += [{group.title: group.path} for group in _groups()]
    nav.append({"API reference": pages})
    config.nav = nav
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    groups = reference_groups()
    files.append(File.generated(config, f"{REFERENCE}/index.md", content=_overview(groups)))
    for group in groups:
        files.append(File.generated(config, group.path, content=_page(group)))
    return files
