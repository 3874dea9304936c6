"""Writes assets/imagenet-classes.json: the 1000 ImageNet class names in torchvision's order (the order of the
logits of its pretrained weights), from the installed torchvision. Run once: python3 scripts/make_imagenet_classes.py
"""
import json, os
import torchvision
from torchvision.models._meta import _IMAGENET_CATEGORIES

assert len(_IMAGENET_CATEGORIES) == 1000
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'assets', 'imagenet-classes.json')
with open(out, 'w') as f:
    json.dump({'source': f'torchvision {torchvision.__version__} torchvision.models._meta._IMAGENET_CATEGORIES', 'classes': list(_IMAGENET_CATEGORIES)}, f, indent=0)
    f.write('\n')
