"""``# noqa: FC301`` suppressions and the report of unused ones (FC901).

A suppression must name codes: a bare ``# noqa`` (meant for other linters) suppresses nothing
here. Codes that are not flowc's (``E501``) are left alone and never reported as unused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Location

_NOQA = re.compile(r"#\s*noqa\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:\s*,?\s*[A-Za-z]+[0-9]+)*)",
                   re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")


@dataclass(slots=True)
class NoqaComment:
    """The flowc codes of one ``# noqa`` comment and which of them suppressed something."""

    line: int
    col: int  # 1-based column of the '#'
    codes: dict[str, int]  # code -> 1-based column of the code
    used: set[str] = field(default_factory=set)


def parse_noqa(text: str) -> dict[int, NoqaComment]:
    """``line -> NoqaComment`` for every line of ``text`` that names flowc codes."""
    result: dict[int, NoqaComment] = {}
    if "noqa" not in text.lower():
        return result
    for number, line in enumerate(text.splitlines(), start=1):
        match = _NOQA.search(line)
        if not match:
            continue
        codes: dict[str, int] = {}
        base = match.start("codes")
        for code in _CODE.finditer(match.group("codes")):
            name = code.group(0).upper()
            if re.fullmatch(r"FC\d{3}", name):
                codes.setdefault(name, base + code.start() + 1)
        if codes:
            result[number] = NoqaComment(line=number, col=match.start() + 1, codes=codes)
    return result


class NoqaIndex:
    """Suppressions of the files of one lint run, read on demand."""

    def __init__(self, read_text) -> None:
        self._read_text = read_text
        self._files: dict[str, dict[int, NoqaComment]] = {}

    def comments(self, path: str) -> dict[int, NoqaComment]:
        if path not in self._files:
            try:
                text = self._read_text(path)
            except OSError:
                text = ""
            self._files[path] = parse_noqa(text)
        return self._files[path]

    def suppresses(self, diag: Diagnostic) -> bool:
        """True (and the comment's code marked used) when a noqa on the line names the code."""
        loc = diag.location
        if loc is None or not loc.line:
            return False
        comment = self.comments(loc.file).get(loc.line)
        if comment is None or diag.code not in comment.codes:
            return False
        comment.used.add(diag.code)
        return True

    def unused(self, paths, is_selected) -> list[Diagnostic]:
        """FC901 findings for selected codes in ``paths``' comments that suppressed nothing."""
        from .catalog import finding

        result = []
        for path in paths:
            for comment in self.comments(path).values():
                for code, col in comment.codes.items():
                    if code in comment.used or not is_selected(code):
                        continue
                    result.append(finding(
                        "FC901", f"unused `noqa` code {code} (nothing to suppress on this line)",
                        Location(file=path, line=comment.line, col=col,
                                 end_line=comment.line, end_col=col + len(code))))
        return result
