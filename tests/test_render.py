"The demo renderer writes Unity's layouts: read the files back with plain Pillow and json, not with synthlab's code"
import csv, json
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from synthlab.core import SynthlabError
from synthlab.render import render_dataset, render_scene, demo_dataset, DEMO_ROOMS

SIZE = (48, 64) # (h, w), like every synthlab size
WH = SIZE[::-1] # what Pillow reports: (width, height)
HEADER = 'LabelName,LabelColor_Red,LabelColor_Green,LabelColor_Blue'

def _files(p):
    "Every file under `p` (relative path -> bytes)"
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob('*')) if f.is_file()}

@pytest.fixture(scope='module')
def classic(tmp_path_factory):
    return render_dataset(tmp_path_factory.mktemp('classic')/'data', n=6, size=SIZE, seed=3, progress=False, n_workers=0)

@pytest.fixture(scope='module')
def solo(tmp_path_factory):
    return render_dataset(tmp_path_factory.mktemp('solo')/'solo', n=12, size=SIZE, fmt='solo', seed=3, progress=False, n_workers=0)

def test_classic_layout(classic):
    assert sorted(p.name for p in classic.iterdir()) == ['labels', 'labels.csv', 'screenshots']
    shots, labels = sorted((classic/'screenshots').iterdir()), sorted((classic/'labels').iterdir())
    assert [p.name for p in shots] == [p.name for p in labels] == [f'{i}.png' for i in range(6)]
    rows = list(csv.reader((classic/'labels.csv').open(newline='')))
    n_rows = len([r for r in rows if r]) - 1
    for s,l in zip(shots, labels):
        im, lb = Image.open(s), Image.open(l)
        assert (im.format, im.mode, im.size) == ('PNG', 'RGBA', WH)
        assert (lb.format, lb.mode, lb.size) == ('PNG', 'L', WH)
        a, m = np.array(im), np.array(lb)
        assert (a[..., 3] == 255).all()
        assert 0 < m.max() <= n_rows == 23 # every mask value is a row of labels.csv (value v = data row v-1), or void 0
        assert (m > 0).mean() > 0.5 # mostly labelled: walls, floor, furniture

def test_labels_csv_bytes(classic, samples):
    b = (classic/'labels.csv').read_bytes()
    assert b'\r' not in b and b.startswith(HEADER.encode() + b'\n') and b.endswith(b'live_dog,255,221,0\n\n')
    assert b == (samples/'segmentationlearner'/'Assets'/'Data~'/'labels.csv').read_bytes() # the real Unity file

def test_mask_matches_render_scene(classic):
    rgb, mask = render_scene((3, 2), SIZE)
    assert (np.array(Image.open(classic/'labels'/'2.png')) == mask).all()
    assert (np.array(Image.open(classic/'screenshots'/'2.png'))[..., :3] == rgb).all()

def test_solo_top_level(solo):
    names = {p.name for p in solo.iterdir()}
    assert {'metadata.json', 'sensor_definitions.json', 'annotation_definitions.json', 'metric_definitions.json'} <= names
    seqs = sorted(p for p in solo.iterdir() if p.is_dir())
    assert len(seqs) >= 2 and all(p.name.startswith('sequence.') for p in seqs)
    md = json.loads((solo/'metadata.json').read_text())
    for k in ('unityVersion', 'perceptionVersion', 'renderPipeline', 'simulationStartTime', 'simulationEndTime', 'scenarioRandomSeed',
              'scenarioActiveRandomizers', 'totalFrames', 'totalSequences', 'sensors', 'metricCollectors', 'annotators'): assert k in md
    assert md['totalFrames'] == 12 and md['totalSequences'] == len(seqs) and md['sensors'] == ['camera']
    assert {'name': 'semantic segmentation', 'type': 'type.unity.com/unity.solo.SemanticSegmentationAnnotation'} in md['annotators']
    sd = json.loads((solo/'sensor_definitions.json').read_text())['sensorDefinitions'][0]
    for k in ('@type', 'id', 'modality', 'description', 'firstCaptureFrame', 'captureTriggerMode', 'simulationDeltaTime',
              'framesBetweenCaptures', 'manualSensorsAffectTiming'): assert k in sd
    ad = json.loads((solo/'annotation_definitions.json').read_text())['annotationDefinitions']
    sem = [a for a in ad if a['@type'].endswith('SemanticSegmentationAnnotation')]
    assert len(sem) == 1 and set(sem[0]) == {'@type', 'id', 'description'} # no `spec`, as real 1.0 output
    assert 'metricDefinitions' in json.loads((solo/'metric_definitions.json').read_text())

def test_solo_frames(solo):
    n, seen = 0, set()
    for fd_fn in sorted(solo.glob('sequence.*/step*.frame_data.json')):
        fd = json.loads(fd_fn.read_text()); n += 1
        assert fd_fn.parent.name == f"sequence.{fd['sequence']}" and fd_fn.name == f"step{fd['step']}.frame_data.json"
        for k in ('frame', 'sequence', 'step', 'timestamp', 'captures', 'metrics'): assert k in fd
        cap = fd['captures'][0]
        for k in ('@type', 'id', 'description', 'position', 'rotation', 'filename', 'imageFormat', 'dimension', 'projection', 'matrix', 'annotations'):
            assert k in cap
        assert cap['dimension'] == [64.0, 48.0] and all(isinstance(x, float) for x in cap['dimension'])
        im = Image.open(fd_fn.parent/cap['filename'])
        assert (im.mode, im.size) == ('RGBA', WH)
        sem = [a for a in cap['annotations'] if a['@type'] == 'type.unity.com/unity.solo.SemanticSegmentationAnnotation'][0]
        assert sem['id'] == 'semantic segmentation' and sem['filename'] == f"step{fd['step']}.camera.semantic segmentation.png"
        m = Image.open(fd_fn.parent/sem['filename'])
        assert (m.mode, m.size) == ('RGBA', WH)
        cols = {tuple(c) for c in np.array(m).reshape(-1, 4).tolist()}
        listed = {tuple(i['pixelValue']): i['labelName'] for i in sem['instances']}
        assert all(len(v) == 4 and v[3] == 255 for v in listed)
        assert cols - {(0, 0, 0, 255)} == set(listed) # every colour is listed, every listed label is visible
        assert len(set(listed.values())) == len(listed)
        seen |= set(listed.values())
    assert n == 12 and len(seen) >= 8

def test_same_seed_same_bytes(tmp_path):
    a = render_dataset(tmp_path/'a', n=3, size=SIZE, fmt='solo', seed=5, progress=False, n_workers=0)
    b = render_dataset(tmp_path/'b', n=3, size=SIZE, fmt='solo', seed=5, progress=False, n_workers=2)
    c = render_dataset(tmp_path/'c', n=3, size=SIZE, fmt='solo', seed=6, progress=False, n_workers=0)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert fa == fb
    assert fa.keys() == fc.keys() and fa['sequence.0/step0.camera.png'] != fc['sequence.0/step0.camera.png']

def test_rerender_replaces_own_dataset(tmp_path):
    p = render_dataset(tmp_path/'d', n=5, size=SIZE, progress=False, n_workers=0)
    with pytest.raises(SynthlabError, match='overwrite=True'): render_dataset(p, n=2, size=SIZE, progress=False)
    assert len(list((p/'labels').iterdir())) == 5
    render_dataset(p, n=2, size=SIZE, progress=False, n_workers=0, overwrite=True)
    assert sorted(f.name for f in (p/'labels').iterdir()) == ['0.png', '1.png'] # no stale 2..4 left behind

@pytest.mark.parametrize('kw, msg', [(dict(fmt='coco'), "fmt='classic'"), (dict(n=0), 'n=0'), (dict(n=2.5), 'n=2.5'),
                                     (dict(size=(8, 8)), 'size=(8, 8)'), (dict(size=8), 'size=8'),
                                     (dict(size='big'), "size='big'"), (dict(size=(48, 64, 3)), 'size=(48, 64, 3)')])
def test_bad_arguments(tmp_path, kw, msg):
    with pytest.raises(SynthlabError, match='How to fix') as e: render_dataset(tmp_path/'x', **{'progress': False, **kw})
    assert msg in str(e.value)
    assert not (tmp_path/'x').exists() # nothing written

def test_foreign_folder_is_not_touched(tmp_path):
    (tmp_path/'mine.txt').write_text('keep me')
    with pytest.raises(SynthlabError, match='mine.txt'): render_dataset(tmp_path, n=1, size=SIZE, progress=False)
    (tmp_path/'f').write_text('a file')
    with pytest.raises(SynthlabError, match='not a folder'): render_dataset(tmp_path/'f', n=1, size=SIZE, progress=False)
    assert (tmp_path/'mine.txt').read_text() == 'keep me'

def test_demo_dataset_cached(tmp_path, monkeypatch):
    monkeypatch.setenv('SYNTHLAB_HOME', str(tmp_path))
    d = demo_dataset(n=2, size=(24, 32), progress=False)
    assert d == tmp_path/'data'/f'demo-classic-32x24-n2-s0-r{DEMO_ROOMS}' # a capture session of DEMO_ROOMS rooms; the name says width x height, as before
    assert demo_dataset(n=2, size=(24, 32), progress=False, rooms=None).name == 'demo-classic-32x24-n2-s0' # a new room per image
    assert len(list((d/'labels').iterdir())) == 2
    t = (d/'labels.csv').stat().st_mtime_ns
    assert demo_dataset(n=2, size=(24, 32), progress=False) == d and (d/'labels.csv').stat().st_mtime_ns == t
    assert not [p.name for p in (tmp_path/'data').iterdir() if p.name.startswith('.')] # no temporary folder left
    # an unfinished render (no last image) is not reused
    (d/'labels'/'1.png').unlink()
    demo_dataset(n=2, size=(24, 32), progress=False)
    assert (d/'labels'/'1.png').exists()

def test_many_classes_appear():
    "Over 30 small scenes most classes appear, and none takes over"
    seen, share = np.zeros(24), []
    for i in range(30):
        m = render_scene((11, i), (72, 96))[1]
        seen += np.bincount(m.ravel(), minlength=24) > 0
        share.append(np.bincount(m.ravel(), minlength=24).max()/m.size)
    assert (seen[1:] > 0).sum() >= 20 # at least 20 of the 23 classes
    assert (seen[1:] >= 3).sum() >= 15
    assert np.mean(share) < 0.8

def test_size_is_height_width(tmp_path):
    "`size=(h, w)` like fastai's `Resize`: (480, 640) gives 640-wide, 480-high files; an int gives squares"
    p = render_dataset(tmp_path/'hw', n=1, size=(480, 640), progress=False, n_workers=0)
    assert Image.open(p/'screenshots'/'0.png').size == Image.open(p/'labels'/'0.png').size == (640, 480)
    s = render_dataset(tmp_path/'solo', n=1, size=(480, 640), fmt='solo', progress=False, n_workers=0)
    fd = json.loads((s/'sequence.0'/'step0.frame_data.json').read_text())
    assert fd['captures'][0]['dimension'] == [640.0, 480.0] # Unity's own order: width, height
    assert Image.open(s/'sequence.0'/'step0.camera.png').size == (640, 480)
    rgb, mask = render_scene(0, (24, 40))
    assert rgb.shape == (24, 40, 3) and mask.shape == (24, 40)
    assert render_scene(0, 32)[1].shape == (32, 32)
    q = render_dataset(tmp_path/'sq', n=1, size=32, progress=False, n_workers=0)
    assert Image.open(q/'labels'/'0.png').size == (32, 32)
