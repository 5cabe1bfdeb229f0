"""Small PDF and DOCX files made in the test itself: a text PDF of a few pages, a scanned
(image-only) one, a Word document; what a newsroom gets as press releases and filings."""

from __future__ import annotations

import io
from datetime import datetime


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(
    pages: list[list[str]],
    *,
    title: str | None = None,
    created: str | None = None,
    scanned: bool = False,
) -> bytes:
    """A PDF with one text line per entry of each page (Helvetica, top to bottom); with
    `scanned`, each page is only an image, as a scanner makes it."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree exists
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for lines in pages:
        if scanned:
            pixels = bytes(range(64))
            image = add(
                b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                b"/BitsPerComponent 8 /Length 64 >>\nstream\n" + pixels + b"\nendstream"
            )
            content = b"q 468 0 0 648 72 72 cm /Im1 Do Q"
            resources = f"<< /XObject << /Im1 {image} 0 R >> >>".encode()
        else:
            shown = b" T* ".join(f"({_escape(line)}) Tj".encode("latin-1") for line in lines)
            content = b"BT /F1 11 Tf 14 TL 72 720 Td " + shown + b" ET"
            resources = f"<< /Font << /F1 {font} 0 R >> >>".encode()
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] /Resources ".encode()
                + resources
                + f" /Contents {stream} 0 R >>".encode()
            )
        )
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()
    objects[tree - 1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    ).encode()
    fields = []
    if title:
        fields.append(f"/Title ({_escape(title)})")
    if created:
        fields.append(f"/CreationDate ({created})")
    info = add(f"<< {' '.join(fields)} >>".encode())
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def docx_bytes(
    title: str | None, heading: str, paragraphs: list[str], table: list[list[str]] | None = None
) -> bytes:
    """A Word document: a heading, paragraphs, a table after the first paragraph."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.core_properties.created = datetime(2024, 3, 1, 9, 30)
    document.add_heading(heading, level=1)
    for n, text in enumerate(paragraphs):
        document.add_paragraph(text)
        if n == 0 and table:
            grid = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
