"""Photometric transforms: colour jitter of the uint8 BGR input (train only).

Pipeline step 5 of docs/architecture.md. The NSRM paper states no colour
augmentation; this is the usual brightness / contrast / saturation / hue
jitter of CPM-style training, done whole-image with OpenCV.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from handkit.registry import TRANSFORMS

# ITU-R BT.601 luma weights in BGR order (those of cv2.COLOR_BGR2GRAY).
_LUMA_BGR = np.array([0.114, 0.587, 0.299], dtype=np.float32)



def _uniform(low, high):
    # A Python float keeps float32 arrays float32 under NumPy 2 promotion
    # (a np.float64 scalar would promote them to float64, which cvtColor
    # refuses).
    return float(np.random.uniform(low, high))


@TRANSFORMS.register_module()
class PhotometricJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue of ``img``.

    With probability ``prob``, in this order, each part whose strength is
    non-zero:

    * brightness: every channel times ``b ~ U[1 - brightness, 1 + brightness]``
      (scales HSV value, keeps hue and saturation);
    * contrast: ``(img - m) * c + m`` with
      ``c ~ U[1 - contrast, 1 + contrast]`` and ``m`` the mean grey level of
      the image;
    * saturation: HSV saturation times ``s ~ U[1 - saturation,
      1 + saturation]``;
    * hue: HSV hue shifted by ``h ~ U[-hue, hue]`` of the full hue circle.

    Computed in float32 (OpenCV's float HSV: hue in degrees), then rounded
    and clipped back to uint8 of the same shape. All strengths 0 is the
    identity. Random numbers come from ``np.random``.

    Args:
        brightness, contrast, saturation: strengths in [0, 1].
        hue: strength in [0, 0.5], a fraction of the hue circle.
        prob: probability of jittering an image at all.
    """

    def __init__(self, brightness: float = 0.2, contrast: float = 0.2,
                 saturation: float = 0.2, hue: float = 0.05,
                 prob: float = 1.0) -> None:
        super().__init__()
        for name, value, high in (('brightness', brightness, 1.0),
                                  ('contrast', contrast, 1.0),
                                  ('saturation', saturation, 1.0),
                                  ('hue', hue, 0.5), ('prob', prob, 1.0)):
            if not 0 <= value <= high:
                raise ValueError(f'PhotometricJitter: {name} must be in '
                                 f'[0, {high}], got {value!r}')
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.prob = prob

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'PhotometricJitter: img must be uint8 (H, W, 3) '
                             f'BGR, got {img.dtype} {img.shape}')
        if not (self.brightness or self.contrast or self.saturation
                or self.hue) or np.random.rand() >= self.prob:
            return results
        bgr = img.astype(np.float32)
        if self.brightness:
            bgr *= _uniform(1 - self.brightness, 1 + self.brightness)
        if self.contrast:
            factor = _uniform(1 - self.contrast, 1 + self.contrast)
            mean_grey = float((bgr @ _LUMA_BGR).mean())
            bgr = (bgr - mean_grey) * factor + mean_grey
        if self.saturation or self.hue:
            # Float HSV wants BGR in [0, 1]: hue [0, 360), saturation [0, 1].
            hsv = cv2.cvtColor(np.clip(bgr, 0, 255) / 255, cv2.COLOR_BGR2HSV)
            if self.saturation:
                hsv[..., 1] = np.clip(
                    hsv[..., 1] * _uniform(1 - self.saturation,
                                           1 + self.saturation),
                    0, 1)
            if self.hue:
                hsv[..., 0] = np.mod(
                    hsv[..., 0] + 360 * _uniform(-self.hue, self.hue),
                    360)
            bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255
        results['img'] = np.clip(np.rint(bgr), 0, 255).astype(np.uint8)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')
