"""The hand-mesh layer's pinned ``.npz`` files: written byte for byte the
same on every rebuild, and compared in words when a rebuild differs.

``np.savez`` embeds the time and deflate's bytes depend on the zlib build,
so the packaged files (the open hand, the mesh hierarchy) are written here
as a zip of stored ``.npy`` members in a fixed order with a fixed date; the
build tools' ``--check`` names the first difference with
:func:`first_difference`.
"""
import io
import zipfile
from typing import Mapping

import numpy as np

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def stored_npz(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` of ``arrays`` in their order: ``.npy`` 1.0 members,
    stored (not deflated), dated :data:`ZIP_DATE`, mode 0644."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(array),
                                      version=(1, 0), allow_pickle=False)
            info = zipfile.ZipInfo(f'{key}.npy', date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def first_difference(built: bytes, committed: bytes) -> str:
    """Where two ``.npz`` files first differ, in words."""
    try:
        with zipfile.ZipFile(io.BytesIO(built)) as new, \
                zipfile.ZipFile(io.BytesIO(committed)) as old:
            if new.namelist() != old.namelist():
                return (f'members {old.namelist()} in the file, '
                        f'{new.namelist()} rebuilt')
            for name in new.namelist():
                a, b = new.read(name), old.read(name)
                if a == b:
                    continue
                x = np.load(io.BytesIO(a), allow_pickle=False)
                y = np.load(io.BytesIO(b), allow_pickle=False)
                if x.shape != y.shape or x.dtype != y.dtype:
                    return (f'{name}: {y.dtype} {y.shape} in the file, '
                            f'{x.dtype} {x.shape} rebuilt')
                where = np.argwhere(x != y)
                if len(where):
                    at = tuple(int(i) for i in where[0])
                    return (f'{name}{list(at)}: {y[at].item()!r} in the '
                            f'file, {x[at].item()!r} rebuilt')
                return f'{name}: the bytes differ'
    except (zipfile.BadZipFile, ValueError) as error:
        return f'the file is not a readable .npz ({error})'
    offset = next((i for i, (a, b) in enumerate(zip(built, committed))
                   if a != b), min(len(built), len(committed)))
    return f'byte {offset} (zip structure)'
