"""File readers and writers for the on-disk formats of docs/DATA layouts.

Every reader raises a clear error that names the file and the problem
(missing, truncated, corrupt, wrong size, NaN). Every writer is atomic: it
writes a hidden temporary file next to the target and renames it into place,
so an interrupted run never leaves a half-written file that a resumed run
would then mistake for a finished one.
"""
import contextlib
import os
import os.path as osp
import tempfile
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    'DataFileError', 'MIN_POINTS', 'MIN_EXTENT', 'atomic_path', 'check_points',
    'check_point_count', 'padding_indices', 'warn_once', 'read_ply_points',
    'write_ply_points', 'read_image', 'write_image', 'read_h5', 'write_h5',
    'write_text', 'write_txt_array'
]

# numpy dtypes of the scalar property types a PLY header may name.
_PLY_TYPES = {
    'char': 'i1', 'int8': 'i1', 'uchar': 'u1', 'uint8': 'u1',
    'short': 'i2', 'int16': 'i2', 'ushort': 'u2', 'uint16': 'u2',
    'int': 'i4', 'int32': 'i4', 'uint': 'u4', 'uint32': 'u4',
    'float': 'f4', 'float32': 'f4', 'double': 'f8', 'float64': 'f8',
}


class DataFileError(ValueError):
    """A data file is missing, truncated, corrupt or holds invalid values.

    The message always starts with the file's path.
    """


#: Fewest points a cloud may hold (docs/reliability.md, "Tiny and degenerate clouds").
#: The shipped backbones group neighbourhoods of up to 32 points (Point-BERT /
#: Point-MAE groups; PointMLP k = 24, DGCNN k = 20): a cloud with fewer points cannot
#: fill one neighbourhood with distinct points, whatever padding makes of it.
MIN_POINTS = 32
#: Smallest spatial extent (largest side of the bounding box, in the file's units)
#: of a usable cloud. Below it the points coincide: nothing to learn, and
#: normalising to the unit sphere would divide by (almost) zero.
MIN_EXTENT = 1e-6

_warned = set()


def warn_once(key, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process.

    Goes to mmengine's current logger (the console and the run's log file), not to
    stderr, which stays for the one line of a fatal error.
    """
    if key in _warned:
        return
    _warned.add(key)
    import logging

    from mmengine.logging import print_log
    print_log(message, logger='current', level=logging.WARNING)


def check_point_count(points: np.ndarray, path: str, expected: Optional[int] = None,
                      min_points: int = MIN_POINTS, what: str = '') -> np.ndarray:
    """Refuse a cloud that is too small, of the wrong size or without extent.

    The rule every point-cloud reader applies (and ``tools/create_data.py check``).

    Args:
        points: (N, 3+) array, xyz first.
        path: the file, quoted in the error.
        expected: the exact N the layout promises (ShapeNet55's 1024 / 2048), if any.
        min_points: refuse fewer points than this (default :data:`MIN_POINTS`).
        what: which cloud of the file, for files with many (``'sample 3'``).

    Returns:
        ``points`` unchanged.

    Raises:
        DataFileError: naming ``path``, if N differs from ``expected``, N <
            ``min_points``, or all points lie within :data:`MIN_EXTENT` of each other.
    """
    where = f'{path}: {what + ": " if what else ""}'
    n = len(points)
    if expected is not None and n != expected:
        raise DataFileError(f'{where}{n} points, expected {expected}')
    if n < min_points:
        raise DataFileError(
            f'{where}only {n} point{"s" if n != 1 else ""}; at least {min_points} are needed '
            '(fewer cannot fill one neighbourhood of the backbones)')
    extent = float(np.ptp(np.asarray(points)[:, :3], axis=0).max())
    if not extent > MIN_EXTENT:
        raise DataFileError(f'{where}all {n} points coincide (extent {extent:.3g}): '
                            'a cloud without extent cannot be normalised or learnt from')
    return points


def padding_indices(n: int, num: int, path: str, rng=np.random) -> np.ndarray:
    """Indices (num - n,) of random points to duplicate so that n points become num.

    Padding by duplication is what the PointNet++ / PointMLP loaders do with short
    clouds. When more than half of the result would be duplicates, a warning naming
    the file is logged (once per file and process).

    Args:
        n: points available (>= 1).
        num: points wanted (> n).
        path: the file, named in the warning.
        rng: numpy ``RandomState``/``Generator`` (module ``np.random`` by default).
    """
    if 2 * n < num:
        warn_once(('padding', path),
                  f'{path}: only {n} points for {num}; padded by duplicating random points '
                  f'({num - n} duplicates)')
    return rng.choice(n, num - n, replace=True)


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    The temporary name starts with a dot and ends in ``.tmp``, so directory
    listings that filter by extension (``*.ply``, ``*.jpg``) never see it. On
    an exception the temporary file is removed and ``path`` is untouched.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix='.' + osp.basename(path) + '.', suffix='.tmp', dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def check_points(points: np.ndarray, path: str = '<array>') -> np.ndarray:
    """Validate a point array and return it unchanged.

    Args:
        points: (N, C) array with C >= 3, the first 3 columns being xyz.
        path: the file the points came from, quoted in the error.

    Raises:
        DataFileError: if the array is not 2-D with >= 3 columns, is empty,
            or holds NaN / inf values.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] < 3:
        raise DataFileError(
            f'{path}: expected an (N, 3+) point array, got shape {points.shape}')
    if points.shape[0] == 0:
        raise DataFileError(f'{path}: holds no points')
    finite = np.isfinite(points)
    if not finite.all():
        bad = int((~finite.all(axis=1)).sum())
        raise DataFileError(
            f'{path}: {bad} of {points.shape[0]} points hold NaN or inf values')
    return points


def _parse_ply_header(f, path: str) -> Tuple[str, list, int]:
    """Read a PLY header; return (format, elements, byte offset of the body).

    ``elements`` is a list of (name, count, [(prop_name, dtype or None for
    list properties)]).
    """
    first = f.readline()
    if first.strip() != b'ply':
        raise DataFileError(f'{path}: not a PLY file (first line {first[:20]!r})')
    fmt, elements = None, []
    while True:
        line = f.readline()
        if not line:
            raise DataFileError(f'{path}: truncated PLY header (no end_header)')
        words = line.decode('ascii', errors='replace').split()
        if not words or words[0] in ('comment', 'obj_info'):
            continue
        if words[0] == 'end_header':
            break
        if words[0] == 'format':
            fmt = words[1]
        elif words[0] == 'element':
            elements.append((words[1], int(words[2]), []))
        elif words[0] == 'property':
            if not elements:
                raise DataFileError(f'{path}: PLY property before any element')
            if words[1] == 'list':
                elements[-1][2].append((words[-1], None))
            else:
                if words[1] not in _PLY_TYPES:
                    raise DataFileError(
                        f'{path}: unknown PLY property type {words[1]!r}')
                elements[-1][2].append((words[2], _PLY_TYPES[words[1]]))
    if fmt not in ('ascii', 'binary_little_endian', 'binary_big_endian'):
        raise DataFileError(f'{path}: unsupported PLY format {fmt!r}')
    return fmt, elements, f.tell()


def read_ply_points(path: str) -> np.ndarray:
    """Read the vertex positions of a PLY file (ASCII or binary).

    Faces and other elements after the vertices are ignored. Elements before
    the vertex element must have fixed-size properties (they are skipped).

    Returns:
        (N, 3) float32 xyz.

    Raises:
        FileNotFoundError: the file does not exist.
        DataFileError: the file is not a PLY, is truncated, or holds NaN/inf.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: point-cloud file not found')
    if osp.getsize(path) == 0:
        raise DataFileError(f'{path}: empty file (0 bytes), not a PLY')
    with open(path, 'rb') as f:
        fmt, elements, body = _parse_ply_header(f, path)
        data = f.read()
    skip_rows, skip_bytes, vertex = 0, 0, None
    for name, count, props in elements:
        if name == 'vertex':
            vertex = (count, props)
            break
        if any(dt is None for _, dt in props):
            raise DataFileError(
                f'{path}: PLY element {name!r} with list properties precedes '
                'the vertices; not supported')
        skip_rows += count
        skip_bytes += count * sum(np.dtype(dt).itemsize for _, dt in props)
    if vertex is None:
        raise DataFileError(f'{path}: PLY file has no vertex element')
    count, props = vertex
    names = [p for p, _ in props]
    if not all(k in names for k in 'xyz'):
        raise DataFileError(f'{path}: PLY vertices lack x/y/z properties ({names})')
    if any(dt is None for _, dt in props):
        raise DataFileError(f'{path}: PLY vertex element has list properties')
    if fmt == 'ascii':
        lines = data.decode('ascii', errors='replace').splitlines()[skip_rows:]
        lines = [ln for ln in lines if ln.strip()]
        if len(lines) < count:
            raise DataFileError(
                f'{path}: truncated PLY, header promises {count} vertices, '
                f'file holds {len(lines)}')
        try:
            table = np.array([ln.split()[:len(names)] for ln in lines[:count]],
                             dtype=np.float64)
        except ValueError as err:
            raise DataFileError(f'{path}: corrupt ASCII PLY vertex line ({err})')
        if table.ndim != 2 or table.shape[1] != len(names):
            raise DataFileError(f'{path}: ASCII PLY vertex lines have too few values')
        cols = [table[:, names.index(k)] for k in 'xyz']
    else:
        endian = '<' if fmt == 'binary_little_endian' else '>'
        dtype = np.dtype([(p, endian + dt) for p, dt in props])
        need = skip_bytes + count * dtype.itemsize
        if len(data) < need:
            raise DataFileError(
                f'{path}: truncated PLY, header promises {count} vertices '
                f'({need} bytes of body), file holds {len(data)} bytes')
        table = np.frombuffer(data, dtype=dtype, count=count, offset=skip_bytes)
        cols = [table[k] for k in 'xyz']
    points = np.stack(cols, axis=1).astype(np.float32)
    return check_points(points, path)


def write_ply_points(path: str, points: np.ndarray, binary: bool = True) -> None:
    """Write (N, 3) points as a vertex-only PLY (float32), atomically.

    Args:
        path: target file.
        points: (N, 3) array.
        binary: binary little-endian if True, else ASCII.
    """
    points = check_points(np.asarray(points, dtype=np.float32), path)[:, :3]
    fmt = 'binary_little_endian' if binary else 'ascii'
    header = (f'ply\nformat {fmt} 1.0\nelement vertex {len(points)}\n'
              'property float x\nproperty float y\nproperty float z\nend_header\n')
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        f.write(header.encode('ascii'))
        if binary:
            f.write(np.ascontiguousarray(points, dtype='<f4').tobytes())
        else:
            np.savetxt(f, points, fmt='%.6f')


def read_image(path: str,
               expected_size: Optional[Union[int, Tuple[int, int]]] = None
               ) -> np.ndarray:
    """Read an image as RGB.

    Args:
        path: image file (jpg, png, ...).
        expected_size: int or (H, W); if given, a different size is an error.

    Returns:
        (H, W, 3) uint8. An image stored in another mode (greyscale ``L``, as
        some renders of shaded grey objects are, or a palette) is converted to
        RGB, with a warning naming the first such file of each mode (once per
        process).

    Raises:
        FileNotFoundError: the file does not exist.
        DataFileError: the file cannot be decoded (corrupt, truncated) or has
            the wrong size.
    """
    from PIL import Image
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: image file not found')
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            arr = np.asarray(img.convert('RGB'), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as err:
        raise DataFileError(f'{path}: cannot decode image ({err})') from err
    if mode != 'RGB':
        kind = 'greyscale' if mode in ('1', 'L', 'LA', 'I', 'I;16', 'F') else 'non-RGB'
        warn_once(('image mode', mode),
                  f'{path}: {kind} image (mode {mode}) converted to RGB; further images of '
                  f'mode {mode} are converted without a warning')
    if expected_size is not None:
        h, w = ((expected_size, expected_size) if isinstance(expected_size, int)
                else tuple(expected_size))
        if arr.shape[:2] != (h, w):
            raise DataFileError(
                f'{path}: image is {arr.shape[0]}x{arr.shape[1]} (HxW), '
                f'expected {h}x{w}')
    return arr


def write_image(path: str, image: np.ndarray, quality: int = 95) -> None:
    """Write an (H, W, 3) uint8 RGB image atomically; format from the extension."""
    from PIL import Image
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'{path}: expected an (H, W, 3) uint8 image, got '
                         f'{image.dtype} {image.shape}')
    ext = osp.splitext(path)[1].lower()
    fmt = {'.jpg': 'JPEG', '.jpeg': 'JPEG', '.png': 'PNG'}.get(ext)
    if fmt is None:
        raise ValueError(f'{path}: unsupported image extension {ext!r}')
    kwargs = dict(quality=quality) if fmt == 'JPEG' else {}
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=fmt, **kwargs)


def read_h5(path: str, keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """Read whole datasets ``keys`` from an HDF5 file.

    Raises:
        FileNotFoundError: the file does not exist.
        DataFileError: the file cannot be opened or lacks one of ``keys``.
    """
    import h5py
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: HDF5 file not found')
    try:
        with h5py.File(path, 'r') as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise DataFileError(
                    f'{path}: HDF5 file lacks keys {missing} (has {list(f.keys())})')
            return {k: f[k][()] for k in keys}
    except OSError as err:
        raise DataFileError(f'{path}: cannot read HDF5 file ({err})') from err


def write_h5(path: str, **arrays: np.ndarray) -> None:
    """Write named arrays to an HDF5 file atomically (gzip-compressed)."""
    import h5py
    with atomic_path(path) as tmp:
        with h5py.File(tmp, 'w') as f:
            for key, value in arrays.items():
                value = np.asarray(value)
                # Scalars and tiny arrays cannot be chunked for compression.
                opts = dict(compression='gzip', compression_opts=4) if value.ndim else {}
                f.create_dataset(key, data=value, **opts)


def write_text(path: str, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp, open(tmp, 'w') as f:
        f.write(text)


def write_txt_array(path: str, array: np.ndarray, fmt: str = '%.6f',
                    delimiter: str = ' ') -> None:
    """Write a 2-D array as delimited text lines atomically (np.savetxt format)."""
    with atomic_path(path) as tmp:
        np.savetxt(tmp, np.asarray(array), fmt=fmt, delimiter=delimiter)
