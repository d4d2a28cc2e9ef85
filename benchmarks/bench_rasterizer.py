"""Speed of the numpy triangle rasteriser (ms per render, one core).

    OMP_NUM_THREADS=1 python benchmarks/bench_rasterizer.py [--num 200]

Renders two meshes of about 1,900 triangles at 128 and 256 pixels, with
depth, mask, face ids, barycentrics and a shaded RGB image (vertex colours,
three lights, specular):

* ``hand``: a hand-like mesh (1,884 triangles), a tapered tube of 100
  triangles along each of the 15 finger bones and an ellipsoid palm of 384,
  posed and framed by the synthetic hand model (``sample_hands``; the hand's
  keypoint box spans 0.4-0.9 of the image), a new hand for each render, no
  backface culling (both sides drawn, as the z-buffer must resolve);
* ``sphere``: a UV sphere of 1,920 triangles filling 80 % of the image.

Prints the median and the 10-90 % range of the wall-clock time per render,
renders per second (from the mean) and the median CPU time of the process per
render (what a loaded machine inflates least). The generator's goal: >= 100
images/s at 128 px on one core; the issue's reference: about 10 ms at 128 px
and 25 ms at 256 px.
"""
import argparse
import time

import numpy as np

from handkit.datasets.synthetic.hand_model import sample_hands
from handkit.rasterizer import rasterize

SIZES = (128, 256)
GOAL_IMAGES_PER_SECOND = 100.0  # at 128 px


def uv_sphere(segments=32, rings=31):
    """Unit sphere, faces counter-clockwise seen from outside:
    ``2 * segments * (rings - 1)`` triangles."""
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]            # no poles
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.sin(theta)[:, None] * np.cos(phi),
                     np.sin(theta)[:, None] * np.sin(phi),
                     np.repeat(np.cos(theta)[:, None], segments, 1)], -1)
    vertices = np.concatenate([[[0, 0, 1]], ring.reshape(-1, 3),
                               [[0, 0, -1]]])
    index = 1 + np.arange((rings - 1) * segments).reshape(rings - 1,
                                                          segments)
    nxt = np.roll(index, -1, axis=1)
    faces = [np.stack([np.zeros(segments, int), index[0], nxt[0]], 1)]
    for r in range(rings - 2):
        a, b, c, d = index[r], nxt[r], index[r + 1], nxt[r + 1]
        faces += [np.stack([a, c, d], 1), np.stack([a, d, b], 1)]
    last = len(vertices) - 1
    faces.append(np.stack([np.full(segments, last), nxt[-1], index[-1]], 1))
    faces = np.concatenate(faces)
    # Make the winding outward (n . centroid > 0) whatever the parametrisation.
    corners = vertices[faces]
    normal = np.cross(corners[:, 1] - corners[:, 0],
                      corners[:, 2] - corners[:, 0])
    inward = np.sum(normal * corners.mean(1), 1) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return vertices, faces


def _tube(start, end, radius_start, radius_end, sides=10, rings=5):
    """A closed tapered tube: 2 sides (rings - 1) + 2 sides triangles."""
    axis = end - start
    length = np.linalg.norm(axis)
    axis = axis / length
    helper = np.eye(3)[np.argmin(np.abs(axis))]
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    t = np.linspace(0, 1, rings)
    angle = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    radius = radius_start + (radius_end - radius_start) * t
    circle = np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * v
    ring = (start + t[:, None, None] * (end - start)
            + radius[:, None, None] * circle[None])
    vertices = np.concatenate([ring.reshape(-1, 3), [start, end]])
    index = np.arange(rings * sides).reshape(rings, sides)
    nxt = np.roll(index, -1, axis=1)
    faces = []
    for r in range(rings - 1):
        a, b, c, d = index[r], nxt[r], index[r + 1], nxt[r + 1]
        faces += [np.stack([a, b, d], 1), np.stack([a, d, c], 1)]
    faces.append(np.stack([np.full(sides, rings * sides), nxt[0],
                           index[0]], 1))
    faces.append(np.stack([np.full(sides, rings * sides + 1), index[-1],
                           nxt[-1]], 1))
    faces = np.concatenate(faces)
    corners = vertices[faces]
    normal = np.cross(corners[:, 1] - corners[:, 0],
                      corners[:, 2] - corners[:, 0])
    inward = np.sum(normal * (corners.mean(1) - vertices[:-2].mean(0)),
                    1) < 0
    faces[inward] = faces[inward][:, [0, 2, 1]]
    return vertices, faces


def hand_mesh(seed, image_size):
    """(vertices, faces, cam_K) of a hand-like mesh, 1,884 triangles."""
    hand = sample_hands(np.random.default_rng(seed), 1,
                        (image_size, image_size))
    joints, radii = hand['keypoints_3d'][0], hand['joint_radii'][0]
    parts = []
    for finger in range(5):
        for bone in range(3):
            a, b = 1 + 4 * finger + bone, 2 + 4 * finger + bone
            parts.append(_tube(joints[a], joints[b], radii[a], radii[b]))
    # Palm: an ellipsoid from the wrist to the middle MCP.
    sphere_v, sphere_f = uv_sphere(16, 13)
    centre = (joints[0] + joints[9]) / 2
    axis_y = joints[9] - joints[0]
    half_length = np.linalg.norm(axis_y) / 2
    axis_y /= 2 * half_length
    axis_x = joints[5] - joints[17]
    axis_x -= axis_y * (axis_x @ axis_y)
    half_width = np.linalg.norm(axis_x) / 2 + 8
    axis_x /= np.linalg.norm(axis_x)
    axis_z = np.cross(axis_x, axis_y)
    frame = np.stack([axis_x * half_width, axis_y * half_length * 1.1,
                      axis_z * 14.0])
    parts.append((centre + sphere_v @ frame, sphere_f))
    vertices, faces, offset = [], [], 0
    for v, f in parts:
        vertices.append(v)
        faces.append(f + offset)
        offset += len(v)
    return (np.concatenate(vertices), np.concatenate(faces),
            hand['cam_K'][0])


def sphere_scene(image_size):
    vertices, faces = uv_sphere()
    focal = image_size / (2 * np.tan(np.deg2rad(22.5)))
    cam_K = np.array([[focal, 0, (image_size - 1) / 2],
                      [0, focal, (image_size - 1) / 2], [0, 0, 1]])
    distance = 500.0
    radius = 0.4 * image_size * distance / focal
    return vertices * radius + [0, 0, distance], faces, cam_K


def time_renders(scenes, image_size):
    """Wall-clock and CPU (process) milliseconds of each render."""
    wall, cpu = [], []
    for vertices, faces, cam_K in scenes:
        colours = np.tile([[150.0, 170.0, 220.0]], (len(vertices), 1))
        start, start_cpu = time.perf_counter(), time.process_time()
        rasterize(vertices, faces, cam_K, image_size, vertex_colors=colours)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return np.array(wall) * 1e3, np.array(cpu) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num', type=int, default=200,
                        help='renders per setting')
    args = parser.parse_args(argv)
    if args.num < 1:
        parser.error(f'--num must be >= 1, got {args.num}')
    print(f'{"mesh":<8}{"faces":>6}{"size":>6}{"ms median":>11}'
          f'{"ms 10-90%":>13}{"images/s":>10}{"cpu ms":>8}')
    for size in SIZES:
        hands = [hand_mesh(seed, size) for seed in range(args.num)]
        spheres = [sphere_scene(size)] * args.num
        for name, scenes in (('hand', hands), ('sphere', spheres)):
            time_renders(scenes[:3], size)  # warm up
            ms, cpu = time_renders(scenes, size)
            low, high = np.percentile(ms, [10, 90])
            print(f'{name:<8}{len(scenes[0][1]):>6}{size:>6}'
                  f'{np.median(ms):>11.2f}{f"{low:.1f}-{high:.1f}":>13}'
                  f'{1e3 / ms.mean():>10.1f}{np.median(cpu):>8.2f}')
    print(f'goal: >= {GOAL_IMAGES_PER_SECOND:.0f} images/s at 128 px on one '
          f'core (about 10 ms at 128 px, 25 ms at 256 px)')


if __name__ == '__main__':
    main()
