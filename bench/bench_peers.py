#!/usr/bin/env python
"""Side by side: synthlab's default, SMP Unets, synthlab's `arch='realtime'` and Ultralytics YOLO semantic segmentation.

Every model is trained FROM SCRATCH (no weights can be downloaded) on the same demo renders with the same train/valid
split, for the same CPU wall-clock budget, then scored by the same code (synthlab's metrics `DiceMulti` and
`JaccardCoeffMulti` = mIoU, over the whole validation set at the training size) on its exported ONNX file, and timed in
onnxruntime at 256x256 on 2 threads, batch 1 (all models interleaved in one loop, min over `--reps` rounds).

    .venv/bin/python bench/bench_peers.py            # the measured run: 300 demo renders at 64x64, 80 s per model, ~10 min
    .venv/bin/python bench/bench_peers.py --smoke    # CI: 16 tiny renders, 4 s per model (numbers meaningless), < 2 min

Why 64x64 and 80 s: 64 px is the size the default recipe trains at first (`bench_train.py`, `go_big` grows it later), and
on two cores it is the only size at which the heavy default gets more than a couple of epochs inside a budget that
keeps the whole run (five models) near ten minutes: at 64 px the default takes ~13 s per epoch over 240 renders, so 80 s
is ~6 epochs for it and proportionally more for the lighter models. That is the question a CPU user asks: what does a
fixed amount of training time buy with each toolkit. Latency is measured at 256x256, the live overlay's size.

Recipes: the fastai models (synthlab default = fastai DynamicUnet over resnet34; SMP Unet resnet34; SMP Unet with a
light encoder; synthlab realtime) all use synthlab's recipe (fused AdamW, one-cycle with moms (0.95, 0.85, 0.95),
`slice(lr/10, lr)`, bs 8, no augmentation) with a time-based one-cycle schedule (`TimeBudget`: the schedule follows the
elapsed share of the budget, so every model ends its cycle when its time is up). YOLO uses Ultralytics' own recipe
(its default augmentation, warm-up and schedule) with its `time=` budget, on the same images written by
`synthlab.formats.export_dataset` at the same size, and the same optimiser and max learning rate as the fastai models
(AdamW, `lr0=--lr`): its `optimizer='auto'` picks AdamW at 3.6e-4 for 24 classes, and in a short CPU budget that
barely moves the loss (cross-entropy still ~ln 24 after 19 epochs of a first try).

Ultralytics is AGPL-3.0: it is imported only here (the `bench` extra), never by synthlab. It runs offline:
YOLO_OFFLINE, no auto-install, settings kept in the run folder, sync off, plots off; every network connection the
process attempts while YOLO runs is refused and counted (`network attempts` in the output; expected 0).
"""
import argparse, json, os, socket, sys, tempfile, time, warnings
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MODELS = ('default', 'smp-unet-r34', 'smp-unet-light', 'realtime', 'yolo26n-sem')
ARCHS = {'default': 'resnet34', 'smp-unet-r34': 'smp:unet-resnet34', 'smp-unet-light': 'smp:unet-mobilenet_v2', 'realtime': 'realtime'}

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--smoke', action='store_true', help='16 tiny renders, 4 s per model: proves the script runs (numbers meaningless)')
    p.add_argument('--n', type=int, default=300, help='demo renders (default 300, the demo dataset)')
    p.add_argument('--size', type=int, default=64, help='training and scoring size (square, default 64)')
    p.add_argument('--budget', type=float, default=80., help='training wall-clock seconds per model (default 80)')
    p.add_argument('--bs', type=int, default=8, help='batch size (default 8)')
    p.add_argument('--lr', type=float, default=3e-3, help='max learning rate of the fastai models (default 3e-3)')
    p.add_argument('--reps', type=int, default=20, help='latency rounds (all models each round; min is reported)')
    p.add_argument('--threads', type=int, default=2, help='torch training threads and onnxruntime threads (default 2)')
    p.add_argument('--models', nargs='+', default=list(MODELS), choices=MODELS, help='which models to run')
    p.add_argument('--out', default='runs/bench_peers', help='folder for the ONNX files, the YOLO run and results.json')
    return p.parse_args(argv)

# ---------------------------------------------------------------- training on a time budget (fastai)
def time_budget_cb(seconds):
    "A callback that makes one-cycle follow wall-clock time and ends the fit after `seconds`; no validation during the fit"
    from fastai.callback.core import Callback, CancelFitException, CancelValidException
    class TimeBudget(Callback):
        order = 0 # after TrainEvalCallback (which advances pct_train by iterations), before ParamScheduler reads it
        def before_fit(self): self.t0 = time.perf_counter()
        def after_batch(self):
            if not self.training: return
            el = time.perf_counter() - self.t0
            self.learn.pct_train = min(el/seconds, 0.9999)
            if el >= seconds: raise CancelFitException()
        def before_validate(self): raise CancelValidException()
    return TimeBudget()

def train_fastai(dls, arch, budget, lr):
    import torch
    from synthlab.learner import seg_learner
    learn = seg_learner(dls, arch, fp16=False)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.fit_one_cycle(100_000, slice(lr/10, lr), cbs=[time_budget_cb(budget)])
    wall = time.perf_counter() - t
    learn.model.eval() # DynamicUnet's hooks keep the last training activations (with grads): replace them before export copies the model
    with torch.no_grad(): learn.model(dls.one_batch()[0])
    return learn, wall

# ---------------------------------------------------------------- Ultralytics, offline and boxed in
@contextmanager
def no_network(log:list):
    "Refuse (and log) every socket connection and DNS lookup while inside"
    conn,gai,cc = socket.socket.connect, socket.getaddrinfo, socket.create_connection
    def refuse(*a, **k):
        import traceback
        where = [f'{Path(f.filename).name}:{f.lineno} {f.name}' for f in traceback.extract_stack()[:-1] if 'ultralytics' in f.filename][-2:]
        log.append(f'{a!r:.100} from {where}'); raise OSError('bench_peers: network access refused')
    socket.socket.connect, socket.getaddrinfo, socket.create_connection = refuse, refuse, refuse
    try: yield log
    finally: socket.socket.connect, socket.getaddrinfo, socket.create_connection = conn, gai, cc

def ultralytics_offline(out:Path):
    "Environment for a fully offline Ultralytics: no downloads, no installs, no telemetry, settings in `out`"
    cfg = out/'ultralytics_config'; cfg.mkdir(parents=True, exist_ok=True)
    os.environ.update(YOLO_OFFLINE='1', YOLO_AUTOINSTALL='false', YOLO_VERBOSE='false', YOLO_CONFIG_DIR=str(cfg))
    import shutil, matplotlib
    from ultralytics import settings
    from ultralytics.utils import USER_CONFIG_DIR
    font = Path(USER_CONFIG_DIR)/'Arial.ttf' # its dataset check fetches Arial.ttf (for plots, which are off): matplotlib's DejaVu stands in
    if not font.exists(): shutil.copyfile(Path(matplotlib.get_data_path())/'fonts'/'ttf'/'DejaVuSans.ttf', font)
    settings.update(sync=False, clearml=False, comet=False, dvc=False, mlflow=False, raytune=False, tensorboard=False, wandb=False,
                    vscode_msg=False, openvino_msg=False, runs_dir=str(out/'yolo_runs'), datasets_dir=str(out), weights_dir=str(out/'yolo_weights'))

def train_yolo(data_yaml, out, size, budget, bs, threads, log, lr):
    import torch
    from ultralytics import YOLO
    torch.set_num_threads(threads)
    with no_network(log), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = YOLO('yolo26n-sem.yaml', task='semantic')
        t = time.perf_counter()
        m.train(data=str(data_yaml), epochs=1000, time=budget/3600, imgsz=size, batch=bs, device='cpu', workers=0,
                pretrained=False, amp=False, plots=False, val=False, optimizer='AdamW', lr0=lr, cache='ram', project=str(out/'yolo_runs'), name='train',
                exist_ok=True, verbose=False, seed=0, deterministic=False)
        wall = time.perf_counter() - t
        torch.set_num_threads(threads) # Ultralytics may change it
        onnx_eval = m.export(format='onnx', imgsz=size, dynamic=False, simplify=False, opset=17, device='cpu')
        eval_fn = Path(out/f'yolo_{size}.onnx'); Path(onnx_eval).replace(eval_fn)
        onnx_lat = m.export(format='onnx', imgsz=256, dynamic=False, simplify=False, opset=17, device='cpu')
        lat_fn = Path(out/'yolo_256.onnx'); Path(onnx_lat).replace(lat_fn)
    n_par = sum(p.numel() for p in m.model.parameters())
    return eval_fn, lat_fn, wall, n_par

# ---------------------------------------------------------------- scoring: one code path for every model
def valid_arrays(dls):
    "The validation set as uint8 N x 3 x H x W images (exactly the pixels the fastai models see) and N x H x W masks"
    import numpy as np, torch
    xs,ys = [],[]
    mean,std = [torch.tensor(v).view(1,-1,1,1) for v in (dls.spec.mean, dls.spec.std)]
    for xb,yb in dls.valid:
        xs.append(((xb.cpu().float()*std+mean)*255).round().clamp(0,255).to(torch.uint8).numpy())
        ys.append(yb.cpu().numpy())
    return np.concatenate(xs), np.concatenate(ys)

def score(pred_fn, xs, ys, n_classes, bs=8):
    "synthlab's metrics (`seg_metrics`: DiceMulti, JaccardCoeffMulti) over the whole validation set, from predicted masks"
    import numpy as np, torch
    from synthlab.learner import seg_metrics
    mets = seg_metrics()[1:] # DiceMulti, JaccardCoeffMulti (foreground_acc is a per-batch mean)
    for m in mets: m.reset()
    for i in range(0, len(xs), bs):
        pred = torch.as_tensor(pred_fn(xs[i:i+bs])).long()
        onehot = torch.nn.functional.one_hot(pred, n_classes).permute(0,3,1,2).float()
        y = torch.as_tensor(ys[i:i+bs]).long()
        learn = SimpleNamespace(pred=onehot, y=y, yb=(y,), to_detach=lambda o: o)
        for m in mets: m.accumulate(learn)
    return [float(m.value) for m in mets]

def ort_session(fn, threads):
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(fn), so, providers=['CPUExecutionProvider'])

def synthlab_pred(fn, threads):
    s = ort_session(fn, threads)
    return lambda x: s.run(['mask'], {'image': x})[0]

def yolo_pred(fn, threads):
    s = ort_session(fn, threads)
    name = s.get_inputs()[0].name
    import numpy as np # the export has a static batch of 1; its output is the class map (argmax baked in), or logits
    def one(x):
        y = s.run(None, {name: x.astype('float32')/255})[0]
        return y if y.ndim==3 else y.argmax(1)
    return lambda x: np.concatenate([one(x[i:i+1]) for i in range(len(x))]).astype(np.int64)

def latencies(models:dict, threads, reps):
    "Min and median ms per frame of each ONNX file at 1x3x256x256, all models interleaved in each round"
    import numpy as np
    sess,feeds = {},{}
    for k,(fn,kind) in models.items():
        s = ort_session(fn, threads); inp = s.get_inputs()[0]
        x = np.random.default_rng(0).integers(0, 256, (1,3,256,256), dtype=np.uint8)
        feeds[k] = {inp.name: x if inp.type=='tensor(uint8)' else x.astype('float32')/255}
        sess[k] = s
        for _ in range(3): s.run(None, feeds[k])
    ts = {k:[] for k in models}
    for _ in range(reps):
        for k,s in sess.items():
            t = time.perf_counter(); s.run(None, feeds[k]); ts[k].append((time.perf_counter()-t)*1000)
    return {k:(min(v), float(np.median(v))) for k,v in ts.items()}

# ---------------------------------------------------------------- main
def main(argv=None):
    a = parse_args(argv)
    if a.smoke: a.n,a.budget,a.reps = 16,4.,3
    import numpy as np, pandas as pd, torch
    warnings.filterwarnings('ignore')
    torch.set_num_threads(a.threads)
    from synthlab.core import md_table
    from synthlab.render import demo_dataset, render_dataset
    from synthlab.unity import load_unity
    from synthlab.data import unity_dls
    from synthlab.export import export_onnx, check_unity
    from synthlab.formats import export_dataset
    out = (REPO/a.out) if not Path(a.out).is_absolute() else Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    src = render_dataset(Path(tempfile.mkdtemp(prefix='bench-peers-')), n=a.n, size=(96,128), progress=False, n_workers=0) if a.smoke \
          else demo_dataset(n=a.n, progress=False)
    ds = load_unity(src, check=False)
    dls = unity_dls(ds, size=a.size, bs=a.bs, num_workers=0, cache=out/'cache', valid_pct=0.2, seed=42)
    xs,ys = valid_arrays(dls)
    n_cls = len(ds.codes)
    print(f'data: {len(dls.train.items)} train / {len(dls.valid.items)} valid renders at {a.size}x{a.size}, {n_cls} classes; '
          f'budget {a.budget:.0f} s per model, {a.threads} threads', flush=True)
    rows,onnx_files,net_log = {},{},[]
    for k in a.models:
        if k=='yolo26n-sem': continue
        learn,wall = train_fastai(dls, ARCHS[k], a.budget, a.lr)
        t = time.perf_counter()
        fn = export_onnx(learn, out/f'{k}.onnx', verbose=False, exporter='torchscript', check=not a.smoke) # the smoke run skips the parity check
        unity = None
        if not a.smoke: # the Unity Sentis profile: opset 15, rank <= 4 (the smoke run skips this second export)
            fu = export_onnx(learn, out/f'{k}_unity.onnx', profile='unity', verbose=False, check=False, exporter='torchscript')
            unity = check_unity(fu, verbose=False)['ok']
        dice,miou = score(synthlab_pred(fn, a.threads), xs, ys, n_cls)
        rows[k] = dict(model=k, arch=learn.spec.arch, dice=dice, miou=miou, params_M=sum(p.numel() for p in learn.model.parameters())/1e6,
                       train_s=wall, epochs=round(learn.epoch + learn.iter/max(1,learn.n_iter), 1) if hasattr(learn,'iter') else None, unity=unity)
        onnx_files[k] = (fn, 'synthlab')
        print(f'{k}: Dice {dice:.4f} mIoU {miou:.4f} after {wall:.0f} s ({rows[k]["epochs"]} epochs); export, parity, unity check and scoring {time.perf_counter()-t:.0f} s', flush=True)
    if 'yolo26n-sem' in a.models:
        ultralytics_offline(out)
        data_yaml = export_dataset(ds, out/'yolo_data', 'ultralytics', valid=dls.valid.items, size=a.size)
        eval_fn,lat_fn,wall,n_par = train_yolo(data_yaml, out, a.size, a.budget, a.bs, a.threads, net_log, a.lr)
        dice,miou = score(yolo_pred(eval_fn, a.threads), xs, ys, n_cls)
        rows['yolo26n-sem'] = dict(model='yolo26n-sem', arch='ultralytics yolo26n-sem.yaml', dice=dice, miou=miou, params_M=n_par/1e6,
                                   train_s=wall, epochs=None, unity=None)
        onnx_files['yolo26n-sem'] = (lat_fn, 'yolo')
        print(f'yolo26n-sem: Dice {dice:.4f} mIoU {miou:.4f} after {wall:.0f} s; network attempts: {len(net_log)}', flush=True)
    lat = latencies(onnx_files, a.threads, a.reps)
    for k,(mn,md) in lat.items(): rows[k].update(ms_256=mn, ms_256_median=md)
    df = pd.DataFrame(list(rows.values()))
    if 'default' in rows:
        df['x_default'] = df.ms_256/rows['default']['ms_256']
        df['dice_vs_default'] = df.dice - rows['default']['dice']
    cols = [c for c in ('model','dice','miou','ms_256','x_default','params_M','train_s','epochs','dice_vs_default','unity','arch') if c in df]
    print(f'\nsame data, split, metric and {a.budget:.0f} s CPU budget; ONNX latency at 256x256, {a.threads} threads, batch 1 (min of {a.reps}):\n')
    print(md_table(df[cols]))
    (out/'results.json').write_text(json.dumps(dict(args=vars(a), rows=list(rows.values()), network_attempts=net_log), indent=1, default=str))
    if 'realtime' in rows and 'default' in rows:
        rt,de = rows['realtime'],rows['default']
        ok_lat,ok_dice = rt['ms_256'] <= 33 and rt['ms_256'] <= 0.2*de['ms_256'], rt['dice'] >= de['dice'] - 0.03
        verdict = '' if a.smoke else (' PASS' if ok_lat and ok_dice else ' FAIL')
        print(f"\nrealtime: {rt['ms_256']:.1f} ms at 256x256 ({rt['ms_256']/de['ms_256']:.3f}x the default; target <= 33 ms and ~0.2x), "
              f"Dice {rt['dice']:.4f} vs default {de['dice']:.4f} (target within 0.03){verdict}")
    print(f'network attempts while Ultralytics ran: {len(net_log)}; total wall time {time.perf_counter()-t_all:.0f} s')
    return rows

if __name__ == '__main__': main()
