"""Writes the golden files the C++ golden tests compare against (tests/test_golden.cpp).

For each network variant, <variant>.weights.safetensors holds the float32 state_dict (torchvision
names, BatchNorm buffers, num_batches_tracked as I64) and <variant>.golden.safetensors holds:
  input, labels            a seeded 2x1x64x64 batch and its classes
  eval.logits              eval mode, float32
  train.logits, train.loss, after.<buffer>
                           one train-mode forward in float32, and the buffers it leaves
  double.train.logits, double.train.loss, double.grad.<param>, double.after.<buffer>,
  double.adam.<param>      the same step with the model in float64, its gradients, and the
                           parameters after one Adam step (lr 1e-3)
Gradients are compared in double: in float, an activation within rounding of a ReLU kink falls on
either side in two implementations and flips a whole gradient element (seen: a BatchNorm output
of 5e-7 before a ReLU changed layer1's gradients by 1%), and Adam's first step is about
lr * sign(grad). Dropout is off in the step (its mask is random in both frameworks). Gradients
and Adam results are kept for parameters up to MAX_RECORDED elements, and for the stem.

The safetensors writer is written here from the format's description (8-byte little-endian header
length, JSON header, raw little-endian data), independently of the C++ one.

Usage: make_golden.py OUT_DIR.  Prints "SKIPPED: ..." and exits 0 when torch is not importable.
"""
import copy
import json
import os
import struct
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the C++ tests then skip with the same message
    print(f"SKIPPED: PyTorch is not importable ({e}); install python3-torch python3-torchvision")
    sys.exit(0)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

VARIANTS = [("resnet18", torch_models.resnet18, "none"),
            ("resnet18_hfc", torch_models.resnet18, "hfc"),
            ("resnet18_bam_official", torch_models.resnet18, "bam_official"),
            ("mobilenet_v2", torch_models.mobilenet_v2, "none"),
            ("mobilenet_v2_hfc", torch_models.mobilenet_v2, "hfc"),
            ("mobilenet_v2_bam_paper", torch_models.mobilenet_v2, "bam_paper")]
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
MAX_RECORDED = 40000


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def depthwise_by_unfold(conv, x):
    """A depthwise conv as unfold and a weighted sum: the same function as conv(x), but PyTorch
    1.13's float64 depthwise kernel takes ~15 s for one MobileNetV2 step at this size."""
    n, c, h, w = x.shape
    k, s, p, d = conv.kernel_size[0], conv.stride[0], conv.padding[0], conv.dilation[0]
    oh, ow = (h + 2 * p - d * (k - 1) - 1) // s + 1, (w + 2 * p - d * (k - 1) - 1) // s + 1
    cols = F.unfold(x, k, dilation=d, padding=p, stride=s).view(n, c, k * k, oh * ow)
    y = (cols * conv.weight.view(c, k * k, 1)).sum(2)
    if conv.bias is not None:
        y = y + conv.bias.view(c, 1)
    return y.view(n, c, oh, ow)


def in_double(model):
    double = copy.deepcopy(model).double()
    for m in double.modules():
        if isinstance(m, torch.nn.Conv2d) and m.groups > 1:
            assert m.groups == m.in_channels == m.out_channels, "only depthwise convs are grouped here"
            m.forward = lambda x, conv=m: depthwise_by_unfold(conv, x)
    return double


def train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    return model


def make(name, builder, attention, out):
    torch.manual_seed(20240)
    model = builder(attention=attention)
    write_safetensors(os.path.join(out, name + ".weights.safetensors"), model.state_dict())
    x = torch.randn(2, 1, 64, 64)
    labels = torch.tensor([3, 5])
    golden = {"input": x, "labels": labels}
    params = [n for n, _ in model.named_parameters()]
    recorded = [n for n, p in model.named_parameters() if p.numel() <= MAX_RECORDED or n == params[0]]

    double = in_double(model)
    model.eval()
    with torch.no_grad():
        golden["eval.logits"] = model(x)
        golden["train.logits"] = train_mode(model)(x)
    golden["train.loss"] = F.cross_entropy(golden["train.logits"], labels).reshape(1)
    golden.update({"after." + n: b for n, b in model.named_buffers()})

    logits = train_mode(double)(x.double())
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    golden["double.train.logits"] = logits
    golden["double.train.loss"] = loss.reshape(1)
    p = dict(double.named_parameters())
    golden.update({"double.grad." + n: p[n].grad for n in recorded})
    golden.update({"double.after." + n: b for n, b in double.named_buffers()})
    torch.optim.Adam(double.parameters(), lr=1e-3).step()
    golden.update({"double.adam." + n: p[n] for n in recorded})
    write_safetensors(os.path.join(out, name + ".golden.safetensors"), golden)
    return len(recorded)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "golden"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    for name, builder, attention in VARIANTS:
        n = make(name, builder, attention, out)
        print(f"{name}: weights and golden step written ({n} parameters recorded)")
    print(f"golden files in {out} (torch {torch.__version__}, torchvision {__import__('torchvision').__version__})")


if __name__ == "__main__":
    main()
