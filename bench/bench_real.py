"""Does synthetic pretraining beat a few real images? mIoU on held-out real photos for four ways of training.

    .venv/bin/python bench/bench_real.py            # ADE20K indoor photos (../shared), demo renders, 64 px, resnet18: ~23 min on 2 CPU cores
    .venv/bin/python bench/bench_real.py --smoke    # CI: a stand-in real set, 16 tiny renders, 32 px, 1 epoch: < 2 min

The real set (`--real`, default ../shared/real_photos/ade20k_indoor, read with `load_real(..., encoding='ade20k')`;
the stand-in of `synthlab.real.make_real_standin` with --smoke or when it is missing) is split (seeded) into k
fine-tune images and held-out images. Every model is trained from scratch (no downloads), and scored on the held-out
images with `synthlab.evaluate.evaluate`:

  (a) synthetic only: `train` on the demo renders
  (b) synthetic + appearance adaptation toward the k fine-tune photos, used unlabelled (`real_frames=`), per method
  (c) the k real images alone, from scratch, for as many training samples as (a) saw
  (d) (a), then `finetune` on the same k labelled images mixed with renders

It prints one table and the answer: does synthetic pretraining beat k real images alone, and by how much.
"""
import argparse, json, shutil, sys, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings('ignore')
REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent/'shared'/'real_photos'/'ade20k_indoor'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--smoke', action='store_true', help='tiny stand-in run for CI (numbers mean nothing)')
    p.add_argument('--real', default=str(SHARED_REAL), help='labelled real set (images/, labels/, classes.txt, mapping.csv)')
    p.add_argument('--encoding', default='ade20k', help="label encoding of --real ('ade20k' or 'index')")
    p.add_argument('--k', type=int, default=8, help='labelled real images for fine-tuning (the rest are held out)')
    p.add_argument('--n', type=int, default=300, help='demo renders (synthetic training data)')
    p.add_argument('--size', type=int, default=64, help='training size (px)')
    p.add_argument('--epochs', type=int, default=6, help='epochs of the synthetic runs (a), (b)')
    p.add_argument('--ft_epochs', type=int, default=6, help='epochs of the fine-tuning (d)')
    p.add_argument('--repeat', type=int, default=None, help='times each real image is seen per fine-tuning epoch in (d) (default: finetune\'s, ~32 real items)')
    p.add_argument('--lr', type=float, default=3e-3, help='max lr of the runs from scratch (a), (b), (c)')
    p.add_argument('--arch', default='resnet18', help='encoder')
    p.add_argument('--methods', default='fda,hist', help='adaptation methods for (b), comma-separated')
    p.add_argument('--seed', type=int, default=42, help='seed of the split')
    p.add_argument('--out', default='runs/bench_real', help='run folders (replaced)')
    a = p.parse_args(argv)
    if a.smoke: a.k,a.n,a.size,a.epochs,a.ft_epochs,a.repeat = 4,12,32,1,1,2

    import torch
    torch.set_num_threads(max(1, torch.get_num_threads()))
    from fastai.torch_core import set_seed
    from synthlab.render import demo_dataset, render_dataset
    from synthlab.real import load_real, make_real_standin
    from synthlab.evaluate import evaluate
    from synthlab.train import train
    from synthlab.learner import seg_learner, spec_dls
    from synthlab.unity import load_unity
    from synthlab.data import unity_dls
    from synthlab.finetune import finetune, split_real

    t00 = time.time()
    out = Path(a.out)
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix='bench-real-'))
    real_dir = Path(a.real)
    if a.smoke or not real_dir.exists():
        if not a.smoke: print(f'{real_dir} not found: using a stand-in real set')
        real_dir,enc = make_real_standin(tmp/'real', n=8, size=(96,128), encoding='ade20k'),'ade20k'
        what = 'stand-in real set (restyled renders)'
    else: enc,what = a.encoding,f'real set {real_dir.name}'
    if a.smoke: synth = render_dataset(tmp/'synth', n=a.n, size=(48,64), progress=False, n_workers=0)
    else: synth = demo_dataset(n=a.n, progress=False)
    ds = load_unity(synth, check=False)
    rs = load_real(real_dir, codes=list(ds.codes), encoding=enc)
    ft,ho = split_real(rs, a.k, a.seed)
    print(f'{what}: {len(rs)} photos, k={len(ft)} to fine-tune on, {len(ho)} held out; {len(ds)} renders; '
          f'{a.size} px, {a.arch}, from scratch')
    n_train = int(round(len(ds)*0.8))
    budget = n_train*a.epochs # training samples each from-scratch run sees
    rows,times = [],{}
    common = dict(epochs=a.epochs, lr=a.lr, arch=a.arch, progress=False, show=False, plot=False, tensorboard=False)
    dls_for = lambda **kw: unity_dls(ds, size=a.size, check=False, progress=False, **kw) # the demo renders are known-good

    def row(name, learn, t0, samples, note=''):
        ev = evaluate(learn, ho, keep_preds=False)
        rows.append(dict(run=name, real_miou=ev.miou, real_pixel_acc=ev.pixel_acc, samples=samples, seconds=time.time()-t0, note=note))
        print(f'  {name}: held-out real mIoU {ev.miou:.4f}, pixel acc {ev.pixel_acc:.4f} ({time.time()-t0:.0f} s)', flush=True)
        return ev

    t0 = time.time(); set_seed(0)
    learn_a,_ = train(dls_for(), path=out/'a_synthetic', **common)
    row('(a) synthetic only', learn_a, t0, budget)
    for m in [s for s in a.methods.split(',') if s]:
        t0 = time.time(); set_seed(0)
        learn_b,_ = train(dls_for(real_frames=list(ft.items), adapt=m), path=out/f'b_adapt_{m}', **common)
        row(f'(b) synthetic + {m}', learn_b, t0, budget, note=f'{len(ft)} photos as unlabelled frames')
    t0 = time.time(); set_seed(0)
    repeat = max(1, budget//(len(ft)*a.epochs))
    learn_c = seg_learner(spec_dls(learn_a.spec.replace(dataset=None)), a.arch, path=out/'c_real_only', fp16=False)
    finetune(learn_c, ft, synth=synth, ratio=0, epochs=a.epochs, lr=a.lr, repeat=repeat, held_out=ho, path=out/'c_real_only',
             progress=False, show=False)
    row(f'(c) {len(ft)} real only', learn_c, t0, len(ft)*repeat*a.epochs, note=f'each photo {repeat*a.epochs}x')
    t0 = time.time(); set_seed(0)
    learn_d,scores = finetune(out/'a_synthetic', ft, synth=synth, held_out=ho, epochs=a.ft_epochs, repeat=a.repeat, path=out/'d_finetuned', progress=False, show=False)
    fd = json.loads((out/'d_finetuned'/'finetune.json').read_text())
    row(f'(d) (a) + fine-tune on {len(ft)}', learn_d, t0, budget + (fd['repeat']*len(ft)*2)*a.ft_epochs,
        note=f"synthetic valid mIoU {scores.loc['synthetic valid mIoU','before']:.3f} -> {scores.loc['synthetic valid mIoU','after']:.3f}")

    import pandas as pd
    df = pd.DataFrame(rows)
    print('\n' + df.to_string(index=False, float_format=lambda v: f'{v:.4f}'))
    get = lambda prefix: df[df.run.str.startswith(prefix)]
    a_,c_,d_ = get('(a)').real_miou.iloc[0],get('(c)').real_miou.iloc[0],get('(d)').real_miou.iloc[0]
    b = get('(b)')
    if len(b):
        best = b.loc[b.real_miou.idxmax()]
        print(f"\nbest adaptation: {best.run[len('(b) synthetic + '):]} ({best.real_miou:.4f} vs {a_:.4f} synthetic only: {best.real_miou-a_:+.4f})")
    best_syn = max(a_, d_)
    verdict = 'yes' if best_syn > c_ else 'no'
    print(f'does synthetic pretraining beat {len(ft)} real images alone? {verdict}: synthetic then fine-tuned {d_:.4f}, '
          f'synthetic only {a_:.4f}, {len(ft)} real alone {c_:.4f} (fine-tuned minus real alone: {d_-c_:+.4f} mIoU)')
    print(f"(d) forgot the synthetic domain: {'yes' if scores.attrs['forgot'] else 'no'}")
    df.to_csv(out/'results.csv', index=False)
    print(f'total {time.time()-t00:.0f} s; results in {out}/results.csv')
    shutil.rmtree(tmp, ignore_errors=True)

if __name__ == '__main__': sys.exit(main())
