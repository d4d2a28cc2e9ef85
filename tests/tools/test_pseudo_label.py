"""tools/pseudo_label.py: MediaPipe Hands labels a folder of photos in a
COCO-style file that handkit's COCO adapter reads (needs the converted
models: `python tools/convert_mediapipe.py`)."""
import json
import shutil
from pathlib import Path

import numpy as np

from handkit.datasets.coco import CocoHandDataset
from handkit.tools import pseudo_label
from tiny_setup import exit_code

ROOT = Path(__file__).resolve().parents[2]
ONEHAND = ROOT / 'tests' / 'data' / 'onehand10k_coco'


def _photos(tmp_path):
    folder = tmp_path / 'photos'
    folder.mkdir()
    for path in ONEHAND.glob('*.jpg'):
        shutil.copy(path, folder / path.name)
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_labels_are_coco_the_adapter_reads_and_near_the_truth(tmp_path,
                                                              capsys):
    folder = _photos(tmp_path)
    out = tmp_path / 'labels.json'
    assert exit_code(pseudo_label.main, [folder, '--out', out]) == 0
    printed = capsys.readouterr().out
    assert f"skipped {folder / 'notes.txt'}: cannot decode image" in printed
    assert '4 images, 4 hands kept, 0 below --min-score 0.7, 1 files ' \
        'skipped' in printed
    labels = json.loads(out.read_text())
    assert sorted(image['file_name'] for image in labels['images']) == \
        sorted(path.name for path in ONEHAND.glob('*.jpg'))
    annotation = labels['annotations'][0]
    assert len(annotation['keypoints']) == 63
    assert annotation['handedness'] in ('left', 'right')
    assert 0.7 <= annotation['score'] <= 1.0
    dataset = CocoHandDataset(ann_file=str(out),
                              data_prefix=dict(img=str(folder)))
    truth = CocoHandDataset(ann_file=str(ONEHAND / 'test_onehand10k.json'),
                            data_prefix=dict(img=str(ONEHAND)))
    by_name = {Path(truth.get_data_info(i)['img_path']).name:
               truth.get_data_info(i) for i in range(len(truth))}
    assert len(dataset) == 4
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        true = by_name[Path(info['img_path']).name]
        visible = true['keypoints_visible'] > 0
        box = true['keypoints'][visible]
        size = (box.max(0) - box.min(0)).max()
        error = np.linalg.norm(info['keypoints'] - true['keypoints'],
                               axis=-1)[visible]
        # PCK@0.2 of the keypoint box (measured: 1.0 on each photo)
        assert (error <= 0.2 * size).mean() >= 0.9, info['img_path']


def test_min_score_drops_hands_and_out_is_never_replaced(tmp_path, capsys):
    folder = _photos(tmp_path)
    out = tmp_path / 'labels.json'
    out.write_text('earlier labels')
    assert exit_code(pseudo_label.main, [folder, '--out', out]) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: --out {out} exists; pass --overwrite to replace '
        'it, or choose another --out')
    assert out.read_text() == 'earlier labels'
    assert exit_code(pseudo_label.main, [
        folder, '--out', out, '--overwrite', '--min-score', '1.0']) == 0
    labels = json.loads(out.read_text())
    assert len(labels['images']) == 4 and labels['annotations'] == []
    assert '0 hands kept, 4 below --min-score 1.0' in capsys.readouterr().out
    image = folder / '9.jpg'
    assert exit_code(pseudo_label.main, [folder, '--out', image,
                                         '--overwrite']) == 2
    assert capsys.readouterr().err.strip() == (
        f'handkit: error: the output {image} would overwrite the input '
        f'{image}; choose another --out')
