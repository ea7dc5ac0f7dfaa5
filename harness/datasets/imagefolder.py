"""Any folder of images, one sub-folder per class: ``ROOT/<class>/*``.

``ROOT/{train,test}/<class>/*`` gives the split; otherwise a fixed stratified 80/20 split
(seed 0). Every image is converted to RGB or grayscale (16-bit, palette, alpha and CMYK as
``harness.datasets.folders`` documents) and resized to ``image_size`` (bilinear), so a folder
may mix sizes and modes. With ``crop_size``, ImageNet's evaluation preprocessing instead: the
shorter side resized to ``image_size`` (aspect kept), then the centre ``crop_size`` square.
"""

from __future__ import annotations

from harness.datasets.base import DATASETS, Dataset, reads
from harness.datasets.folders import ImageFormat, class_folders, read_split
from harness.datasets.paths import dataset_root
from harness.datasets.subset import fixed_test_split
from harness.spec import DataSpec

DEFAULT_SIZE = 32  # pixels, when spec.image_size is None
LAYOUT = "class folders ROOT/<class>/*.{png,jpg,jpeg,bmp,webp} or ROOT/{train,test}/<class>/*"


def _format(spec: DataSpec) -> ImageFormat:
    mode = "L" if spec.channels == 1 else "RGB"  # channels None -> RGB
    size = spec.image_size or DEFAULT_SIZE
    return ImageFormat(mode=mode, size=size, resize=True, crop=spec.crop_size)


@DATASETS.register("imagefolder")
@reads("root", "image_size", "crop_size", "channels")
def load_imagefolder(spec: DataSpec) -> Dataset:
    """x (N, channels, S, S), S = crop_size or image_size; class names = sorted folder names."""
    root, fmt = dataset_root(spec, LAYOUT), _format(spec)
    train, test = root / "train", root / "test"
    if train.is_dir() and test.is_dir():
        classes = tuple(class_folders(train, LAYOUT))
        x_tr, y_tr = read_split(train, classes, fmt, LAYOUT)
        x_te, y_te = read_split(test, classes, fmt, LAYOUT)
    else:
        classes = tuple(class_folders(root, LAYOUT))
        x_tr, y_tr, x_te, y_te = fixed_test_split(*read_split(root, classes, fmt, LAYOUT))
    return Dataset(spec.name, classes, x_tr, y_tr, x_te, y_te, source=str(root))
