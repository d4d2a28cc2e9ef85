"""Render the open hand mesh (``HandModelLayer``'s default model) as a
synthetic sample: the mesh mode of the generator (docs/synthetic.md, "Mesh
hands").

One sample is drawn as the capsule renderer (``renderer.render_hand``) draws
its hand, with the same natural-pose sampler, camera model, backgrounds and
occluders, but the hand is handkit's open hand in MANO's format
(``handkit/models/hand_model``, MakeHuman CC0 data: 1,686 vertices, 3,368
triangles), posed by linear blend skinning and drawn by the numpy z-buffer
rasteriser (``rasterizer.rasterize``):

* **shape**: ``hand_shape`` (10,) betas, standard normal draws clipped to
  ``BETA_CLIP`` (MakeHuman's five hand sliders at +-1, their own range; the
  five finger-length directions at +-1.73, the synthetic hand's
  finger-ratio range 0.93-1.07);
* **pose**: ``hand_model.sample_pose`` (its pose styles and joint limits,
  ``pose_mix`` as for the capsule hand) mapped onto the open hand's 15
  joints as MANO axis-angles (:func:`mano_hand_pose`, the mapping
  ``tools/build_open_hand.py`` uses for the open hand's pose PCA);
* **view and distance**: ``hand_model.sample_camera`` on the mesh's 21
  joints (every viewpoint, or the palm / back within ``max_view_angle``;
  the keypoint box spanning ``fill_range`` of the shorter image side);
* **left hands**: the open hand's left model (``side='left'``, the right
  one mirrored in x) with the mirrored pose (each joint's ``(a, b, c)`` ->
  ``(a, -b, -c)``); a seed gives the same hand but for its side;
* **skin**: the open-hand file carries no uv or texture, so per-vertex
  colours: a random skin tone (``renderer._skin_palette``), a smooth
  low-frequency tone variation over the hand, a lighter, pinker palmar side
  and lighter nails on the dorsal tip of each distal segment; a forearm
  (bare or in a sleeve) leaves the wrist ring as a tapered tube. Lighting is
  the rasteriser's Lambert + Blinn-Phong with a random key light, a fill
  and a rim light;
* **occluders and background**: ``renderer._draw_occluders`` and
  ``renderer.background_image`` ('shapes' or 'clutter'), composited as the
  capsule renderer does;
* **occlusion flags**: the capsule renderer's rule with the mesh's own
  surface for the radius: a keypoint is ``occluded`` when the rendered
  depth at its pixel is nearer than where the ray from it toward the camera
  leaves its own part of the mesh (:func:`own_surface_depth`) by more than
  ``OCCLUSION_TOLERANCE_MM`` plus a pixel's footprint.

The parameters that give ``vertices`` are returned: ``HandModelLayer(
side='right' or 'left', pose_type='axis_angle', output_scale=1000)(
betas=hand_shape, pose=hand_pose, global_orient=global_orient,
transl=transl)['vertices']`` equals ``vertices`` (mm, camera frame) and its
``joints`` equal ``keypoints_3d``. The skinning here is a numpy
transcription of the layer (no torch in the data path).
"""
import functools
from typing import Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from handkit.datasets.synthetic.hand_model import (FILL_RANGE,
                                                   sample_camera,
                                                   sample_pose)
from handkit.datasets.synthetic.renderer import (FIRST_OCCLUDER, FOREARM,
                                                 MAX_OCCLUDERS, MODALITIES,
                                                 OCCLUSION_TOLERANCE_MM, SKIN,
                                                 _as_generator, _Canvas,
                                                 _draw_occluders,
                                                 _skin_palette,
                                                 background_image,
                                                 check_background,
                                                 check_image_size,
                                                 depth_at_keypoints,
                                                 depth_to_grey)
from handkit.geometry import project_points
from handkit.hand.kinematics import rot_x, rot_z
from handkit.hand.mano_pose import (FINGERS, chain_frames, mano_axis_angles,
                                   rest_angles)
from handkit.hand.mano_pose import mano_index as _mano_index
from handkit.hand.mano_pose import unit as _unit
from handkit.rasterizer import rasterize, vertex_normals
from handkit.models.hand_model.layer import (handkit_joint_order,
                                             open_hand_path)
from handkit.models.hand_model.model_file import (MANO_JOINT_NAMES,
                                                  load_hand_model)

#: The fields a mesh sample holds beyond the capsule renderer's.
MESH_FIELDS = ('vertices', 'hand_pose', 'hand_shape', 'global_orient',
               'transl')
NUM_BETAS = 10
#: Clip of the standard normal betas: MakeHuman's hand sliders (scale,
#: finger length, finger diameter, finger distance, wrist circumference) at
#: their own +-1 range, the five finger lengths (4.04 % per unit) at the
#: synthetic hand's 0.93-1.07 finger ratio.
BETA_CLIP = np.array([1.0] * 5 + [0.07 / 0.0404] * 5)
MM_PER_MODEL_UNIT = 1000.0  # the open hand is in metres
# Colours (BGR multipliers / tints).
TONE_VARIATION = 0.06  # amplitude of the smooth per-vertex tone variation
FOREARM_SEGMENTS = 2
FOREARM_LENGTH_RANGE = (150.0, 300.0)  # mm, before the hand's scale
FOREARM_WIDENING = 1.2
NEAR_MM = 30.0
RAY_START_MM = 0.5
NEAR_HAND_MM = 60.0  # the nearest vertex (hand_model: the nearest joint)
# Rasteriser lights: a random key light (as the capsule renderer's), a fill
# and a rim light.
KEY_INTENSITY_RANGE = (0.55, 0.8)
FILL_INTENSITY_RANGE = (0.1, 0.3)
RIM_INTENSITY_RANGE = (0.1, 0.3)
AMBIENT_RANGE = (0.25, 0.4)
SPECULAR_RANGE = (0.03, 0.12)
SHININESS = 16.0


@functools.lru_cache(maxsize=None)
def _model(side: str) -> dict:
    """The open hand of ``side`` as float64 arrays, plus what the renderer
    derives from it once (rest chains, colour weights, the wrist loop)."""
    data = load_hand_model(open_hand_path(side))
    model = dict(
        v_template=np.asarray(data.v_template, np.float64),
        shapedirs=np.asarray(data.shapedirs, np.float64),
        weights=np.asarray(data.weights, np.float64),
        J_regressor=np.asarray(data.J_regressor, np.float64),
        parents=[int(p) for p in data.kintree_parents],
        faces=np.asarray(data.faces, np.int64),
        tips=np.asarray(data.tip_vertex_ids, np.int64),
        order=np.asarray(handkit_joint_order(data.joint_order), np.int64))
    posedirs = np.asarray(data.posedirs, np.float64)
    model['posedirs'] = (posedirs.reshape(-1, posedirs.shape[-1])
                         if np.any(posedirs) else None)
    if tuple(data.joint_order) != MANO_JOINT_NAMES:
        raise ValueError(f'mesh hands: the open hand names its joints '
                         f'{data.joint_order}, expected MANO\'s order')
    template = model['v_template']
    joints = model['J_regressor'] @ template
    # the right hand's rest chains (a left hand is mirrored, with its pose)
    right = template * np.array([-1.0, 1.0, 1.0]) if side == 'left' \
        else template
    right_joints = joints * np.array([-1.0, 1.0, 1.0]) if side == 'left' \
        else joints
    base, flexion, _ = rest_angles(right_joints, right[model['tips']])
    model['rest_base'], model['rest_flexion'] = base, flexion
    model['rest_frames'] = chain_frames(base, flexion)  # (5, 3, 3, 3)

    # colour weights, from the right hand's rest pose (x mirrors away)
    normals = vertex_normals(right, model['faces'][:, [0, 2, 1]]
                             if side == 'left' else model['faces'])
    dominant = model['weights'].argmax(1)  # MANO joint of each vertex
    palmar_axis = np.tile([0.0, 0.0, 1.0], (16, 1))
    for f, finger in enumerate(FINGERS):
        for segment in range(3):
            palmar_axis[_mano_index(finger, segment)] = \
                model['rest_frames'][f, segment][:, 2]
    palmar = np.einsum('vi,vi->v', normals, palmar_axis[dominant])
    model['palm_weight'] = np.clip((palmar - 0.1) / 0.5, 0.0, 1.0)
    nail = np.zeros(len(template))
    for f, finger in enumerate(FINGERS):
        distal = _mano_index(finger, 2)
        start, end = right_joints[distal], right[model['tips'][f]]
        length = np.linalg.norm(end - start)
        frame = model['rest_frames'][f, 2]
        along = (right - start) @ _unit(end - start) / length
        across = np.abs((right - start) @ frame[:, 0])
        dorsal = -(normals @ frame[:, 2])
        width = np.median(across[dominant == distal]) + 1e-9
        weight = (np.clip((along - 0.35) / 0.15, 0, 1)
                  * np.clip((dorsal - 0.35) / 0.25, 0, 1)
                  * np.clip((1.4 - across / width) / 0.4, 0, 1))
        nail = np.where(dominant == distal, np.maximum(nail, weight), nail)
    model['nail_weight'] = nail
    model['rest_points'] = right  # for the smooth tone variation

    # joint radii: the J_regressor ring's weighted distance from its joint
    model['ring'] = np.nonzero(model['J_regressor'])
    # each handkit keypoint's own part of the mesh: the faces whose
    # vertices are mostly skinned to the bones meeting at it (MANO joint k
    # moves bone k: a joint's own bone and its parent's; a fingertip: its
    # distal bone; the wrist: the palm)
    parents = model['parents']
    owner = np.array([np.bincount(face, minlength=16).argmax()
                      for face in dominant[model['faces']]])
    pairs_joint, pairs_face = [], []
    for keypoint, index in enumerate(model['order']):
        if index >= 16:  # a tip: the last joint of its finger
            bones = {_mano_index(FINGERS[index - 16], 2)}
        elif index == 0:
            bones = {0}
        else:
            bones = {int(index), parents[index]}
        faces = np.flatnonzero(np.isin(owner, sorted(bones)))
        pairs_joint.append(np.full(len(faces), keypoint))
        pairs_face.append(faces)
    model['own_pairs'] = (np.concatenate(pairs_joint),
                          np.concatenate(pairs_face))

    # the wrist's boundary loop: the rim of the cap's fan (the last vertex)
    centre = len(template) - 1
    fan = model['faces'][(model['faces'] == centre).any(1)]
    edges = {}
    for face in fan:  # each fan triangle (centre, a, b) in its winding
        k = int(np.flatnonzero(face == centre)[0])
        edges[int(face[(k + 1) % 3])] = int(face[(k + 2) % 3])
    loop = [next(iter(edges))]
    while len(loop) < len(edges):
        loop.append(edges[loop[-1]])
    model['wrist_loop'] = np.asarray(loop, np.int64)
    return model


def num_vertices() -> int:
    """V of the open hand (1,686), the size of ``vertices``."""
    return len(_model('right')['v_template'])


def mano_hand_pose(pose: Dict[str, np.ndarray], side: str = 'right'
                   ) -> np.ndarray:
    """(N, 45) axis-angle hand pose of the open hand (MANO's 15 joints in
    MANO's order: index, middle, little, ring, thumb, each base to end) for
    the synthetic hand's joint angles (``hand_model.sample_pose``).

    Each segment's frame is the synthetic chain's (fingers turned about the
    palm normal by their MCP abduction from the open hand's rest direction,
    flexed by the hinge angles; the thumb's CMC as ``forward_kinematics``
    turns it); its world rotation relative to the open hand's rest is ``G =
    F F_rest^T`` and MANO's local rotation is the parent segment's ``G^T
    G``. A left hand's pose is the right one's mirrored, ``(a, -b, -c)`` per
    joint.
    """
    model = _model('right')
    hand_pose = mano_axis_angles(model['rest_base'], model['rest_flexion'],
                                 pose)
    if side == 'left':
        hand_pose = hand_pose * np.tile([1.0, -1.0, -1.0], 15)
    return hand_pose


def skin_mesh(side: str, hand_shape: np.ndarray, hand_pose: np.ndarray,
              global_orient: Optional[np.ndarray] = None,
              transl: Optional[np.ndarray] = None
              ) -> Dict[str, np.ndarray]:
    """The open hand posed (numpy, float64): ``HandModelLayer(side=side,
    pose_type='axis_angle', output_scale=1000)`` of one hand.

    Returns ``vertices`` (V, 3) mm, ``joints`` (21, 3) mm in handkit's
    order, ``joints16`` (16, 3) mm (MANO's order), ``rest_joints`` (16, 3)
    mm (shaped, unposed, model frame) and ``joint_radii`` (16,) mm.
    """
    model = _model(side)
    shaped = model['v_template'] + model['shapedirs'][..., :len(
        hand_shape)] @ np.asarray(hand_shape, np.float64)
    rest = model['J_regressor'] @ shaped  # (16, 3)
    orient = np.zeros(3) if global_orient is None else global_orient
    full = np.concatenate([orient, hand_pose]).reshape(16, 3)
    rotations = Rotation.from_rotvec(full).as_matrix()
    posed = shaped
    if model['posedirs'] is not None:
        feature = (rotations[1:] - np.eye(3)).ravel()
        posed = shaped + (model['posedirs'] @ feature).reshape(-1, 3)
    world_r = np.empty((16, 3, 3))
    world_t = np.empty((16, 3))
    for joint, parent in enumerate(model['parents']):
        if parent < 0:
            world_r[joint], world_t[joint] = rotations[joint], rest[joint]
        else:
            world_r[joint] = world_r[parent] @ rotations[joint]
            world_t[joint] = (world_r[parent] @ (rest[joint] - rest[parent])
                              + world_t[parent])
    relative = np.concatenate([
        world_r, (world_t - np.einsum('jik,jk->ji', world_r, rest))[..., None]
    ], 2)  # (16, 3, 4)
    blended = (model['weights'] @ relative.reshape(16, 12)).reshape(-1, 3, 4)
    vertices = (np.einsum('vik,vk->vi', blended[..., :3], posed)
                + blended[..., 3]) * MM_PER_MODEL_UNIT
    joints16 = world_t * MM_PER_MODEL_UNIT
    if transl is not None:
        vertices = vertices + transl
        joints16 = joints16 + transl
    joints = np.concatenate([joints16, vertices[model['tips']]])[
        model['order']]
    rows, cols = model['ring']
    distance = np.linalg.norm(shaped[cols] - rest[rows], axis=1)
    radii = np.bincount(rows, model['J_regressor'][rows, cols] * distance,
                        minlength=16) * MM_PER_MODEL_UNIT
    return dict(vertices=vertices, joints=joints, joints16=joints16,
                rest_joints=rest * MM_PER_MODEL_UNIT, joint_radii=radii)


def own_surface_depth(side: str, vertices: np.ndarray,
                      joints: np.ndarray) -> np.ndarray:
    """(21,) mm: the depth (z) where the ray from each keypoint toward the
    camera first leaves the keypoint's own part of the mesh (its bones'
    faces), more than ``RAY_START_MM`` from it; the keypoint's own depth
    where the ray meets none (a fingertip vertex facing the camera)."""
    model = _model(side)
    joint_ids, face_ids = model['own_pairs']
    corners = vertices[model['faces'][face_ids]]  # (P, 3, 3)
    origin = joints[joint_ids]
    direction = -origin / np.linalg.norm(origin, axis=1, keepdims=True)
    edge1 = corners[:, 1] - corners[:, 0]
    edge2 = corners[:, 2] - corners[:, 0]
    p = np.cross(direction, edge2)
    det = np.einsum('pi,pi->p', edge1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - corners[:, 0]
    u = np.einsum('pi,pi->p', s, p) * inv
    q = np.cross(s, edge1)
    v = np.einsum('pi,pi->p', direction, q) * inv
    t = np.einsum('pi,pi->p', edge2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > RAY_START_MM)
    first = np.full(len(joints), np.inf)
    np.minimum.at(first, joint_ids[hit], t[hit])
    first[~np.isfinite(first)] = 0.0
    return joints[:, 2] + first * direction_z(joints)


def direction_z(points: np.ndarray) -> np.ndarray:
    """z of the unit direction from each point toward the camera."""
    return -points[:, 2] / np.linalg.norm(points, axis=1)


def handkit_joint_radii(side: str, radii16: np.ndarray) -> np.ndarray:
    """(21,) mm radius at each handkit keypoint from the 16 joints' ring
    radii; a fingertip takes 0.85 of its last joint's."""
    model = _model(side)
    with_tips = np.concatenate([
        radii16, 0.85 * radii16[[_mano_index(f, 2) for f in FINGERS]]])
    return with_tips[model['order']]


def _forearm(model: dict, vertices: np.ndarray, axis: np.ndarray,
             length: float) -> Tuple[np.ndarray, np.ndarray]:
    """A tube from the wrist loop along ``axis`` (camera frame, unit),
    widening toward the elbow, closed there: vertices (K, 3) and faces
    (indices into ``vertices`` + K, the hand's first)."""
    loop = model['wrist_loop']
    ring = vertices[loop]
    centre = ring.mean(0)
    end = centre + axis * length
    # keep the elbow in front of the camera, at least half the wrist's
    # depth away (an arm pointing at the camera would hide the hand)
    near = max(NEAR_MM, 0.5 * centre[2])
    if end[2] < near:
        scale = (centre[2] - near) / max(centre[2] - end[2], 1e-6)
        end = centre + axis * length * max(scale, 0.0)
        length = float(np.linalg.norm(end - centre))
    count = len(loop)
    rings = []
    for step in range(1, FOREARM_SEGMENTS + 1):
        t = step / FOREARM_SEGMENTS
        widen = 1.0 + (FOREARM_WIDENING - 1.0) * t
        rings.append(centre + (ring - centre) * widen + axis * length * t)
    new = np.concatenate(rings + [end[None]])  # (S K + 1, 3)
    first = len(vertices)
    index = np.concatenate([loop, first + np.arange(len(new))])
    faces = []
    k = np.arange(count)
    following = (k + 1) % count
    for step in range(FOREARM_SEGMENTS):
        a, b = index[step * count + k], index[step * count + following]
        c, d = (index[(step + 1) * count + k],
                index[(step + 1) * count + following])
        faces += [np.stack([a, b, c], 1), np.stack([b, d, c], 1)]
    tip = first + len(new) - 1
    last = index[FOREARM_SEGMENTS * count + k]
    last_next = index[FOREARM_SEGMENTS * count + following]
    faces.append(np.stack([last, last_next, np.full(count, tip)], 1))
    return new, np.concatenate(faces)


def _vertex_colours(model: dict, rng: np.random.Generator,
                    skin: np.ndarray, nail: np.ndarray,
                    palm: np.ndarray) -> np.ndarray:
    """(V, 3) BGR albedo of the hand's vertices."""
    points = model['rest_points'] * MM_PER_MODEL_UNIT
    directions = _unit(rng.normal(size=(3, 3)))
    phases = rng.uniform(0, 2 * np.pi, 3)
    wavelengths = rng.uniform(40.0, 120.0, 3)
    tone = np.sin(points @ (directions / wavelengths[:, None]).T * 2 * np.pi
                  + phases).mean(1)
    colour = skin * (1.0 + TONE_VARIATION * tone)[:, None]
    colour = colour + model['palm_weight'][:, None] * (palm - colour)
    colour = colour + model['nail_weight'][:, None] * (nail - colour)
    return colour


def render_mesh_hand(rng: Union[int, np.random.SeedSequence,
                                np.random.Generator],
                     image_size: Union[int, Sequence[int]] = (368, 368),
                     modality: str = 'rgb', occlusion: float = 0.0,
                     fill_range: Tuple[float, float] = FILL_RANGE,
                     left_ratio: float = 0.5,
                     pose_mix: Optional[Dict[str, float]] = None,
                     max_view_angle: Optional[float] = None,
                     background: str = 'shapes') -> Dict[str, np.ndarray]:
    """Render one random open-hand mesh (``renderer.render_hand``'s
    arguments and outputs, plus the mesh and its parameters).

    Args: as :func:`handkit.datasets.synthetic.renderer.render_hand`
        (``image_size`` int or (width, height)).

    Returns:
        ``render_hand``'s dict (``image``, ``depth``, ``mask``,
        ``keypoints``, ``keypoints_3d``, ``keypoints_visible``,
        ``occluded``, ``cam_K``, ``joint_radii``, ``is_left``; the
        keypoints are the layer's 21 joints in handkit's order, the mask
        the visible hand mesh without the forearm), plus ``vertices``
        (V, 3) float32 mm camera frame; ``hand_pose`` (45,) float32
        axis-angle radians of MANO's 15 hand joints in MANO's order (the
        layer's ``pose_type='axis_angle'``: absolute, no mean added);
        ``hand_shape`` (10,) float32 betas; ``global_orient`` (3,) float32
        axis-angle radians of the root (rotating about the wrist joint);
        ``transl`` (3,) float32 mm (the layer with ``output_scale=1000``);
        and ``forearm_vertices`` (K, 3) float32 mm, the forearm tube drawn
        with the hand (:func:`forearm_faces`).
    """
    if modality not in MODALITIES:
        raise ValueError(f'modality must be one of {MODALITIES}, '
                         f'got {modality!r}')
    if not 0.0 <= occlusion <= 1.0:
        raise ValueError(f'occlusion must be in [0, 1], got {occlusion!r}')
    if not 0.0 <= left_ratio <= 1.0:
        raise ValueError(f'left_ratio must be in [0, 1], got {left_ratio!r}')
    width, height = check_image_size(image_size)
    check_background(background)
    rng = _as_generator(rng)

    hand_shape = np.clip(rng.standard_normal(NUM_BETAS), -BETA_CLIP,
                         BETA_CLIP)
    pose = sample_pose(rng, 1, pose_mix)
    wrist_flexion, wrist_deviation = (rng.uniform(-60, 60) * np.pi / 180,
                                      rng.uniform(-20, 20) * np.pi / 180)
    is_left = bool(rng.random() < left_ratio)
    side = 'left' if is_left else 'right'
    model = _model(side)
    hand_pose = mano_hand_pose(pose, side)[0]
    # float32 parameters are what is stored: pose the mesh from them
    hand_shape = hand_shape.astype(np.float32)
    hand_pose = hand_pose.astype(np.float32)
    local = skin_mesh(side, hand_shape.astype(np.float64),
                      hand_pose.astype(np.float64))
    camera = sample_camera(rng, local['joints'][None], (width, height),
                           fill_range, max_view_angle)
    rotation, translation = camera['rotation'][0], camera['translation'][0]
    cam_K = camera['cam_K'][0].astype(np.float32).astype(np.float64)
    global_orient = Rotation.from_matrix(rotation).as_rotvec().astype(
        np.float32)
    rotation = Rotation.from_rotvec(global_orient.astype(
        np.float64)).as_matrix()
    # the layer turns the hand about its root joint, then adds transl
    root = local['rest_joints'][0]
    transl = (translation + rotation @ root - root).astype(np.float32)
    # the layer's posed mesh: R (v - root) + root + transl
    vertices = (local['vertices'] - root) @ rotation.T + root + transl
    joints = (local['joints'] - root) @ rotation.T + root + transl
    # the camera fit keeps the joints NEAR_HAND_MM away; the mesh reaches
    # past them (the wrist ring, 4 cm up the forearm): move the hand away
    # along its ray until the mesh does too
    nearest = float(vertices[:, 2].min())
    if nearest < NEAR_HAND_MM:
        centre = joints.mean(0)
        shift = centre * (NEAR_HAND_MM - nearest) / centre[2]
        transl = (transl + shift).astype(np.float32)
        vertices = (local['vertices'] - root) @ rotation.T + root + transl
        joints = (local['joints'] - root) @ rotation.T + root + transl
    # drawn as stored: the float32 vertices re-rasterise to the same image
    vertices = vertices.astype(np.float32).astype(np.float64)
    joint_radii = handkit_joint_radii(side, local['joint_radii'])

    forearm_axis = (rot_z(wrist_deviation) @ rot_x(wrist_flexion)
                    @ np.array([0.0, -1.0, 0.0]))
    if is_left:
        forearm_axis[0] *= -1.0
    scale = float(np.linalg.norm(joints[9] - joints[0])) / 96.4
    length = rng.uniform(*FOREARM_LENGTH_RANGE) * scale
    forearm_vertices, forearm_faces = _forearm(
        model, vertices, rotation @ forearm_axis, length)
    forearm_vertices = forearm_vertices.astype(np.float32).astype(np.float64)
    all_vertices = np.concatenate([vertices, forearm_vertices])
    num_hand_faces = len(model['faces'])
    all_faces = np.concatenate([model['faces'], forearm_faces])

    key = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1),
                    -rng.uniform(0.6, 1.5)])
    lights = ((key, rng.uniform(*KEY_INTENSITY_RANGE)),
              ((-key[0], rng.uniform(-0.3, 0.3), -0.6),
               rng.uniform(*FILL_INTENSITY_RANGE)),
              ((rng.uniform(-0.5, 0.5), -0.8, 0.6),
               rng.uniform(*RIM_INTENSITY_RANGE)))
    ambient = rng.uniform(*AMBIENT_RANGE)
    specular = rng.uniform(*SPECULAR_RANGE)
    skin, nail, forearm_colour, palm = _skin_palette(rng)
    colours = _vertex_colours(model, rng, skin, nail, palm)
    colours = np.concatenate([colours, np.broadcast_to(
        forearm_colour, (len(forearm_vertices), 3))])

    shaded = modality in ('rgb', 'rgbd')
    drawn = rasterize(all_vertices, all_faces, cam_K, (width, height),
                      cull_backfaces=True,
                      vertex_colors=colours if shaded else None,
                      lights=lights, ambient=ambient, specular=specular,
                      shininess=SHININESS)
    face_ids = drawn['face_ids']
    covered = face_ids >= 0
    # occluders: the capsule renderer's, on a canvas holding the mesh
    canvas = _Canvas(width, height, cam_K, light=np.array([0.0, 0.0, -1.0]),
                     ambient=1.0)
    canvas.zbuf[covered] = drawn['depth'][covered]
    canvas.material[covered] = np.where(face_ids[covered] < num_hand_faces,
                                        SKIN, FOREARM)
    keypoints = project_points(joints, cam_K)
    occluder_colours = _draw_occluders(canvas, rng, keypoints, occlusion)

    material = canvas.material
    occluder = material >= FIRST_OCCLUDER
    everything = material > 0
    depth = np.where(everything, canvas.zbuf, 0.0).astype(np.float32)
    if shaded:
        image = background_image(rng, width, height, background)
        image[covered] = drawn['rgb'][covered]
        if occluder.any():
            palette = np.zeros((FIRST_OCCLUDER + MAX_OCCLUDERS, 3),
                               np.float32)
            for index, colour in enumerate(occluder_colours):
                palette[FIRST_OCCLUDER + index] = colour
            colour = (palette[material[occluder]]
                      * canvas.shade[occluder][:, None])
            image[occluder] = np.minimum(colour, 255.0).astype(np.uint8)
        image = cv2.GaussianBlur(image, (3, 3), 0.6)
    else:
        image = depth_to_grey(depth, everything)

    inside, rendered = depth_at_keypoints(canvas.zbuf, keypoints)
    # the capsule renderer's rule with the mesh's own surface: occluded when
    # the rendered depth is nearer than where the ray toward the camera
    # leaves the keypoint's own part (its bones' faces), by more than the
    # tolerance plus a pixel's footprint (the keypoint's pixel is rounded)
    exit_depth = own_surface_depth(side, vertices, joints)
    footprint = joints[:, 2] / cam_K[0, 0]
    occluded = inside & (rendered < exit_depth - OCCLUSION_TOLERANCE_MM
                         - footprint)
    return dict(
        image=image,
        depth=depth,
        mask=material == SKIN,
        keypoints=keypoints.astype(np.float32),
        keypoints_3d=joints.astype(np.float32),
        keypoints_visible=inside.astype(np.float32),
        occluded=occluded,
        cam_K=cam_K.astype(np.float32),
        joint_radii=joint_radii.astype(np.float32),
        is_left=np.asarray(is_left, bool),
        vertices=vertices.astype(np.float32),
        hand_pose=hand_pose,
        hand_shape=hand_shape,
        global_orient=global_orient,
        transl=transl,
        forearm_vertices=forearm_vertices.astype(np.float32),
    )


def forearm_faces(side: str = 'right') -> np.ndarray:
    """(F', 3) faces of ``vertices`` + ``forearm_vertices`` concatenated:
    the hand's faces, then the forearm tube's (the faces a sample was
    drawn with; the mask is the pixels of the first 3,368)."""
    model = _model(side)
    num = len(model['v_template'])
    dummy = np.zeros((num, 3))
    dummy[:, 2] = 1000.0
    _, faces = _forearm(model, dummy, np.array([0.0, 0.0, 1.0]), 100.0)
    return np.concatenate([model['faces'], faces])
