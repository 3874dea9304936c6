"""airbench94 on PyTorch's CPU backend: the reference for convlab's `train airbench94` (a benchmark helper only,
never imported by tests or at run time).

The recipe follows github.com/KellerJordan/cifar10-airbench, legacy/airbench94.py: whitening 2x2 conv from the patch
covariance's eigenvectors, three conv groups 64/256/256 with GELU and scale-frozen batch norm (eps 1e-12, momentum
0.6 in the script's convention), linear x 1/9; batch 1024, Nesterov SGD with lr 11.5 and wd 0.0153 per 1024 examples
(momentum 0.85, BN biases at 64x the lr), label smoothing 0.2, the 23 % warmup / warmdown lr factor, lookahead every
5 steps, whitening bias trained for 3 epochs, 9.9 epochs, alternating flip, 2-pixel translation, TTA level 2. It runs
in float32 on the CPU where the script uses float16 on a GPU.

usage:
  /usr/bin/python3 bench/airbench_torch.py --throughput [--threads 2] [--batch 1024]   # training images/s, one JSON line
  /usr/bin/python3 bench/airbench_torch.py [--data ../shared/data/cifar-10-batches-bin] [--epochs 9.9] [--limit N] [--seed 0]
The full run prints test accuracy with and without TTA and the wall time split, as `convlab train airbench94` does.
"""
import argparse
import gzip
import json
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HYP = dict(epochs=9.9, batch=1024, lr=11.5, momentum=0.85, wd=0.0153, bias_scaler=64.0, smoothing=0.2, whiten_bias_epochs=3,
           translate=2, widths=(64, 256, 256), bn_momentum=0.6, scale=1 / 9, tta=2, lookahead_every=5, whiten_images=5000)
MEAN = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
STD = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)


def read_cifar(folder, names):
    """CIFAR-10 binary batches (optionally .gz): records of one label byte and 3072 pixel bytes, planar RGB."""
    images, labels = [], []
    for name in names:
        path = os.path.join(folder, name)
        raw = gzip.open(path + '.gz').read() if os.path.exists(path + '.gz') else open(path, 'rb').read()
        rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)
        labels.append(rec[:, 0].astype(np.int64))
        images.append(rec[:, 1:].reshape(-1, 3, 32, 32))
    return torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))


def normalise(images_u8):
    return (images_u8.float() / 255 - MEAN) / STD


class ScaleFrozenBN(nn.BatchNorm2d):
    def __init__(self, channels):
        super().__init__(channels, eps=1e-12, momentum=1 - HYP['bn_momentum'])
        self.weight.requires_grad = False


def conv3(cin, cout):
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight.data[:cin])  # the first `cin` filters start as the identity
    return conv


class Group(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.norm1 = conv3(cin, cout), ScaleFrozenBN(cout)
        self.conv2, self.norm2 = conv3(cout, cout), ScaleFrozenBN(cout)

    def forward(self, x):
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


class Scale(nn.Module):
    def forward(self, x):
        return x * HYP['scale']


def make_net():
    w1, w2, w3 = HYP['widths']
    whiten = nn.Conv2d(3, 24, 2, padding=0, bias=True)
    whiten.bias.data.zero_()
    whiten.weight.requires_grad = False
    return nn.Sequential(whiten, nn.GELU(), Group(24, w1), Group(w1, w2), Group(w2, w3), nn.MaxPool2d(3), nn.Flatten(),
                         nn.Linear(w3, 10, bias=False), Scale())


def init_whitening(conv, images, eps=5e-4):
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1).transpose(1, 3).reshape(-1, 3, 2, 2).double()
    flat = patches.view(len(patches), -1)
    cov = flat.T @ flat / len(flat)
    values, vectors = torch.linalg.eigh(cov)
    values, vectors = values.flip(0), vectors.T.flip(0)  # largest first
    filters = (vectors / torch.sqrt(values + eps).view(-1, 1)).reshape(12, 3, 2, 2).float()
    conv.weight.data[:] = torch.cat((filters, -filters))


def reflect_crop(images, shifts, r):
    """Each image translated by its (dy, dx) in [-r, r], from a reflect-padded copy."""
    padded = F.pad(images, (r,) * 4, mode='reflect')
    out = torch.empty_like(images)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            mask = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[mask] = padded[mask, :, r + dy:r + dy + 32, r + dx:r + dx + 32]
    return out


def tta_logits(net, x, level):
    mirror = lambda v: 0.5 * net(v) + 0.5 * net(v.flip(-1))  # noqa: E731
    if level == 0:
        return net(x)
    if level == 1:
        return mirror(x)
    padded = F.pad(x, (1,) * 4, mode='reflect')
    shifted = 0.5 * mirror(padded[:, :, 0:32, 0:32]) + 0.5 * mirror(padded[:, :, 2:34, 2:34])
    return 0.5 * mirror(x) + 0.5 * shifted


def accuracy(net, images, labels, level):
    net.eval()
    with torch.no_grad():
        logits = torch.cat([tta_logits(net, x, level) for x in images.split(500)])
    net.train()
    return (logits.argmax(1) == labels).float().mean().item()


def optimiser(net, batch):
    kilostep = 1024 * (1 + 1 / (1 - HYP['momentum']))
    lr, wd = HYP['lr'] / kilostep, HYP['wd'] * batch / kilostep
    lr_bias = lr * HYP['bias_scaler']
    named = [(k, p) for k, p in net.named_parameters() if p.requires_grad]
    groups = [dict(params=[p for k, p in named if 'norm' in k], lr=lr_bias, weight_decay=wd / lr_bias),
              dict(params=[p for k, p in named if 'norm' not in k], lr=lr, weight_decay=wd / lr)]
    return torch.optim.SGD(groups, momentum=HYP['momentum'], nesterov=True)


def lr_factor(step, total):
    warmup = int(total * 0.23)
    if step < warmup:
        return 0.2 + 0.8 * step / warmup
    frac = (step - warmup) / (total - warmup)
    return (1 - frac) + 0.07 * frac


def throughput(args):
    net, batch = make_net(), args.batch
    opt = optimiser(net, batch)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    lossf = nn.CrossEntropyLoss(label_smoothing=HYP['smoothing'], reduction='sum')

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(net(x), y).backward()
        opt.step()
    for _ in range(2):
        step()
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({'system': 'pytorch-' + torch.__version__, 'mode': 'train', 'model': 'airbench94', 'batch': batch,
                      'threads': torch.get_num_threads(), 'iters': len(times), 'median_ms': round(med * 1e3, 2),
                      'images_per_s': round(batch / med, 1), 'params': sum(p.numel() for p in net.parameters())}), flush=True)


def full_run(args):
    started = time.perf_counter()
    train_u8, train_y = read_cifar(args.data, [f'data_batch_{i}.bin' for i in range(1, 6)])
    test_u8, test_y = read_cifar(args.data, ['test_batch.bin'])
    if args.limit:
        train_u8, train_y, test_u8, test_y = train_u8[:args.limit], train_y[:args.limit], test_u8[:args.limit], test_y[:args.limit]
    train, test = normalise(train_u8), normalise(test_u8)
    net, batch = make_net(), min(args.batch, len(train))
    init_whitening(net[0], train[:HYP['whiten_images']])
    opt = optimiser(net, batch)
    average = {k: v.clone() for k, v in net.state_dict().items()}  # lookahead, from after the whitening init

    def lookahead(decay):
        for k, v in net.state_dict().items():
            if v.dtype == torch.float32:
                average[k].lerp_(v, 1 - decay)
                v.copy_(average[k])
    # Mirror half the images once; every odd epoch mirrors all of them again.
    flipped = torch.where((torch.rand(len(train)) < 0.5).view(-1, 1, 1, 1), train.flip(-1), train)
    lossf = nn.CrossEntropyLoss(label_smoothing=HYP['smoothing'], reduction='none')
    per_epoch = len(train) // batch
    total = math.ceil(per_epoch * args.epochs)
    prepare = time.perf_counter() - started
    train_s = eval_s = 0.0
    step = 0
    for epoch in range(math.ceil(args.epochs)):
        t0 = time.perf_counter()
        net[0].bias.requires_grad = epoch < HYP['whiten_bias_epochs']
        r = HYP['translate']
        images = reflect_crop(flipped, torch.randint(-r, r + 1, (len(train), 2)), r)
        if epoch % 2 == 1:
            images = images.flip(-1)
        order = torch.randperm(len(train))
        for b in range(per_epoch):
            for g in opt.param_groups:
                g['lr'] = g.setdefault('initial_lr', g['lr']) * lr_factor(step, total)
            idx = order[b * batch:(b + 1) * batch]
            loss = lossf(net(images[idx]), train_y[idx]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % HYP['lookahead_every'] == 0:
                lookahead(0.95 ** 5 * (step / total) ** 3)
            if step >= total:
                lookahead(1.0)
                break
        train_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        acc = accuracy(net, test, test_y, 0)
        eval_s += time.perf_counter() - t0
        print(f'epoch {epoch + 1}: train loss {loss.item() / batch:.4f}  test accuracy {100 * acc:.2f} %', flush=True)
    t0 = time.perf_counter()
    acc, acc_tta = accuracy(net, test, test_y, 0), accuracy(net, test, test_y, HYP['tta'])
    eval_s += time.perf_counter() - t0
    print(f'airbench94 (PyTorch CPU): test accuracy {100 * acc:.2f} % without TTA, {100 * acc_tta:.2f} % with TTA (level {HYP["tta"]})')
    print(f'wall time {prepare + train_s + eval_s:.1f} s: data preparation {prepare:.1f} s, training {train_s:.1f} s, evaluation {eval_s:.1f} s')
    print(json.dumps({'accuracy': acc, 'accuracy_tta': acc_tta, 'seconds': {'prepare': prepare, 'train': train_s, 'evaluate': eval_s}}))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument('--throughput', action='store_true')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, default=HYP['batch'])
    ap.add_argument('--min_time', type=float, default=6.0)
    ap.add_argument('--data', default=os.path.join(here, '..', '..', 'shared', 'data', 'cifar-10-batches-bin'))
    ap.add_argument('--epochs', type=float, default=HYP['epochs'])
    ap.add_argument('--limit', type=int, default=0)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    throughput(args) if args.throughput else full_run(args)


if __name__ == '__main__':
    main()
