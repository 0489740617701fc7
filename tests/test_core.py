import csv
from synthlab.core import CODES, COLORS, UNITY_LABELS, SynthlabError, label_groups

def test_codes_match_unity_labels_csv(samples):
    rows = [r for r in csv.reader((samples/'segmentationlearner'/'Assets'/'Data~'/'labels.csv').open()) if r]
    assert rows[0] == ['LabelName', 'LabelColor_Red', 'LabelColor_Green', 'LabelColor_Blue']
    assert [r[0] for r in rows[1:]] == CODES[1:]
    assert [tuple(map(int, r[1:])) for r in rows[1:]] == COLORS[1:]

def test_groups_cover_every_class_once():
    idx = sorted(i for v in label_groups(CODES).values() for i in v)
    assert idx == list(range(1, len(CODES)))

def test_error_message_names_file_and_fix():
    e = SynthlabError('bad value', fn='a/b.png', fix='do x')
    assert str(e).startswith('a/b.png: bad value') and 'How to fix: do x' in str(e)
