"""PyTorch side of hfcnet's golden tests and benchmarks, written independently of the C++ code.

- HfcAttention: Kim & Jo (2024), eqs. 1-10, with hfcnet's documented choices (ideal circular
  high-pass on the unshifted spectrum, radius |f| / 0.5 with numpy's fftfreq, cutoff 0.25).
- Bam: Park et al. (2018) in hfcnet's two presets (DESIGN.md): "official" is the authors' code
  (BatchNorm, biases, (1 + sigmoid(Mc * Ms)) x), "paper" drops BatchNorm and the spatial-conv
  biases and adds the gates as the BAM paper's eq. 1 does.
- resnet18 / mobilenet_v2: torchvision's networks with one input channel and the attention
  modules where hfcnet puts them, under hfcnet's names (attention.{i}.*).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torchvision
except ImportError:  # a PyTorch without torchvision (a GPU machine's, say): the attention modules only
    torchvision = None

HFC_QUERIES = {"hfc": [("high", "key")], "lfc": [("low", "key")],
               "hfc_lfc": [("high", "key"), ("low", "key")],
               "hfc_lfc_hl": [("high", "key"), ("low", "key"), ("high", "low")]}


def radius(h, w, device=None, dtype=torch.float32):
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype)
    fx = torch.fft.fftfreq(w, device=device, dtype=dtype)
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) / 0.5


class HfcAttention(nn.Module):
    def __init__(self, channels, cutoff=0.25, queries="hfc"):
        super().__init__()
        self.cutoff = cutoff
        self.pairs = HFC_QUERIES[queries]
        self.pointwise = nn.Conv2d(channels, 1, 1, bias=False)
        self.conv = nn.Conv2d(len(self.pairs), 1, 7, padding=3, bias=False)

    def forward(self, x):
        n, _, h, w = x.shape
        key = self.pointwise(x)[:, 0]
        r = radius(h, w, x.device, x.dtype)
        spectrum = torch.fft.fft2(key)
        maps = {"key": key,
                "high": torch.fft.ifft2(spectrum * (r > self.cutoff)).real,
                "low": torch.fft.ifft2(spectrum * (r <= self.cutoff)).real}
        sigma = {name: torch.linalg.svdvals(maps[name]) for name in {m for p in self.pairs for m in p}}
        k = min(h, w)
        corr = []
        for q, kk in self.pairs:  # sigma_q zero-padded to h, sigma_k to w
            m = torch.zeros(n, h, w, device=x.device, dtype=x.dtype)
            m[:, :k, :k] = sigma[q][:, :, None] * sigma[kk][:, None, :]
            corr.append(m)
        return torch.sigmoid(self.conv(torch.stack(corr, 1))) * x


class BamChannelGate(nn.Module):
    def __init__(self, channels, hidden, batch_norm):
        super().__init__()
        self.fc_0 = nn.Linear(channels, hidden)
        self.bn_0 = nn.BatchNorm1d(hidden) if batch_norm else None
        self.fc_final = nn.Linear(hidden, channels)

    def forward(self, x):
        h = self.fc_0(x.mean((2, 3)))
        if self.bn_0 is not None:
            h = self.bn_0(h)
        return self.fc_final(F.relu(h))


class BamSpatialGate(nn.Module):
    def __init__(self, channels, hidden, batch_norm, dilation=4):
        super().__init__()
        bias = batch_norm  # the authors' code has biases and BatchNorm; the paper preset neither
        self.conv_reduce = nn.Conv2d(channels, hidden, 1, bias=bias)
        self.bn_reduce = nn.BatchNorm2d(hidden) if batch_norm else None
        self.conv_di_0 = nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation, bias=bias)
        self.bn_di_0 = nn.BatchNorm2d(hidden) if batch_norm else None
        self.conv_di_1 = nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation, bias=bias)
        self.bn_di_1 = nn.BatchNorm2d(hidden) if batch_norm else None
        self.conv_final = nn.Conv2d(hidden, 1, 1, bias=bias)

    def forward(self, x):
        for conv, bn in ((self.conv_reduce, self.bn_reduce), (self.conv_di_0, self.bn_di_0),
                         (self.conv_di_1, self.bn_di_1)):
            x = conv(x)
            x = F.relu(bn(x) if bn is not None else x)
        return self.conv_final(x)


class Bam(nn.Module):
    def __init__(self, channels, preset="official", reduction=16):
        super().__init__()
        official = preset == "official"
        hidden = channels // reduction
        self.product = official
        self.channel_gate = BamChannelGate(channels, hidden, official)
        self.spatial_gate = BamSpatialGate(channels, hidden, official)

    def forward(self, x):
        mc = self.channel_gate(x)[:, :, None, None]
        ms = self.spatial_gate(x)
        return (1 + torch.sigmoid(mc * ms if self.product else mc + ms)) * x


def make_attention(attention, channels):
    if attention == "none":
        return nn.ModuleList()
    if attention.startswith("bam_"):
        return nn.ModuleList(Bam(c, attention[4:]) for c in channels)
    return nn.ModuleList(HfcAttention(c, queries=attention) for c in channels)


if torchvision is not None:
    class ResNet18(torchvision.models.ResNet):
        """Attention after the stem (after the maxpool) and after layer1, layer2 and layer3."""

        def __init__(self, num_classes=7, in_channels=1, attention="none"):
            super().__init__(torchvision.models.resnet.BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
            self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
            nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
            self.attention = make_attention(attention, (64, 64, 128, 256))

        def _forward_impl(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            for i, layer in enumerate((self.layer1, self.layer2, self.layer3, self.layer4)):
                if i < len(self.attention):
                    x = self.attention[i](x)
                x = layer(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))


    class MobileNetV2(torchvision.models.MobileNetV2):
        """Attention after features[0], [1], [3], [6], [10], [13] and [16]."""
        AFTER = (0, 1, 3, 6, 10, 13, 16)

        def __init__(self, num_classes=7, in_channels=1, attention="none"):
            super().__init__(num_classes=num_classes)
            self.features[0][0] = nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False)
            nn.init.kaiming_normal_(self.features[0][0].weight, mode="fan_out")
            self.attention = make_attention(attention, (32, 16, 24, 32, 64, 96, 160))

        def _forward_impl(self, x):
            for i, feature in enumerate(self.features):
                x = feature(x)
                if self.attention and i in self.AFTER:
                    x = self.attention[self.AFTER.index(i)](x)
            x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
            return self.classifier(x)


    def resnet18(num_classes=7, attention="none"):
        return ResNet18(num_classes=num_classes, attention=attention)


    def mobilenet_v2(num_classes=7, attention="none"):
        return MobileNetV2(num_classes=num_classes, attention=attention)
