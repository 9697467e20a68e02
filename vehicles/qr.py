"""QR codes of the public page's URL, as SVG and PNG: what is printed on a bike's label."""

from __future__ import annotations

import struct
import zlib

import qrcode
import qrcode.image.svg


def _qr(data: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_svg(data: str) -> bytes:
    return _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathFillImage).to_string()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def qr_png(data: str, *, scale: int = 10) -> bytes:
    """A 1-bit greyscale PNG. Written with zlib rather than Pillow or pypng: a QR code needs nothing more."""
    matrix = _qr(data).get_matrix()  # includes the quiet zone
    size = len(matrix) * scale
    rows = []
    for row in matrix:
        bits = "".join(("0" if dark else "1") * scale for dark in row)  # 0 is black
        bits += "1" * (-len(bits) % 8)
        line = b"\x00" + int(bits, 2).to_bytes(len(bits) // 8, "big")  # filter type 0 (none)
        rows.extend([line] * scale)
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )
