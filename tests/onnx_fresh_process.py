"""Predict masks with an exported synthlab ONNX file in a fresh interpreter that must not import torch or fastai.

    python tests/onnx_fresh_process.py model.onnx out.npz img1.png img2.png ...

Writes one mask per image (`m0`, `m1`, ...) to `out.npz` and a JSON line with the modules that were loaded.
"""
import json, sys
import numpy as np
from synthlab.infer import OnnxSegmenter

if __name__ == '__main__':
    fname, out, *imgs = sys.argv[1:]
    seg = OnnxSegmenter(fname, n_threads=1)
    masks = [seg.predict(f) for f in imgs]
    raw = [seg.predict(open(f, 'rb').read()) for f in imgs]  # encoded bytes give the same masks
    assert all((a == b).all() for a, b in zip(masks, raw))
    np.savez(out, **{f'm{i}': m for i, m in enumerate(masks)})
    heavy = sorted(m for m in ('torch', 'fastai', 'fastcore', 'torchvision') if m in sys.modules)
    print(json.dumps(dict(heavy=heavy, codes=seg.codes, shapes=[list(m.shape) for m in masks])))
