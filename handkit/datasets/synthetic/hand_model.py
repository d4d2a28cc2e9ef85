"""A procedural 3D hand: proportions, joint limits, camera.

The hand's tree, its reference proportions, its frame and its forward
kinematics are :mod:`handkit.hand.kinematics`; this module draws hands from
them (shapes, poses, views) and places them before a camera. Everything is
batched over ``N`` hands with numpy; the only loops run over the three
hinges of a finger chain (all fingers of all hands at once) and over the
bisection steps of the camera fit.

Proportions (reference hand, wrist to middle fingertip 183 mm, the adult
average of 180-190 mm): metacarpal / phalanx lengths follow hand anthropometry
(metacarpals II-V about 68 / 64 / 58 / 53 mm, proximal : middle : distal
phalanx close to 1 : 0.6 : 0.45, the distal segment reaching to the fingertip).
Each hand draws an overall size (0.80-1.12 of the reference), a palm-width
factor, a per-finger length ratio and a per-bone jitter.

Joint limits (degrees): finger MCP flexion -20..90 (negative = hyperextension),
PIP 0..110, DIP 0..80 coupled to PIP (DIP ~ 2/3 PIP, the tendon coupling),
MCP abduction +-20 (reduced as the MCP flexes); thumb CMC radial abduction
15..55, palmar abduction 0..60, opposition (axial roll) 40..100, CMC flexion
-10..25, MCP flexion 0..60, IP flexion -15..80. Poses mix uniform sampling with
open hands, fists, pinches and pointing gestures so that fingers occlude each
other and the palm.

Camera: pinhole, square pixels, field of view 35-55 deg over
the shorter image side, principal point within 2% of the centre; the hand is
seen from a uniformly random rotation (the full sphere of viewpoints) at the
distance where its keypoint box spans ``fill`` (0.4-0.9) of the shorter image
side (unless that would bring a joint nearer than 60 mm to the camera), its
centre shifted off the image centre by up to 8% of the side.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from scipy.spatial.transform import Rotation

from handkit.hand.kinematics import (DEG, REFERENCE_BASES,
                                     REFERENCE_BONE_LENGTHS,
                                     forward_kinematics, rot_x, rot_z)
from handkit.skeleton import LIMBS

# Radius (mm) of the hand at each keypoint: wrist (forearm), then per finger
# base -> tip, thinner toward the tip.
REFERENCE_JOINT_RADII = np.array([
    20.0,
    14.0, 11.0, 9.5, 8.0,
    10.5, 9.0, 7.5, 6.5,
    10.5, 9.3, 7.8, 6.8,
    10.0, 8.8, 7.3, 6.4,
    9.0, 7.8, 6.6, 5.8,
], np.float64)
REFERENCE_PALM_THICKNESS = 26.0  # mm, at the palm centre
REFERENCE_WRIST_WIDTH = 56.0  # mm
# How each finger's MCP abduction follows the common spread (index radial,
# little ulnar).
SPREAD_PATTERN = np.array([0.0, 1.0, 0.15, -0.55, -1.0])

SIZE_RANGE = (0.80, 1.12)
FINGER_RATIO_RANGE = (0.93, 1.07)
BONE_JITTER_RANGE = (0.96, 1.04)
PALM_WIDTH_RANGE = (0.92, 1.08)

# Joint limits in degrees.
LIMITS = dict(
    mcp_flexion=(-20.0, 90.0),
    pip_flexion=(0.0, 110.0),
    dip_flexion=(0.0, 80.0),
    mcp_abduction=(-20.0, 20.0),
    thumb_radial_abduction=(15.0, 55.0),
    thumb_palmar_abduction=(0.0, 60.0),
    thumb_opposition=(40.0, 100.0),
    thumb_cmc_flexion=(-10.0, 25.0),
    thumb_mcp_flexion=(0.0, 60.0),
    thumb_ip_flexion=(-15.0, 80.0),
)
DIP_PIP_COUPLING = 2.0 / 3.0
POSE_MIX = dict(uniform=0.35, open=0.2, fist=0.2, pinch=0.15, point=0.1)

FOV_RANGE = (35.0, 55.0)
FILL_RANGE = (0.4, 0.9)
MAX_CENTRE_OFFSET = 0.08
NEAR_PLANE_MM = 30.0
CAMERA_FIT_STEPS = 1
BISECTION_STEPS = 18


def sample_shape(rng: np.random.Generator,
                 num: int) -> Dict[str, np.ndarray]:
    """Per-hand proportions.

    Returns a dict: ``scale`` (N,) overall size, ``bases`` (N, 5, 3) finger
    base positions (mm, hand frame), ``bone_lengths`` (N, 5, 3) mm,
    ``joint_radii`` (N, 21) mm, ``palm_thickness`` (N,) mm, ``wrist_width``
    (N,) mm.
    """
    scale = rng.uniform(*SIZE_RANGE, num)
    palm_width = rng.uniform(*PALM_WIDTH_RANGE, num)
    finger_ratio = rng.uniform(*FINGER_RATIO_RANGE, (num, 5, 1))
    bone_jitter = rng.uniform(*BONE_JITTER_RANGE, (num, 5, 3))
    bases = REFERENCE_BASES * scale[:, None, None]
    bases[..., 0] *= palm_width[:, None]
    bone_lengths = (REFERENCE_BONE_LENGTHS * finger_ratio * bone_jitter
                    * scale[:, None, None])
    thickness = rng.uniform(0.9, 1.1, num) * scale
    return dict(
        scale=scale,
        bases=bases,
        bone_lengths=bone_lengths,
        joint_radii=REFERENCE_JOINT_RADII * thickness[:, None],
        palm_thickness=REFERENCE_PALM_THICKNESS * thickness,
        wrist_width=REFERENCE_WRIST_WIDTH * palm_width * scale,
    )


def sample_pose(rng: np.random.Generator, num: int,
                pose_mix: Optional[Dict[str, float]] = None
                ) -> Dict[str, np.ndarray]:
    """Joint angles (radians) within ``LIMITS``, as a mixture of pose styles.

    ``pose_mix`` maps style names (those of ``POSE_MIX``) to their weights;
    None is ``POSE_MIX``. Missing styles get weight 0.

    Returns a dict: ``flexion`` (N, 5, 3) hinge angles per finger (thumb:
    CMC, MCP, IP; fingers: MCP, PIP, DIP), ``abduction`` (N, 5) MCP
    abduction (thumb entry 0), ``thumb_cmc`` (N, 3) radial abduction,
    palmar abduction, opposition, ``style`` (N,) index into ``POSE_MIX``.
    """
    lim = {k: np.array(v) for k, v in LIMITS.items()}
    styles = list(POSE_MIX)
    mix = POSE_MIX if pose_mix is None else pose_mix
    unknown = sorted(set(mix) - set(styles))
    weights = np.array([float(mix.get(name, 0.0)) for name in styles])
    if unknown or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f'pose_mix must give non-negative weights to the '
                         f'styles {styles}, not all zero; got {mix!r}')
    style = rng.choice(len(styles), num, p=weights / weights.sum())
    is_style = {name: (style == i)[:, None] for i, name in enumerate(styles)}

    def uniform(low: float, high: float,
                shape: Union[int, Tuple[int, ...]] = (num, 4)) -> np.ndarray:
        return rng.uniform(low, high, shape)

    # Uniform within the limits, then each style overrides its own share.
    mcp = uniform(*lim['mcp_flexion'])
    pip = uniform(*lim['pip_flexion'])
    # Fists: every finger strongly flexed.
    mcp = np.where(is_style['fist'], uniform(65, 90), mcp)
    pip = np.where(is_style['fist'], uniform(85, 110), pip)
    # Open hands: nearly straight fingers.
    mcp = np.where(is_style['open'], uniform(-20, 25), mcp)
    pip = np.where(is_style['open'], uniform(0, 25), pip)
    # Pointing / counting: each finger either extended or curled.
    extended = rng.random((num, 4)) < 0.5
    mcp = np.where(is_style['point'],
                   np.where(extended, uniform(-10, 15), uniform(70, 90)), mcp)
    pip = np.where(is_style['point'],
                   np.where(extended, uniform(0, 15), uniform(90, 110)), pip)
    # Pinch: the index flexes to meet the thumb.
    pinch_index = np.stack([uniform(30, 65, num), uniform(30, 80, num)], 1)
    mcp[:, 0] = np.where(is_style['pinch'][:, 0], pinch_index[:, 0], mcp[:, 0])
    pip[:, 0] = np.where(is_style['pinch'][:, 0], pinch_index[:, 1], pip[:, 0])
    dip = np.clip(DIP_PIP_COUPLING * pip + rng.normal(0, 8, (num, 4)),
                  *lim['dip_flexion'])

    spread = rng.uniform(-0.25, 1.0, (num, 1))
    spread = np.where(is_style['fist'], spread * 0.2, spread)
    abduction = (lim['mcp_abduction'][1] * spread * SPREAD_PATTERN[1:]
                 + rng.uniform(-5, 5, (num, 4)))
    # Abduction is restricted when the MCP is flexed (collateral ligaments).
    abduction *= 1.0 - 0.7 * np.clip(mcp, 0, 90) / 90.0
    abduction = np.clip(abduction, *lim['mcp_abduction'])

    def thumb(name: str,
              overrides: Dict[str, Tuple[float, float]]) -> np.ndarray:
        values = rng.uniform(*lim[name], num)
        for style_name, (low, high) in overrides.items():
            values = np.where(is_style[style_name][:, 0],
                              rng.uniform(low, high, num), values)
        return np.clip(values, *lim[name])

    radial = thumb('thumb_radial_abduction', dict(open=(35, 55)))
    palmar = thumb('thumb_palmar_abduction',
                   dict(open=(0, 25), fist=(20, 50), pinch=(35, 60)))
    opposition = thumb('thumb_opposition',
                       dict(open=(40, 60), fist=(60, 95), pinch=(75, 100)))
    cmc = thumb('thumb_cmc_flexion', dict(open=(-10, 5), pinch=(0, 20)))
    thumb_mcp = thumb('thumb_mcp_flexion',
                      dict(open=(0, 15), fist=(30, 60), pinch=(10, 40)))
    thumb_ip = thumb('thumb_ip_flexion',
                     dict(open=(-15, 15), fist=(20, 70), pinch=(0, 35)))

    flexion = np.zeros((num, 5, 3))
    flexion[:, 0] = np.stack([cmc, thumb_mcp, thumb_ip], 1)
    flexion[:, 1:] = np.stack([mcp, pip, dip], 2)
    return dict(
        flexion=flexion * DEG,
        abduction=np.concatenate([np.zeros((num, 1)), abduction], 1) * DEG,
        thumb_cmc=np.stack([radial, palmar, opposition], 1) * DEG,
        style=style,
    )


def sample_view(rng: np.random.Generator, num: int,
                max_view_angle: Optional[float] = None) -> np.ndarray:
    """Rotations (N, 3, 3) from the hand frame to the camera frame.

    None: uniformly random over all rotations (every viewpoint). An angle in
    degrees: the palm or the back (even odds) faces the camera, the palm
    normal within ``max_view_angle`` of the viewing axis (uniform over that
    spherical cap), and the hand turned uniformly about the viewing axis.
    """
    if max_view_angle is None:
        return Rotation.random(num, random_state=rng).as_matrix()
    if not 0 <= max_view_angle <= 90:
        raise ValueError(f'max_view_angle must be None or in [0, 90] '
                         f'degrees, got {max_view_angle!r}')
    cos_tilt = rng.uniform(np.cos(max_view_angle * DEG), 1.0, num)
    azimuth = rng.uniform(0, 2 * np.pi, num)
    roll = rng.uniform(0, 2 * np.pi, num)
    back = rng.random(num) < 0.5  # the palmar normal points away: the back
    tilt_axis = np.stack([-np.sin(azimuth), np.cos(azimuth),
                          np.zeros(num)], 1)
    tilt = Rotation.from_rotvec(tilt_axis * np.arccos(cos_tilt)[:, None])
    # Hand z (palmar) on camera +z shows the back; a half turn about x
    # shows the palm.
    side = Rotation.from_rotvec(np.where(back[:, None], 0.0, np.pi)
                                * np.array([[1.0, 0, 0]]))
    return (tilt * Rotation.from_rotvec(roll[:, None] * np.array([[0, 0,
                                                                    1.0]]))
            * side).as_matrix()


def sample_camera(rng: np.random.Generator, joints: np.ndarray,
                  image_size: Sequence[int],
                  fill_range: Tuple[float, float] = FILL_RANGE,
                  max_view_angle: Optional[float] = None
                  ) -> Dict[str, np.ndarray]:
    """Place ``N`` hands in front of a random pinhole camera.

    Args:
        joints: (N, 21, 3) hand-frame joints (mm).
        image_size: (width, height) in pixels.
        fill_range: range of the keypoint box's longest side as a fraction of
            the shorter image side.
        max_view_angle: see :func:`sample_view`.

    Returns a dict: ``rotation`` (N, 3, 3) and ``translation`` (N, 3) mapping
    hand frame to camera frame (x right, y down, z forward, mm), ``cam_K``
    (N, 3, 3), ``fill`` (N,) the target fill.
    """
    num = joints.shape[0]
    width, height = image_size
    side = min(width, height)
    fov = rng.uniform(*FOV_RANGE, num) * DEG
    focal = 0.5 * side / np.tan(0.5 * fov)
    centre = (np.array([width - 1.0, height - 1.0]) / 2
              + rng.uniform(-0.02, 0.02, (num, 2)) * side)
    cam_K = np.zeros((num, 3, 3))
    cam_K[:, 0, 0] = cam_K[:, 1, 1] = focal
    cam_K[:, :2, 2] = centre
    cam_K[:, 2, 2] = 1.0

    rotation = sample_view(rng, num, max_view_angle)
    fill = rng.uniform(*fill_range, num)
    target = (np.array([width - 1.0, height - 1.0]) / 2
              + rng.uniform(-MAX_CENTRE_OFFSET, MAX_CENTRE_OFFSET, (num, 2))
              * side)

    box_centre = (joints.min(1) + joints.max(1)) / 2
    rotated = np.einsum('nij,nkj->nki', rotation, joints - box_centre[:, None])
    nearest = NEAR_PLANE_MM + 30.0 - rotated[..., 2].min(1)

    def box(distance: np.ndarray,
            ray: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Projected keypoint box with the hand centre at distance * ray."""
        points = rotated + (distance[:, None] * ray)[:, None]
        pixels = (points[..., :2] / points[..., 2:]) * focal[:, None, None] \
            + centre[:, None]
        return pixels.min(1), pixels.max(1)

    def fit_distance(ray: np.ndarray) -> np.ndarray:
        """Bisect (in log space) the distance where the box spans the fill."""
        near, far = nearest.copy(), nearest * 100.0
        for _ in range(BISECTION_STEPS):
            middle = np.sqrt(near * far)
            low, high = box(middle, ray)
            too_big = (high - low).max(1) > fill * side
            near = np.where(too_big, middle, near)
            far = np.where(too_big, far, middle)
        return np.sqrt(near * far)

    # The hand centre moves along a ray from the camera; the box shrinks
    # monotonically with the distance along it. Fit the distance, turn the
    # ray toward the target centre, fit again: the fill is met exactly and
    # the centre closely.
    ray = np.zeros((num, 3))
    ray[:, 2] = 1.0
    distance = fit_distance(ray)
    for _ in range(CAMERA_FIT_STEPS):
        low, high = box(distance, ray)
        ray[:, :2] += (target - (low + high) / 2) / focal[:, None]
        distance = fit_distance(ray)
    translation = distance[:, None] * ray
    translation -= np.einsum('nij,nj->ni', rotation, box_centre)
    return dict(rotation=rotation, translation=translation, cam_K=cam_K,
                fill=fill)



def sample_hands(rng: np.random.Generator, num: int,
                 image_size: Sequence[int],
                 fill_range: Tuple[float, float] = FILL_RANGE,
                 left_ratio: float = 0.5,
                 pose_mix: Optional[Dict[str, float]] = None,
                 max_view_angle: Optional[float] = None) -> dict:
    """Sample ``num`` complete hands seen by their cameras.

    Returns a dict of camera-frame quantities (mm unless stated):
        keypoints_3d (N, 21, 3), cam_K (N, 3, 3), joint_radii (N, 21),
        bone_radii (N, 20, 2) radius at the parent and child end of each limb
        of ``handkit.skeleton.LIMBS``, palm_thickness (N,), wrist_width (N,),
        palm_normal (N, 3) unit, palmar side, bone_frames (N, 5, 3, 3, 3)
        segment rotations in the camera frame, hand_axes (N, 3, 3) the hand
        frame's axes in the camera frame (columns x, y, z), forearm_axis (N, 3)
        unit, from the wrist toward the elbow, is_left (N,) bool (column 0
        of hand_axes points radially, toward the thumb, for both hands), plus
        the sampled ``pose``, ``shape`` and target ``fill``.

    ``left_ratio`` is the chance of a left hand (a mirrored right hand);
    the random draws are the same for any value, so a seed gives the same
    hand but for its side. ``pose_mix`` weighs the pose styles
    (:func:`sample_pose`), ``max_view_angle`` limits the viewpoints
    (:func:`sample_view`).
    """
    shape = sample_shape(rng, num)
    pose = sample_pose(rng, num, pose_mix)
    joints, frames = forward_kinematics(shape, pose)
    # Wrist flexion / deviation orient the forearm relative to the hand.
    wrist_flexion = rng.uniform(-60, 60, num) * DEG
    wrist_deviation = rng.uniform(-20, 20, num) * DEG
    forearm_axis = (rot_z(wrist_deviation) @ rot_x(wrist_flexion)
                    @ np.array([0.0, -1.0, 0.0]))
    is_left = rng.random(num) < left_ratio
    mirror = np.where(is_left, -1.0, 1.0)
    # A left hand is the mirror image of a right hand in the hand's x axis.
    joints[..., 0] *= mirror[:, None]
    frames[..., 0, :] *= mirror[:, None, None, None]
    forearm_axis[:, 0] *= mirror
    camera = sample_camera(rng, joints, image_size, fill_range,
                           max_view_angle)
    rotation, translation = camera['rotation'], camera['translation']

    keypoints_3d = (np.einsum('nij,nkj->nki', rotation, joints)
                    + translation[:, None])
    hand_axes = rotation.copy()
    hand_axes[..., 0] *= mirror[:, None]  # column 0: the radial direction
    joint_radii = shape['joint_radii']
    return dict(
        keypoints_3d=keypoints_3d,
        cam_K=camera['cam_K'],
        joint_radii=joint_radii,
        bone_radii=joint_radii[:, LIMBS],
        palm_thickness=shape['palm_thickness'],
        wrist_width=shape['wrist_width'],
        palm_normal=rotation[..., 2],
        bone_frames=np.einsum('nij,nfsjk->nfsik', rotation, frames),
        hand_axes=hand_axes,
        forearm_axis=np.einsum('nij,nj->ni', rotation, forearm_axis),
        is_left=is_left,
        pose=pose,
        shape=shape,
        fill=camera['fill'],
    )

