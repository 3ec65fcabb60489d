#!/usr/bin/env python3
"""Write a PyTorch nn.Sequential as a neuronmotif model file (the contract in DESIGN.md).

A genomic CNN built as an `nn.Sequential` of Conv1d, BatchNorm1d, ReLU, MaxPool1d, Dropout,
Flatten, Linear and Sigmoid already has the tensor names and layouts the model file uses:
`<index>.weight` `[out, in, k]`, `<index>.bias`, `<index>.running_mean`, `<index>.running_var`.
`export_sequential` adds the architecture JSON to the safetensors metadata and saves the
state_dict as it is (including BatchNorm's `num_batches_tracked`, which the loader ignores).

Run through `cargo xtask torch-export`, which also writes a reference file: PyTorch's own
pre-ReLU outputs of every conv layer (after its batchnorm) and input gradients of one neuron per
layer, on fixed random one-hot inputs. `crates/neuronmotif-cnn/tests/pytorch_file.rs` checks
the Rust model against them. Inputs in the reference are channels-last `[n, len, 4]` (the
project's layout); PyTorch itself sees `[n, 4, len]`.

Usage: torch_export.py OUT_MODEL OUT_REFERENCE
"""

import json
import sys

import torch
from safetensors.torch import save_file
from torch import nn


def layer_spec(index, module):
    """The architecture JSON entry of one module of the Sequential."""
    name = str(index)
    if isinstance(module, nn.Conv1d):
        if module.groups != 1:
            raise ValueError(f"layer {name}: grouped Conv1d is not supported")
        if module.padding not in ((0,), 0, "valid"):
            raise ValueError(f"layer {name}: only padding 0 ('valid') is supported")
        return {
            "op": "conv1d",
            "name": name,
            "in_channels": module.in_channels,
            "out_channels": module.out_channels,
            "kernel_size": module.kernel_size[0],
            "stride": module.stride[0],
            "dilation": module.dilation[0],
            "padding": "valid",
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.BatchNorm1d):
        if not module.track_running_stats or not module.affine:
            raise ValueError(f"layer {name}: BatchNorm1d needs running statistics and affine")
        return {"op": "batchnorm", "name": name, "eps": module.eps}
    if isinstance(module, nn.ReLU):
        return {"op": "relu", "name": name}
    if isinstance(module, nn.MaxPool1d):
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        s = module.stride if isinstance(module.stride, int) else module.stride[0]
        if module.padding not in (0, (0,)) or module.dilation not in (1, (1,)) or module.ceil_mode:
            raise ValueError(f"layer {name}: MaxPool1d with padding, dilation or ceil_mode")
        return {"op": "maxpool1d", "name": name, "kernel_size": k, "stride": s}
    if isinstance(module, nn.Dropout):
        return {"op": "dropout", "name": name}
    if isinstance(module, nn.Flatten):
        return {"op": "flatten", "name": name}
    if isinstance(module, nn.Linear):
        return {
            "op": "linear",
            "name": name,
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.Sigmoid):
        return {"op": "sigmoid", "name": name}
    raise ValueError(f"layer {name}: {type(module).__name__} has no model-file op")


def export_sequential(model, path, alphabet="ACGT", input_length=None):
    """Save `model` (an nn.Sequential) as a neuronmotif model file at `path`."""
    if not isinstance(model, nn.Sequential):
        raise TypeError("export_sequential needs an nn.Sequential")
    arch = {
        "version": 1,
        "alphabet": alphabet,
        "layers": [layer_spec(i, m) for i, m in enumerate(model)],
    }
    if input_length is not None:
        arch["input_length"] = input_length
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, path, metadata={"neuronmotif.architecture": json.dumps(arch)})


def tiny_model():
    """A Basset-shaped miniature: three conv blocks with BN, pools of 2 and 3, and a head."""
    torch.manual_seed(7)
    model = nn.Sequential(
        nn.Conv1d(4, 8, 7),  # 0
        nn.BatchNorm1d(8),  # 1
        nn.ReLU(),  # 2
        nn.MaxPool1d(3),  # 3
        nn.Conv1d(8, 6, 5, dilation=2),  # 4
        nn.BatchNorm1d(6),  # 5
        nn.ReLU(),  # 6
        nn.MaxPool1d(2),  # 7
        nn.Dropout(0.2),  # 8
        nn.Conv1d(6, 5, 3, bias=False),  # 9
        nn.BatchNorm1d(5, eps=1e-3),  # 10
        nn.ReLU(),  # 11
        nn.Flatten(),  # 12
        nn.Linear(5 * 3, 3),  # 13: 60 bp -> 3 positions of conv 3
        nn.Sigmoid(),  # 14
    )
    # Non-trivial batchnorm statistics, as after training.
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm1d):
                c = m.num_features
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5) * torch.sign(torch.randn(c)))
                m.bias.copy_(torch.randn(c) * 0.2)
                m.running_mean.copy_(torch.randn(c) * 0.3)
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 2.0))
    return model.eval()


CONV_OUTPUTS = {1: 1, 2: 5, 3: 10}  # conv layer -> index of its batchnorm (pre-ReLU output)


def reference(model, input_length, n=6):
    """PyTorch's feature maps and input gradients on fixed one-hot inputs."""
    g = torch.Generator().manual_seed(11)
    codes = torch.randint(0, 4, (n, input_length), generator=g)
    x = torch.nn.functional.one_hot(codes, 4).float()  # [n, len, 4], ACGT
    out = {"inputs": x.clone()}
    for layer, upto in CONV_OUTPUTS.items():
        sub = model[: upto + 1]
        fmap = sub(x.permute(0, 2, 1))  # [n, channels, positions]
        out[f"fmap_conv{layer}"] = fmap.permute(0, 2, 1).contiguous().detach()
        # gradient of channel `c` at position `p` with respect to the input
        c, p = layer % fmap.shape[1], fmap.shape[2] // 2
        xi = x.clone().requires_grad_(True)
        y = sub(xi.permute(0, 2, 1))[:, c, p].sum()
        (grad,) = torch.autograd.grad(y, xi)
        out[f"grad_conv{layer}_pos{p}_ch{c}"] = grad.detach().contiguous()
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model_path, ref_path = sys.argv[1:]
    input_length = 60
    model = tiny_model()
    export_sequential(model, model_path, input_length=input_length)
    save_file(
        reference(model, input_length),
        ref_path,
        metadata={"made_by": f"xtask/python/torch_export.py, torch {torch.__version__}"},
    )
    print(f"wrote {model_path} and {ref_path} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
