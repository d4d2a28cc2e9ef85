"""Render a procedural hand (``hand_model``) to an image, depth and labels.

numpy + OpenCV only, no 3D engine. The hand is a set of primitives:

* finger segments as tapered capsules (sphere-swept lines): a pixel inside the
  projected capsule takes the depth ``z(t) - r(t) * sqrt(1 - d^2 / rho(t)^2)``,
  where ``t`` is the closest point of the projected axis, ``d`` the distance to
  it and ``rho = f * r / z`` the projected radius: the joint depth minus the
  radius profile toward the camera. The distal segment ends half a radius
  short of the tip keypoint, so that the rounded fingertip reaches just past
  the keypoint (annotators mark the end of the finger) while the keypoint
  stays inside it;
* the palm as a fan of triangles through the wrist edges, thumb CMC and the
  four MCPs (depth interpolated perspective-correctly, minus a half-thickness
  interpolated from the vertices), rimmed by capsules along its outline so
  that it keeps a thickness when seen edge-on; a thin web joins thumb and
  index;
* the forearm as a capsule that widens toward the elbow.

All primitives go through one per-pixel z-buffer (nearer parts win), shaded by
Lambert's law with a random light and ambient level, in a random skin tone
(nails lighter on the dorsal side of the fingertips, an optional sleeve),
over a random textured background (gradients, noise blobs, random shapes).
Optional occluders (ellipses and polygons) are placed between the camera and
the hand. Each primitive is evaluated in its own bounding window with
vectorised numpy; the loop over primitives is the painter's draw loop (one
window each; evaluating all of them over the whole hand box would cost about
twenty times more).

``occluded`` follows the depth map: a keypoint inside the image is occluded
when the rendered depth at its pixel is nearer than the joint depth minus the
finger's radius there minus ``OCCLUSION_TOLERANCE_MM`` (another part of the
hand, the forearm or an occluder is in front of it).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from handkit.datasets.synthetic.hand_model import FILL_RANGE, sample_hands
from handkit.geometry import project_points

# 'rgbd': the 'rgb' image and, beside it, the depth map of the same hand.
MODALITIES = ('rgb', 'depth', 'rgbd')
#: 'shapes': a gradient, noise blobs and a few shapes (``_background``);
#: 'clutter': natural-image statistics and dead leaves (``_clutter``)
BACKGROUNDS = ('shapes', 'clutter')
OCCLUSION_TOLERANCE_MM = 1.0
# Capsules are at least this wide (projected radius, px), so that every
# keypoint's rounded pixel lies inside its own capsule even in small images.
MIN_PROJECTED_RADIUS_PX = 1.5
# The fingertip capsule ends this many tip radii short of the tip keypoint:
# its round end reaches just beyond the keypoint, which stays inside it.
TIP_INSET = 0.5

# Material ids of the material buffer (0 = background); occluders follow.
SKIN, NAIL, FOREARM, PALM, FIRST_OCCLUDER = 1, 2, 3, 4, 5
HAND_MATERIALS = (SKIN, NAIL, PALM)
MAX_OCCLUDERS = 3

# Skin tones from light to dark (BGR).
SKIN_TONES_BGR = np.array([
    (196, 224, 255), (160, 192, 234), (120, 160, 214), (66, 134, 198),
    (36, 85, 141), (38, 56, 92),
], np.float32)
NAIL_TINT_BGR = np.array([210, 200, 235], np.float32)
# Palms and the palmar side of the fingers hold less melanin than the back
# of the hand: lighter and pinker, most visibly on dark skin. It is also the
# cue that tells the palm from the back, and so a left from a right hand.
PALM_TINT_BGR = np.array([170, 182, 232], np.float32)
PALM_TINT = 0.4  # palm colour = (1 - PALM_TINT) skin + PALM_TINT tint
# A surface pixel is palmar when its normal is within about 65 degrees of
# the palmar direction of its segment.
PALMAR_COSINE = 0.4

# Palm outline (keypoint indices; the wrist edges are added around 0):
# wrist radial edge, thumb CMC, index..little MCP, wrist ulnar edge.
_PALM_RING_KEYPOINTS = (1, 5, 9, 13, 17)


def _as_generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise ValueError(f'rng must be a numpy Generator, a SeedSequence or an '
                     f'int seed, got {type(rng).__name__}')


def check_image_size(image_size: Union[int, Sequence[int]]
                     ) -> Tuple[int, int]:
    """(width, height) from an int or a pair; ValueError naming the argument.
    """
    size = (image_size, image_size) if np.isscalar(image_size) else image_size
    try:
        size = tuple(size)
    except TypeError:
        size = ()
    if (len(size) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool)
            for s in size) or min(size) < 8):
        raise ValueError(f'image_size must be an int or (width, height) of '
                         f'ints >= 8, got {image_size!r}')
    return int(size[0]), int(size[1])


class _Canvas:
    """Z-buffer, shade and material buffers of one image."""

    def __init__(self, width: int, height: int, cam_K: np.ndarray,
                 light: np.ndarray, ambient: float) -> None:
        self.zbuf = np.full((height, width), np.inf, np.float32)
        self.shade = np.zeros((height, width), np.float32)
        self.material = np.zeros((height, width), np.uint8)
        self.width, self.height = width, height
        self.focal = float(cam_K[0, 0])  # square pixels: fx == fy
        self.centre = cam_K[:2, 2]
        self.light = light
        self.ambient = float(ambient)

    def window(self, low: np.ndarray, high: np.ndarray
               ) -> Optional[Tuple[int, int, int, int]]:
        """Integer pixel window [x0, x1) x [y0, y1) covering a float box."""
        x0 = max(int(np.floor(low[0])), 0)
        y0 = max(int(np.floor(low[1])), 0)
        x1 = min(int(np.ceil(high[0])) + 1, self.width)
        y1 = min(int(np.ceil(high[1])) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1

    def lambert(self, nx: np.ndarray, ny: np.ndarray,
                nz: np.ndarray) -> np.ndarray:
        lx, ly, lz = (float(v) for v in self.light)
        lit = np.minimum(np.maximum(nx * lx + ny * ly + nz * lz, 0.0), 1.0)
        return self.ambient + (1.0 - self.ambient) * lit

    def write(self, box: Tuple[int, int, int, int], inside: np.ndarray,
              depth: np.ndarray, shade: np.ndarray,
              material: Union[int, np.ndarray]) -> None:
        """Z-test the window's pixels and keep the nearer ones."""
        x0, y0, x1, y1 = box
        zbuf = self.zbuf[y0:y1, x0:x1]
        nearer = inside & (depth < zbuf)
        zbuf[nearer] = depth[nearer]
        self.shade[y0:y1, x0:x1][nearer] = shade[nearer]
        material_window = self.material[y0:y1, x0:x1]
        if np.isscalar(material):
            material_window[nearer] = material
        else:
            material_window[nearer] = material[nearer]

    def capsule(self, start: np.ndarray, end: np.ndarray,
                radius_start: float, radius_end: float,
                material: Union[int, np.ndarray],
                nail_axis: Optional[np.ndarray] = None,
                palm_axis: Optional[np.ndarray] = None) -> None:
        """Draw a tapered capsule between two camera-frame points (mm).

        ``nail_axis`` (unit, camera frame): the segment's dorsal direction;
        when given, the dorsal distal half gets the NAIL material.
        ``palm_axis`` (unit): the segment's palmar direction; when given, the
        pixels facing it get the PALM material.
        """
        # Python floats keep the window arithmetic in float32 (numpy scalars
        # of float64 would promote every array).
        za, zb = float(start[2]), float(end[2])
        radius_start, radius_end = float(radius_start), float(radius_end)
        a = start[:2] * self.focal / za
        b = end[:2] * self.focal / zb
        rho_a = max(self.focal * radius_start / za, MIN_PROJECTED_RADIUS_PX)
        rho_b = max(self.focal * radius_end / zb, MIN_PROJECTED_RADIUS_PX)
        box = self.window(np.minimum(a - rho_a, b - rho_b) + self.centre,
                          np.maximum(a + rho_a, b + rho_b) + self.centre)
        if box is None:
            return
        x0, y0, x1, y1 = box
        a = a + self.centre
        b = b + self.centre
        dx = np.arange(x0, x1, dtype=np.float32)[None, :] - float(a[0])
        dy = np.arange(y0, y1, dtype=np.float32)[:, None] - float(a[1])
        axis_x, axis_y = float(b[0] - a[0]), float(b[1] - a[1])
        length2 = axis_x * axis_x + axis_y * axis_y
        if length2 > 1e-9:
            t = (dx * (axis_x / length2) + dy * (axis_y / length2))
            t = np.minimum(np.maximum(t, 0.0), 1.0)
        else:
            t = np.zeros((y1 - y0, x1 - x0), np.float32)
        ex = dx - t * axis_x
        ey = dy - t * axis_y
        z = za + t * (zb - za)
        radius = radius_start + t * (radius_end - radius_start)
        rho = np.maximum(self.focal * radius / z, MIN_PROJECTED_RADIUS_PX)
        ratio2 = (ex * ex + ey * ey) / (rho * rho)
        inside = ratio2 < 1.0
        towards = np.sqrt(np.maximum(1.0 - ratio2, 0.0))
        depth = z - radius * towards
        nx, ny, nz = ex / rho, ey / rho, -towards
        # The closest axis point in the image is not the nearest surface when
        # the capsule points at the camera: its near end cap is. Take the
        # nearer of the two (the far cap is never in front of the body), with
        # the cap's sphere normal, so that segments sharing a joint sphere
        # agree on its depth and shade.
        if za - radius_start <= zb - radius_end:
            cap_x, cap_y, cap_z, cap_r, cap_rho = (0.0, 0.0, za, radius_start,
                                                   rho_a)
        else:
            cap_x, cap_y, cap_z, cap_r, cap_rho = (axis_x, axis_y, zb,
                                                   radius_end, rho_b)
        # Only the cap's own square can change.
        cx, cy = float(a[0]) + cap_x - x0, float(a[1]) + cap_y - y0
        rows = slice(max(int(cy - cap_rho), 0), max(int(cy + cap_rho) + 2, 0))
        cols = slice(max(int(cx - cap_rho), 0), max(int(cx + cap_rho) + 2, 0))
        cap_ex = (dx[:, cols] - cap_x) / cap_rho
        cap_ey = (dy[rows] - cap_y) / cap_rho
        cap = 1.0 - cap_ex * cap_ex - cap_ey * cap_ey
        cap_towards = np.sqrt(np.maximum(cap, 0.0))
        cap_depth = cap_z - cap_r * cap_towards
        use_cap = (cap > 0) & (cap_depth < depth[rows, cols])
        depth[rows, cols][use_cap] = cap_depth[use_cap]
        nx[rows, cols][use_cap] = np.broadcast_to(cap_ex, cap.shape)[use_cap]
        ny[rows, cols][use_cap] = np.broadcast_to(cap_ey, cap.shape)[use_cap]
        nz[rows, cols][use_cap] = -cap_towards[use_cap]
        shade = self.lambert(nx, ny, nz)
        if palm_axis is not None:
            palmar = (nx * float(palm_axis[0]) + ny * float(palm_axis[1])
                      + nz * float(palm_axis[2]))
            material = np.where(palmar > PALMAR_COSINE, PALM, material)
        if nail_axis is not None:
            dorsal = (nx * float(nail_axis[0]) + ny * float(nail_axis[1])
                      + nz * float(nail_axis[2]))
            material = np.where((dorsal > 0.55) & (t > 0.35), NAIL, material)
        self.write(box, inside, depth, shade, material)

    def triangle(self, vertices: np.ndarray, half_thickness: np.ndarray,
                 normals: np.ndarray,
                 material: Union[int, np.ndarray]) -> None:
        """Draw a planar triangle (3, 3) mm, offset toward the camera.

        The surface depth is the plane's depth (1/z interpolated linearly in
        the image, exact for a plane) minus the half-thickness interpolated
        from the vertices; normals (3, 3) are interpolated for smooth shading.
        """
        uv = vertices[:, :2] * self.focal / vertices[:, 2:] + self.centre
        box = self.window(uv.min(0), uv.max(0))
        if box is None:
            return
        e1, e2 = uv[1] - uv[0], uv[2] - uv[0]
        area = e1[0] * e2[1] - e1[1] * e2[0]
        if abs(area) < 1e-6:  # seen edge-on: the rim capsules cover it
            return
        x0, y0, x1, y1 = box
        px = np.arange(x0, x1, dtype=np.float32)[None, :] - float(uv[0, 0])
        py = np.arange(y0, y1, dtype=np.float32)[:, None] - float(uv[0, 1])
        area = float(area)
        w1 = px * float(e2[1] / area) - py * float(e2[0] / area)
        w2 = py * float(e1[0] / area) - px * float(e1[1] / area)
        w0 = 1.0 - w1 - w2
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        inv_z, offset, normals = (np.asarray(v, np.float64).tolist()
                                  for v in (1.0 / vertices[:, 2],
                                            half_thickness, normals))
        plane_depth = 1.0 / (w0 * inv_z[0] + w1 * inv_z[1] + w2 * inv_z[2])
        offset = w0 * offset[0] + w1 * offset[1] + w2 * offset[2]
        n = [w0 * normals[0][k] + w1 * normals[1][k] + w2 * normals[2][k]
             for k in range(3)]
        norm = np.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2) + 1e-6
        shade = self.lambert(n[0] / norm, n[1] / norm, n[2] / norm)
        self.write(box, inside, plane_depth - offset, shade, material)


def _forearm_end(wrist, axis, length):
    """Forearm end point, shortened so that it stays in front of the camera."""
    end = wrist + axis * length
    near = 30.0
    if end[2] < near:
        end = wrist + axis * (wrist[2] - near) / max(wrist[2] - end[2], 1e-6) \
            * length
    return end


def _draw_hand(canvas, hand, rng):
    joints = hand['keypoints_3d']
    radii = hand['joint_radii']
    radial, palmar = hand['hand_axes'][:, 0], hand['palm_normal']
    frames = hand['bone_frames']

    # Palm: a fan around its centre through the outline, and the rim.
    wrist = joints[0]
    half_width = 0.5 * hand['wrist_width']
    ring = np.concatenate([
        (wrist + radial * half_width)[None],
        joints[list(_PALM_RING_KEYPOINTS)],
        (wrist - radial * half_width)[None],
    ])                                                          # (7, 3)
    wrist_half = 0.75 * radii[0]
    ring_half = np.concatenate([[wrist_half],
                                radii[list(_PALM_RING_KEYPOINTS)],
                                [wrist_half]])
    centre = ring.mean(0)
    facing = palmar if palmar[2] < 0 else -palmar  # the side facing the camera
    palm_side = PALM if palmar[2] < 0 else SKIN
    outward = ring - centre
    outward /= np.linalg.norm(outward, axis=1, keepdims=True) + 1e-9
    ring_normals = facing + 0.7 * outward
    ring_normals /= np.linalg.norm(ring_normals, axis=1, keepdims=True)
    palm_half = 0.5 * hand['palm_thickness']
    for i in range(len(ring)):
        j = (i + 1) % len(ring)
        canvas.triangle(np.stack([centre, ring[i], ring[j]]),
                        np.array([palm_half, ring_half[i], ring_half[j]]),
                        np.stack([facing, ring_normals[i], ring_normals[j]]),
                        palm_side)
        canvas.capsule(ring[i], ring[j], ring_half[i], ring_half[j], SKIN,
                       palm_axis=palmar)
    # Thumb-index web: a thin sheet.
    web = joints[[1, 2, 5]]
    canvas.triangle(web, 0.45 * radii[[1, 2, 5]],
                    np.stack([facing, facing, facing]), palm_side)

    # Fingers: three tapered capsules each; the last ends TIP_INSET tip
    # radii short of the tip keypoint.
    for finger in range(5):
        base = 1 + 4 * finger
        for segment in range(3):
            start, end = joints[base + segment], joints[base + segment + 1]
            radius_end = radii[base + segment + 1]
            nail_axis = None
            if segment == 2:
                direction = frames[finger, 2][:, 1]
                end = end - direction * (TIP_INSET * radius_end)
                nail_axis = -frames[finger, 2][:, 2]
            canvas.capsule(start, end, radii[base + segment], radius_end,
                           SKIN, nail_axis,
                           palm_axis=frames[finger, segment][:, 2])

    length = rng.uniform(150.0, 300.0) * hand['shape']['scale']
    end = _forearm_end(wrist, hand['forearm_axis'], length)
    canvas.capsule(wrist, end, radii[0], radii[0] * 1.25, FOREARM)


def _draw_occluders(canvas, rng, keypoints, occlusion):
    """Ellipses and polygons between the camera and the hand.

    Up to MAX_OCCLUDERS, each present with probability ``occlusion``; their
    size grows with ``occlusion``. Returns their BGR colours.
    """
    count = rng.binomial(MAX_OCCLUDERS, occlusion) if occlusion > 0 else 0
    hand_depth = canvas.zbuf.min()
    low, high = keypoints.min(0), keypoints.max(0)
    box_size = max(float((high - low).max()), 4.0)
    colours = []
    for index in range(count):
        centre = rng.uniform(low, high)
        size = box_size * rng.uniform(0.12, 0.12 + 0.3 * occlusion)
        layer = np.zeros(canvas.zbuf.shape, np.uint8)
        if rng.random() < 0.5:
            axes = np.maximum(size * rng.uniform(0.4, 1.0, 2), 1.0)
            cv2.ellipse(layer, (int(centre[0]), int(centre[1])),
                        (int(axes[0]), int(axes[1])),
                        float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            sides = int(rng.integers(3, 8))
            angles = np.sort(rng.uniform(0, 2 * np.pi, sides))
            reach = size * rng.uniform(0.5, 1.0, sides)
            points = centre + np.stack([np.cos(angles), np.sin(angles)], 1) \
                * reach[:, None]
            cv2.fillPoly(layer, [np.round(points).astype(np.int32)], 1)
        covered = layer.astype(bool)
        depth = np.float32(hand_depth * rng.uniform(0.5, 0.9))
        canvas.zbuf[covered] = np.minimum(canvas.zbuf[covered], depth)
        canvas.shade[covered] = rng.uniform(0.6, 1.0)
        canvas.material[covered] = FIRST_OCCLUDER + index
        colours.append(rng.uniform(0, 255, 3))
    return colours


def check_background(background: str) -> str:
    if background not in BACKGROUNDS:
        raise ValueError(f'background must be one of {BACKGROUNDS}, got '
                         f'{background!r}')
    return background


def background_image(rng, width: int, height: int,
                     background: str = 'shapes') -> np.ndarray:
    """(H, W, 3) uint8 BGR behind the hand, of kind ``background``
    (:data:`BACKGROUNDS`)."""
    if background == 'clutter':
        return _clutter(rng, width, height)
    return _background(rng, width, height)


def _power_law_field(rng, size: int, exponent: float,
                     channels: int) -> np.ndarray:
    """(size, size, channels) float32 in [0, 1]: noise whose amplitude
    spectrum falls as 1 / f ** ``exponent`` (natural images: about 1 to
    1.2 in amplitude; Field 1987), one field per channel."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    radius[0, 0] = 1.0
    amplitude = radius ** -exponent
    amplitude[0, 0] = 0.0
    phase = rng.uniform(0, 2 * np.pi, (channels, ) + radius.shape)
    field = np.fft.irfft2(amplitude * np.exp(1j * phase), s=(size, size))
    field = field.transpose(1, 2, 0)
    low, high = field.min((0, 1)), field.max((0, 1))
    return ((field - low) / np.maximum(high - low, 1e-9)).astype(np.float32)


def _muted_colours(rng, count: int) -> np.ndarray:
    """(count, 3) float32 BGR 0-255, mostly unsaturated as the colours of
    indoor scenes are: saturation Beta(1.5, 3), value uniform 0.15-0.95."""
    hsv = np.stack([rng.uniform(0, 180, count),
                    255 * rng.beta(1.5, 3.0, count),
                    255 * rng.uniform(0.15, 0.95, count)], 1)
    if not count:
        return np.zeros((0, 3), np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8)[None], cv2.COLOR_HSV2BGR)[
        0].astype(np.float32)


def _clutter(rng, width, height):
    """Procedural clutter with the statistics of photos, (H, W, 3) uint8
    BGR.

    A colour field whose spectrum falls as 1/f (natural images' second-order
    statistics: Field, JOSA A 1987; van der Schaaf and van Hateren, Vision
    Research 1996), under a "dead leaves" layer (Matheron 1968; Lee, Mumford
    and Huang, IJCV 2001: occluding objects with power-law sizes reproduce
    natural images' statistics; Baradad et al., NeurIPS 2021, pretrain
    on them): 15-50 rectangles, discs and polygons, the large ones first
    (far), in muted colours, each shaded by a 1/f texture; a few long
    straight edges (shelves, furniture); half the time out of focus.
    """
    # one field between two muted colours: a surface's tint varies less
    # than its brightness
    base = _power_law_field(rng, 64, rng.uniform(1.0, 1.6), 1)
    start, stop = _muted_colours(rng, 2)
    image = cv2.resize(start + base * (stop - start), (width, height),
                       interpolation=cv2.INTER_LINEAR)
    texture = cv2.resize(_power_law_field(rng, 64, rng.uniform(0.8, 1.4), 1),
                         (width, height), interpolation=cv2.INTER_LINEAR)
    side = max(width, height)
    count = int(rng.integers(15, 51))
    # power-law sizes (dead leaves): many small objects, a few large ones
    sizes = side * np.clip(0.05 * rng.pareto(1.2, count) + 0.05, 0.05, 0.9)
    centres = rng.uniform(-0.1, 1.1, (count, 2)) * (width, height)
    kinds = rng.integers(0, 3, count)
    colours = _muted_colours(rng, count)
    strength = rng.uniform(0.0, 0.6, count).astype(np.float32)
    aspect = rng.uniform(0.2, 1.0, count)
    angles = rng.choice([0.0, 90.0, 180.0], count) + rng.normal(0, 8, count)
    for index in np.argsort(-sizes):  # far (large) to near (small)
        centre, size = centres[index], float(sizes[index])
        if kinds[index] == 0:  # rectangles, mostly upright
            points = cv2.boxPoints((tuple(centre), (size, size * aspect[index]),
                                    float(angles[index])))
        elif kinds[index] == 1:  # discs and ellipses
            points = cv2.ellipse2Poly(
                (int(centre[0]), int(centre[1])),
                (max(int(size / 2), 1), max(int(size / 2 * aspect[index]),
                                            1)),
                int(angles[index]), 0, 360, 10)
        else:
            sides = int(rng.integers(3, 8))
            turn = np.sort(rng.uniform(0, 2 * np.pi, sides))
            reach = size / 2 * rng.uniform(0.5, 1.0, sides)
            points = centre + np.stack([np.cos(turn), np.sin(turn)],
                                       1) * reach[:, None]
        points = np.round(points).astype(np.int32)
        x0, y0 = np.maximum(points.min(0), 0)
        x1, y1 = np.minimum(points.max(0) + 1, (width, height))
        if x1 <= x0 or y1 <= y0:
            continue
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [points - (x0, y0)], 1)
        covered = mask.astype(bool)
        shade = 1.0 - strength[index] + 2 * strength[index] * texture[
            y0:y1, x0:x1][covered]
        image[y0:y1, x0:x1][covered] = colours[index] * shade[:, None]
    for colour in _muted_colours(rng, int(rng.integers(0, 4))):
        at = int(rng.integers(0, side))
        thickness = int(rng.integers(1, max(side // 40, 2) + 1))
        tilt = int(rng.normal(0, side / 30))
        ends = ((0, at), (width - 1, at + tilt))
        if rng.random() < 0.5:  # a vertical edge
            ends = ((at, 0), (at + tilt, height - 1))
        cv2.line(image, *ends, tuple(float(v) for v in colour), thickness,
                 cv2.LINE_AA)
    if rng.random() < 0.5:  # out of focus behind the hand
        sigma = rng.uniform(0.5, 2.5)
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    image += rng.normal(0, rng.uniform(1, 5), (height, width, 1)).astype(
        np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)


def _background(rng, width, height):
    """Gradient + noise blobs + random shapes, (H, W, 3) uint8 BGR."""
    low_res = 16
    ramp = np.linspace(0.0, 1.0, low_res, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None])
    gradient = (gradient - gradient.min()) / (np.ptp(gradient) + 1e-6)
    start, stop = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    base = start + gradient[..., None] * (stop - start)
    blobs = rng.normal(0, rng.uniform(10, 50), (6, 6, 3)).astype(np.float32)
    base += cv2.resize(blobs, (low_res, low_res),
                       interpolation=cv2.INTER_CUBIC)
    # Texture grain at a sixth of the resolution; one uint8 upsampling.
    grain_size = (max(width // 6, 1), max(height // 6, 1))
    texture = cv2.resize(base, grain_size, interpolation=cv2.INTER_LINEAR)
    texture += rng.normal(0, rng.uniform(2, 14),
                          texture.shape[:2] + (1, )).astype(np.float32)
    texture = np.clip(texture, 0, 255).astype(np.uint8)
    image = cv2.resize(texture, (width, height),
                       interpolation=cv2.INTER_LINEAR)
    side = min(width, height)
    for _ in range(int(rng.integers(2, 9))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = rng.integers(0, width), rng.integers(0, height)
        extent = int(side * rng.uniform(0.05, 0.35))
        kind = rng.integers(0, 4)
        if kind == 0:
            cv2.rectangle(image, (int(x), int(y)),
                          (int(x) + extent, int(y) + extent // 2), colour, -1)
        elif kind == 1:
            cv2.circle(image, (int(x), int(y)), max(extent // 2, 1), colour,
                       -1, cv2.LINE_AA)
        elif kind == 2:
            end = (int(x + rng.normal(0, side / 3)),
                   int(y + rng.normal(0, side / 3)))
            cv2.line(image, (int(x), int(y)), end, colour,
                     int(rng.integers(1, max(side // 40, 2) + 1)),
                     cv2.LINE_AA)
        else:
            points = rng.integers(-extent, extent + 1, (4, 2)) + (x, y)
            cv2.fillPoly(image, [points.astype(np.int32)], colour,
                         cv2.LINE_AA)
    return image


def _skin_palette(rng):
    """BGR colours for SKIN, NAIL, FOREARM (skin or a sleeve), PALM."""
    position = rng.uniform(0, len(SKIN_TONES_BGR) - 1)
    anchors = np.arange(len(SKIN_TONES_BGR))
    skin = np.array([np.interp(position, anchors, SKIN_TONES_BGR[:, channel])
                     for channel in range(3)], np.float32)
    skin = skin * rng.uniform(0.92, 1.06, 3)
    nail = 0.55 * skin + 0.45 * NAIL_TINT_BGR
    sleeve = rng.random() < 0.4
    forearm = rng.uniform(0, 255, 3) if sleeve else skin * 0.97
    palm = (1 - PALM_TINT) * skin + PALM_TINT * PALM_TINT_BGR
    return skin, nail, forearm, palm


def depth_to_grey(depth: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The depth modality's image: (H, W, 3) uint8 grey, 255 at the nearest
    covered pixel down to 50 at the farthest, 0 where nothing is."""
    near, far = (depth[covered].min(), depth[covered].max()) \
        if covered.any() else (0.0, 1.0)
    grey = 255.0 - 205.0 * (depth - near) / max(far - near, 1e-6)
    grey = np.where(covered, grey, 0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def depth_at_keypoints(zbuf: np.ndarray, keypoints: np.ndarray
                       ) -> Tuple[np.ndarray, np.ndarray]:
    """``(inside (K,) bool, z-buffer depth (K,))`` at each keypoint's
    rounded pixel (clamped to the image where it falls outside)."""
    height, width = zbuf.shape
    pixel = np.round(keypoints).astype(np.int64)
    inside = ((pixel[:, 0] >= 0) & (pixel[:, 0] < width)
              & (pixel[:, 1] >= 0) & (pixel[:, 1] < height))
    return inside, zbuf[np.clip(pixel[:, 1], 0, height - 1),
                        np.clip(pixel[:, 0], 0, width - 1)]


def render_hand(rng: Union[int, np.random.SeedSequence,
                           np.random.Generator],
                image_size: Union[int, Sequence[int]] = (368, 368),
                modality: str = 'rgb', occlusion: float = 0.0,
                fill_range: Tuple[float, float] = FILL_RANGE,
                left_ratio: float = 0.5,
                pose_mix: Optional[Dict[str, float]] = None,
                max_view_angle: Optional[float] = None,
                background: str = 'shapes') -> Dict[str, np.ndarray]:
    """Render one random hand.

    Args:
        rng: numpy Generator, SeedSequence or int seed (the output is a pure
            function of it). The geometry does not depend on ``modality``:
            the same seed gives the same hand in 'rgb' and 'depth'.
        image_size: int or (width, height) in pixels.
        modality: 'rgb' (shaded hand over a textured background), 'depth'
            (``image`` is the depth map as grey levels, near = bright) or
            'rgbd' (the 'rgb' image; ``depth`` is returned in every mode).
        occlusion: 0..1, chance of each of up to three occluders and their
            size.
        fill_range: the keypoint box's longest side as a fraction of the
            shorter image side is drawn from this range.
        left_ratio: chance that the hand is a left hand (0: right hands
            only, as the NSRM paper's Panoptic data).
        pose_mix: weights of the pose styles (``hand_model.POSE_MIX``, the
            default).
        max_view_angle: None (every viewpoint) or the largest angle in
            degrees between the palm normal and the viewing axis, the palm
            or the back facing the camera.
        background: 'shapes' or 'clutter' (:data:`BACKGROUNDS`); drawn
            last, so the same seed gives the same hand over either.

    Returns:
        dict with ``image`` (H, W, 3) uint8 BGR, ``depth`` (H, W) float32 mm
        (0 = background; hand, forearm and occluder surfaces), ``mask``
        (H, W) bool visible hand pixels (palm and fingers, not the forearm),
        ``keypoints`` (21, 2) float32 px, ``keypoints_3d`` (21, 3) float32 mm
        camera frame, ``keypoints_visible`` (21,) float32 (0 when the
        keypoint's pixel is outside the image), ``occluded`` (21,) bool
        (False outside the image), ``cam_K`` (3, 3) float32 and
        ``joint_radii`` (21,) float32 mm, the hand's radius at each keypoint,
        and ``is_left`` () bool.
    """
    if modality not in MODALITIES:
        raise ValueError(f'modality must be one of {MODALITIES}, '
                         f'got {modality!r}')
    if not 0.0 <= occlusion <= 1.0:
        raise ValueError(f'occlusion must be in [0, 1], got {occlusion!r}')
    width, height = check_image_size(image_size)
    check_background(background)
    rng = _as_generator(rng)

    sample = sample_hands(rng, 1, (width, height), fill_range, left_ratio,
                          pose_mix, max_view_angle)
    hand = {key: value[0] for key, value in sample.items()
            if key not in ('pose', 'shape')}
    hand['shape'] = {key: value[0] for key, value in sample['shape'].items()}
    cam_K = hand['cam_K']
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1),
                      -rng.uniform(0.6, 1.5)])
    canvas = _Canvas(width, height, cam_K, light=light / np.linalg.norm(light),
                     ambient=rng.uniform(0.3, 0.5))
    _draw_hand(canvas, hand, rng)
    keypoints = project_points(hand['keypoints_3d'], cam_K)
    occluder_colours = _draw_occluders(canvas, rng, keypoints, occlusion)
    skin, nail, forearm, palm = _skin_palette(rng)

    material = canvas.material
    covered = material > 0
    depth = canvas.zbuf.copy()
    depth[~covered] = 0.0
    if modality in ('rgb', 'rgbd'):
        palette = np.zeros((FIRST_OCCLUDER + MAX_OCCLUDERS, 3), np.float32)
        palette[SKIN], palette[NAIL], palette[FOREARM] = skin, nail, forearm
        palette[PALM] = palm
        for index, colour in enumerate(occluder_colours):
            palette[FIRST_OCCLUDER + index] = colour
        image = background_image(rng, width, height, background)
        pixels = np.flatnonzero(covered)
        colour = (palette[material.ravel()[pixels]]
                  * canvas.shade.ravel()[pixels][:, None])
        image.reshape(-1, 3)[pixels] = np.minimum(colour, 255.0).astype(
            np.uint8)
        image = cv2.GaussianBlur(image, (3, 3), 0.6)
    else:
        image = depth_to_grey(depth, covered)

    inside, rendered = depth_at_keypoints(canvas.zbuf, keypoints)
    joints = hand['keypoints_3d']
    occluded = inside & (rendered < joints[:, 2] - hand['joint_radii']
                         - OCCLUSION_TOLERANCE_MM)
    return dict(
        image=image,
        depth=depth,
        mask=np.isin(material, HAND_MATERIALS),
        keypoints=keypoints.astype(np.float32),
        keypoints_3d=joints.astype(np.float32),
        keypoints_visible=inside.astype(np.float32),
        occluded=occluded,
        cam_K=cam_K.astype(np.float32),
        joint_radii=hand['joint_radii'].astype(np.float32),
        is_left=np.asarray(hand['is_left'], bool),
    )
