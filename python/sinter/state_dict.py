"""Sinter weights to and from a PyTorch `state_dict`, and safetensors files read and written with NumPy alone
(Debian 12 has no python3-safetensors, and torch 1.13's `torch.load` cannot read the format).

A *layout* says where each Sinter param lives in the state_dict: {sinter name: (torch key, view)}, where
view(a) presents the torch tensor `a` in Sinter's layout as a view of it (NumPy arrays and torch tensors
alike), so the same layout serves both directions. The layers of nn.sn have helpers:

    layout = {**sinter.dense("fc1", "fc1"),          # Dense w [in, out]  <- nn.Linear weight [out, in]
              **sinter.conv2d("conv1", "conv1"),     # Conv2D w as torch's; b [out, 1, 1] <- bias [out]
              **sinter.lstm("rnn.cell", "rnn")}      # LSTM/GRU/SimpleRNN cells <- nn.LSTM/GRU/RNN layer 0
    m.load_state_dict(torch_model.state_dict(), layout)          # a compiled model takes torch's weights
    torch_model.load_state_dict(m.state_dict(layout, torch_model.state_dict()))   # and gives them back
    sinter.write_weights("w.safetensors", sinter.to_sinter(torch_model.state_dict(), layout))

A torch key may also be a tuple of keys whose tensors sum to the Sinter param: torch's recurrent layers have
two biases (bias_ih and bias_hh) where Sinter's SimpleRNN and LSTM cells have one; going back, the first key
takes the value and the others zeros. Gates are in torch's order on both sides (LSTM i, f, g, o; GRU r, z, n).
"""
import json
import struct

import numpy as np

_NUMPY_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32}
_SAFETENSORS_DTYPES = {np.dtype(v): k for k, v in _NUMPY_DTYPES.items()}


# ---------------------------------------------------------------------------------------------------------
# Views: a torch tensor (or its NumPy array) in Sinter's layout

def same(a):
    return a


def transposed(a):
    """Dense and recurrent weights: Sinter's [in, out] is torch's [out, in]."""
    return a.T


def conv_bias(a):
    """Sinter's conv bias is [out, 1, 1], to broadcast over the image; torch's is [out]."""
    return a.reshape(-1, 1, 1)


def rows(k, n):
    """Rows [k*n, (k+1)*n) of a packed tensor, e.g. the q, k and v projections of nn.MultiheadAttention's
    in_proj_weight (k = 0, 1, 2; compose with transposed for the weight: lambda a: rows(k, n)(a).T)."""
    return lambda a: a[k * n:(k + 1) * n]


# ---------------------------------------------------------------------------------------------------------
# Layouts of nn.sn's layers: Sinter's name of the layer, then the torch module's prefix in the state_dict

def _key(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def dense(name, prefix, bias=True):
    """Dense(in, out): w [in, out], b [out] <- nn.Linear: weight [out, in], bias [out]."""
    w = {f"{name}.w": (_key(prefix, "weight"), transposed)}
    return {**w, f"{name}.b": (_key(prefix, "bias"), same)} if bias else w


def conv2d(name, prefix, bias=True):
    """Conv2D (any groups) and ConvTranspose2D: w as torch's ([out, in / groups, kh, kw]; [in, out, kh, kw] for
    the transposed convolution), b [out, 1, 1] <- bias [out]."""
    w = {f"{name}.w": (_key(prefix, "weight"), same)}
    return {**w, f"{name}.b": (_key(prefix, "bias"), conv_bias)} if bias else w


def batch_norm(name, prefix):
    """BatchNorm1D/2D: gamma, beta and the states running_mean, running_var <- weight, bias and the buffers."""
    return {f"{name}.gamma": (_key(prefix, "weight"), same), f"{name}.beta": (_key(prefix, "bias"), same),
            f"{name}.running_mean": (_key(prefix, "running_mean"), same),
            f"{name}.running_var": (_key(prefix, "running_var"), same)}


def layer_norm(name, prefix):
    """LayerNorm: gamma, beta <- nn.LayerNorm weight, bias."""
    return {f"{name}.gamma": (_key(prefix, "weight"), same), f"{name}.beta": (_key(prefix, "bias"), same)}


def recurrent_weights(name, prefix):
    """A recurrent cell's wx [in, k*hidden] and wh [hidden, k*hidden] <- weight_ih_l0, weight_hh_l0."""
    return {f"{name}.wx": (_key(prefix, "weight_ih_l0"), transposed),
            f"{name}.wh": (_key(prefix, "weight_hh_l0"), transposed)}


def simple_rnn(name, prefix):
    """SimpleRNN's cell (wx, wh, b) <- nn.RNN layer 0; b is bias_ih + bias_hh."""
    return {**recurrent_weights(name, prefix),
            f"{name}.b": ((_key(prefix, "bias_ih_l0"), _key(prefix, "bias_hh_l0")), same)}


lstm = simple_rnn  # LSTM's cell (wx, wh, b) <- nn.LSTM layer 0, gates i, f, g, o on both sides


def gru(name, prefix):
    """GRU's cell (wx, wh, bx, bh) <- nn.GRU layer 0: bh stays apart, since r multiplies it."""
    return {**recurrent_weights(name, prefix), f"{name}.bx": (_key(prefix, "bias_ih_l0"), same),
            f"{name}.bh": (_key(prefix, "bias_hh_l0"), same)}


def embedding(name, prefix):
    """Embedding: table [vocab, dim] <- nn.Embedding weight."""
    return {f"{name}.table": (_key(prefix, "weight"), same)}


# ---------------------------------------------------------------------------------------------------------
# Conversions

def _numpy(t):
    """A torch tensor's values as a NumPy array (sharing memory when it can), or the array itself."""
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def to_sinter(state_dict, layout):
    """{Sinter param name: float32 array in Sinter's layout} from a torch state_dict (tensors or arrays)."""
    out = {}
    for name, (keys, view) in layout.items():
        keys = keys if isinstance(keys, tuple) else (keys,)
        missing = [k for k in keys if k not in state_dict]
        if missing:
            raise KeyError(f"param {name!r}: the state_dict has no {missing[0]!r}")
        value = sum(np.asarray(view(_numpy(state_dict[k])), dtype=np.float64) for k in keys)
        dtype = _numpy(state_dict[keys[0]]).dtype
        out[name] = np.ascontiguousarray(value, dtype=dtype if dtype == np.float64 else np.float32)
    return out


def to_state_dict(weights, layout, template):
    """A state_dict of the template's keys, shapes and dtypes (a torch module's own state_dict(), tensors or
    arrays) holding the Sinter weights {name: array}; keys the layout does not reach keep the template's
    values (e.g. BatchNorm's num_batches_tracked). Tensors come back as torch tensors when the template holds
    them."""
    missing = [name for name in layout if name not in weights]
    if missing:
        raise KeyError(f"the weights have no param {missing[0]!r}")
    out = {k: _numpy(v).copy() for k, v in template.items()}
    for name, (keys, view) in layout.items():
        keys = keys if isinstance(keys, tuple) else (keys,)
        for i, k in enumerate(keys):
            if k not in out:
                raise KeyError(f"param {name!r}: the template has no {k!r}")
            target = view(out[k])
            value = np.asarray(weights[name])
            if target.shape != value.shape:
                raise ValueError(f"param {name!r} is {list(value.shape)} but {k!r} holds {list(target.shape)} in "
                                 "Sinter's layout")
            target[...] = value if i == 0 else 0
    if any(hasattr(v, "detach") for v in template.values()):
        import torch
        return {k: torch.from_numpy(v) for k, v in out.items()}
    return out


def read_weights(path):
    """The params of a safetensors file, {name: array}: not the tensors saved beside them, whose names hold a
    '/' (the --normalize statistics, optimizer state)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (shorter than its 8-byte header length)")
    n, = struct.unpack_from("<Q", raw)
    if 8 + n > len(raw):
        raise ValueError(f"{path}: not a safetensors file (a header of {n} bytes in a file of {len(raw)})")
    header, body = json.loads(raw[8:8 + n]), raw[8 + n:]
    out = {}
    for name, v in header.items():
        if name == "__metadata__" or "/" in name:
            continue
        if v["dtype"] not in _NUMPY_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {v['dtype']} (F32, F64 or I32 expected)")
        begin, end = v["data_offsets"]
        out[name] = np.frombuffer(body[begin:end], dtype=_NUMPY_DTYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def write_weights(path, weights, model=None):
    """Writes {name: array} as a safetensors file that sinter_load_weights, `sinter run --load` and
    Model.load read (the model's param names, shapes and dtypes); `model` names it in the metadata."""
    metadata = {"format": "pt", **({"sinter_model": model} if model else {})}
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, value in weights.items():
        a = np.ascontiguousarray(_numpy(value))
        if a.dtype not in _SAFETENSORS_DTYPES:
            raise ValueError(f"tensor {name!r} has dtype {a.dtype} (float32, float64 or int32 expected)")
        blob = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _SAFETENSORS_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
