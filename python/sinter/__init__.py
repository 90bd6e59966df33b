"""Sinter models from Python: loads a library that `sinter build --emit shared` made and drives it through
the runtime's C API (runtime/include/sinter/sinter.h) with ctypes and NumPy; no compiler needed.

    import sinter
    m = sinter.Model("libfashion.so")             # the library's one model; or Model(path, "FashionMLP")
    m.inputs, m.params, m.outputs                 # [Tensor(name, dtype, dims)], None for the batch dimension
    loss = m.train_step(image=x, label=y)         # one optimizer step; returns the loss
    out = m.forward(image=x, label=y)             # {output name: array}
    m.evaluate(image=x, label=y)                  # {"loss": ..., "accuracy": ...}
    m.save("w.safetensors"); m.load("w.safetensors")  # with the --normalize standard statistics they hold
    m.normalizer                                  # (mean, inv_std) applied to the first input, or None
    m.set_flush_denormals(False)                  # keep denormal floats (flushed to zero by default)
    m.param("w1")                                 # a param's array, a view of the instance's memory
    m.load_state_dict(torch_sd, layout); m.state_dict(layout, torch_sd)   # PyTorch weights (state_dict.py)

A failed call raises sinter.Error with the runtime's message (sinter_last_error).
"""
import ctypes
import struct

import numpy as np

from .state_dict import (batch_norm, conv2d, conv_bias, dense, embedding, gru, layer_norm, lstm, read_weights,
                         recurrent_weights, rows, same, simple_rnn, to_sinter, to_state_dict, transposed,
                         write_weights)

__all__ = ["Model", "Tensor", "Error", "model_names", "read_weights", "write_weights", "to_sinter",
           "to_state_dict", "same", "transposed", "conv_bias", "rows", "dense", "conv2d", "batch_norm",
           "layer_norm", "recurrent_weights", "simple_rnn", "lstm", "gru", "embedding"]

_DTYPES = {0: np.float32, 1: np.float64, 2: np.int32}
_INPUT, _PARAM, _OUTPUT = 0, 1, 2


class Error(RuntimeError):
    """A call of the runtime failed: the message is the runtime's, the status its sinter_status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("elements", ctypes.c_int64), ("bytes", ctypes.c_int64)]


class _Metrics(ctypes.Structure):
    _fields_ = [("metrics", ctypes.c_int32), ("reserved", ctypes.c_int32), ("count", ctypes.c_int64),
                ("loss", ctypes.c_double), ("accuracy", ctypes.c_double), ("correct", ctypes.c_int64)]


class Tensor:
    """A tensor of the model: its name, NumPy dtype and dims (None where the batch size goes)."""

    def __init__(self, name, dtype, dims):
        self.name, self.dtype, self.dims = name, dtype, dims

    def shape(self, batch):
        return tuple(batch if d is None else d for d in self.dims)

    def __repr__(self):
        dims = ", ".join("batch" if d is None else str(d) for d in self.dims)
        return f"Tensor({self.name!r}, {np.dtype(self.dtype).name}[{dims}])"


def model_names(path):
    """The models a library holds: the names of the descriptors it exports (`<Model>_model`, data symbols
    in its ELF dynamic symbol table), without the `_model`."""
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        raise Error(f"{path}: not a 64-bit ELF library")
    end = "<" if elf[5] == 1 else ">"
    shoff, = struct.unpack_from(end + "Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from(end + "HH", elf, 0x3A)
    sections = [struct.unpack_from(end + "IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    names = []
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != 11:  # SHT_DYNSYM
            continue
        strtab = sections[link][4]
        for at in range(offset + entsize, offset + size, entsize):  # entry 0 is the null symbol
            name_at, info, _, shndx = struct.unpack_from(end + "IBBH", elf, at)
            name = elf[strtab + name_at:elf.index(b"\0", strtab + name_at)].decode()
            if (info & 0xF) == 1 and shndx != 0 and name.endswith("_model") and not name.startswith("sinter_"):
                names.append(name[:-len("_model")])
    return names


def _api(lib):
    p, i32, i64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64
    sig = {
        "sinter_create": (p, [p, ctypes.c_uint64]), "sinter_destroy": (None, [p]),
        "sinter_last_error": (ctypes.c_char_p, [p]), "sinter_num_tensors": (i32, [p, i32]),
        "sinter_tensor_shape": (ctypes.c_int, [p, i32, i32, i64, ctypes.POINTER(_TensorInfo),
                                               ctypes.POINTER(i64), i32]),
        "sinter_forward": (ctypes.c_int, [p, i64, ctypes.POINTER(p), ctypes.POINTER(p)]),
        "sinter_train_step": (ctypes.c_int, [p, i64, ctypes.POINTER(p), ctypes.POINTER(ctypes.c_float)]),
        "sinter_evaluate": (ctypes.c_int, [p, i64, ctypes.POINTER(p), ctypes.POINTER(_Metrics)]),
        "sinter_save_weights": (ctypes.c_int, [p, ctypes.c_char_p]),
        "sinter_load_weights": (ctypes.c_int, [p, ctypes.c_char_p]),
        "sinter_param_data": (p, [p, i32]), "sinter_param_data_f64": (p, [p, i32]),
        "sinter_set_threads": (ctypes.c_int, [ctypes.c_int]), "sinter_version": (ctypes.c_char_p, []),
        "sinter_set_flush_denormals": (ctypes.c_int, [p, ctypes.c_int]),
        "sinter_get_normalizer": (i64, [p, ctypes.POINTER(ctypes.POINTER(ctypes.c_float)),
                                        ctypes.POINTER(ctypes.POINTER(ctypes.c_float))]),
        "sinter_set_normalizer": (ctypes.c_int, [p, ctypes.POINTER(ctypes.c_float),
                                                 ctypes.POINTER(ctypes.c_float), i64]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args


class Model:
    """One instance of a compiled model: its weights (initialized from `seed`) and its optimizer state."""

    def __init__(self, library, name=None, seed=1):
        names = model_names(library)
        if name is None:
            if len(names) != 1:
                raise Error(f"{library}: holds the models {names}; name one")
            name = names[0]
        elif name not in names:
            raise Error(f"{library}: no model {name!r} (it holds {names})")
        self.name = name
        self._lib = ctypes.CDLL(library)
        _api(self._lib)
        desc = ctypes.addressof(ctypes.c_char.in_dll(self._lib, name + "_model"))
        self._inst = self._lib.sinter_create(desc, seed)
        if not self._inst:
            raise Error(f"{library}: {self._lib.sinter_last_error(None).decode()}")
        self.inputs, self.params, self.outputs = (self._tensors(k) for k in (_INPUT, _PARAM, _OUTPUT))

    def __del__(self):
        if getattr(self, "_inst", None):
            self._lib.sinter_destroy(self._inst)
            self._inst = None

    def _tensors(self, kind):
        out = []
        for i in range(self._lib.sinter_num_tensors(self._inst, kind)):
            # Dims at two batch sizes: those that follow the batch are symbolic.
            shapes = []
            for batch in (1, 2):
                info, dims = _TensorInfo(), (ctypes.c_int64 * 8)()
                self._check(self._lib.sinter_tensor_shape(self._inst, kind, i, batch, ctypes.byref(info), dims, 8))
                shapes.append(tuple(dims[:info.rank]))
            dims = tuple(None if a != b else a for a, b in zip(*shapes))
            out.append(Tensor(info.name.decode(), _DTYPES[info.dtype], dims))
        return out

    def _check(self, status):
        if status != 0:
            raise Error(self._lib.sinter_last_error(self._inst).decode(), status)

    def _input_buffers(self, args, kwargs):
        """The inputs, by position or by name, as contiguous arrays of the model's dtypes, and the batch."""
        if args and kwargs:
            raise TypeError("give the inputs by position or by name, not both")
        if kwargs:
            missing = [t.name for t in self.inputs if t.name not in kwargs]
            unknown = [k for k in kwargs if k not in {t.name for t in self.inputs}]
            if missing or unknown:
                raise TypeError(f"{self.name}: missing inputs {missing}, unknown inputs {unknown}")
            args = [kwargs[t.name] for t in self.inputs]
        if len(args) != len(self.inputs):
            raise TypeError(f"{self.name} takes {len(self.inputs)} inputs ({[t.name for t in self.inputs]})")
        arrays = [np.ascontiguousarray(a, dtype=t.dtype) for a, t in zip(args, self.inputs)]
        batch = arrays[0].shape[0] if arrays[0].ndim else 0
        for a, t in zip(arrays, self.inputs):
            if a.shape != t.shape(batch):
                raise ValueError(f"{self.name}: input {t.name!r} has shape {a.shape}, expected {t.shape(batch)}")
        return arrays, batch, (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])

    def forward(self, *args, **kwargs):
        """Every output for a batch: {name: array}."""
        arrays, batch, ins = self._input_buffers(args, kwargs)
        outs = [np.empty(t.shape(batch), t.dtype) for t in self.outputs]
        ptrs = (ctypes.c_void_p * len(outs))(*[o.ctypes.data for o in outs])
        self._check(self._lib.sinter_forward(self._inst, batch, ins, ptrs))
        return {t.name: o for t, o in zip(self.outputs, outs)}

    def train_step(self, *args, **kwargs):
        """One step of the train block's optimizer on a batch; returns the loss before the step."""
        arrays, batch, ins = self._input_buffers(args, kwargs)
        loss = ctypes.c_float()
        self._check(self._lib.sinter_train_step(self._inst, batch, ins, ctypes.byref(loss)))
        return loss.value

    def evaluate(self, *args, **kwargs):
        """The train block's metrics on a batch: {"loss": ..., "accuracy": ...} (accuracy when measured)."""
        arrays, batch, ins = self._input_buffers(args, kwargs)
        m = _Metrics()
        self._check(self._lib.sinter_evaluate(self._inst, batch, ins, ctypes.byref(m)))
        return {"loss": m.loss, **({"accuracy": m.accuracy} if m.metrics & 2 else {})}

    def param(self, name):
        """A param's array: a view of the instance's memory (writing to it changes the weights)."""
        for i, t in enumerate(self.params):
            if t.name == name:
                get = self._lib.sinter_param_data_f64 if t.dtype == np.float64 else self._lib.sinter_param_data
                ptr = ctypes.cast(get(self._inst, i), ctypes.POINTER(np.ctypeslib.as_ctypes_type(t.dtype)))
                return np.ctypeslib.as_array(ptr, t.shape(1))
        raise KeyError(f"{self.name} has no param {name!r}")

    def weights(self):
        """Every param (states included) as a copy: {name: array}."""
        return {t.name: self.param(t.name).copy() for t in self.params}

    def set_weights(self, weights):
        """Writes {name: array} into the params; every param must be there, with its shape. Nothing changes
        when one is missing or of another shape."""
        missing = [t.name for t in self.params if t.name not in weights]
        unknown = [k for k in weights if k not in {t.name for t in self.params}]
        if missing or unknown:
            raise Error(f"{self.name}: weights lack params {missing}, have unknown ones {unknown}")
        arrays = {t.name: np.asarray(weights[t.name], dtype=t.dtype) for t in self.params}
        for t in self.params:
            if arrays[t.name].shape != t.shape(1):
                raise Error(f"{self.name}: param {t.name!r} is {list(t.shape(1))}, the weights give "
                            f"{list(arrays[t.name].shape)}")
        for t in self.params:
            self.param(t.name)[...] = arrays[t.name]

    def load_state_dict(self, state_dict, layout):
        """Takes a PyTorch state_dict's weights through a layout ({Sinter name: (torch key, view)}, see
        state_dict.py), which must cover every param."""
        self.set_weights(to_sinter(state_dict, layout))

    def state_dict(self, layout, template):
        """The params as a PyTorch state_dict of the template's keys and shapes (the torch module's own)."""
        return to_state_dict(self.weights(), layout, template)

    def save(self, path):
        """The weights as a safetensors file, with the standardization statistics when the model holds some."""
        self._check(self._lib.sinter_save_weights(self._inst, str(path).encode()))

    def load(self, path):
        """Weights from a safetensors file. Weights that `sinter train --normalize standard` saved carry its
        statistics, and from then on forward, evaluate and train_step standardize the first input as training
        did: give the samples as the training data held them. Weights without statistics drop them."""
        self._check(self._lib.sinter_load_weights(self._inst, str(path).encode()))

    @property
    def normalizer(self):
        """The statistics applied to the first input, (mean, inv_std) as float32 copies: x' = (x - mean) *
        inv_std per feature; None when the samples run as given."""
        mean, inv_std = ctypes.POINTER(ctypes.c_float)(), ctypes.POINTER(ctypes.c_float)()
        n = self._lib.sinter_get_normalizer(self._inst, ctypes.byref(mean), ctypes.byref(inv_std))
        if n == 0:
            return None
        return tuple(np.ctypeslib.as_array(v, (n,)).copy() for v in (mean, inv_std))

    @normalizer.setter
    def normalizer(self, stats):
        """Sets (mean, inv_std) of the first input's features, or drops the statistics with None."""
        if stats is None:
            self._check(self._lib.sinter_set_normalizer(self._inst, None, None, 0))
            return
        mean, inv_std = (np.ascontiguousarray(v, dtype=np.float32).ravel() for v in stats)
        if mean.shape != inv_std.shape:
            raise ValueError(f"mean has {mean.size} values, inv_std {inv_std.size}")
        as_ptr = ctypes.POINTER(ctypes.c_float)
        self._check(self._lib.sinter_set_normalizer(self._inst, mean.ctypes.data_as(as_ptr),
                                                    inv_std.ctypes.data_as(as_ptr), mean.size))

    def set_flush_denormals(self, enable=True):
        """Whether the calls that run the model flush denormal floats to zero (the default, as `sinter train`
        and `sinter run` do: FTZ and DAZ on x86-64 for the call's duration, the caller's mode restored after)
        or keep them (False): IEEE results, up to 100x slower where denormals occur."""
        self._check(self._lib.sinter_set_flush_denormals(self._inst, 1 if enable else 0))

    @property
    def runtime_version(self):
        return self._lib.sinter_version().decode()
