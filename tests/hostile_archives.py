"""Archives that attack whoever opens them: the traps `botscan vet` must read in memory and
never extract (DESIGN.md, security invariant 4).

Each builder writes one archive and returns an `Archive` saying what a safe reader must do
with it: report the key planted in `bot/trader.py` (so a verdict can be given), never create
any of `never_created`, and say in a notice what it did not read, and why, for each of
`noticed` (a cap it reached, a member that tried to climb out, a link, a lie).

- path traversal: `../../escape.py`, `/abs/…/path.py`, `..\\..\\win.py` members (zip, tar);
- links: a tar symlink member pointing out, a regular member written *through* it, a hard
  link to `/etc/passwd` and to the user's SSH key;
- size: a 200 MB zero stream that compresses to ~200 KB (zip and tar.gz), a zip member whose
  header lies about its size, 100,000 tiny members, zips nested in zips (2 GB if recursed);
- names: a member named with `<script>` markup.
"""

from __future__ import annotations

import io
import random
import struct
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from helpers_security import token

ZERO_STREAM_BYTES = 200 * 1024 * 1024
MANY_MEMBERS = 100_000
PWN = "document.body.setAttribute('data-pwned','1')"
"""What every markup payload would run: the browser tests look for `data-pwned`."""
_CHUNK = bytes(1 << 20)


@dataclass(frozen=True)
class Archive:
    path: Path
    secret: str
    """The key planted in `bot/trader.py`: reported, never whole."""
    noticed: tuple[str, ...] = ()
    """Member (or archive) names some notice must name: what was not read as it claims."""
    never_created: tuple[Path, ...] = field(default=())
    """Absolute paths a member names: extracting would create them."""


def trader_source(secret: str) -> bytes:
    return ("import ccxt\n\n"
            f'exchange = ccxt.binance({{"apiKey": "{secret[:32]}", "secret": "{secret}"}})\n'
            "print(exchange.fetch_balance())\n").encode()


class _Zeros(io.RawIOBase):
    """`size` zero bytes, read without ever holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _zip_zero_member(zf: zipfile.ZipFile, name: str, size: int) -> None:
    """`size` zero bytes, deflated (about 1,000 to 1), written without ever holding them."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w") as out:
        for _ in range(size // len(_CHUNK)):
            out.write(_CHUNK)
        out.write(bytes(size % len(_CHUNK)))


def _deflated(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)


def zip_with_escapes_and_zero_stream(path: Path, secret: str = "",
                                     escape_dir: Path | None = None) -> list[Path]:
    """`../` and absolute members, and a 200 MB zero stream (~200 KB compressed) named like
    data a scanner reads. Returns the absolute paths the members name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    absolute = (escape_dir or Path("/tmp/botscan-never")) / "abs" / "path.py"
    with _deflated(path) as zf:
        zf.writestr("bot/trader.py", trader_source(secret or "x" * 8))
        zf.writestr("../../escape.py", "open('/tmp/escaped', 'w').close()\n")
        zf.writestr(str(absolute), "open('/tmp/escaped', 'w').close()\n")
        zf.writestr("..\\..\\win.py", "print('escaped')\n")
        zf.writestr("bot/../../../dotdot.py", "print('escaped')\n")
        _zip_zero_member(zf, "user_data/data/candles.json", ZERO_STREAM_BYTES)
    return [absolute]


def _lie_about_size(path: Path, member: str, size: int) -> None:
    """Patch both headers of `member` to claim `size` uncompressed bytes."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        offset = zf.getinfo(member).header_offset
    struct.pack_into("<I", data, offset + 22, size)
    name = member.encode()
    central = 0
    while (central := data.find(b"PK\x01\x02", central + 1)) != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, size)
            break
    path.write_bytes(bytes(data))


def lying_zip(path: Path, secret: str) -> Archive:
    """A member whose headers claim 1,000 bytes while its stream inflates to 200 MB."""
    with _deflated(path) as zf:
        zf.writestr("bot/trader.py", trader_source(secret))
        _zip_zero_member(zf, "bot/strategy.py", ZERO_STREAM_BYTES)
    _lie_about_size(path, "bot/strategy.py", 1000)
    return Archive(path, secret, noticed=("bot/strategy.py",))


def escapes_zip(path: Path, secret: str) -> Archive:
    escapes = zip_with_escapes_and_zero_stream(path, secret, escape_dir=path.parent / "abs-root")
    return Archive(path, secret, never_created=tuple(escapes),
                   noticed=("escape.py", "win.py", "dotdot.py", "abs/path.py", "candles.json"))


def zero_stream_tar_gz(path: Path, secret: str) -> Archive:
    with tarfile.open(path, "w:gz", compresslevel=9) as tar:
        _tar_bytes(tar, "bot/trader.py", trader_source(secret))
        info = tarfile.TarInfo("user_data/data/candles.json")
        info.size = ZERO_STREAM_BYTES
        tar.addfile(info, io.BufferedReader(_Zeros(ZERO_STREAM_BYTES), 1 << 20))
    return Archive(path, secret, noticed=("candles.json",))


def _tar_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _tar_link(tar: tarfile.TarFile, name: str, target: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def links_tar(path: Path, secret: str, outside: Path) -> Archive:
    """Symlink members out of the archive, a member written through one, and hard links to
    `/etc/passwd` and to `outside` (the user's SSH key)."""
    escape_dir = path.parent / "through-link"
    with tarfile.open(path, "w") as tar:
        _tar_bytes(tar, "bot/trader.py", trader_source(secret))
        _tar_link(tar, "bot/keys.py", str(outside), tarfile.SYMTYPE)
        _tar_link(tar, "bot/up", "../../..", tarfile.SYMTYPE)
        _tar_link(tar, "bot/out", str(escape_dir), tarfile.SYMTYPE)
        _tar_bytes(tar, "bot/out/planted.py", b"open('/tmp/escaped', 'w').close()\n")
        _tar_link(tar, "bot/passwd.txt", "/etc/passwd", tarfile.LNKTYPE)
        _tar_link(tar, "bot/id_ed25519", str(outside), tarfile.LNKTYPE)
        _tar_link(tar, "bot/loop.py", "bot/loop.py", tarfile.SYMTYPE)
    links = ("bot/keys.py", "bot/up", "bot/out", "bot/passwd.txt", "bot/id_ed25519",
             "bot/loop.py")
    return Archive(path, secret, never_created=(escape_dir / "planted.py",), noticed=links)


def many_members_zip(path: Path, secret: str) -> Archive:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("bot/trader.py", trader_source(secret))
        for i in range(MANY_MEMBERS):
            zf.writestr(f"m/{i:06d}.txt", b"x")
    return Archive(path, secret, noticed=(path.name,))


def nested_bomb_zip(path: Path, secret: str, fan_out: int = 10,
                    inner_bytes: int = 20 * 1024 * 1024) -> Archive:
    """Zips of zips (and a wheel): `fan_out`² × `inner_bytes` = 2 GB if a reader recursed."""
    inner = io.BytesIO()
    with _deflated(inner) as zf:  # type: ignore[arg-type]
        _zip_zero_member(zf, "data.json", inner_bytes)
    middle = io.BytesIO()
    with zipfile.ZipFile(middle, "w") as zf:
        for i in range(fan_out):
            zf.writestr(f"inner{i}.zip", inner.getvalue())
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("bot/trader.py", trader_source(secret))
        for i in range(fan_out):
            name = f"vendor/plugin{i}.zip" if i else "vendor/plugin-1.0-py3-none-any.whl"
            zf.writestr(name, middle.getvalue())
    return Archive(path, secret)


def markup_names_zip(path: Path, secret: str) -> Archive:
    with _deflated(path) as zf:
        zf.writestr("bot/trader.py", trader_source(secret))
        zf.writestr(f"bot/x<script>{PWN}</script>.py", trader_source(secret))
        zf.writestr(f'bot/<img src=x onerror="{PWN}">.json', '{"secret": "x"}\n')
        zf.writestr("bot/new\nline.py", b"print('hi')\n")
        zf.writestr("bot/-p.py", b"print('hi')\n")
    return Archive(path, secret)


BUILDERS: dict[str, Callable[[Path, str], Archive]] = {
    "escapes.zip": escapes_zip,
    "lying.zip": lying_zip,
    "zeros.tar.gz": zero_stream_tar_gz,
    "many.zip": many_members_zip,
    "nested.zip": nested_bomb_zip,
    "markup.zip": markup_names_zip,
}


def build_all(directory: Path, outside: Path, rng: random.Random) -> dict[str, Archive]:
    """Every trap archive under `directory`; `outside` is a secret file links point at."""
    directory.mkdir(parents=True, exist_ok=True)
    built = {name: builder(directory / name, token(rng, 64)) for name, builder in BUILDERS.items()}
    built["links.tar"] = links_tar(directory / "links.tar", token(rng, 64), outside)
    return built
