"""mkdocs hooks of the documentation site (``mkdocs.yml``: ``hooks``).

- The configuration reference is generated at build time from ``configs/``: every yaml file,
  its leading comment and every key with its default and the comment written beside or above
  it, so the page never says what the yaml no longer holds (``tests/test_docs.py`` checks
  both directions).
- The API reference reads the docstrings of ``ferlens``: the repository folder is that
  package, so griffe is given a search folder where ``ferlens`` points at it.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path

import yaml
from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
#: The placeholder in docs/reference/configuration.md that the generated keys replace.
MARKER = "<!-- configuration keys: generated from configs/ by docs/hooks/ferlens_docs.py -->"
#: The placeholder that the table of groups, their options and defaults replaces.
GROUPS_MARKER = "<!-- configuration groups: generated from configs/ by docs/hooks/ferlens_docs.py -->"
#: The primary configs, by the command that composes them.
PRIMARY = {"train": "train.py", "analyze": "analyze.py", "prepare": "ferlens-prepare"}
#: Folders of W&B sweep files (read by ``wandb sweep``, not by Hydra): keys as written.
NOT_HYDRA = ("sweep",)
#: The temporary folders holding the ``ferlens`` symlink, removed after the build.
_SEARCH_FOLDERS: list[Path] = []


def package_of(path: Path, text: str) -> str:
    """The Hydra package a config file's keys land in: its ``# @package`` header, else the
    group folder (``data/rafdb.yaml`` -> ``data``); the primary configs and ``_global_`` -> ''."""
    group = path.parent.relative_to(CONFIGS).as_posix()
    header = re.match(r"#\s*@package\s+(\S+)", text)
    if header:
        return "" if header.group(1) == "_global_" else header.group(1)
    return "" if group in ("", ".") or group.split("/")[0] in NOT_HYDRA else group.replace("/", ".")


def _leading_comment(lines: list[str]) -> str:
    """The comment lines at the top of a file (the ``@package`` header left out)."""
    kept = []
    for line in lines:
        if not line.startswith("#"):
            break
        if "@package" not in line:
            kept.append(line.lstrip("#").strip())
    return " ".join(part for part in kept if part).replace("[", "&#91;").replace("]", "&#93;")


def _comment_of(lines: list[str], row: int) -> str:
    """The comment of the key on line ``row``: after the value on its line, else the
    contiguous full-line comments right above it (not the file's leading comment)."""
    line = lines[row]
    trailing = re.search(r"\s#\s?(.*)$", line)
    if trailing and line.count('"') % 2 == 0 and line.count("'") % 2 == 0:
        return trailing.group(1).strip()
    above, at = [], row - 1
    while at >= 0 and lines[at].strip().startswith("#"):
        above.insert(0, lines[at].strip().lstrip("#").strip())
        at -= 1
    if at < 0:  # the file's leading comment describes the file, not this key
        return ""
    return " ".join(part for part in above if part)


def _shown(node: yaml.Node) -> str:
    """A default as the yaml gives it: a scalar as written, a list in flow style, a block of
    text by its length."""
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("|", ">"):
            return f"(text, {len(node.value.splitlines())} lines)"
        return node.value if node.value != "" else "''"
    value = yaml.safe_load(yaml.serialize(node))
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()


def config_keys(path: Path) -> list[tuple[str, str, str]]:
    """(key as set on the command line, default, comment) of every leaf key of one yaml file,
    in file order; a mapping is walked into, a list or an empty mapping is one key."""
    text = path.read_text()
    lines = text.splitlines()
    prefix = package_of(path, text)
    rows: list[tuple[str, str, str]] = []

    def walk(node: yaml.MappingNode, parents: tuple[str, ...], heading: str) -> None:
        for key_node, value_node in node.value:
            key = (*parents, key_node.value)
            comment = _comment_of(lines, key_node.start_mark.line)
            if isinstance(value_node, yaml.MappingNode) and value_node.value:
                walk(value_node, key, f"(`{'.'.join(key)}`: {comment}) " if comment else "")
                continue
            # Hydra's defaults list is read where it stands, never placed in the package
            name = ".".join(([prefix] if prefix and key != ("defaults",) else []) + list(key))
            rows.append((name, _shown(value_node), heading + comment))
            heading = ""

    root = yaml.compose(text)
    if isinstance(root, yaml.MappingNode):
        walk(root, (), "")
    return rows


def _cell(text: str, code: bool = False) -> str:
    """Text for a table cell: HTML-escaped, the table's pipes and autorefs' brackets as
    entities; in a code cell Markdown's emphasis and code marks too (``_self_`` stays itself)."""
    text = html.escape(text).replace("|", "&#124;").replace("[", "&#91;").replace("]", "&#93;")
    return text.replace("_", "&#95;").replace("*", "&#42;").replace("`", "&#96;") if code else text


def configuration_reference() -> str:
    """The generated part of the configuration page: one section per yaml file of configs/."""
    out = []
    for path in sorted(CONFIGS.rglob("*.yaml"), key=lambda p: (len(p.relative_to(CONFIGS).parts), p.as_posix())):
        relative = f"configs/{path.relative_to(CONFIGS).as_posix()}"
        group = path.parent.relative_to(CONFIGS).as_posix()
        lines = path.read_text().splitlines()
        if group == ".":
            how = f"primary config of `{path.stem}`" if path.stem != "prepare" else "primary config of `ferlens-prepare`"
        elif group.split("/")[0] in NOT_HYDRA:
            how = "W&B sweep file (`wandb sweep " + relative + "`), not read by Hydra"
        else:
            how = f"`{group}={path.stem}`"
        out.append(f"### {relative}\n\n{how}. {_leading_comment(lines)}\n")
        rows = config_keys(path)
        if not rows:
            out.append("No keys of its own.\n")
            continue
        out.append("| key | default | what |\n|---|---|---|")
        out += [f"| `{key}` | <code>{_cell(value, code=True)}</code> | {_cell(comment)} |" for key, value, comment in rows]
        out.append("")
    return "\n".join(out)


def config_groups() -> dict[str, list[str]]:
    """Every Hydra config group of configs/ (a folder of yaml files; not the sweep files) and
    its options (the files' names; a name starting with ``_`` is a shared base, not an option)."""
    groups = {}
    for folder in sorted({path.parent for path in CONFIGS.rglob("*.yaml")} - {CONFIGS}):
        group = folder.relative_to(CONFIGS).as_posix()
        if group.split("/")[0] not in NOT_HYDRA:
            groups[group] = sorted(path.stem for path in folder.glob("*.yaml") if not path.stem.startswith("_"))
    return groups


def default_choices(primary: str) -> dict[str, str]:
    """The options a primary config's defaults list chooses, by group (``override`` included)."""
    entries = yaml.safe_load((CONFIGS / f"{primary}.yaml").read_text()).get("defaults", [])
    chosen = {}
    for entry in entries:
        if isinstance(entry, dict):
            for group, choice in entry.items():
                chosen[group.removeprefix("override ").lstrip("/")] = yaml.safe_dump(choice, default_flow_style=True).strip().removesuffix("...").strip()
    return chosen


def groups_reference() -> str:
    """The table of every config group: its options and what each entry script chooses."""
    defaults = {primary: default_choices(primary) for primary in PRIMARY}
    head = "| group | options | " + " | ".join(f"default of `{command}`" for command in PRIMARY.values()) + " |"
    rows = [head, "|" + "---|" * (2 + len(PRIMARY))]
    for group, options in config_groups().items():
        chosen = [f"`{defaults[primary][group]}`" if group in defaults[primary] else "" for primary in PRIMARY]
        rows.append(f"| `{group}` | {', '.join(f'`{option}`' for option in options)} | " + " | ".join(chosen) + " |")
    return "\n".join(rows) + "\n"


@event_priority(100)  # before mkdocstrings, which makes its handlers in its own on_config
def on_config(config, **_):
    """Point mkdocstrings' griffe at a folder where ``ferlens`` is the repository."""
    folder = Path(tempfile.mkdtemp(prefix="ferlens-docs-"))
    os.symlink(ROOT, folder / "ferlens")
    handlers = config["plugins"]["mkdocstrings"].config["handlers"]
    handlers.setdefault("python", {})["paths"] = [str(folder)]
    _SEARCH_FOLDERS.append(folder)
    return config


def on_post_build(config, **_):
    """Remove the search folder of ``on_config`` (its symlink only, never the repository)."""
    while _SEARCH_FOLDERS:
        folder = _SEARCH_FOLDERS.pop()
        (folder / "ferlens").unlink()
        folder.rmdir()


def on_build_error(error, **_):
    """A failed build removes the search folder too."""
    on_post_build(None)


def on_page_markdown(markdown: str, page, **_):
    """Fill the configuration page's placeholder with the keys of every config file."""
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, configuration_reference())
    if GROUPS_MARKER in markdown:
        markdown = markdown.replace(GROUPS_MARKER, groups_reference())
    return markdown
