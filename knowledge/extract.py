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


# A document this small can expand enormously (a zip bomb, a PDF of empty pages): past these
# limits it is refused with a reason instead of holding a worker until its time limit.
MAX_PAGES = 2_000
MAX_EXPANDED_BYTES = 200 * 1024 * 1024  # a .docx's parts together, uncompressed
MAX_ZIP_ENTRIES = 2_000
MAX_TEXT_CHARS = 20_000_000


def _too_much_text(chars: int) -> None:
    if chars > MAX_TEXT_CHARS:
        raise ExtractionError(
            f"This document holds more than {MAX_TEXT_CHARS // 1_000_000} million characters of text. Split it into "
            "smaller files."
        )


@extractor("pdf")
def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    if not data.lstrip().startswith(b"%PDF"):
        raise ExtractionError("This file isn't a valid PDF (it may be damaged or have the wrong extension).")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("This PDF is password-protected. Upload a copy without a password.")
        if len(reader.pages) > MAX_PAGES:
            raise ExtractionError(
                f"This PDF has {len(reader.pages):,} pages; the limit is {MAX_PAGES:,}. Split it into smaller files."
            )
        pages, chars = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            _too_much_text(chars)
        title = str((reader.metadata or {}).get("/Title") or "")
    except ExtractionError:
        raise
    except LimitReachedError:
        raise ExtractionError("This PDF expands to more data than we read from one file. Split it into smaller files.")
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise ExtractionError(f"This PDF is damaged and can't be read ({type(exc).__name__}).")
    if not any(p.strip() for p in pages):
        raise ExtractionError(
            "This PDF has no text we can read — it is probably scanned images. Upload a PDF with selectable text."
        )
    # pypdf breaks lines at the layout's line ends; a blank line separates pages.
    return Extracted("\n\n".join(pages), title=title)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_APP_PAGES = "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Pages"


def _docx_parts(data: bytes) -> dict[str, bytes]:
    """The XML parts we read, after checking what the archive would expand to (sizes are those
    the zip declares; `zipfile` stops reading a member at its declared size)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        if len(members) > MAX_ZIP_ENTRIES:
            raise ExtractionError(f"This Word file holds more than {MAX_ZIP_ENTRIES:,} parts, so it was not read.")
        expanded = sum(m.file_size for m in members)
        if expanded > MAX_EXPANDED_BYTES:
            raise ExtractionError(
                f"This Word file expands to {expanded / 1024 / 1024:,.0f} MB when opened; the limit is "
                f"{MAX_EXPANDED_BYTES // 1024 // 1024} MB. It may be a “zip bomb”; if it is a real document, split it."
            )
        names = {m.filename for m in members}
        if "word/document.xml" not in names:
            raise ExtractionError("This Word file is damaged and can't be read (it has no document part).")
        wanted = ("word/document.xml", "word/styles.xml", "docProps/core.xml", "docProps/app.xml")
        return {name: archive.read(name) for name in wanted if name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise ExtractionError(f"This Word file is damaged and can't be read ({type(exc).__name__}).")


def _xml(part: bytes):
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        # defusedxml refuses DTDs, entity expansion ("billion laughs") and external entities.
        return fromstring(part, forbid_dtd=True)
    except (DefusedXmlException, ParseError) as exc:
        raise ExtractionError(f"This Word file is damaged or unsafe to read ({type(exc).__name__}).")


def _docx_paragraph(p) -> str:
    return "".join(t.text or "" for t in p.iter(f"{_W}t")).strip()


@extractor("docx")
def _docx(data: bytes) -> Extracted:
    parts = _docx_parts(data)
    styles = {}
    if "word/styles.xml" in parts:
        for style in _xml(parts["word/styles.xml"]).iter(f"{_W}style"):
            name = style.find(f"{_W}name")
            styles[style.get(f"{_W}styleId")] = name.get(f"{_W}val") if name is not None else ""
    if "docProps/app.xml" in parts:
        pages = _xml(parts["docProps/app.xml"]).find(_APP_PAGES)
        if pages is not None and (pages.text or "").strip().isdigit() and int(pages.text) > MAX_PAGES:
            raise ExtractionError(
                f"This Word file has {int(pages.text):,} pages; the limit is {MAX_PAGES:,}. Split it into smaller files."
            )
    title = ""
    if "docProps/core.xml" in parts:
        found = _xml(parts["docProps/core.xml"]).find(_DC_TITLE)
        title = (found.text or "").strip() if found is not None else ""
    body = _xml(parts["word/document.xml"]).find(f"{_W}body")
    lines: list[str] = []
    chars = 0
    for block in body if body is not None else []:
        if block.tag == f"{_W}p":
            text = _docx_paragraph(block)
            if not text:
                continue
            style_id = block.find(f"{_W}pPr/{_W}pStyle")
            style_val = style_id.get(f"{_W}val", "") if style_id is not None else ""
            style = styles.get(style_val, style_val)
            level = _heading_level(style)
            if level:
                title = title or (text if level == 1 else "")
                lines.append("#" * level + " " + text)
            else:
                lines.append(text)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells = [" ".join(_docx_paragraph(p) for p in tc.iter(f"{_W}p")).strip() for tc in row.iter(f"{_W}tc")]
                lines.append(" | ".join(cells))
        chars += len(lines[-1]) if lines else 0
        _too_much_text(chars)
    return Extracted("\n\n".join(lines), title=title)


def _heading_level(style: str) -> int:
    # styles.xml spells Word's built-in names in lower case ("heading 1"); the UI shows "Heading 1".
    if style.lower() == "title":
        return 1
    match = re.match(r"heading ?(\d)", style, re.I)
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
    # Navigation, headers and footers are never the content: trafilatura's detection keeps them
    # on small pages when it favours recall, so they go first.
    for tag in soup(_BOILERPLATE_TAGS):
        tag.decompose()
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
