"""Builders of malformed and hostile files (PDFs written byte by byte, zip bombs, archives) for the bad-input tests."""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from pathlib import Path

import docx
from fpdf import FPDF
from PIL import Image

from ingest_pipeline_tests.pipeline_runs import paragraph

_MEGABYTE = 1 << 20


def raw_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF of the given objects (numbered from 1, the first one the catalog) with a correct xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def _pages_pdf(pages: list[bytes], extra: list[bytes] = (), trailer: bytes = b"") -> bytes:
    kids = b" ".join(b"%d 0 R" % (number + 3) for number in range(len(pages)))
    root = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))]
    return raw_pdf(root + pages + list(extra), trailer)


def blank_pages_pdf(count: int) -> bytes:
    # Every page is one short object, so thousands of pages cost a few hundred kilobytes.
    return _pages_pdf([b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * count)


def text_pdf(pages: list[str], owner_password: str | None = None, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if owner_password:
        pdf.set_encryption(owner_password=owner_password, user_password=user_password)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def image_only_pdf() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (200, 100), (200, 30, 30)).save(picture, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(picture, x=10, y=10, w=180)
    return bytes(pdf.output())


def corrupt_xref_pdf() -> bytes:
    """A readable PDF whose xref table and startxref are garbage: readers rebuild it by scanning."""
    data = text_pdf([paragraph("lighthouse lens", 12)])
    start = data.rindex(b"xref")
    return data[:start] + b"xref\nthis is not a cross-reference table\ntrailer\n<< /Size 99 >>\nstartxref\n999999\n%%EOF\n"


def cyclic_page_tree_pdf() -> bytes:
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"])


def unknown_security_pdf() -> bytes:
    handler = b"<< /Filter /Acme.Secure /V 9 /R 9 >>"
    file_id = b"<00112233445566778899aabbccddeeff>"
    return _pages_pdf([b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"], [handler],
                      trailer=b"/Encrypt 4 0 R /ID [%s %s] " % (file_id, file_id))


def content_stream_bomb_pdf(inflated_mb: int, dictionary: bytes = b"/Length %d /Filter /FlateDecode") -> bytes:
    """One page whose compressed content stream inflates to `inflated_mb` of drawing operators; `dictionary`
    (with %d for the length) is how the stream's dictionary is written."""
    stream = _deflated_operators(inflated_mb)
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"
    body = dictionary % len(stream) if b"%d" in dictionary else dictionary
    content = b"<< %s >>\nstream\n%s\nendstream" % (body, stream)
    # Object 5, for a dictionary whose /Length is the indirect `5 0 R`.
    return _pages_pdf([page], [content, b"%d" % len(stream)])


# Ways to write a bomb's stream dictionary that a guard looking for "/FlateDecode", and no "/Image", within
# 4 KB before the "stream" keyword did not see as compressed text.
BOMB_DICTIONARIES = {
    "extra-keys": b"/Length %d /ImageMask false /Note (obj) /Filter /FlateDecode /DecodeParms << /Predictor 1 >>",
    "long-dictionary": b"/Filter /FlateDecode /Padding (" + b"(x) " * 2000 + b") /Length %d",
    "escaped-filter-name": b"/Length %d /Filter /Fl#61teDecode",
    "filter-array": b"/Length %d /Filter [/FlateDecode] /DecodeParms [null]",
    "indirect-length": b"/Filter /FlateDecode /Length 5 0 R",
}


def many_streams_pdf(streams: int, inflated_mb: int, one_page: bool) -> bytes:
    """`streams` content streams of `inflated_mb` each (each under the limit for one stream): all on one
    page, or one on each page."""
    stream = _deflated_operators(inflated_mb)
    first = 3 + (1 if one_page else streams)
    contents = [b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)] * streams
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %s >>"
    if one_page:
        pages = [page % (b"[%s]" % b" ".join(b"%d 0 R" % (first + n) for n in range(streams)))]
    else:
        pages = [page % (b"%d 0 R" % (first + n)) for n in range(streams)]
    return _pages_pdf(pages, contents)


def text_operators_pdf(operators: int) -> bytes:
    """One page of `operators` one-letter text objects: its stream compresses no more than real text does
    (about 13 to 1, under 10 MB), yet pdfium needs hundreds of megabytes and seconds to lay it out."""
    operations = b"".join(b"BT /F1 1 Tf %d %d Td (a) Tj ET\n" % (n % 600, n % 800) for n in range(operators))
    stream = zlib.compress(operations, 9)
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>")
    content = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
    return _pages_pdf([page], [content, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def _deflated_operators(inflated_mb: int) -> bytes:
    compressor = zlib.compressobj(9)
    block = b"0 0 m\n" * (_MEGABYTE // 6)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    # A full flush forgets the history, so every further megabyte compresses to the same bytes:
    # gigabytes of inflation are written by repeating them (the final checksum is left wrong).
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + repeat * (inflated_mb - 2) + compressor.compress(block) + compressor.flush()


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_forged_list_depth(*items: str) -> bytes:
    """List items claiming to nest a hundred million levels deep (Word stops at nine)."""
    document = docx.Document()
    for text in items:
        numbering = document.add_paragraph(text)._p.get_or_add_pPr().get_or_add_numPr()
        numbering.get_or_add_ilvl().val = 99_999_999
        numbering.get_or_add_numId().val = 1
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_bomb(inflated_mb: int) -> bytes:
    """A real .docx plus a member of zeros that inflates a thousandfold: a decompression bomb."""
    buffer = io.BytesIO(docx_bytes(paragraph("ballast")))
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/media/padding.bin", "w", force_zip64=True) as member:
            zeros = bytes(_MEGABYTE)
            for _ in range(inflated_mb):
                member.write(zeros)
    return buffer.getvalue()


def docx_lying_about_size() -> bytes:
    """A .docx whose directory says document.xml is tiny while its data inflates far beyond that."""
    real = docx_bytes(paragraph("understated"))
    with zipfile.ZipFile(io.BytesIO(real)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["word/document.xml"] = members["word/document.xml"] + b"<!--" + b" " * (4 * _MEGABYTE) + b"-->"
    data = bytearray(zip_bytes(members))
    # Shrink the declared size in the central directory (offset 24 of each entry) to 100 bytes.
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = int.from_bytes(data[entry + 28:entry + 30], "little")
        if data[entry + 46:entry + 46 + name_length] == b"word/document.xml":
            data[entry + 24:entry + 28] = (100).to_bytes(4, "little")
        entry = data.find(b"PK\x01\x02", entry + 4)
    return bytes(data)


def docx_entity_bomb() -> bytes:
    """A .docx whose document.xml declares nested entities ("billion laughs")."""
    entities = "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10))
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY e0 "lol">{entities}]>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           "<w:body><w:p><w:r><w:t>&e9;</w:t></w:r></w:p></w:body></w:document>")
    real = docx_bytes("placeholder")
    with zipfile.ZipFile(io.BytesIO(real)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members["word/document.xml"] = xml.encode()
    return zip_bytes(members)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def elf_bytes() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(4096)


def sparse_file(path: Path, size: int) -> Path:
    """Grow the file to `size` bytes with a hole of zeros: no disk space and no time to write."""
    with path.open("ab") as file:
        file.truncate(size)
    return path


def unreadable_docx() -> bytes:
    """A .docx whose zip directory asks for a newer zip version: zipfile raises NotImplementedError reading it."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as writer:
        writer.writestr("word/document.xml", "<w:document/>")
    data = bytearray(archive.getvalue())
    # "Version needed to extract" 6.4 in the central directory.
    directory = data.index(b"PK\x01\x02")
    data[directory + 6:directory + 8] = (64).to_bytes(2, "little")
    return bytes(data)
