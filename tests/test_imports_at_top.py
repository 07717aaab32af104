"""Imports sit at the top of the module unless a comment says why (issue 8).

An import inside a function hides a module's dependencies and usually papers over something
(a cycle, a slow start). Some are needed: a real import cycle, a path that must start fast
(``mail pipe``), a dependency wanted only by one command. Those carry a comment on the import's
line or on the line directly above it; a comment line directly above a block of consecutive
local imports covers the whole block. This test keeps new code to that rule.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("app", "forms_designer", "reports")


def _comment_lines(source: str) -> tuple[set[int], set[int]]:
    """Lines holding a comment, and lines holding nothing but a comment."""
    with_comment: set[int] = set()
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            with_comment.add(token.start[0])
        elif token.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            code_lines.update(range(token.start[0], token.end[0] + 1))
    return with_comment, with_comment - code_lines


def _local_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_function:
                    found.append(child)
            else:
                visit(child, in_function)

    visit(tree, False)
    return found


def unexplained_imports(source: str) -> list[int]:
    """Line numbers of imports inside functions that no comment explains."""
    lines = source.splitlines()
    with_comment, comment_only = _comment_lines(source)
    imports = _local_imports(ast.parse(source))
    import_ending_at = {node.end_lineno: node for node in imports}

    def explained(node: ast.Import | ast.ImportFrom) -> bool:
        if with_comment & set(range(node.lineno, (node.end_lineno or node.lineno) + 1)):
            return True
        above = node.lineno - 1
        while above >= 1 and not lines[above - 1].strip():
            above -= 1
        previous = import_ending_at.get(above)
        if previous is not None:  # the same block (blank lines part isort's sections)
            return explained(previous)
        return above == node.lineno - 1 and above in comment_only

    return sorted(node.lineno for node in imports if not explained(node))


def test_imports_inside_functions_say_why_they_are_not_at_the_top():
    offenders = []
    for package in CHECKED:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line in unexplained_imports(path.read_text()):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, (
        "imports inside functions without a comment saying why they are not at the top "
        "(move them to the top, or add e.g. '# not at the top: X imports this module'):\n"
        + "\n".join(offenders)
    )


def test_the_check_tells_an_explained_local_import_from_a_bare_one():
    source = '''
import os


def bare():
    import json

    return json


def explained_on_its_line():
    import json  # not at the top: slow

    return json


def explained_block():
    """Docstring."""
    # not at the top: app.mail.intake imports this module
    import json
    import re

    from app import extensions

    return json, re, extensions


def comment_too_far_above():
    # a comment about something else

    import json

    return json


def block_after_code():
    x = 1
    # not at the top: a cycle
    import json
    y = 2
    import re

    return json, re, x, y
'''
    tree = ast.parse(source)
    flagged = unexplained_imports(source)
    functions_flagged = [
        function.name
        for function in tree.body
        if isinstance(function, ast.FunctionDef)
        for line in flagged
        if function.lineno <= line <= (function.end_lineno or 0)
    ]
    assert functions_flagged == ["bare", "comment_too_far_above", "block_after_code"]
    assert len(flagged) == 3
