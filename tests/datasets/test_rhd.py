"""RHDDataset on a tiny annotation pickle in RHD's format."""
import pickle

import numpy as np
import pytest

from handkit.datasets.base import AnnotationError, DataRootNotFoundError
from handkit.datasets.rhd import RHDDataset
from handkit.geometry import project_points

K = np.array([[280.0, 0.0, 160.0], [0.0, 281.0, 158.0], [0.0, 0.0, 1.0]])
# RHD, per hand: wrist, then each finger tip -> MCP; tips at 1, 5, 9, 13, 17.
RHD_TIPS = np.array([1, 5, 9, 13, 17])
RHD_MCPS = np.array([4, 8, 12, 16, 20])
HANDKIT_TIPS = np.array([4, 8, 12, 16, 20])
HANDKIT_MCPS = np.array([1, 5, 9, 13, 17])


def _sample(seed, visible_left, visible_right):
    """One RHD record with the given number of visible keypoints per hand."""
    rng = np.random.default_rng(seed)
    xyz = np.empty((42, 3))
    xyz[:, :2] = rng.uniform(-0.1, 0.1, (42, 2))
    xyz[:, 2] = rng.uniform(0.4, 0.8, 42)  # metres
    # Known tips and MCPs, in file order, on both hands.
    for hand in (0, 21):
        xyz[hand + RHD_TIPS] = [[0.01 * f, 0.02, 0.5 + 0.01 * f]
                                for f in range(1, 6)]
        xyz[hand + RHD_MCPS] = [[-0.01 * f, 0.03, 0.6] for f in range(1, 6)]
    uvw = xyz @ K.T
    visible = np.zeros(42)
    visible[:visible_left] = 1
    visible[21:21 + visible_right] = 1
    uv_vis = np.concatenate([uvw[:, :2] / uvw[:, 2:], visible[:, None]], 1)
    return dict(uv_vis=uv_vis.astype(np.float32),
                xyz=xyz.astype(np.float32), K=K.astype(np.float32))


def _write(root, annotations, split_folder='evaluation'):
    folder = root / split_folder
    (folder / 'color').mkdir(parents=True)
    with open(folder / f'anno_{split_folder}.pickle', 'wb') as file:
        pickle.dump(annotations, file)


def _three_samples():
    return {0: _sample(0, 15, 10), 1: _sample(1, 5, 18), 2: _sample(2, 7, 7)}


def test_count_shapes_and_auto_hand_choice(tmp_path):
    _write(tmp_path, _three_samples())
    dataset = RHDDataset(str(tmp_path), split='test')
    assert len(dataset) == 3
    sides = [dataset.get_data_info(i)['hand_side'] for i in range(3)]
    assert sides == ['left', 'right', 'right']  # a tie goes right
    info = dataset.get_data_info(1)
    assert info['img_path'].endswith('evaluation/color/00001.png')
    assert info['img_id'] == 1
    assert info['keypoints'].shape == (21, 2)
    assert info['keypoints_3d'].shape == (21, 3)
    assert info['keypoints_visible'].dtype == np.float32
    assert info['keypoints_visible'].sum() == 18
    assert info['img_shape'] == (320, 320)


def test_finger_tips_land_at_handkit_indices_in_mm(tmp_path):
    annotations = _three_samples()
    _write(tmp_path, annotations)
    for hands, offset in (('left', 0), ('right', 21)):
        info = RHDDataset(str(tmp_path), split='test',
                          hands=hands).get_data_info(0)
        xyz = annotations[0]['xyz']
        np.testing.assert_allclose(info['keypoints_3d'][HANDKIT_TIPS],
                                   xyz[offset + RHD_TIPS] * 1000, rtol=1e-6)
        np.testing.assert_allclose(info['keypoints_3d'][HANDKIT_MCPS],
                                   xyz[offset + RHD_MCPS] * 1000, rtol=1e-6)
        np.testing.assert_allclose(info['keypoints_3d'][0],
                                   xyz[offset] * 1000, rtol=1e-6)
        np.testing.assert_allclose(
            info['keypoints'][HANDKIT_TIPS],
            annotations[0]['uv_vis'][offset + RHD_TIPS, :2])
        assert info['hand_side'] == hands
    # Thumb tip (0.01, 0.02, 0.51) m -> (10, 20, 510) mm at handkit index 4.
    np.testing.assert_allclose(info['keypoints_3d'][4], [10.0, 20.0, 510.0],
                               rtol=1e-6)


def test_visible_flags_follow_the_reordering(tmp_path):
    _write(tmp_path, _three_samples())
    # Sample 0, left hand: file keypoints 0-14 visible: the wrist, thumb,
    # index, middle, and the ring tip (13) and DIP (14), which are handkit's
    # ring DIP (15) and tip (16); ring MCP, PIP and the little finger not.
    info = RHDDataset(str(tmp_path), split='test').get_data_info(0)
    expected = np.ones(21)
    expected[[13, 14, 17, 18, 19, 20]] = 0
    np.testing.assert_array_equal(info['keypoints_visible'], expected)
    visible = info['keypoints'][expected > 0]
    np.testing.assert_allclose(info['bbox'][:2], visible.min(0))
    np.testing.assert_allclose(info['bbox'][2:], visible.max(0))


def test_projecting_keypoints_3d_gives_stored_uv(tmp_path):
    _write(tmp_path, _three_samples())
    dataset = RHDDataset(str(tmp_path), split='test')
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        np.testing.assert_allclose(
            project_points(info['keypoints_3d'], info['cam_K']),
            info['keypoints'], atol=1e-2)


def test_train_split_reads_training_folder(tmp_path):
    _write(tmp_path, {5: _sample(5, 21, 0)}, split_folder='training')
    info = RHDDataset(str(tmp_path), split='train').get_data_info(0)
    assert info['img_path'].endswith('training/color/00005.png')


def test_record_without_xyz_names_file_sample_and_key(tmp_path):
    annotations = _three_samples()
    del annotations[2]['xyz']
    _write(tmp_path, annotations)
    with pytest.raises(AnnotationError,
                       match=r"anno_evaluation\.pickle sample 2: no key "
                       r"'xyz'"):
        RHDDataset(str(tmp_path), split='test')


def test_uv_vis_of_wrong_shape_names_the_shape(tmp_path):
    annotations = _three_samples()
    annotations[1]['uv_vis'] = annotations[1]['uv_vis'][:21]
    _write(tmp_path, annotations)
    with pytest.raises(AnnotationError,
                       match=r"sample 1: 'uv_vis' must be \(42, 3\), got "
                       r'\(21, 3\)'):
        RHDDataset(str(tmp_path), split='test')


def test_missing_pickle_and_bad_hands(tmp_path):
    (tmp_path / 'evaluation').mkdir()
    with pytest.raises(DataRootNotFoundError, match='anno_evaluation.pickle'):
        RHDDataset(str(tmp_path), split='test')
    with pytest.raises(ValueError, match='hands must be one of'):
        RHDDataset(str(tmp_path), hands='both')


def test_with_masks_reads_both_hands_of_the_part_labels(tmp_path):
    import cv2
    from handkit.datasets.transforms import LoadImage
    _write(tmp_path, {0: _sample(0, 15, 10)})
    folder = tmp_path / 'evaluation'
    cv2.imwrite(str(folder / 'color' / '00000.png'),
                np.zeros((320, 320, 3), np.uint8))
    with pytest.raises(DataRootNotFoundError, match='mask folder'):
        RHDDataset(str(tmp_path), split='test', with_masks=True)
    (folder / 'mask').mkdir()
    parts = np.zeros((320, 320), np.uint8)
    parts[:10] = 1  # the person: not hand
    parts[100:110, 100:120] = 5  # a left-hand part
    parts[200:204, 50:60] = 30  # a right-hand part
    cv2.imwrite(str(folder / 'mask' / '00000.png'), parts)
    info = RHDDataset(str(tmp_path), split='test',
                      with_masks=True).get_data_info(0)
    assert info['mask_path'].endswith('evaluation/mask/00000.png')
    mask = LoadImage()(dict(info))['hand_mask']
    assert mask.dtype == bool and mask.sum() == 10 * 20 + 4 * 10
    assert not mask[:10].any()


def _write_rhd_depth(path, red, green):
    """An RHD depth PNG as released: 8-bit, 3 channels, the top 8 bits in
    red, the bottom 8 in green (cv2 writes BGR)."""
    import cv2
    image = np.zeros(np.shape(red) + (3, ), np.uint8)
    image[..., 2] = red
    image[..., 1] = green
    assert cv2.imwrite(str(path), image)


def test_rhd_depth_png_decodes_red_high_green_low_over_5_m(tmp_path):
    import cv2
    from handkit.datasets.utils import read_rhd_depth
    red = np.array([[0, 1, 0], [255, 10, 2]])
    green = np.array([[0, 0, 1], [255, 20, 3]])
    _write_rhd_depth(tmp_path / 'depth.png', red, green)
    expected = np.array([[0.0, 256 / 65535 * 5000, 1 / 65535 * 5000],
                         [5000.0, 2580 / 65535 * 5000, 515 / 65535 * 5000]])
    depth = read_rhd_depth(str(tmp_path / 'depth.png'))
    assert depth.dtype == np.float32 and depth.shape == (2, 3)
    np.testing.assert_allclose(depth, expected, rtol=1e-6)
    np.testing.assert_allclose(depth[0, 1], 19.5315, atol=1e-4)  # R=1: mm
    # the mask's background (label 0) becomes 0 mm; person and hands stay
    mask = np.array([[0, 1, 0], [0, 5, 30]], np.uint8)
    cv2.imwrite(str(tmp_path / 'mask.png'), mask)
    masked = read_rhd_depth(str(tmp_path / 'depth.png'),
                            str(tmp_path / 'mask.png'))
    np.testing.assert_allclose(masked, np.where(mask > 0, expected, 0.0),
                               rtol=1e-6)
    with pytest.raises(FileNotFoundError,
                       match=r'^RHD depth image not found: .*none\.png$'):
        read_rhd_depth(str(tmp_path / 'none.png'))
    cv2.imwrite(str(tmp_path / 'grey.png'), np.zeros((2, 3), np.uint16))
    with pytest.raises(ValueError, match=r'grey\.png: an RHD depth image is '
                       r'an 8-bit 3-channel PNG \(depth = \(R \* 256 \+ G\) '
                       r'/ 65535 \* 5 m\), found uint16 with 1 channel'):
        read_rhd_depth(str(tmp_path / 'grey.png'))
    cv2.imwrite(str(tmp_path / 'colour.png'), np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"colour\.png: an RHD mask is a "
                       r"one-channel label image of its depth image's 3 x 2 "
                       r'pixels, found shape \(2, 3, 3\)'):
        read_rhd_depth(str(tmp_path / 'depth.png'),
                       str(tmp_path / 'colour.png'))


def write_rhd_with_depth(root, split_folder='evaluation'):
    """One RHD sample with its colour image, mask and depth PNGs: the
    background (mask 0) 5 m away, the person (1) at R=10, G=0 (781.2 mm),
    the hands' parts at R=8, G=0 (625.0 mm)."""
    import cv2
    _write(root, {0: _sample(0, 15, 10)}, split_folder)
    folder = root / split_folder
    cv2.imwrite(str(folder / 'color' / '00000.png'),
                np.zeros((320, 320, 3), np.uint8))
    for kind in ('mask', 'depth'):
        (folder / kind).mkdir()
    parts = np.zeros((320, 320), np.uint8)
    parts[:, 200:] = 1  # the person
    parts[100:200, 100:200] = 5  # a left-hand part
    cv2.imwrite(str(folder / 'mask' / '00000.png'), parts)
    red = np.select([parts == 0, parts == 1], [255, 10], 8)
    green = np.where(parts == 0, 255, 0)
    _write_rhd_depth(folder / 'depth' / '00000.png', red, green)
    return parts


def test_with_depth_gives_the_depth_and_its_background_mask(tmp_path):
    from handkit.datasets.transforms import LoadImage, LoadRHDDepth
    parts = write_rhd_with_depth(tmp_path)
    plain = RHDDataset(str(tmp_path), split='test').get_data_info(0)
    assert 'depth_path' not in plain and 'segmentation_path' not in plain
    info = RHDDataset(str(tmp_path), split='test',
                      with_depth=True).get_data_info(0)
    assert info['depth_path'].endswith('evaluation/depth/00000.png')
    assert info['segmentation_path'].endswith('evaluation/mask/00000.png')
    assert 'mask_path' not in info  # no hand-mask target
    results = LoadRHDDepth()(LoadImage()(dict(info)))
    depth = results['depth']
    assert depth.dtype == np.float32 and depth.shape == (320, 320)
    assert 'hand_mask' not in results
    np.testing.assert_array_equal(depth[parts == 0], 0.0)
    np.testing.assert_allclose(depth[parts == 1], 2560 / 65535 * 5000,
                               rtol=1e-6)
    np.testing.assert_allclose(depth[parts == 5], 2048 / 65535 * 5000,
                               rtol=1e-6)


def test_with_depth_names_the_missing_folder_or_file(tmp_path):
    from handkit.datasets.transforms import LoadRHDDepth
    write_rhd_with_depth(tmp_path)
    folder = tmp_path / 'evaluation'
    (folder / 'depth' / '00000.png').rename(folder / 'depth.png')
    with pytest.raises(DataRootNotFoundError,
                       match=r'RHDDataset: depth file not found: .*'
                       r'evaluation/depth/00000\.png'):
        RHDDataset(str(tmp_path), split='test', with_depth=True)
    (folder / 'depth').rmdir()
    with pytest.raises(DataRootNotFoundError, match='depth folder not found'):
        RHDDataset(str(tmp_path), split='test', with_depth=True)
    (folder / 'depth').mkdir()
    (folder / 'depth.png').rename(folder / 'depth' / '00000.png')
    (folder / 'mask' / '00000.png').unlink()
    with pytest.raises(DataRootNotFoundError, match='mask file not found'):
        RHDDataset(str(tmp_path), split='test', with_depth=True)
    with pytest.raises(KeyError, match=r"LoadRHDDepth: sample 0 has no "
                       r"'depth_path' \(use RHDDataset\(with_depth=True\)\)"):
        LoadRHDDepth()(dict(img_id=0))
    with pytest.raises(FileNotFoundError, match=r'^LoadRHDDepth: depth image '
                       r'not found: .*none\.png$'):
        LoadRHDDepth()(dict(img_id=0, depth_path=str(tmp_path / 'none.png')))
    with pytest.raises(KeyError, match=r"LoadRHDDepth: sample 0 has no "
                       r"'segmentation_path' \(RHD's mask, which tells the "
                       r"depth's background; use RHDDataset\(with_depth="
                       r'True\)\)'):
        LoadRHDDepth()(dict(img_id=0, depth_path=str(
            folder / 'depth' / '00000.png')))


def test_palm_center_root_puts_the_palm_in_joint_0(tmp_path):
    annotations = {0: _sample(0, 0, 0), 1: _sample(1, 0, 0)}
    annotations[1]['uv_vis'][[21 + 12], 2] = 1  # the right middle MCP only
    _write(tmp_path, annotations)
    wrist = RHDDataset(str(tmp_path), split='test', hands='right')
    palm = RHDDataset(str(tmp_path), split='test', hands='right',
                      root_joint='palm_center')
    assert 'root_joint' not in wrist.metainfo
    assert palm.metainfo['root_joint'] == 'palm_center'  # as STB's
    for index in range(2):
        before, after = wrist.get_data_info(index), palm.get_data_info(index)
        for key in ('keypoints', 'keypoints_3d'):
            np.testing.assert_allclose(
                after[key][0], 0.5 * (before[key][0] + before[key][9]),
                rtol=1e-6)
            np.testing.assert_array_equal(after[key][1:], before[key][1:])
    # labelled when the wrist or the middle MCP is
    assert palm.get_data_info(0)['keypoints_visible'][0] == 0.0
    assert palm.get_data_info(1)['keypoints_visible'][0] == 1.0
    assert wrist.get_data_info(1)['keypoints_visible'][0] == 0.0
    with pytest.raises(ValueError, match='root_joint must be one of'):
        RHDDataset(str(tmp_path), split='test', root_joint='palm')


class _WritesAMarker:
    """A pickled object whose loading would create ``path`` (os.system)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.path}', )


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_annotation_pickle_of_arrays_loads_at_every_protocol(tmp_path,
                                                              protocol):
    """The release's file holds dicts of numpy arrays (protocol 2): read as
    data, it gives the same samples as before."""
    folder = tmp_path / 'evaluation'
    (folder / 'color').mkdir(parents=True)
    annotations = _three_samples()
    with open(folder / 'anno_evaluation.pickle', 'wb') as file:
        pickle.dump(annotations, file, protocol=protocol)
    info = RHDDataset(str(tmp_path), split='test').get_data_info(2)
    np.testing.assert_allclose(info['keypoints_3d'][4],
                               annotations[2]['xyz'][21 + 1] * 1000,
                               rtol=1e-6)


def test_a_pickled_payload_is_refused_in_one_line_and_never_runs(tmp_path):
    from handkit.fileio import UnsafeFileError
    marker = tmp_path / 'marker'
    annotations = _three_samples()
    annotations[1]['K'] = _WritesAMarker(marker)
    _write(tmp_path, annotations)
    path = tmp_path / 'evaluation' / 'anno_evaluation.pickle'
    with pytest.raises(UnsafeFileError) as error:
        RHDDataset(str(tmp_path), split='test')
    assert str(error.value) == (
        f'refused {path}: it holds the Python object posix.system, which '
        'this file never contains and whose loading could run code; '
        'nothing in it was executed')
    assert not marker.exists()


def test_a_truncated_pickle_is_an_annotation_error(tmp_path):
    _write(tmp_path, _three_samples())
    path = tmp_path / 'evaluation' / 'anno_evaluation.pickle'
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(AnnotationError,
                       match=rf'^{path} is not a readable pickle \('):
        RHDDataset(str(tmp_path), split='test')


def test_train_on_a_payload_pickle_exits_2_before_anything_runs(tmp_path,
                                                                capsys):
    """tools/train.py configs/zimmermann/handsegnet_rhd.py on a crafted
    annotation file: one line, exit 2, no marker, no work dir."""
    from pathlib import Path

    from handkit.tools import train
    from tiny_setup import exit_code
    marker = tmp_path / 'marker'
    for split in ('training', 'evaluation'):
        annotations = {0: _sample(0, 21, 0)}
        annotations[0]['uv_vis'] = _WritesAMarker(marker)
        _write(tmp_path / 'rhd', annotations, split_folder=split)
    config = (Path(__file__).resolve().parents[2] / 'configs' / 'zimmermann'
              / 'handsegnet_rhd.py')
    work = tmp_path / 'work'
    assert exit_code(train.main, [
        str(config), '--work-dir', str(work), '--cfg-options',
        f'train_dataloader.dataset.data_root={tmp_path / "rhd"}',
        f'val_dataloader.dataset.data_root={tmp_path / "rhd"}']) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f'handkit: error: refused '
        f'{tmp_path / "rhd" / "training" / "anno_training.pickle"}: it holds '
        'the Python object posix.system, which this file never contains and '
        'whose loading could run code; nothing in it was executed')
    assert not marker.exists() and not work.exists()


def _write_masks(root, pixels, split_folder='evaluation'):
    """<set>/mask/<id>.png: ``pixels[id] = (left, right)`` pixels of the
    hand-part labels 2-17 and 18-33, 1 (the person) elsewhere in part."""
    import cv2
    folder = root / split_folder / 'mask'
    folder.mkdir(parents=True, exist_ok=True)
    for sample_id, (left, right) in pixels.items():
        mask = np.zeros((320, 320), np.uint8)
        mask[:40] = 1
        flat = mask.reshape(-1)
        flat[100 * 320:100 * 320 + left] = 2 + np.arange(left) % 16
        start = 200 * 320
        flat[start:start + right] = 18 + np.arange(right) % 16
        assert cv2.imwrite(str(folder / f'{sample_id:05d}.png'), mask)


def _official_hand_choice(mask, uv_vis):
    """hand3d data/BinaryDbReader.py:213-233: left pixels are labels
    2-17 (> 1 and < 18), right pixels labels >= 18; the left hand only
    when it has strictly more pixels ("hand_side" 0), else the right."""
    left = np.sum((mask > 1) & (mask < 18))
    right = np.sum(mask > 17)
    return 'left' if left > right else 'right'


def test_mask_pixel_hand_choice_is_their_readers(tmp_path):
    import cv2
    # visible keypoints say left, right, right; the masks say right, left
    # and (a tie) right
    _write(tmp_path, _three_samples())
    _write_masks(tmp_path, {0: (50, 900), 1: (700, 20), 2: (300, 300)})
    expected = []
    for sample_id in range(3):
        mask = cv2.imread(str(tmp_path / 'evaluation' / 'mask' /
                              f'{sample_id:05d}.png'), cv2.IMREAD_UNCHANGED)
        expected.append(_official_hand_choice(mask, None))
    assert expected == ['right', 'left', 'right']
    for hands in ('mask_pixels', 'auto'):
        dataset = RHDDataset(str(tmp_path), split='test', hands=hands)
        assert [dataset.get_data_info(i)['hand_side']
                for i in range(3)] == expected
        assert dataset.hand_choice == 'mask_pixels'
    # the chosen hand's labels come with it
    info = RHDDataset(str(tmp_path), split='test',
                      hands='mask_pixels').get_data_info(1)
    assert info['keypoints_visible'].sum() == 5  # sample 1: left has 5
    old = RHDDataset(str(tmp_path), split='test', hands='visible_keypoints')
    assert [old.get_data_info(i)['hand_side'] for i in range(3)] == [
        'left', 'right', 'right']
    assert old.hand_choice == 'visible_keypoints'


def test_mask_pixel_hand_choice_needs_the_masks(tmp_path):
    _write(tmp_path, _three_samples())
    with pytest.raises(DataRootNotFoundError, match='mask'):
        RHDDataset(str(tmp_path), split='test', hands='mask_pixels')
    # 'auto' without masks falls back to the visible keypoints, and says so
    dataset = RHDDataset(str(tmp_path), split='test')
    assert dataset.hand_choice == 'visible_keypoints'
