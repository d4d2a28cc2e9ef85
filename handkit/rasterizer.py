"""A numpy z-buffer triangle rasteriser: depth, mask, face ids,
perspective-correct barycentrics and a shaded colour image of a mesh.

No OpenGL, no pyrender, no system library: numpy only, deterministic (the
same inputs give byte-equal outputs), and vectorised over triangles and
pixels together; nothing loops over pixels or triangles in Python.

Camera (handkit's, ``handkit.geometry``): vertices in the camera frame, mm,
x right, y down, z forward; pinhole intrinsics ``cam_K`` (3, 3) whose last row
is (0, 0, 1), ``u = (K X)_0 / (K X)_2``; pixel centres at integer
coordinates, so pixel (row ``y``, column ``x``) samples the image point
``(x + 0.0, y + 0.0)`` and an image of width ``W`` spans ``[-0.5, W - 0.5]``.

How a frame is drawn:

1. **Set-up, per triangle** (vectorised over all triangles): a triangle is
   culled whole when a vertex is at ``z <= near`` (it is *not* clipped
   against the near plane: a triangle crossing it disappears, one wholly in
   front of it is drawn), when its projection has zero area, when its
   bounding box holds no pixel centre of the image and, with
   ``cull_backfaces``, when it faces away from the camera. Winding: a face
   is counter-clockwise seen from outside (MANO's and OpenGL's convention:
   its outward normal is ``(v1 - v0) x (v2 - v0)``); it is *front-facing*
   when that normal points toward the camera (``n . v0 < 0``).
2. **Candidates**: per triangle the rows of its clipped bounding box
   (``np.repeat``), per (triangle, row) the columns between the row's
   crossings with the triangle's left and right edges, widened by 1e-3 px
   (so that rounding never drops a pixel), then every (triangle, pixel
   centre) pair of those spans (``np.repeat`` again): barely more pairs
   than covered pixels, and no loop.
3. **Coverage**: the three edge functions ``w_i = cross(a - p, b - p)`` of
   each pair in float64 (this form is exactly antisymmetric in IEEE
   arithmetic, so the two triangles sharing an edge see exactly opposite
   values), with the **top-left fill rule**: a pixel centre on an edge
   belongs to the triangle only when that edge is a top edge (horizontal,
   the triangle below it, y down) or a left edge (the triangle to its
   right). Two triangles sharing an edge therefore cover each pixel centre
   on it exactly once, with no gap.
4. **Z-buffer**: the depth of each covered pair is ``z = 1 / sum_i b_i /
   z_i`` (``b`` the screen-space barycentrics, exact for a plane); an
   ``np.minimum.at`` over the pixels keeps the nearest, a second one over
   the face indices of the pairs at that depth breaks an exact tie toward
   the lower face index.
5. **Attributes of the winners only**: perspective-correct barycentrics
   ``l_i = (b_i / z_i) / sum_j (b_j / z_j)`` (``l @ vertices[face]`` is the
   3D point seen through the pixel centre), the depth (its z, mm), and with
   colours or a texture the shaded colour: Lambert plus Blinn-Phong
   specular under a few directional lights, with the vertex normals
   interpolated perspective-correctly (two-sided: a back-facing triangle
   is lit with its normals flipped toward the camera).

At a pixel centre on an edge of the projected triangle the barycentric of
the opposite vertex is 0 (up to rounding; no clamping, so the interpolated
point still projects onto the pixel centre).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from handkit.geometry import project_points

# Directions *toward* the light (camera frame, x right, y down, z forward:
# -z points back at the camera) and intensities: a key light from the upper
# left in front, a fill light from the right, a rim light from behind above.
DEFAULT_LIGHTS = (
    ((-0.4, -0.6, -1.0), 0.65),
    ((0.8, 0.1, -0.6), 0.25),
    ((0.0, -0.8, 0.6), 0.20),
)
DEFAULT_AMBIENT = 0.25
DEFAULT_SPECULAR = 0.15
DEFAULT_SHININESS = 24.0
DEFAULT_NEAR = 1.0  # mm


def _check_image_size(image_size: Union[int, Sequence[int]]
                      ) -> Tuple[int, int]:
    size = (image_size, image_size) if np.isscalar(image_size) else image_size
    try:
        size = tuple(size)
    except TypeError:
        size = ()
    if (len(size) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            for s in size) or min(size) < 1):
        raise ValueError(f'image_size must be an int or (width, height) of '
                         f'positive ints, got {image_size!r}')
    return int(size[0]), int(size[1])


def _check_mesh(vertices, faces, cam_K):
    vertices = np.asarray(vertices, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f'vertices must be (V, 3), got {vertices.shape}')
    faces = np.asarray(faces)
    if faces.size == 0:
        faces = faces.reshape(0, 3)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f'faces must be (F, 3), got {faces.shape}')
    if faces.size and not np.issubdtype(faces.dtype, np.integer):
        raise ValueError(f'faces must be integers, got {faces.dtype}')
    faces = faces.astype(np.int64)
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f'faces index vertices 0..{len(vertices) - 1}, got '
                         f'{faces.min()}..{faces.max()}')
    cam_K = np.asarray(cam_K, dtype=np.float64)
    if cam_K.shape != (3, 3):
        raise ValueError(f'cam_K must be (3, 3), got {cam_K.shape}')
    if not np.array_equal(cam_K[2], [0.0, 0.0, 1.0]) or not (
            cam_K[0, 0] > 0 and cam_K[1, 1] > 0):
        raise ValueError(f'cam_K must be pinhole intrinsics with fx, fy > 0 '
                         f'and last row (0, 0, 1), got {cam_K.tolist()}')
    return vertices, faces, cam_K


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit normals (V, 3) float64: the area-weighted sum of the normals
    ``(v1 - v0) x (v2 - v0)`` of the faces around each vertex (outward for
    faces counter-clockwise seen from outside); 0 for an unused vertex."""
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    corners = vertices[faces]                                   # (F, 3, 3)
    face_normals = np.cross(corners[:, 1] - corners[:, 0],
                            corners[:, 2] - corners[:, 0])      # (F, 3)
    index = faces.ravel()
    normals = np.stack([
        np.bincount(index, np.repeat(face_normals[:, k], 3),
                    minlength=len(vertices)) for k in range(3)], axis=1)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return np.divide(normals, length, out=np.zeros_like(normals),
                     where=length > 0)


def _top_left(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Whether an edge (a -> b, ``d = b - a``) of a triangle whose inside has
    positive edge functions is a top or a left edge (image y down)."""
    return (dy < 0) | ((dy == 0) & (dx > 0))


def _setup(vertices, faces, cam_K, width, height, near, cull_backfaces):
    """Screen-space set-up of the triangles that can cover a pixel.

    Returns a dict of per-face arrays (kept faces only), their vertices in
    the orientation that makes the projected area positive."""
    z = vertices[:, 2]
    in_front = z > near                       # False for NaN too
    safe = np.where(in_front[:, None], vertices, [0.0, 0.0, 1.0])
    screen = project_points(safe, cam_K)       # (V, 2) float64
    keep = in_front[faces].all(1)
    keep &= np.isfinite(screen[faces]).all((1, 2))
    corners = screen[faces]                    # (F, 3, 2)
    p0, p1, p2 = corners[:, 0], corners[:, 1], corners[:, 2]
    # Twice the signed area, y down: positive = back-facing for a face that
    # is counter-clockwise seen from outside (see the module docstring).
    area = ((p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1])
            - (p1[:, 1] - p0[:, 1]) * (p2[:, 0] - p0[:, 0]))
    keep &= area != 0
    if cull_backfaces:
        keep &= area < 0
    low, high = corners.min(1), corners.max(1)
    with np.errstate(invalid='ignore'):
        x0 = np.clip(np.ceil(low[:, 0]), 0, width)
        x1 = np.clip(np.floor(high[:, 0]), -1, width - 1)
        y0 = np.clip(np.ceil(low[:, 1]), 0, height)
        y1 = np.clip(np.floor(high[:, 1]), -1, height - 1)
    keep &= (x0 <= x1) & (y0 <= y1)
    ids = np.flatnonzero(keep)
    # Rasterised with a positive area: the vertices of a front-facing face
    # (negative area) are taken in the order 0, 2, 1.
    flipped = area[ids] < 0
    order = np.where(flipped[:, None], [0, 2, 1], [0, 1, 2])
    oriented = faces[ids[:, None], order]                       # (Fk, 3)
    sx = screen[oriented, 0]                                    # (Fk, 3)
    sy = screen[oriented, 1]
    # Edge i runs from vertex i + 1 to vertex i + 2 (opposite vertex i).
    nxt, nxt2 = [1, 2, 0], [2, 0, 1]
    ax, ay = sx[:, nxt], sy[:, nxt]
    dx, dy = sx[:, nxt2] - ax, sy[:, nxt2] - ay
    top_left = _top_left(dx, dy)
    # Row spans: x = ax + slope (y - ay) on each edge. With a positive area
    # the inside is right of the edges going up (dy < 0: left edges) and
    # left of those going down; each face has one or two of each (a
    # horizontal edge bounds no row), given as two slots each (the first
    # and the last such edge).
    with np.errstate(divide='ignore', invalid='ignore'):
        slope = np.where(dy != 0, dx / dy, 0.0)
    rows = np.arange(len(ids))
    slots = []
    for side in (dy < 0, dy > 0):
        first = np.argmax(side, axis=1)
        last = 2 - np.argmax(side[:, ::-1], axis=1)
        slots += [first, last]
    span = tuple([np.ascontiguousarray(a[rows, slot]) for slot in slots]
                 for a in (ax, ay, slope))
    return dict(ids=ids, flipped=flipped, oriented=oriented,
                sx=[np.ascontiguousarray(sx[:, i]) for i in range(3)],
                sy=[np.ascontiguousarray(sy[:, i]) for i in range(3)],
                area=np.abs(area[ids]), top_left=top_left, span=span,
                inv_z=[1.0 / z[oriented[:, i]] for i in range(3)],
                x0=x0[ids], x1=x1[ids],
                y0=y0[ids].astype(np.int64),
                bh=(y1[ids] - y0[ids] + 1).astype(np.int64))


# Span bounds are widened by this much (px) before the exact edge test, so
# that their rounding never drops a covered pixel centre.
_SPAN_MARGIN = 1e-3


def _spans(setup, width):
    """Per (face, row) the range of candidate columns: the row's crossing
    with the face's left edges (dy < 0) and right edges (dy > 0), widened by
    ``_SPAN_MARGIN`` and clipped to the image and the bounding box.

    Returns (face, y, first x, count) per (face, row) pair, count >= 0."""
    bh = setup['bh']
    num_rows = int(bh.sum())
    face = np.repeat(np.arange(len(bh)), bh)
    row_start = np.cumsum(bh) - bh
    y = (np.arange(num_rows) - np.repeat(row_start - setup['y0'], bh)
         ).astype(np.float64)
    lo = hi = None
    for slot in range(4):
        ax, ay, slope = (setup['span'][k][slot][face] for k in range(3))
        x = ax + slope * (y - ay)
        if slot < 2:
            lo = x if lo is None else np.maximum(lo, x)
        else:
            hi = x if hi is None else np.minimum(hi, x)
    # fmax / fmin: a NaN bound (vertices far beyond float range) falls back
    # to the bounding box.
    first = np.fmax(np.ceil(lo - _SPAN_MARGIN), setup['x0'][face])
    last = np.fmin(np.floor(hi + _SPAN_MARGIN), setup['x1'][face])
    count = np.maximum(last - first + 1, 0).astype(np.int64)
    return face, y, first, count


def _fragments(setup, width):
    """Covered (face, pixel) pairs: (local face index, pixel index, w0, w1,
    w2), in face-major then row-major order."""
    row_face, row_y, row_first, count = _spans(setup, width)
    total = int(count.sum())
    starts = np.cumsum(count) - count
    local = np.repeat(row_face, count)
    fpx = np.arange(total, dtype=np.float64) - np.repeat(starts - row_first,
                                                         count)
    fpy = np.repeat(row_y, count)
    sx, sy = setup['sx'], setup['sy']
    dx = [sx[i][local] - fpx for i in range(3)]
    dy = [sy[i][local] - fpy for i in range(3)]
    w0 = dx[1] * dy[2] - dy[1] * dx[2]
    w1 = dx[2] * dy[0] - dy[2] * dx[0]
    w2 = dx[0] * dy[1] - dy[0] * dx[1]
    lowest = np.minimum(np.minimum(w0, w1), w2)
    inside = lowest > 0
    ties = np.flatnonzero(lowest == 0)
    if len(ties):  # on an edge: the top-left rule decides
        top_left = setup['top_left'][local[ties]]
        ok = np.ones(len(ties), bool)
        for i, w in enumerate((w0, w1, w2)):
            wt = w[ties]
            ok &= (wt > 0) | ((wt == 0) & top_left[:, i])
        inside[ties[ok]] = True
    keep = np.flatnonzero(inside)
    pixel = (fpy[keep] * width + fpx[keep]).astype(np.int64)
    return local[keep], pixel, w0[keep], w1[keep], w2[keep]


def _resolve(setup, fragments, num_pixels):
    """Z-buffer: the index of each pixel's nearest fragment (an exact depth
    tie goes to the lower face index), the fragments' ``area / z`` and z."""
    local, pixel, w0, w1, w2 = fragments
    inv_z = setup['inv_z']
    weighted = (w0 * inv_z[0][local] + w1 * inv_z[1][local]
                + w2 * inv_z[2][local])                 # area / z
    depth = setup['area'][local] / weighted
    zbuf = np.full(num_pixels, np.inf)
    np.minimum.at(zbuf, pixel, depth)
    nearest = np.flatnonzero(zbuf[pixel] == depth)
    first = np.full(num_pixels, len(setup['ids']), np.int64)
    np.minimum.at(first, pixel[nearest], local[nearest])
    win = nearest[first[pixel[nearest]] == local[nearest]]
    return win, weighted, depth


def _sample_texture(texture, uv):
    """Bilinear lookup, float32 (N, C): ``uv`` in [0, 1], u along the width,
    v down the rows; texel (i, j) centred on ((i + 0.5) / Tw, (j + 0.5) /
    Th); clamped at the border."""
    th, tw = texture.shape[:2]
    x = np.clip(uv[:, 0] * tw - 0.5, 0, tw - 1)
    y = np.clip(uv[:, 1] * th - 0.5, 0, th - 1)
    xa, ya = np.minimum(x.astype(np.int64), tw - 2 if tw > 1 else 0), \
        np.minimum(y.astype(np.int64), th - 2 if th > 1 else 0)
    xb, yb = np.minimum(xa + 1, tw - 1), np.minimum(ya + 1, th - 1)
    fx, fy = (x - xa)[:, None], (y - ya)[:, None]
    tex = texture
    top = tex[ya, xa] * (1 - fx) + tex[ya, xb] * fx
    bottom = tex[yb, xa] * (1 - fx) + tex[yb, xb] * fx
    return top * (1 - fy) + bottom * fy


def _check_lights(lights):
    """(K, 3) unit directions toward the lights, (K, 3) intensities."""
    directions, intensities = [], []
    for light in lights:
        try:
            direction, intensity = light
        except (TypeError, ValueError):
            raise ValueError(f'each light must be (direction (3,), '
                             f'intensity), got {light!r}') from None
        direction = np.asarray(direction, dtype=np.float64).reshape(-1)
        norm = np.linalg.norm(direction) if direction.shape == (3, ) else 0
        if not norm > 0:
            raise ValueError(f'a light direction must be a non-zero (3,) '
                             f'vector, got {light[0]!r}')
        directions.append(direction / norm)
        intensities.append(np.broadcast_to(
            np.asarray(intensity, np.float64), (3, )))
    return (np.array(directions, np.float32).reshape(-1, 3),
            np.array(intensities, np.float32).reshape(-1, 3))


def _shade(albedo, normal, point, lights, ambient, specular, shininess):
    """Lambert + Blinn-Phong, float32: albedo (N, 3) in 0..255, unit normals
    and points (N, 3) camera frame -> colour (N, 3) (unclipped)."""
    directions, intensities = lights
    distance = np.sqrt(np.einsum('ij,ij->i', point, point))
    view = point / -distance[:, None]
    cosine = normal @ directions.T                              # (N, K)
    light = np.float32(ambient) + np.maximum(cosine, 0) @ intensities
    colour = albedo * light
    if specular:
        # n . h with h = (v + l) / |v + l| and |v + l|^2 = 2 + 2 v . l.
        n_dot_v = np.einsum('ij,ij->i', normal, view)[:, None]
        length = np.sqrt(np.maximum(2 + 2 * (view @ directions.T),
                                    np.float32(1e-12)))
        n_dot_h = np.maximum((n_dot_v + cosine) / length, 0)
        with np.errstate(divide='ignore'):  # log(0) = -inf: a power of 0
            power = np.exp(np.float32(shininess) * np.log(n_dot_h))
        power *= cosine > 0
        colour += np.float32(255 * specular) * (power @ intensities)
    return colour


def _check_shading(num_vertices, num_faces, width, height, vertex_colors,
                   uv, texture, normals, background):
    if (uv is None) != (texture is None):
        raise ValueError('uv and texture go together: give both or neither')
    if vertex_colors is not None:
        vertex_colors = np.asarray(vertex_colors, dtype=np.float32)
        if vertex_colors.shape != (num_vertices, 3):
            raise ValueError(f'vertex_colors must be (V, 3) = '
                             f'({num_vertices}, 3), got '
                             f'{vertex_colors.shape}')
    if uv is not None:
        uv = np.asarray(uv, dtype=np.float32)
        if uv.shape not in ((num_vertices, 2), (num_faces, 3, 2)):
            raise ValueError(f'uv must be (V, 2) = ({num_vertices}, 2) or '
                             f'(F, 3, 2) = ({num_faces}, 3, 2), got '
                             f'{uv.shape}')
        texture = np.asarray(texture)
        if texture.ndim != 3 or texture.shape[2] != 3 or 0 in texture.shape:
            raise ValueError(f'texture must be (Th, Tw, 3), got '
                             f'{texture.shape}')
        texture = texture.astype(np.float32)
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float64)
        if normals.shape != (num_vertices, 3):
            raise ValueError(f'normals must be (V, 3) = ({num_vertices}, 3), '
                             f'got {normals.shape}')
    if background is not None:
        background = np.asarray(background)
        if background.shape not in ((3, ), (height, width, 3)):
            raise ValueError(f'background must be (3,) or (H, W, 3) = '
                             f'({height}, {width}, 3), got '
                             f'{background.shape}')
        background = np.clip(np.rint(background), 0, 255).astype(np.uint8)
    return vertex_colors, uv, texture, normals, background


def rasterize(vertices: np.ndarray, faces: np.ndarray, cam_K: np.ndarray,
              image_size: Union[int, Sequence[int]], *,
              near: float = DEFAULT_NEAR, cull_backfaces: bool = False,
              vertex_colors: Optional[np.ndarray] = None,
              uv: Optional[np.ndarray] = None,
              texture: Optional[np.ndarray] = None,
              normals: Optional[np.ndarray] = None,
              lights: Sequence = DEFAULT_LIGHTS,
              ambient: float = DEFAULT_AMBIENT,
              specular: float = DEFAULT_SPECULAR,
              shininess: float = DEFAULT_SHININESS,
              background: Optional[np.ndarray] = None
              ) -> Dict[str, np.ndarray]:
    """Render a triangle mesh seen by a pinhole camera.

    Args:
        vertices: (V, 3) camera frame, mm (x right, y down, z forward).
        faces: (F, 3) vertex indices, counter-clockwise seen from outside.
        cam_K: (3, 3) intrinsics, last row (0, 0, 1).
        image_size: int or (width, height).
        near: triangles with a vertex at ``z <= near`` (mm) are culled whole
            (no near-plane clipping).
        cull_backfaces: drop triangles facing away from the camera.
        vertex_colors: (V, 3) colours 0..255 (any channel order: the image
            comes out in the same one; handkit's images are BGR),
            interpolated perspective-correctly.
        uv: (V, 2) or per corner (F, 3, 2) texture coordinates in [0, 1]
            (u along the texture's width, v down its rows: pass ``(u, 1 -
            v)`` for OpenGL's v-up coordinates), with ``texture`` (Th, Tw, 3)
            uint8 or float 0..255, sampled bilinearly (texel ``(i, j)``
            centred on ``((i + 0.5) / Tw, (j + 0.5) / Th)``, clamped at the
            border). Used instead of ``vertex_colors`` when both are given.
        normals: (V, 3) vertex normals for the shading; default
            :func:`vertex_normals`.
        lights: ``((direction, intensity), ...)``; direction (3,) toward the
            light in the camera frame (``(0, 0, -1)``: from the camera),
            intensity a float or per channel (3,).
        ambient, specular, shininess: ``colour = albedo (ambient + sum_k I_k
            max(n . L_k, 0)) + 255 specular sum_k I_k max(n . H_k, 0) **
            shininess`` (the last term only where ``n . L_k > 0``; ``H_k`` the
            half vector of the light and the view direction), clipped to
            0..255 and rounded.
        background: colour (3,) or image (H, W, 3) behind the mesh in
            ``rgb`` (default black).

    Returns:
        dict with ``depth`` (H, W) float32 mm (z of the visible surface, 0 =
        background), ``mask`` (H, W) bool, ``face_ids`` (H, W) int32 (index
        into ``faces``, -1 = background), ``barycentrics`` (H, W, 3) float32
        perspective-correct weights of the face's three vertices (0 on the
        background) and, given ``vertex_colors`` or ``uv`` + ``texture``,
        ``rgb`` (H, W, 3) uint8.
    """
    width, height = _check_image_size(image_size)
    vertices, faces, cam_K = _check_mesh(vertices, faces, cam_K)
    if not np.isfinite(near) or near < 0:
        raise ValueError(f'near must be a finite number >= 0, got {near!r}')
    vertex_colors, uv, texture, normals, background = _check_shading(
        len(vertices), len(faces), width, height, vertex_colors, uv, texture,
        normals, background)
    shaded = vertex_colors is not None or uv is not None
    if shaded:
        lights = _check_lights(lights)

    num_pixels = width * height
    depth = np.zeros(num_pixels, np.float32)
    face_ids = np.full(num_pixels, -1, np.int32)
    bary = np.zeros((num_pixels, 3), np.float32)
    rgb = np.zeros((num_pixels, 3), np.uint8) if shaded else None
    if shaded and background is not None:
        rgb[:] = background.reshape(-1, 3)
    setup = _setup(vertices, faces, cam_K, width, height, float(near),
                   cull_backfaces)
    fragments = _fragments(setup, width) if len(setup['ids']) else None
    if fragments is not None and len(fragments[0]):
        win, weighted, frag_depth = _resolve(setup, fragments, num_pixels)
        local, pixel, w0, w1, w2 = (a[win] for a in fragments)
        scale = 1.0 / weighted[win]
        inv_z = setup['inv_z']
        l0 = w0 * inv_z[0][local] * scale
        l1 = w1 * inv_z[1][local] * scale
        l2 = w2 * inv_z[2][local] * scale
        flipped = setup['flipped'][local]   # vertices 1, 2 were swapped
        l1, l2 = np.where(flipped, l2, l1), np.where(flipped, l1, l2)
        face = setup['ids'][local]
        depth[pixel] = frag_depth[win]
        face_ids[pixel] = face
        persp = np.stack([l0, l1, l2], axis=1).astype(np.float32)
        bary[pixel] = persp
        if shaded:
            rgb[pixel] = _colour(vertices, faces, face, persp, flipped,
                                 vertex_colors, uv, texture, normals, lights,
                                 ambient, specular, shininess)
    out = dict(depth=depth.reshape(height, width),
               mask=(face_ids >= 0).reshape(height, width),
               face_ids=face_ids.reshape(height, width),
               barycentrics=bary.reshape(height, width, 3))
    if shaded:
        out['rgb'] = rgb.reshape(height, width, 3)
    return out


def _colour(vertices, faces, face, persp, front, vertex_colors, uv, texture,
            normals, lights, ambient, specular, shininess):
    """uint8 (M, 3) colours of the visible pixels of ``face`` (M,) with
    perspective-correct barycentrics ``persp`` (M, 3) float32."""
    if normals is None:
        normals = vertex_normals(vertices, faces)
    # One table of what each face corner carries: position, normal, then
    # colour or uv; a single gather brings the visible pixels' corners.
    columns = [vertices, normals]
    if uv is None:
        columns.append(vertex_colors)
    elif uv.ndim == 2:
        columns.append(uv)
    table = np.concatenate(columns, axis=1).astype(np.float32)[faces]
    if uv is not None and uv.ndim == 3:
        table = np.concatenate([table, uv], axis=2)
    corners = table[face]                                   # (M, 3, C)
    values = np.einsum('mkc,mk->mc', corners, persp)       # (M, C)
    point, normal = values[:, :3], values[:, 3:6]
    # Two-sided: a back-facing triangle shows its other side to the lights.
    normal = normal * np.where(front, np.float32(1), np.float32(-1))[:, None]
    normal /= np.maximum(np.sqrt(np.einsum('ij,ij->i', normal, normal)),
                         np.float32(1e-12))[:, None]
    albedo = (values[:, 6:9] if uv is None
              else _sample_texture(texture, values[:, 6:8]))
    colour = _shade(albedo, normal, point, lights, ambient, specular,
                    shininess)
    return np.rint(np.clip(colour, 0, 255)).astype(np.uint8)
