"""Tests of the numpy triangle rasteriser (handkit/rasterizer.py) against a
per-pixel Python reference."""
import numpy as np
import pytest

from handkit.rasterizer import rasterize, vertex_normals
from handkit.geometry import project_points

NEAR = 1.0


def _camera(width, height, focal=30.0):
    return np.array([[focal, 0.0, (width - 1) / 2],
                     [0.0, focal, (height - 1) / 2], [0.0, 0.0, 1.0]])


def _lift(uv, z, cam_K):
    """Camera-frame points (N, 3) that project onto ``uv`` (N, 2) at depth
    ``z`` (N,)."""
    uv, z = np.asarray(uv, float), np.asarray(z, float)
    x = (uv[:, 0] - cam_K[0, 2]) * z / cam_K[0, 0]
    y = (uv[:, 1] - cam_K[1, 2]) * z / cam_K[1, 1]
    return np.stack([x, y, z], axis=1)


def brute_force(vertices, faces, cam_K, width, height, near=NEAR,
                cull_backfaces=False):
    """Per pixel centre, every triangle: edge functions ``cross(a - p, b -
    p)`` with the top-left rule, the nearest by perspective-correct depth
    (a tie keeps the lower face). Returns depth, face ids, coverage count."""
    vertices = np.asarray(vertices, float)
    in_front = vertices[:, 2] > near
    screen = project_points(
        np.where(in_front[:, None], vertices, [0.0, 0.0, 1.0]), cam_K)
    depth = np.zeros((height, width))
    face_ids = np.full((height, width), -1)
    coverage = np.zeros((height, width), int)
    for y in range(height):
        for x in range(width):
            best = np.inf
            for index, face in enumerate(faces):
                if not in_front[face].all():
                    continue
                p = [tuple(screen[i]) for i in face]
                z = [vertices[i, 2] for i in face]
                area = ((p[1][0] - p[0][0]) * (p[2][1] - p[0][1])
                        - (p[1][1] - p[0][1]) * (p[2][0] - p[0][0]))
                if area == 0 or (cull_backfaces and area > 0):
                    continue
                if area < 0:  # make the projected area positive
                    p, z = [p[0], p[2], p[1]], [z[0], z[2], z[1]]
                w, inside = [], True
                for i in range(3):
                    a, b = p[(i + 1) % 3], p[(i + 2) % 3]
                    wi = (a[0] - x) * (b[1] - y) - (a[1] - y) * (b[0] - x)
                    dx, dy = b[0] - a[0], b[1] - a[1]
                    top_left = dy < 0 or (dy == 0 and dx > 0)
                    inside &= wi > 0 or (wi == 0 and top_left)
                    w.append(wi)
                if not inside:
                    continue
                coverage[y, x] += 1
                d = abs(area) / (w[0] * (1.0 / z[0]) + w[1] * (1.0 / z[1])
                                 + w[2] * (1.0 / z[2]))
                if d < best:
                    best, depth[y, x], face_ids[y, x] = d, d, index
    return depth, face_ids, coverage


def _small_mesh(seed, width, height, cam_K, integer):
    """Random triangles at random depths (overlapping), a quad split in two
    and a fan around a vertex (shared edges), one triangle behind the
    camera and one crossing the near plane."""
    rng = np.random.default_rng(seed)
    uv = rng.uniform(-3, [width + 2, height + 2], (15, 2))
    if integer:  # vertices on pixel centres: edges through pixel centres
        uv = np.round(uv)
    z = rng.uniform(60, 400, 15)
    vertices = [_lift(uv, z, cam_K)]
    faces = [np.arange(15).reshape(5, 3)]
    # Quad (two triangles sharing a diagonal) and a fan of 5 around a centre.
    quad = rng.uniform([0, 0], [width - 1, height - 1], (4, 2))
    quad = np.array([quad.min(0), [quad[:, 0].max(), quad[:, 1].min()],
                     quad.max(0), [quad[:, 0].min(), quad[:, 1].max()]])
    if integer:
        quad = np.round(quad)
    vertices.append(_lift(quad, rng.uniform(60, 400, 4), cam_K))
    faces.append(15 + np.array([[0, 1, 2], [0, 2, 3]]))
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    angle = np.sort(rng.uniform(0, 2 * np.pi, 5))
    ring = centre + 0.4 * min(width, height) * np.stack(
        [np.cos(angle), np.sin(angle)], 1)
    fan = np.concatenate([centre[None], ring])
    if integer:
        fan = np.round(fan)
    vertices.append(_lift(fan, rng.uniform(60, 400, 6), cam_K))
    faces.append(19 + np.array([[0, i + 1, (i + 1) % 5 + 1]
                                for i in range(5)]))
    if seed % 2:  # quad and fan front-facing (else back-facing)
        faces[1], faces[2] = faces[1][:, ::-1], faces[2][:, ::-1]
    # Behind the camera, and crossing the near plane: culled whole.
    vertices.append(np.array([[0, 0, -50.0], [40, 0, -50], [0, 40, -60]]))
    vertices.append(np.array([[-40, -30, 0.5], [40, -30, 200],
                              [0, 40, 200.0]]))
    faces += [np.array([[25, 26, 27]]), np.array([[28, 29, 30]])]
    return np.concatenate(vertices), np.concatenate(faces)


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('integer', [False, True])
@pytest.mark.parametrize('cull_backfaces', [False, True])
def test_matches_brute_force(seed, integer, cull_backfaces):
    width, height = 23, 17
    cam_K = _camera(width, height)
    vertices, faces = _small_mesh(seed, width, height, cam_K, integer)
    depth, face_ids, _ = brute_force(vertices, faces, cam_K, width, height,
                                     cull_backfaces=cull_backfaces)
    out = rasterize(vertices, faces, cam_K, (width, height), near=NEAR,
                    cull_backfaces=cull_backfaces)
    assert out['face_ids'].dtype == np.int32
    assert out['depth'].dtype == np.float32
    assert out['mask'].dtype == bool
    assert out['barycentrics'].shape == (height, width, 3)
    np.testing.assert_array_equal(out['mask'], face_ids >= 0)
    np.testing.assert_array_equal(out['face_ids'], face_ids)
    np.testing.assert_allclose(out['depth'], depth, rtol=0, atol=1e-4)
    if seed % 2 or not cull_backfaces:
        assert out['mask'].sum() > 20  # the mesh is in view
    # Nothing drawn from the triangles behind or across the near plane.
    assert not np.isin(out['face_ids'], [len(faces) - 2, len(faces) - 1]).any()


def test_depth_exact_at_vertices():
    width, height = 32, 24
    cam_K = _camera(width, height, focal=100.0)
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(20):
        # Depths that are multiples of the focal length: the vertices
        # project exactly onto their pixel centres.
        uv = rng.integers(0, [width, height], (3, 2)).astype(float)
        z = 100.0 * rng.integers(2, 10, 3)
        vertices = _lift(uv, z, cam_K)
        np.testing.assert_array_equal(project_points(vertices, cam_K), uv)
        out = rasterize(vertices, [[0, 1, 2]], cam_K, (width, height))
        for (u, v), depth in zip(uv.astype(int), z):
            if out['mask'][v, u]:  # the fill rule keeps top-left corners
                assert abs(out['depth'][v, u] - depth) <= 1e-4
                checked += 1
    assert checked >= 8
    # The centre of a closed fan is covered by exactly one of its faces, its
    # depth the centre vertex's.
    for _ in range(5):
        centre = rng.integers(8, [width - 8, height - 8], 2)
        angle = np.pi / 3 * np.arange(6) + rng.uniform(-0.4, 0.4, 6)
        ring = np.round(centre + 7 * np.stack([np.cos(angle),
                                               np.sin(angle)], 1))
        uv = np.concatenate([centre[None], ring]).astype(float)
        z = 100.0 * rng.integers(2, 10, 7)
        vertices = _lift(uv, z, cam_K)
        fan = [[0, i, i % 6 + 1] for i in range(1, 7)]
        out = rasterize(vertices, fan, cam_K, (width, height))
        u, v = centre
        assert out['mask'][v, u]
        assert abs(out['depth'][v, u] - z[0]) <= 1e-4
        assert out['barycentrics'][v, u, 0] == pytest.approx(1.0, abs=1e-6)


def test_perspective_correct_barycentrics():
    width, height = 40, 30
    cam_K = _camera(width, height, focal=35.0)
    rng = np.random.default_rng(2)
    uv = rng.uniform(-5, [width + 5, height + 5], (12, 2))
    # Strongly varying depths: screen-space (affine) weights would miss.
    vertices = _lift(uv, rng.uniform(80, 800, 12), cam_K)
    faces = np.arange(12).reshape(4, 3)
    out = rasterize(vertices, faces, cam_K, (width, height))
    ys, xs = np.nonzero(out['mask'])
    assert len(ys) > 200
    weights = out['barycentrics'][ys, xs].astype(np.float64)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    points = np.einsum('nk,nkc->nc', weights,
                       vertices[faces[out['face_ids'][ys, xs]]])
    pixels = project_points(points, cam_K)
    np.testing.assert_allclose(pixels, np.stack([xs, ys], 1), atol=1e-3)
    np.testing.assert_allclose(points[:, 2], out['depth'][ys, xs], atol=1e-3)
    # Screen-space weights would not project back to the pixel centres.
    affine = np.einsum('nk,nkc->nc', weights,
                       project_points(vertices, cam_K)[faces[
                           out['face_ids'][ys, xs]]])
    assert np.abs(affine - np.stack([xs, ys], 1)).max() > 0.1
    assert (out['barycentrics'][~out['mask']] == 0).all()


def _grid_mesh(cells_x, cells_y, origin, step, jitter, rng, cam_K):
    """A grid of (cells_x x cells_y) quads, each split in two along a
    diagonal that alternates, vertices at random depths."""
    gx, gy = np.meshgrid(np.arange(cells_x + 1), np.arange(cells_y + 1))
    uv = np.stack([gx, gy], -1).reshape(-1, 2) * step + origin
    interior = ((gx > 0) & (gx < cells_x) & (gy > 0)
                & (gy < cells_y)).reshape(-1)
    uv[interior] += rng.uniform(-jitter, jitter, (interior.sum(), 2))
    # Depths that are multiples of the focal length: the outline's vertices
    # project exactly onto their pixel centres.
    depth = cam_K[0, 0] * rng.integers(4, 11, len(uv))
    vertices = _lift(uv, depth, cam_K)
    faces = []
    for j in range(cells_y):
        for i in range(cells_x):
            a = j * (cells_x + 1) + i
            b, c, d = a + 1, a + cells_x + 2, a + cells_x + 1
            if (i + j) % 2:
                faces += [[a, b, c], [a, c, d]]
            else:
                faces += [[a, b, d], [b, c, d]]
    return vertices, np.array(faces)


@pytest.mark.parametrize('jitter', [0.0, 0.45])
def test_shared_edges_cover_each_pixel_once(jitter):
    width, height = 22, 18
    cam_K = _camera(width, height)
    rng = np.random.default_rng(3)
    # Jitter 0: every vertex and every horizontal, vertical and diagonal
    # edge passes through pixel centres.
    vertices, faces = _grid_mesh(5, 4, np.array([1.0, 2.0]), 4.0, jitter,
                                 rng, cam_K)
    _, face_ids, coverage = brute_force(vertices, faces, cam_K, width,
                                        height)
    assert coverage.max() == 1  # no pixel centre drawn twice
    # No gap: every pixel centre inside the grid's outline is covered (its
    # top and left sides included, bottom and right excluded).
    ys, xs = np.mgrid[:height, :width]
    inside = (xs >= 1) & (xs < 21) & (ys >= 2) & (ys < 18)
    np.testing.assert_array_equal(coverage == 1, inside)
    out = rasterize(vertices, faces, cam_K, (width, height))
    np.testing.assert_array_equal(out['mask'], inside)
    np.testing.assert_array_equal(out['face_ids'], face_ids)


def test_fan_of_random_triangles_covers_once():
    """Triangles around a vertex on a pixel centre, with random windings."""
    width, height = 21, 21
    cam_K = _camera(width, height)
    rng = np.random.default_rng(4)
    angle = np.sort(rng.uniform(0, 2 * np.pi, 9))
    ring = 10 + 9 * np.stack([np.cos(angle), np.sin(angle)], 1)
    uv = np.concatenate([[[10.0, 10.0]], ring])
    vertices = _lift(uv, rng.uniform(100, 300, 10), cam_K)
    faces = np.array([[0, i + 1, (i + 1) % 9 + 1] for i in range(9)])
    flip = rng.random(9) < 0.5
    faces[flip] = faces[flip][:, ::-1]
    _, face_ids, coverage = brute_force(vertices, faces, cam_K, width,
                                        height)
    assert coverage.max() == 1 and coverage[10, 10] == 1
    out = rasterize(vertices, faces, cam_K, (width, height))
    np.testing.assert_array_equal(out['face_ids'], face_ids)


def _hand_like_mesh():
    """Two tubes and a sphere-ish blob, about 500 triangles."""
    rng = np.random.default_rng(5)
    vertices, faces = [], []
    for k in range(3):
        theta, phi = np.meshgrid(np.linspace(0.1, np.pi - 0.1, 10),
                                 np.linspace(0, 2 * np.pi, 14,
                                             endpoint=False), indexing='ij')
        sphere = np.stack([np.sin(theta) * np.cos(phi),
                           np.sin(theta) * np.sin(phi), np.cos(theta)],
                          -1).reshape(-1, 3)
        scale = rng.uniform(20, 40, 3)
        vertices.append(sphere * scale + [rng.uniform(-40, 40),
                                          rng.uniform(-40, 40), 300])
        grid = np.arange(140).reshape(10, 14)
        nxt = np.roll(grid, -1, axis=1)
        quads = [np.stack([grid[:-1], nxt[:-1], nxt[1:]], -1),
                 np.stack([grid[:-1], nxt[1:], grid[1:]], -1)]
        faces.append(np.concatenate([q.reshape(-1, 3) for q in quads])
                     + 140 * k)
    return np.concatenate(vertices), np.concatenate(faces)


def test_renders_are_byte_equal():
    vertices, faces = _hand_like_mesh()
    cam_K = _camera(64, 64, focal=80.0)
    colours = np.random.default_rng(6).uniform(0, 255, (len(vertices), 3))
    first = rasterize(vertices, faces, cam_K, 64, vertex_colors=colours)
    second = rasterize(vertices.copy(), faces.copy(), cam_K, 64,
                       vertex_colors=colours.copy())
    assert first.keys() == second.keys()
    assert set(first) == {'depth', 'mask', 'face_ids', 'barycentrics', 'rgb'}
    for key in first:
        assert first[key].dtype == second[key].dtype
        assert first[key].tobytes() == second[key].tobytes(), key
    assert first['mask'].sum() > 500


def _plane(tilt_degrees, depth=500.0, half=200.0):
    """A square facing the camera (its outward normal toward -z), turned by
    ``tilt_degrees`` about the y axis through its centre."""
    corners = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0],
                        [-half, half, 0.0]])
    angle = np.deg2rad(tilt_degrees)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0],
                         [-np.sin(angle), 0, np.cos(angle)]])
    vertices = corners @ rotation.T + [0, 0, depth]
    faces = np.array([[0, 2, 1], [0, 3, 2]])  # counter-clockwise from -z
    return vertices, faces


def test_lambert_shading():
    cam_K = _camera(32, 32, focal=40.0)
    colours = np.full((4, 3), 200.0)
    light = dict(lights=[((0.0, 0.0, -1.0), 1.0)], ambient=0.0,
                 specular=0.0)
    values = []
    for tilt in (0.0, 60.0):
        vertices, faces = _plane(tilt)
        normal = vertex_normals(vertices, faces)
        np.testing.assert_allclose(normal @ [0, 0, -1],
                                   np.cos(np.deg2rad(tilt)), atol=1e-9)
        out = rasterize(vertices, faces, cam_K, 32, vertex_colors=colours,
                        **light)
        assert out['mask'][12:20, 12:20].all()
        values.append(out['rgb'][12:20, 12:20].astype(float).mean())
    assert values[0] == pytest.approx(200.0, abs=1.0)
    assert values[1] / values[0] == pytest.approx(np.cos(np.deg2rad(60)),
                                                  rel=0.02)
    # A highlight and a strong light saturate at 255, never wrap around.
    vertices, faces = _plane(0.0)
    out = rasterize(vertices, faces, cam_K, 32, vertex_colors=colours,
                    lights=[((0.0, 0.0, -1.0), 3.0)], ambient=0.5,
                    specular=1.0)
    assert out['rgb'].dtype == np.uint8
    assert (out['rgb'][out['mask']] == 255).all()
    # Seen from behind (two-sided lighting), the plane is lit alike.
    out = rasterize(vertices, faces[:, ::-1], cam_K, 32,
                    vertex_colors=colours, **light)
    assert out['rgb'][12:20, 12:20].astype(float).mean() == pytest.approx(
        values[0], abs=1.0)


def test_texture_matches_vertex_colours():
    vertices, faces = _plane(30.0)
    cam_K = _camera(32, 32, focal=40.0)
    colour = np.array([30.0, 120.0, 210.0])
    by_vertex = rasterize(vertices, faces, cam_K, 32,
                          vertex_colors=np.tile(colour, (4, 1)))
    texture = np.tile(colour.astype(np.uint8), (8, 8, 1))
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]])
    by_texture = rasterize(vertices, faces, cam_K, 32, uv=uv,
                           texture=texture)
    np.testing.assert_array_equal(by_vertex['rgb'], by_texture['rgb'])
    # A two-colour texture: the left half of the plane takes the left texel.
    texture = np.zeros((1, 2, 3), np.uint8)
    texture[0, 0], texture[0, 1] = (255, 0, 0), (0, 0, 255)
    out = rasterize(*_plane(0.0), cam_K, 32, uv=uv, texture=texture,
                    lights=[], ambient=1.0, specular=0.0)
    assert (out['rgb'][16, 4] == [255, 0, 0]).all()
    assert (out['rgb'][16, 27] == [0, 0, 255]).all()


def test_backface_culling():
    cam_K = _camera(32, 32, focal=40.0)
    vertices, faces = _plane(0.0)
    front = rasterize(vertices, faces, cam_K, 32, cull_backfaces=True)
    back = rasterize(vertices, faces[:, ::-1], cam_K, 32,
                     cull_backfaces=True)
    both = rasterize(vertices, faces[:, ::-1], cam_K, 32)
    assert front['mask'].sum() > 500
    assert not back['mask'].any()
    np.testing.assert_array_equal(both['mask'], front['mask'])


def _assert_background(out, width, height, colour=(0, 0, 0)):
    assert not out['mask'].any()
    assert (out['depth'] == 0).all() and (out['face_ids'] == -1).all()
    assert (out['barycentrics'] == 0).all()
    assert out['depth'].shape == (height, width)
    if 'rgb' in out:
        assert (out['rgb'] == colour).all()


def test_empty_mesh_and_culled_triangles_give_background():
    width, height = 20, 12
    cam_K = _camera(width, height)
    _assert_background(rasterize(np.zeros((0, 3)), np.zeros((0, 3), int),
                                 cam_K, (width, height)), width, height)
    _assert_background(rasterize(np.zeros((0, 3)), np.zeros((0, 3), int),
                                 cam_K, (width, height),
                                 vertex_colors=np.zeros((0, 3)),
                                 background=(10, 20, 30)),
                       width, height, (10, 20, 30))
    behind = np.array([[0, 0, -100.0], [50, 0, -100], [0, 50, -100]])
    crossing = np.array([[-50, -50, 0.5], [50, -50, 200], [0, 50, 200.0]])
    outside = np.array([[1e4, 0, 100.0], [2e4, 0, 100], [1e4, 1e4, 100]])
    degenerate = np.array([[0, 0, 100.0], [10, 10, 100], [20, 20, 100]])
    for vertices in (behind, crossing, outside, degenerate):
        _assert_background(
            rasterize(vertices, [[0, 1, 2]], cam_K, (width, height),
                      vertex_colors=np.full((3, 3), 200.0),
                      background=(10, 20, 30)),
            width, height, (10, 20, 30))
    # The crossing triangle is drawn once it is in front of the near plane.
    drawn = rasterize(crossing, [[0, 1, 2]], cam_K, (width, height),
                      near=0.1)
    assert drawn['mask'].any()


def test_rejects_bad_inputs():
    cam_K = _camera(8, 8)
    vertices = np.array([[0, 0, 100.0], [10, 0, 100], [0, 10, 100]])
    with pytest.raises(ValueError, match='faces index'):
        rasterize(vertices, [[0, 1, 3]], cam_K, 8)
    with pytest.raises(ValueError, match='cam_K'):
        rasterize(vertices, [[0, 1, 2]], np.eye(3)[[1, 0, 2]], 8)
    with pytest.raises(ValueError, match='vertex_colors'):
        rasterize(vertices, [[0, 1, 2]], cam_K, 8,
                  vertex_colors=np.zeros((2, 3)))
    with pytest.raises(ValueError, match='uv and texture'):
        rasterize(vertices, [[0, 1, 2]], cam_K, 8, uv=np.zeros((3, 2)))
    with pytest.raises(ValueError, match='image_size'):
        rasterize(vertices, [[0, 1, 2]], cam_K, 0)
