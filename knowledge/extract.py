"""Turn the bytes of a file or page into text with Markdown-style `#` headings.

Every extractor returns the same shape, so the chunker can cut any format by its structure:
headings become `#` lines and paragraphs are separated by blank lines. Extractors are
registered by kind; `kind_for_name` / `kind_for_content_type` map a file name or a web
server's Content-Type to a kind. Errors are `ExtractionError`s worded for a non-developer.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath


class ExtractionError(Exception):
    """The document cannot be read; the message is shown to the person who added it."""


@dataclass
class Extracted:
    text: str  # Markdown-ish: `#` headings, blank lines between paragraphs
    title: str = ""
    links: list[str] = field(default_factory=list)  # HTML only: hrefs, for the crawler


EXTRACTORS: dict[str, Callable[[bytes], Extracted]] = {}
KIND_LABELS = {
    "pdf": "PDF",
    "html": "web page (HTML)",
    "markdown": "Markdown",
    "text": "plain text",
    "docx": "Word document (.docx)",
    "csv": "CSV of questions and answers",
}
_EXTENSIONS = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".docx": "docx",
    ".csv": "csv",
}
_CONTENT_TYPES = {
    "application/pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
SUPPORTED_EXTENSIONS = tuple(_EXTENSIONS)


def extractor(kind: str):
    def register(fn):
        EXTRACTORS[kind] = fn
        return fn

    return register


def kind_for_name(name: str) -> str:
    ext = PurePosixPath(name.lower()).suffix
    try:
        return _EXTENSIONS[ext]
    except KeyError:
        raise ExtractionError(
            f"“{name}” is a file type we can't read{f' ({ext})' if ext else ''}. "
            f"Upload one of: {', '.join(SUPPORTED_EXTENSIONS)}."
        )


def kind_for_content_type(content_type: str, url: str) -> str:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    raise ExtractionError(
        f"The address {url} returned {mime or 'content of an unknown type'}, which we can't read. "
        "Link to a web page, PDF, Word, Markdown, CSV or text file."
    )


def extract(kind: str, data: bytes) -> Extracted:
    if not data.strip():
        raise ExtractionError("The file is empty.")
    return EXTRACTORS[kind](data)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


@extractor("text")
def _text(data: bytes) -> Extracted:
    return Extracted(_decode(data))


@extractor("markdown")
def _markdown(data: bytes) -> Extracted:
    text = _decode(data)
    title = next((m.group(1).strip() for m in re.finditer(r"^#\s+(.+)$", text, re.M)), "")
    return Extracted(text, title=title)


@extractor("pdf")
def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip().startswith(b"%PDF"):
        raise ExtractionError("This file isn't a valid PDF (it may be damaged or have the wrong extension).")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("This PDF is password-protected. Upload a copy without a password.")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractionError(f"This PDF is damaged and can't be read ({type(exc).__name__}).")
    if not any(p.strip() for p in pages):
        raise ExtractionError(
            "This PDF has no text we can read — it is probably scanned images. Upload a PDF with selectable text."
        )
    # pypdf breaks lines at the layout's line ends; a blank line separates pages.
    return Extracted("\n\n".join(pages), title=title)


@extractor("docx")
def _docx(data: bytes) -> Extracted:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractionError(f"This Word file is damaged and can't be read ({type(exc).__name__}).")
    lines: list[str] = []
    title = document.core_properties.title or ""
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = _heading_level(style)
        if level:
            title = title or (text if level == 1 or style == "Title" else "")
            lines.append("#" * level + " " + text)
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    return Extracted("\n\n".join(lines), title=title)


def _heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"Heading (\d)", style)
    return min(int(match.group(1)), 6) if match else 0


@extractor("csv")
def _csv(data: bytes) -> Extracted:
    """Rows of question, answer: each row becomes its own section so a chunk is one answer."""
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] in (["question", "answer"], ["q", "a"]):
        rows = rows[1:]
    sections = []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ExtractionError(
                f"Row {number} of the CSV needs a question in the first column and an answer in the second."
            )
        sections.append(f"## {row[0].strip()}\n\n{row[1].strip()}")
    return Extracted("\n\n".join(sections))


_BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "iframe")
_BLOCK_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "th", "dt", "dd")


@extractor("html")
def _html(data: bytes) -> Extracted:
    """Main content only (trafilatura): navigation, headers, footers, scripts and cookie banners
    are dropped; headings come back as Markdown `#` lines. Links are kept for the crawler."""
    import trafilatura
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    links = [a["href"] for a in soup.find_all("a", href=True)]
    html = str(soup)
    text = trafilatura.extract(
        html,
        output_format="markdown",
        include_tables=True,
        include_links=False,
        include_images=False,
        favor_recall=True,
    )
    metadata = trafilatura.extract_metadata(html)
    title = (metadata.title if metadata else "") or (soup.title.get_text(" ", strip=True) if soup.title else "")
    if not text:  # pages too small for trafilatura's content detection: take their visible blocks
        text = _visible_blocks(soup)
    return Extracted(text, title=title, links=links)


def _visible_blocks(soup) -> str:
    for tag in soup(_BOILERPLATE_TAGS):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    lines: list[str] = []
    for el in root.find_all(_BLOCK_TAGS):
        if el.find(_BLOCK_TAGS):
            continue  # a container of blocks: its children are emitted on their own
        text = el.get_text(" ", strip=True)
        if not text:
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            lines.append("#" * int(el.name[1]) + " " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines) or root.get_text("\n", strip=True)
