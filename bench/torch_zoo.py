"""PyTorch CPU training / inference throughput of the zoo's CIFAR variants, for `npm run bench -- --peers`.
A benchmark helper only: never imported by tests or at run time.

usage: /usr/bin/python3 torch_zoo.py --threads 2 --models densenet-bc-100,vit-cifar --batches 64 --mode train|infer
Prints one JSON line per (model, batch), in the format of ../shared/peers/bench_torch.py, with the same method:
3 warm-up steps, then the median step time over at least 5 steps and 6 seconds.

The networks are the PyTorch definitions the parity fixtures were made from (scripts/fixtures/zoo_*.py), plus the
two that need none there: kuangliu's EfficientNetB0 and torchvision's VisionTransformer in vit-cifar's shape. Each
has exactly the parameter count of its convlab twin; the bench flags any difference.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import VisionTransformer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'scripts', 'fixtures'))
from zoo_densenet import cifar_densenet  # noqa: E402
from zoo_googlenet import CifarGoogLeNet  # noqa: E402
from zoo_mobilenet import KuangliuMobileNet, KuangliuMobileNetV2, v3_cifar  # noqa: E402
from airbench_torch import make_net as airbench94  # noqa: E402  (this folder: the airbench94 recipe's network)


class GoogLeNetCifar(CifarGoogLeNet):
    """kuangliu/pytorch-cifar models/googlenet.py's forward (the fixture script defines only the layers)."""

    def forward(self, x):
        out = self.pre_layers(x)
        out = self.maxpool(self.b3(self.a3(out)))
        out = self.maxpool(self.e4(self.d4(self.c4(self.b4(self.a4(out))))))
        out = self.b5(self.a5(out))
        return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


def _inception_forward(self, x):
    return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class _SE(nn.Module):
    def __init__(self, channels, squeeze):
        super().__init__()
        self.se1 = nn.Conv2d(channels, squeeze, 1)
        self.se2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.se2(F.silu(self.se1(F.adaptive_avg_pool2d(x, 1)))))


class _MBBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, expand, drop):
        super().__init__()
        ch = expand * cin
        self.expand = expand != 1
        if self.expand:
            self.conv1 = nn.Conv2d(cin, ch, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, k, stride, (k - 1) // 2, groups=ch, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        self.se = _SE(ch, max(1, int(cin * 0.25)))
        self.conv3 = nn.Conv2d(ch, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.skip = stride == 1 and cin == cout
        self.drop = drop

    def forward(self, x):
        out = F.silu(self.bn1(self.conv1(x))) if self.expand else x
        out = self.bn3(self.conv3(self.se(F.silu(self.bn2(self.conv2(out))))))
        if not self.skip:
            return out
        if self.training and self.drop > 0:
            keep = torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.drop) / (1 - self.drop)
            out = out * keep
        return out + x


class EfficientNetB0Cifar(nn.Module):
    """kuangliu/pytorch-cifar models/efficientnet.py EfficientNetB0, without the unused first expansion conv."""

    def __init__(self, num_classes=10):
        super().__init__()
        cfg = list(zip([1, 2, 2, 3, 3, 4, 1], [1, 6, 6, 6, 6, 6, 6], [16, 24, 40, 80, 112, 192, 320],
                       [3, 3, 5, 3, 5, 5, 3], [1, 2, 2, 2, 1, 2, 1]))
        self.conv1 = nn.Conv2d(3, 32, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        total, b, cin, layers = sum(n for n, *_ in cfg), 0, 32, []
        for n, e, cout, k, s in cfg:
            for i in range(n):
                layers.append(_MBBlock(cin, cout, k, s if i == 0 else 1, e, 0.2 * b / total))
                cin, b = cout, b + 1
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(320, num_classes)
        self.dropout = nn.Dropout(0.2)

    def forward(self, x):
        out = self.layers(F.silu(self.bn1(self.conv1(x))))
        return self.linear(self.dropout(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)))


def vit_cifar():
    return VisionTransformer(image_size=32, patch_size=4, num_layers=7, num_heads=12, hidden_dim=384, mlp_dim=384,
                             num_classes=10)


type(CifarGoogLeNet().a3).forward = _inception_forward

MODELS = {
    'googlenet-cifar': GoogLeNetCifar,
    'densenet-bc-100': lambda: cifar_densenet(12, (16, 16, 16), 24, 4, 10),
    'mobilenet_v1-cifar': KuangliuMobileNet,
    'mobilenet_v2-cifar': KuangliuMobileNetV2,
    'mobilenet_v3-cifar': v3_cifar,
    'efficientnet_b0-cifar': EfficientNetB0Cifar,
    'vit-cifar': vit_cifar,
    'airbench94': airbench94,
}


def forward_macs(model):
    """Multiply-accumulates of convs, linears and attention, for one 3×32×32 image."""
    macs = 0

    def conv(mod, inp, out):
        nonlocal macs
        macs += out.numel() // out.shape[0] * mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)

    def linear(mod, inp, out):
        nonlocal macs
        macs += out.numel() // out.shape[0] * mod.in_features

    def attention(mod, inp, out):
        nonlocal macs
        # Called functionally, its in- and out-projections fire no Linear hook: Q·Kᵀ, P·V and the 4 projections.
        tokens = out[0].shape[1]
        macs += 2 * tokens * tokens * mod.embed_dim + 4 * tokens * mod.embed_dim * mod.embed_dim

    hooks = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(linear))
        elif isinstance(mod, nn.MultiheadAttention):
            hooks.append(mod.register_forward_hook(attention))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    return macs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--models', default=','.join(MODELS))
    ap.add_argument('--batches', default='64')
    ap.add_argument('--mode', default='train', choices=['train', 'infer'])
    ap.add_argument('--min_time', type=float, default=6.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in args.models.split(','):
        if name not in MODELS:
            print(json.dumps({'error': f"unknown model '{name}'. Valid: {', '.join(MODELS)}"}), flush=True)
            continue
        for bs in [int(b) for b in args.batches.split(',')]:
            model = MODELS[name]()
            params = sum(p.numel() for p in model.parameters())
            macs = forward_macs(model)
            x, y = torch.randn(bs, 3, 32, 32), torch.randint(0, 10, (bs,))
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            lossf = nn.CrossEntropyLoss()
            if args.mode == 'train':
                model.train()

                def step():
                    opt.zero_grad(set_to_none=True)
                    lossf(model(x), y).backward()
                    opt.step()
            else:
                model.eval()

                def step():
                    with torch.no_grad():
                        model(x)
            for _ in range(3):
                step()
            times, start = [], time.perf_counter()
            while len(times) < 5 or time.perf_counter() - start < args.min_time:
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
                if len(times) >= 200:
                    break
            med = statistics.median(times)
            print(json.dumps({
                'system': 'pytorch-' + torch.__version__, 'mode': args.mode, 'model': name, 'batch': bs,
                'threads': torch.get_num_threads(), 'iters': len(times), 'median_ms': round(med * 1e3, 2),
                'images_per_s': round(bs / med, 1), 'params': params, 'fwd_macs_per_img': macs,
                'approx_gflops': round(bs / med * 2 * macs * (3 if args.mode == 'train' else 1) / 1e9, 2),
            }), flush=True)


if __name__ == '__main__':
    main()
