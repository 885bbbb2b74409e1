"""Where each question part begins in a write-up: the labels people write, as events with offsets.

A write-up names its parts in many ways; each becomes an event (offset, level, value), level
``"question"`` (1, 2, 3), ``"part"`` (a, b, …) or ``"sub"`` (i, ii, …):

- Markdown and plain text at a line's start: ``1. (a) i.``, ``(b) i.``, ``ii.``, ``#### (c) ii``,
  ``## 1.(d) Benefits``, ``1.a)``, ``c)``, ``i)``, ``e. i)``, ``- $(b)$``, ``$(1)$`` (a subpart by number),
  a heading ``# 1. Attention exploration``, and a part's number at a line's start inside a part
  (``1.``, ``2.``: subparts i, ii) when that part has no roman labels.
- LaTeX: ``\\section`` / ``\\titledquestion`` (the next question, or the number in its title),
  ``\\subsection{(a) …}``, ``\\subsection*{1(b)}`` or a bare ``\\subsection{…}`` (the next part),
  ``\\subsubsection`` (the next subpart), the exam class's ``\\part`` and ``\\subpart``, and ``\\item``
  of a top-level ``enumerate`` inside a part (the next subpart).

``N. (x)`` is question N, part x, except where N is x's own position in the alphabet inside a
question already begun (``2. (b)`` in a list of Question 1's parts is the list's numbering).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")
LETTERS = "abcdefgh"


@dataclass(frozen=True)
class Label:
    offset: int
    level: str  # "question" | "part" | "sub"
    value: object  # int for a question, a letter for a part, a roman numeral for a subpart
    text: str  # the label as written, for the provenance line


@dataclass
class State:
    question: int | None = None
    part: str | None = None
    sub: str | None = None

    def where(self) -> str:
        q = "" if self.question is None else str(self.question)
        p = "" if self.part is None else f"({self.part})"
        s = "" if self.sub is None else f" {self.sub}"
        return (q + p + s).strip() or "(no label)"


# Markdown decorations before a label: headings, list bullets, quotes, bold, a math dollar.
_LEAD = r"[ \t]*(?:#{1,6}[ \t]*|[-*+>][ \t]+|\*\*|__)*[ \t]*"
_Q = r"(?P<q>\d)\s*[.)]?\s*"
_PART = r"(?:\$?\(\s*(?P<p1>[a-h])\s*\)\$?|(?P<p2>[a-h])\)|(?P<p3>[a-h])\.(?=\s*\(?[ivx]+[.)]))"
_SUB = r"(?:\$?\(\s*(?P<s1>[ivx]{1,4})\s*\)\$?|(?P<s2>[ivx]{1,4})[.)]|\$\(\s*(?P<s3>[1-8])\s*\)\$)"
_LINE = re.compile(rf"^{_LEAD}(?:\*\*)?(?:{_Q})?(?:{_PART}\s*(?:\*\*)?\s*)?(?:{_SUB})?(?=[\s:*$]|$)", re.M)
_NUMBERED = re.compile(rf"^{_LEAD}(?P<n>[1-8])\.(?=\s)", re.M)
_HEADING_SUB = re.compile(r"^[ \t]*#{1,6}[ \t]*\(?(?P<s>[ivx]{1,4})\)?[.)]?[ \t]*$", re.M)
_HEADING_Q = re.compile(r"^[ \t]*#{1,6}[ \t]*(?:Question[ \t]*|Q)?(?P<q>\d)\s*[.:)]", re.M)

_TEX = re.compile(r"\\(?P<cmd>section|titledquestion|question|subsection|subsubsection|part|subpart|item"
                  r"|begin\{enumerate\}|end\{enumerate\}|begin\{itemize\}|end\{itemize\})(?![A-Za-z])(?P<star>\*?)")
_TITLE_LABEL = re.compile(r"^\s*(?:Question\s*)?(?:(?P<q>\d)\s*\.?\s*)?(?:\(?(?P<p>[a-h])\)(?:\s*(?P<s>[ivx]{1,4})\b)?)?")


def _title(text: str, at: int) -> str:
    """The text of ``{…}`` right after ``at`` (skipping ``[…]`` options), or ''."""
    m = re.compile(r"\s*(\[[^\]]*\])?\s*\{").match(text, at)
    if not m:
        return ""
    depth, i = 1, m.end()
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[m.end():i - 1]


def latex_labels(text: str) -> list[Label]:
    """The part labels of LaTeX source (commands, counters and explicit titles)."""
    out: list[Label] = []
    question = part_count = sub_count = 0
    list_stack: list[str] = []
    in_part = False
    for m in _TEX.finditer(text):
        cmd, at = m.group("cmd"), m.end()
        if cmd in ("section", "titledquestion", "question"):
            title = _title(text, at) if cmd != "question" else ""
            explicit = re.match(r"\s*(?:Question\s*)?(\d)(?!\d)", title)
            question = int(explicit.group(1)) if explicit else question + 1
            part_count = sub_count = 0
            in_part = False
            out.append(Label(m.start(), "question", question, f"\\{cmd}{{{title[:30]}}}"))
        elif cmd in ("subsection", "part"):
            title = _title(text, at) if cmd == "subsection" else ""
            lab = _TITLE_LABEL.match(title) if title else None
            if lab and lab.group("q"):
                question = int(lab.group("q"))
                out.append(Label(m.start(), "question", question, title))
            if lab and lab.group("p"):
                part_count = LETTERS.index(lab.group("p")) + 1
            else:
                part_count += 1
            sub_count = 0
            in_part = True
            out.append(Label(m.start(), "part", LETTERS[min(part_count, len(LETTERS)) - 1], f"\\{cmd}" + (f"{{{title[:30]}}}" if title else "")))
            if lab and lab.group("s"):
                sub_count = ROMAN.index(lab.group("s")) + 1 if lab.group("s") in ROMAN else 0
                out.append(Label(m.start(), "sub", lab.group("s"), title))
        elif cmd in ("subsubsection", "subpart"):
            title = _title(text, at) if cmd == "subsubsection" else ""
            lab = re.match(r"\s*\(?([ivx]{1,4})[.)]?", title) if title else None
            sub_count = ROMAN.index(lab.group(1)) + 1 if lab and lab.group(1) in ROMAN else sub_count + 1
            out.append(Label(m.start(), "sub", ROMAN[min(sub_count, len(ROMAN)) - 1], f"\\{cmd}"))
        elif cmd == "begin{enumerate}":
            list_stack.append("enumerate")
            if list_stack.count("enumerate") == 1 and in_part:
                sub_count = 0
        elif cmd == "begin{itemize}":
            list_stack.append("itemize")
        elif cmd in ("end{enumerate}", "end{itemize}"):
            if list_stack:
                list_stack.pop()
        elif cmd == "item":
            if in_part and list_stack == ["enumerate"]:
                sub_count += 1
                out.append(Label(m.start(), "sub", ROMAN[min(sub_count, len(ROMAN)) - 1], "\\item"))
    return out


def line_labels(text: str) -> list[Label]:
    """The part labels written at line starts (Markdown, plain text, or LaTeX written as text)."""
    out: list[Label] = []
    question: int | None = None
    part: str | None = None
    roman_seen = False
    for line in re.finditer(r"^.*$", text, re.M):
        s = line.group(0)
        if not s.strip():
            continue
        off = line.start()
        h = _HEADING_Q.match(s)
        m = _LINE.match(s)
        pletter = None
        if m and (m.group("p1") or m.group("p2") or m.group("p3")):
            pletter = m.group("p1") or m.group("p2") or m.group("p3")
        q = int(m.group("q")) if m and m.group("q") else None
        if h and not pletter:
            question, part, roman_seen = int(h.group("q")), None, False
            out.append(Label(off, "question", question, s.strip()[:40]))
            continue
        if pletter:
            pos = LETTERS.index(pletter) + 1
            if q is not None and not (question is not None and q == pos and q != question):
                if q != question:
                    question = q
                    out.append(Label(off, "question", q, s.strip()[:40]))
            part, roman_seen = pletter, False
            out.append(Label(off, "part", pletter, s.strip()[:40]))
        sub = None
        if m and (m.group("s1") or m.group("s2")):
            sub = m.group("s1") or m.group("s2")
            if sub not in ROMAN:
                sub = None
            else:
                roman_seen = True
        elif _HEADING_SUB.match(s) and _HEADING_SUB.match(s).group("s") in ROMAN:
            sub, roman_seen = _HEADING_SUB.match(s).group("s"), True
        elif m and m.group("s3"):
            sub = ROMAN[int(m.group("s3")) - 1]
        elif part is not None and not pletter and not roman_seen:
            n = _NUMBERED.match(s)
            if n:
                sub = ROMAN[int(n.group("n")) - 1]
        if sub is not None and (part is not None or pletter):
            out.append(Label(off, "sub", sub, s.strip()[:40]))
    return out


def state_at(labels: list[Label], offset: int) -> State:
    """The question, part and subpart in force at ``offset`` (labels sorted by offset)."""
    st = State()
    for lab in labels:
        if lab.offset > offset:
            break
        if lab.level == "question":
            st = State(question=lab.value)
        elif lab.level == "part":
            st.part, st.sub = lab.value, None
        else:
            st.sub = lab.value
    return st
