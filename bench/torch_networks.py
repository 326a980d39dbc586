"""torchvision's ResNet18 and MobileNetV2 with one input channel, and the HFC attention modules of
torch_hfc.py inserted where hfcnet puts them (after the stem and layers 1-3; after features 0, 1, 3,
6, 10, 13, 16). The PyTorch side of the network benchmarks."""
import torch.nn as nn
import torchvision

from torch_hfc import HfcAttention


def resnet18(num_classes=7, attention=False):
    net = torchvision.models.resnet18(num_classes=num_classes)
    net.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    if attention:
        net.maxpool = nn.Sequential(net.maxpool, HfcAttention(64))
        net.layer1 = nn.Sequential(net.layer1, HfcAttention(64))
        net.layer2 = nn.Sequential(net.layer2, HfcAttention(128))
        net.layer3 = nn.Sequential(net.layer3, HfcAttention(256))
    return net


def mobilenet_v2(num_classes=7, attention=False):
    net = torchvision.models.mobilenet_v2(num_classes=num_classes)
    net.features[0][0] = nn.Conv2d(1, 32, 3, 2, 1, bias=False)
    if attention:
        for index, channels in zip((0, 1, 3, 6, 10, 13, 16), (32, 16, 24, 32, 64, 96, 160)):
            net.features[index] = nn.Sequential(net.features[index], HfcAttention(channels))
    return net
