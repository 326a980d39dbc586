"""The HFC attention module (Kim & Jo, 2024) in PyTorch, written from the paper's equations
with hfcnet's documented choices (ideal circular high-pass on the unshifted spectrum, radius
|f| / 0.5 with numpy's fftfreq, cutoff 0.25). It is the PyTorch side of the benchmarks and of
the golden tests, and shares no code with the C++ library."""
import torch
import torch.nn as nn


def radius(h, w, device=None, dtype=torch.float32):
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype)
    fx = torch.fft.fftfreq(w, device=device, dtype=dtype)
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2) / 0.5


class HfcAttention(nn.Module):
    def __init__(self, channels, cutoff=0.25, queries="hfc"):
        super().__init__()
        self.cutoff = cutoff
        self.queries = queries
        pairs = {"hfc": [("high", "key")], "lfc": [("low", "key")],
                 "hfc_lfc": [("high", "key"), ("low", "key")],
                 "hfc_lfc_hl": [("high", "key"), ("low", "key"), ("high", "low")]}[queries]
        self.pairs = pairs
        self.pointwise = nn.Conv2d(channels, 1, 1, bias=False)
        self.conv = nn.Conv2d(len(pairs), 1, 7, padding=3, bias=False)

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
        for q, kk in self.pairs:
            m = torch.zeros(n, h, w, device=x.device, dtype=x.dtype)
            m[:, :k, :k] = sigma[q][:, :, None] * sigma[kk][:, None, :]
            corr.append(m)
        a = torch.sigmoid(self.conv(torch.stack(corr, 1)))
        return a * x
