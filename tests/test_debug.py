"End-to-end checks of `synthlab.debug`: the audit of a deliberately broken dataset, and the label explorer"
import json, shutil
import numpy as np
import pytest
from PIL import Image
from synthlab.core import CODES, SynthlabError
from synthlab.debug import audit, check_dataset, Audit, LabelExplorer, preview_grid, debug_label, mask_check, n_codes
from synthlab.test_utils import tiny_dataset
from synthlab.unity import load_unity

W,H = 96,72

@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    "A clean classic render of 10 images"
    return tiny_dataset(n=10, size=(H,W), path=tmp_path_factory.mktemp('clean')/'ds')

def _mask(path, i): return np.asarray(Image.open(path/'labels'/f'{i}.png'))
def _save(a, fn): Image.fromarray(a).save(fn)

def test_clean_render_has_no_problems(clean):
    a = audit(load_unity(clean), progress=False)
    assert a.ok and a.errors == []
    assert [p for p in a.problems if p.kind != 'missing_class'] == []
    assert int(a.classes.pixels.sum()) == 10*W*H
    r = n_codes(load_unity(clean), is_partial=False)
    assert {v:int(a.classes.pixels[v]) for v in r} == r.counts

def test_audit_finds_every_planted_problem(clean, tmp_path):
    bad = tmp_path/'bad'
    shutil.copytree(clean, bad)
    lab,scr = bad/'labels',bad/'screenshots'
    m = _mask(bad, 0).copy(); m[:5,:5] = 30; _save(m, lab/'0.png')                     # value out of range
    _save(_mask(bad, 1)[:-8], lab/'1.png')                                               # size mismatch
    _save(np.zeros((H,W), np.uint8), lab/'2.png')                                  # empty mask
    shutil.copy(scr/'3.png', scr/'4.png'); shutil.copy(lab/'3.png', lab/'4.png')         # duplicate image
    _save(np.fliplr(_mask(bad, 5)), lab/'5.png')                                         # flipped mask
    _save(np.roll(_mask(bad, 6), 5, axis=1), lab/'6.png')                                # shifted mask
    codes = CODES + ['items_lamp']                                                       # a class never present
    a = audit(load_unity(bad, codes=codes, check=False), progress=False)
    assert isinstance(a, Audit) and not a.ok
    kinds = {p.kind:p for p in a.problems}
    assert {p.kind for p in a.errors} == {'value_out_of_range', 'size_mismatch'}
    assert kinds['value_out_of_range'].files == [lab/'0.png'] and '30' in kinds['value_out_of_range'].message
    assert kinds['size_mismatch'].files == [scr/'1.png', lab/'1.png'] and f'{W}x{H-8}' in kinds['size_mismatch'].message
    assert kinds['empty_mask'].files == [lab/'2.png'] and kinds['empty_mask'].severity == 'warning'
    assert sorted(kinds['duplicate_image'].files) == [scr/'3.png', scr/'4.png']
    assert kinds['flipped_mask'].files == [scr/'5.png', lab/'5.png'] and 'left-right' in kinds['flipped_mask'].message
    assert kinds['shifted_mask'].files == [scr/'6.png', lab/'6.png'] and '5 px in x' in kinds['shifted_mask'].message
    miss = kinds['missing_class']
    assert 'items_lamp' in miss.message and 'Please generate a larger picture set!' in miss.message
    # nothing else is flagged: one problem per planted fault
    assert sorted(p.kind for p in a.problems) == sorted(['value_out_of_range', 'size_mismatch', 'empty_mask', 'duplicate_image',
                                                         'flipped_mask', 'shifted_mask', 'missing_class'])
    with pytest.raises(SynthlabError, match='value_out_of_range'): a.raise_errors()
    assert 'errors' in repr(a) and '<table' in a._repr_html_()
    # masks only: everything but the checks that need the image's pixels
    fast = audit(load_unity(bad, codes=codes, check=False), images=False, progress=False)
    assert sorted(p.kind for p in fast.problems) == sorted(['value_out_of_range', 'size_mismatch', 'empty_mask', 'missing_class'])
    assert fast.classes.equals(a.classes)
    # an audit from the path (loaded without the loader's check) finds the same
    assert sorted(p.kind for p in audit(bad, progress=False).problems if p.kind != 'missing_class') == \
           sorted(p.kind for p in a.problems if p.kind != 'missing_class')

def test_audit_in_a_process_pool_matches_in_process(clean):
    ds = load_unity(clean)
    a0,a2 = audit(ds, n_workers=0, progress=False),audit(ds, n_workers=2, chunksize=2, progress=False)
    assert a0.classes.equals(a2.classes) and a0.kinds() == a2.kinds()

def test_unknown_colour_in_solo_mask(tmp_path):
    p = tiny_dataset('solo', n=3, size=(H,W), path=tmp_path/'solo')
    ds = load_unity(p)
    fn = ds.mask_path(ds.items[1])
    a = np.asarray(Image.open(fn)).copy(); a[10:20, 10:20] = (1,2,3,255)
    Image.fromarray(a).save(fn)
    res = audit(load_unity(p, check=False), progress=False)
    assert [(e.kind, e.files) for e in res.errors] == [('unknown_colour', [fn])]
    assert '(1, 2, 3)' in res.errors[0].message
    assert res.classes.pixels.sum() == 3*W*H # unknown pixels counted as void, nothing lost
    assert mask_check(fn).same is False and mask_check(fn).classes is None

def test_explorer_renders_and_saves(clean, tmp_path):
    ds = load_unity(clean)
    ex = LabelExplorer(ds, idx=3, alpha=1.0)
    full = np.asarray(ex.render())
    ex.show_only('furniture')
    only = np.asarray(ex.render())
    assert full.shape == only.shape == (H+22, W+190, 3)
    m = ds.mask(ds.items[3])
    ov = only[22:, :W]
    img = np.asarray(Image.open(ds.items[3]).convert('RGB'))
    furn = np.isin(m, ex.groups['furniture'])
    assert (ov[~furn] == img[~furn]).all() # everything but furniture shows the image
    assert (ov[furn] == np.array(ds.colors)[m[furn]]).all() # furniture in its class colours at alpha 1
    ex.bg = False
    assert (np.asarray(ex.render())[22:, :W][~furn] == 0).all()
    ex.render().save(tmp_path/'ex.png')
    assert Image.open(tmp_path/'ex.png').size == (W+190, H+22)

def test_preview_grid_and_debug_label(clean, tmp_path):
    ds = load_unity(clean)
    g = preview_grid(ds, n=2, fn=tmp_path/'grid.png', width=96)
    assert (tmp_path/'grid.png').exists() and g.size == (3*100 + 190, 24 + 2*(72+4))
    m = ds.mask(ds.items[0]); v = int(np.bincount(m.ravel()).argmax())
    d = debug_label(ds.mask_path(ds.items[0]), v)
    assert d.info['pixels'] == int((m == v).sum())
    assert ((np.asarray(d) == (255,0,255)).all(-1) == (m == v)).all()

def test_bad_input_names_the_file(tmp_path):
    fn = tmp_path/'m.png'; fn.write_bytes(b'\x89PNG\r\n\x1a\n broken')
    with pytest.raises(SynthlabError, match='m.png'): debug_label(fn, 1)
    with pytest.raises(SynthlabError, match='m.png'): n_codes([fn])

def test_unreadable_files_are_skipped_not_crashes(clean, tmp_path):
    bad = tmp_path/'bad'
    shutil.copytree(clean, bad)
    (bad/'labels'/'0.png').write_bytes((bad/'labels'/'0.png').read_bytes()[:60])          # truncated mask
    (bad/'screenshots'/'1.png').write_bytes((bad/'screenshots'/'1.png').read_bytes()[:60]) # truncated image
    a = audit(load_unity(bad, check=False), progress=False)
    assert a.ok # one policy for missing and unreadable files: skip and list (issue 15 item 18); `check_dataset` drops them
    assert [(e.kind, e.files) for e in a.warnings if e.kind.startswith('unreadable')] == [('unreadable_mask', [bad/'labels'/'0.png']), ('unreadable_image', [bad/'screenshots'/'1.png'])]
    assert a.n_items == 10 and a.classes.images.max() <= 9

def test_check_dataset_uses_the_audit_and_names_the_files(clean, tmp_path):
    bad = tmp_path/'bad'
    shutil.copytree(clean, bad)
    m = _mask(bad, 0).copy(); m[:5,:5] = 30; _save(m, bad/'labels'/'0.png')
    ds = load_unity(bad, check=False)
    a = audit(ds, progress=False)
    assert ds.checked is a # the audit is kept: checking reuses it
    with pytest.raises(SynthlabError, match=r'labels/0.png: mask value\(s\) 30 \(25 px\)'): check_dataset(ds)
    assert check_dataset(load_unity(clean)).checked.ok
