"""Generate golden reference fixtures for the convlab TypeScript engine.

Rerun with:

    /usr/bin/python3 scripts/make_fixtures.py

(from the repository root; needs PyTorch, e.g. Debian's python3-torch 1.13). To rewrite only some files,
name their generators, e.g. `scripts/make_fixtures.py optim_steps` for fixtures/optim_steps.json.

The JSON outputs in fixtures/ are committed to the repository. Python and
PyTorch are NOT runtime or test dependencies: the TypeScript tests only read
the committed JSON files. Rerun this script only when a fixture needs to
change, and commit the regenerated files together with the script.

Conventions:
  * Every computation uses float32 tensors (the engine is float32).
  * Every tensor is stored as {"shape": [...], "data": [flat row-major list]}.
  * Floats are the float32 values rounded to 8 significant digits.
  * Gradients are those of (y * dy).sum(), i.e. dy is the upstream gradient.
  * Determinism comes from torch.manual_seed; each file uses its own seed.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def num(v):
    """A float32 value as a Python float rounded to 8 significant digits."""
    v = float(v)
    if not math.isfinite(v):
        raise ValueError("non-finite value in fixture: %r" % v)
    return float("%.8g" % v)


def tensor(t):
    if t is None:
        return None
    t = t.detach()
    assert t.dtype == torch.float32, t.dtype
    return {"shape": list(t.shape), "data": [num(v) for v in t.reshape(-1).tolist()]}


def write(name, obj):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %-24s %8d bytes" % (name, os.path.getsize(path)))


def leaf(t):
    return t.detach().clone().requires_grad_(True)


# --------------------------------------------------------------------------
# 1. conv2d
# --------------------------------------------------------------------------
def make_conv2d():
    torch.manual_seed(1)
    specs = [
        # name, N, Cin, H, W, Cout, kh, kw, stride, padding, dilation, groups, bias
        ("basic_3x3_pad1", 2, 3, 6, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, True),
        ("stride2_pad0_odd_7x9", 2, 3, 7, 9, 4, 3, 3, (2, 2), (0, 0), (1, 1), 1, True),
        ("lenet_conv1_5x5_pad2", 2, 1, 8, 8, 6, 5, 5, (1, 1), (2, 2), (1, 1), 1, True),
        ("dilation2", 2, 3, 9, 8, 4, 3, 3, (1, 1), (1, 1), (2, 2), 1, True),
        ("groups2", 2, 4, 6, 6, 6, 3, 3, (1, 1), (1, 1), (1, 1), 2, True),
        ("depthwise_3x3_s2_p1", 2, 4, 7, 7, 4, 3, 3, (2, 2), (1, 1), (1, 1), 4, True),
        ("pointwise_1x1", 2, 5, 4, 5, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1, True),
        ("kernel_3x1", 2, 3, 6, 5, 4, 3, 1, (1, 1), (1, 0), (1, 1), 1, True),
        ("no_bias", 2, 3, 5, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, False),
    ]
    cases = []
    for name, n, cin, h, w_, cout, kh, kw, stride, padding, dilation, groups, has_bias in specs:
        x = leaf(torch.randn(n, cin, h, w_))
        w = leaf(torch.randn(cout, cin // groups, kh, kw) * 0.5)
        b = leaf(torch.randn(cout)) if has_bias else None
        y = F.conv2d(x, w, b, stride, padding, dilation, groups)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({
            "name": name,
            "stride": list(stride),
            "padding": list(padding),
            "dilation": list(dilation),
            "groups": groups,
            "x": tensor(x),
            "w": tensor(w),
            "b": tensor(b),
            "dy": tensor(dy),
            "y": tensor(y),
            "dx": tensor(x.grad),
            "dw": tensor(w.grad),
            "db": tensor(b.grad) if b is not None else None,
        })
    write("conv2d.json", {"cases": cases})


# --------------------------------------------------------------------------
# 2. pooling
# --------------------------------------------------------------------------
def make_pool():
    torch.manual_seed(2)
    cases = []

    def pool_case(name, kind, shape, kernel=None, stride=None, padding=(0, 0),
                  ceil_mode=False, count_include_pad=True, output_size=None):
        x = leaf(torch.randn(*shape))
        if kind == "max":
            y = F.max_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode)
        elif kind == "avg":
            y = F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad)
        elif kind == "adaptive_avg":
            y = F.adaptive_avg_pool2d(x, output_size)
        else:
            raise ValueError(kind)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        case = {
            "name": name,
            "kind": kind,
            "kernel": list(kernel) if kernel is not None else None,
            "stride": list(stride) if stride is not None else None,
            "padding": list(padding) if kind != "adaptive_avg" else None,
            "ceil_mode": ceil_mode,
            "count_include_pad": count_include_pad,
        }
        if kind == "adaptive_avg":
            case["output_size"] = list(output_size)
        case.update({"x": tensor(x), "dy": tensor(dy), "y": tensor(y), "dx": tensor(x.grad)})
        cases.append(case)

    pool_case("max_2x2_s2", "max", (2, 3, 6, 8), (2, 2), (2, 2))
    pool_case("max_3x3_s2_pad1_odd", "max", (2, 3, 7, 9), (3, 3), (2, 2), (1, 1))
    # 8x8, k3 s2: floor mode -> 3x3, ceil mode -> 4x4 (last window partially outside).
    pool_case("max_3x3_s2_ceil", "max", (2, 2, 8, 8), (3, 3), (2, 2), ceil_mode=True)
    pool_case("avg_2x2_s2", "avg", (2, 3, 6, 8), (2, 2), (2, 2))
    pool_case("avg_3x3_s1_pad1_include_pad", "avg", (2, 3, 5, 6), (3, 3), (1, 1), (1, 1),
              count_include_pad=True)
    pool_case("avg_3x3_s1_pad1_exclude_pad", "avg", (2, 3, 5, 6), (3, 3), (1, 1), (1, 1),
              count_include_pad=False)
    pool_case("adaptive_avg_1x1", "adaptive_avg", (2, 4, 5, 5), output_size=(1, 1),
              count_include_pad=False)
    pool_case("adaptive_avg_6x6_from_13x13", "adaptive_avg", (2, 3, 13, 13), output_size=(6, 6),
              count_include_pad=False)
    pool_case("adaptive_avg_3x3_from_7x5", "adaptive_avg", (2, 3, 7, 5), output_size=(3, 3),
              count_include_pad=False)
    write("pool.json", {"cases": cases})


# --------------------------------------------------------------------------
# 3. batchnorm
# --------------------------------------------------------------------------
def make_batchnorm():
    torch.manual_seed(3)
    cases = []

    def bn_case(name, shape, training):
        c = shape[1]
        momentum, eps = 0.1, 1e-5
        bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(c, eps=eps, momentum=momentum)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(c) + 0.5)
            bn.bias.copy_(torch.randn(c) * 0.5)
            bn.running_mean.copy_(torch.randn(c) * 0.3)
            bn.running_var.copy_(torch.rand(c) + 0.5)
        rm_before = bn.running_mean.clone()
        rv_before = bn.running_var.clone()
        bn.train(training)
        x = leaf(torch.randn(*shape) * 1.5 + 0.7)
        y = bn(x)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({
            "name": name,
            "training": training,
            "momentum": momentum,
            "eps": eps,
            "x": tensor(x),
            "gamma": tensor(bn.weight),
            "beta": tensor(bn.bias),
            "running_mean": tensor(rm_before),
            "running_var": tensor(rv_before),
            "dy": tensor(dy),
            "y": tensor(y),
            "dx": tensor(x.grad),
            "dgamma": tensor(bn.weight.grad),
            "dbeta": tensor(bn.bias.grad),
            "running_mean_after": tensor(bn.running_mean),
            "running_var_after": tensor(bn.running_var),
        })

    bn_case("batchnorm2d_training", (4, 3, 5, 5), True)
    bn_case("batchnorm2d_eval", (4, 3, 5, 5), False)
    bn_case("batchnorm1d_training", (8, 5), True)
    write("batchnorm.json", {"cases": cases})


# --------------------------------------------------------------------------
# 4. layer norm and local response norm
# --------------------------------------------------------------------------
def make_norms():
    torch.manual_seed(4)
    cases = []

    def ln_case(name, shape, normalized_shape):
        eps = 1e-5
        x = leaf(torch.randn(*shape) * 2.0 + 0.5)
        weight = leaf(torch.rand(*normalized_shape) + 0.5)
        bias = leaf(torch.randn(*normalized_shape) * 0.5)
        y = F.layer_norm(x, normalized_shape, weight, bias, eps)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({
            "name": name,
            "kind": "layer_norm",
            "normalized_shape": list(normalized_shape),
            "eps": eps,
            "x": tensor(x),
            "weight": tensor(weight),
            "bias": tensor(bias),
            "dy": tensor(dy),
            "y": tensor(y),
            "dx": tensor(x.grad),
            "dweight": tensor(weight.grad),
            "dbias": tensor(bias.grad),
        })

    def lrn_case(name, size, alpha, beta, k, scale=1.0):
        x = leaf(torch.randn(2, 7, 3, 3) * scale)
        y = F.local_response_norm(x, size, alpha, beta, k)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({
            "name": name,
            "kind": "lrn",
            "size": size,
            "alpha": alpha,
            "beta": beta,
            "k": k,
            "x": tensor(x),
            "dy": tensor(dy),
            "y": tensor(y),
            "dx": tensor(x.grad),
        })

    ln_case("layer_norm_last_dim", (2, 3, 8), (8,))
    ln_case("layer_norm_last_2_dims", (2, 3, 4, 5), (4, 5))
    lrn_case("lrn_size5", 5, 1e-4, 0.75, 2.0)
    lrn_case("lrn_size4", 4, 1e-4, 0.75, 2.0)
    # Extra case: with alpha=1e-4 the cross-channel terms are ~1e-4 relative and
    # hide window/gradient bugs under typical tolerances; alpha=1 exposes them.
    lrn_case("lrn_size5_alpha1_k1", 5, 1.0, 0.75, 1.0, scale=2.0)
    write("norms.json", {"cases": cases})


# --------------------------------------------------------------------------
# 5. activations
# --------------------------------------------------------------------------
def make_activations():
    torch.manual_seed(5)
    # Values near 0 and +-3 (the hardswish/hardsigmoid breakpoints, avoided
    # exactly because the subgradient there is a convention) and +-4.
    special = torch.tensor([
        -4.0, 4.0, -3.01, -2.99, 2.99, 3.01, -1e-3,
        1e-3, -0.05, 0.05, -3.5, 3.5, -2.0, 2.0,
    ])
    x0 = torch.cat([special, torch.randn(14) * 2.0])
    x0 = x0[torch.randperm(28)].reshape(4, 7)

    acts = [
        ("relu", lambda x: F.relu(x), {}),
        ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), {"negative_slope": 0.1}),
        ("tanh", torch.tanh, {}),
        ("sigmoid", torch.sigmoid, {}),
        ("gelu", lambda x: F.gelu(x), {"approximate": "none"}),
        ("silu", F.silu, {}),
        ("hardswish", F.hardswish, {}),
        ("hardsigmoid", F.hardsigmoid, {}),
        ("softmax", lambda x: F.softmax(x, dim=-1), {"dim": -1}),
        ("log_softmax", lambda x: F.log_softmax(x, dim=-1), {"dim": -1}),
        # Appended last so the earlier cases keep their random draws.
        ("relu6", F.relu6, {}),
    ]
    # relu6 sees 2*x0, which puts the specials at +-5.98/+-6.02 and +-8: both
    # sides of its upper kink at 6 (and of 0) without touching either.
    input_scale = {"relu6": 2.0}
    cases = []
    for name, fn, extra in acts:
        x = leaf(x0 * input_scale.get(name, 1.0))
        y = fn(x)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        case = {"name": name}
        case.update(extra)
        case.update({"x": tensor(x), "dy": tensor(dy), "y": tensor(y), "dx": tensor(x.grad)})
        cases.append(case)
    write("activations.json", {"cases": cases})


# --------------------------------------------------------------------------
# 6. cross entropy
# --------------------------------------------------------------------------
def make_cross_entropy():
    torch.manual_seed(6)
    n, c = 6, 5
    logits0 = torch.randn(n, c) * 2.0
    target = torch.randint(0, c, (n,))
    weight = torch.rand(c) + 0.25
    cases = []
    for name, w, ls in [
        ("plain", None, 0.0),
        ("class_weights", weight, 0.0),
        ("label_smoothing_0.1", None, 0.1),
        ("class_weights_label_smoothing_0.1", weight, 0.1),
    ]:
        logits = leaf(logits0)
        loss = F.cross_entropy(logits, target, weight=w, reduction="mean", label_smoothing=ls)
        loss.backward()
        cases.append({
            "name": name,
            "logits": tensor(logits),
            "target": [int(t) for t in target.tolist()],
            "weight": [num(v) for v in w.tolist()] if w is not None else None,
            "label_smoothing": ls,
            "reduction": "mean",
            "loss": num(loss.item()),
            "dlogits": tensor(logits.grad),
        })
    write("cross_entropy.json", {"cases": cases})


# --------------------------------------------------------------------------
# 7. LeNet-5 SGD step
# --------------------------------------------------------------------------
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def make_lenet5_step():
    torch.manual_seed(0)
    model = LeNet5()
    param_count = sum(p.numel() for p in model.parameters())
    assert param_count == 61706, param_count
    expected_names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                      "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                      "fc3.weight", "fc3.bias"]
    assert list(model.state_dict().keys()) == expected_names

    # MNIST-like input: uniform [0, 1) normalized with the MNIST mean/std.
    x = (torch.rand(8, 1, 28, 28) - 0.1307) / 0.3081
    y = torch.randint(0, 10, (8,))
    lr, momentum, weight_decay = 0.1, 0.9, 5e-4

    params_before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    opt.zero_grad()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = {k: p.grad.detach().clone() for k, p in model.named_parameters()}
    opt.step()
    params_after = {k: v.detach().clone() for k, v in model.state_dict().items()}

    write("lenet5_step.json", {
        "param_count": param_count,
        "params": {k: tensor(params_before[k]) for k in expected_names},
        "x": tensor(x),
        "y": [int(t) for t in y.tolist()],
        "lr": lr,
        "momentum": momentum,
        "weight_decay": weight_decay,
        "loss": num(loss.item()),
        "logits": tensor(logits),
        "grads": {k: tensor(grads[k]) for k in expected_names},
        "params_after": {k: tensor(params_after[k]) for k in expected_names},
    })


# --------------------------------------------------------------------------
# 8. matmul
# --------------------------------------------------------------------------
def make_matmul():
    torch.manual_seed(8)
    cases = []
    for name, sa, sb in [
        ("2d_5x7_7x3", (5, 7), (7, 3)),
        ("batched_2x4x6_2x6x5", (2, 4, 6), (2, 6, 5)),
        ("broadcast_2x4x6_6x5", (2, 4, 6), (6, 5)),
    ]:
        a = leaf(torch.randn(*sa))
        b = leaf(torch.randn(*sb))
        y = torch.matmul(a, b)
        dy = torch.randn(y.shape)
        (y * dy).sum().backward()
        cases.append({
            "name": name,
            "a": tensor(a),
            "b": tensor(b),
            "y": tensor(y),
            "dy": tensor(dy),
            "da": tensor(a.grad),
            "db": tensor(b.grad),
        })
    write("matmul.json", {"cases": cases})


# --------------------------------------------------------------------------
# 9. default init statistics
# --------------------------------------------------------------------------
def make_init_stats():
    torch.manual_seed(9)

    def stats(layer, fan_in):
        w, b = layer.weight.detach(), layer.bias.detach()
        bound = 1.0 / math.sqrt(fan_in)
        return {
            "weight_shape": list(w.shape),
            "fan_in": fan_in,
            "init": "kaiming_uniform_(a=sqrt(5)) => U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
            "weight_bound": num(bound),
            "bias_bound": num(bound),
            "expected_weight_std": num(bound / math.sqrt(3.0)),
            "observed_weight_min": num(w.min().item()),
            "observed_weight_max": num(w.max().item()),
            "observed_weight_std": num(w.std().item()),
            "observed_bias_min": num(b.min().item()),
            "observed_bias_max": num(b.max().item()),
        }

    conv = nn.Conv2d(16, 32, 3)
    lin = nn.Linear(400, 120)
    write("init_stats.json", {
        "torch_version": torch.__version__,
        "conv2d_16_32_3": stats(conv, 16 * 3 * 3),
        "linear_400_120": stats(lin, 400),
    })


# --------------------------------------------------------------------------
# 10. three optimiser steps on whole networks
# --------------------------------------------------------------------------
# Parameters and inputs come from a 32-bit LCG that test/engine/optim-steps.test.ts reproduces bit for bit,
# so the fixture stores no initial values, only recipes. Each run stores the loss of every step and, per
# parameter tensor, the total update after three steps (after - before): at up to SAMPLE evenly spaced
# elements (element floor(k * n / SAMPLE) for k < SAMPLE, or all n when n <= SAMPLE), plus its RMS and mean
# over all elements.
SAMPLE = 256


def lcg_uniform(seed, n):
    """n floats in [0, 1) with 24 random bits each (exact in float32); the same sequence as the TS side."""
    s = seed & 0xFFFFFFFF
    out = []
    for _ in range(n):
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((s >> 8) / 16777216.0)
    return out


def lcg_tensor(seed, shape, scale, offset=0.0):
    """float32 of (u * 2 - 1) * scale + offset for a torch-default-like init, or (u - offset) * scale for inputs."""
    n = 1
    for d in shape:
        n *= d
    vals = [((2.0 * u - 1.0) * scale + offset) for u in lcg_uniform(seed, n)]
    return torch.tensor(vals, dtype=torch.float32).reshape(shape)


class AlexNetCifar(nn.Module):
    """src/models/alexnet.ts's AlexNetCifar with its `width` scale and dropout 0 (torch's RNG differs from ours)."""

    def __init__(self, width):
        super().__init__()
        c1, c2, c3, c4, c5, hidden = [int(n * width) for n in (64, 192, 384, 256, 256, 4096)]
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.0), nn.Linear(c5 * 16, hidden), nn.ReLU(),
            nn.Dropout(0.0), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def make_optimizer(kind, params, o):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"],
                               weight_decay=o["weight_decay"])
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(params, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])


def run_steps(model, params0, batches, kind, o, dtype, bias_correction=True):
    """Loads params0 (our names -> float32 tensors), takes len(batches) steps; returns losses and updates."""
    model = model.to(dtype)
    with torch.no_grad():
        for p, v in zip(model.parameters(), params0):
            p.copy_(v.to(dtype))
    opt = make_optimizer(kind, model.parameters(), o)
    if not bias_correction:
        # Adam without bias correction is torch's own update at a step count so large that 1 - beta^t is 1:
        # torch creates its state lazily, only when it finds none, so we create it first, 1e9 steps in.
        for p in model.parameters():
            opt.state[p] = {"step": torch.tensor(1e9), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    updates = [(p.detach().double() - v.double()) for p, v in zip(model.parameters(), params0)]
    return losses, updates


def sample_indices(n):
    if n <= SAMPLE:
        return list(range(n))
    return [(k * n) // SAMPLE for k in range(SAMPLE)]


def make_optim_steps():
    torch.manual_seed(10)
    configs = [
        {
            "model": "lenet5", "extra": {}, "factory": LeNet5,
            "names": ["c1.weight", "c1.bias", "c3.weight", "c3.bias", "c5.weight", "c5.bias",
                      "f6.weight", "f6.bias", "output.weight", "output.bias"],
            "input": [1, 28, 28], "batch": 8, "normalise": (0.1307, 0.3081),
        },
        {
            "model": "alexnet-cifar", "extra": {"width": 1 / 16, "dropout": 0}, "factory": lambda: AlexNetCifar(1 / 16),
            "names": ["features.%d.%s" % (i, k) for i in (0, 3, 6, 8, 10) for k in ("weight", "bias")]
                     + ["classifier.%d.%s" % (i, k) for i in (2, 5, 7) for k in ("weight", "bias")],
            "input": [3, 32, 32], "batch": 8, "normalise": (0.5, 0.25),
        },
    ]
    optimizers = [
        ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-3},
         {"no_weight_decay": {"weight_decay": 0.0}, "no_momentum": {"momentum": 0.0, "nesterov": False},
          "no_nesterov": {"nesterov": False}}),
        ("adam", {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.05},
         {"no_weight_decay": {"weight_decay": 0.0}, "no_bias_correction": None}),
        ("adamw", {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1.0},
         {"no_weight_decay": {"weight_decay": 0.0}, "no_bias_correction": None}),
    ]
    out = []
    for mi, c in enumerate(configs):
        model = c["factory"]()
        shapes = [list(p.shape) for p in model.parameters()]
        assert len(shapes) == len(c["names"])
        params_desc, params0 = [], []
        for ti, shape in enumerate(shapes):
            fan_in = 1
            for d in shape[1:]:
                fan_in *= d
            if len(shape) == 1:  # a bias: fan_in of its layer's weight
                fan_in = params_desc[-1]["fan_in"]
            seed = 1000 * (mi + 1) + ti
            bound = 1.0 / math.sqrt(fan_in)
            params_desc.append({"name": c["names"][ti], "shape": shape, "seed": seed, "fan_in": fan_in})
            params0.append(lcg_tensor(seed, shape, bound))
        mean, std = c["normalise"]
        batches, batch_desc = [], []
        for step in range(3):
            seed = 100 * (mi + 1) + step
            shape = [c["batch"]] + c["input"]
            n = 1
            for d in shape:
                n *= d
            x = torch.tensor([(u - mean) / std for u in lcg_uniform(seed, n)], dtype=torch.float32).reshape(shape)
            y = [(3 * i + step) % 10 for i in range(c["batch"])]
            batches.append((x, torch.tensor(y)))
            batch_desc.append({"seed": seed, "shape": shape, "y": y})
        runs = []
        for kind, o, breaks in optimizers:
            losses, upd = run_steps(c["factory"](), params0, batches, kind, o, torch.float32)
            _, upd64 = run_steps(c["factory"](), params0, batches, kind, o, torch.float64)
            tensors = []
            for ti, u in enumerate(upd):
                flat, flat64 = u.reshape(-1), upd64[ti].reshape(-1)
                rms = float(flat.pow(2).mean().sqrt())
                idx = sample_indices(flat.numel())
                tensors.append({
                    "name": c["names"][ti], "rms": num(rms), "mean": num(float(flat.mean())),
                    # How far float32 PyTorch lands from float64 PyTorch, in units of this tensor's RMS update.
                    "float32_noise": num(float((flat - flat64).abs().max()) / rms),
                    "values": [num(flat[i]) for i in idx],
                })
            effects = {}
            for bname, change in breaks.items():
                bo = dict(o, **change) if change is not None else o
                _, bu = run_steps(c["factory"](), params0, batches, kind, bo, torch.float32,
                                  bias_correction=change is not None)
                # Per tensor: the largest change the broken optimiser makes to the update, in units of its RMS.
                effects[bname] = [num(float((b.reshape(-1) - u.reshape(-1)).abs().max()) / float(u.reshape(-1).pow(2).mean().sqrt()))
                                  for b, u in zip(bu, upd)]
            runs.append({"optimizer": dict({"name": kind}, **o), "losses": [num(l) for l in losses],
                         "tensors": tensors, "break_effects": effects})
        out.append({"model": c["model"], "extra": c["extra"], "params": params_desc, "batches": batch_desc,
                    "runs": runs})
    write("optim_steps.json", {"sample": SAMPLE, "steps": 3, "models": out})


def main():
    make_conv2d()
    make_pool()
    make_batchnorm()
    make_norms()
    make_activations()
    make_cross_entropy()
    make_lenet5_step()
    make_matmul()
    make_init_stats()
    make_optim_steps()


if __name__ == "__main__":
    import sys
    if len(sys.argv) > 1:
        for name in sys.argv[1:]:
            globals()["make_" + name]()
    else:
        main()
