"""The MiniLM forward pass as an ONNX graph, built from the same safetensors weights, run by ONNX Runtime.

The graph is written node by node with onnx's helper API (no torch export, nothing downloaded): BERT's
embeddings, `layers` encoder layers (attention, exact GELU, post-LayerNorm) and sentence-transformers'
pooling (attention-masked mean, L2-normalised), so one `run` turns token ids into unit vectors. ONNX Runtime
fuses the LayerNorm and GELU patterns and runs the matrix products with its own kernels (measured speed-up
over the NumPy pass: docs/customer-path.md). The vectors equal the NumPy pass's to ~3e-7.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 18  # LayerNormalization from 17; every Reduce* takes its axes as an input from 18


class _GraphBuilder:
    """Collects nodes and initializers; each method returns the name of the tensor it produced."""

    def __init__(self, weights: Mapping[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: np.ndarray, hint: str = "const") -> str:
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(self, name: str, transpose: bool = False) -> str:
        value = np.asarray(self.weights[name], dtype=np.float32)
        return self.const(np.ascontiguousarray(value.T if transpose else value), name)

    def op(self, op_type: str, inputs: list[str], **attributes: object) -> str:
        output = self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def dense(self, x: str, prefix: str) -> str:
        product = self.op("MatMul", [x, self.weight(f"{prefix}.weight", transpose=True)])
        return self.op("Add", [product, self.weight(f"{prefix}.bias")])

    def heads(self, x: str, split_shape: str, perm: list[int]) -> str:
        return self.op("Transpose", [self.op("Reshape", [x, split_shape])], perm=perm)

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.weight(f"{prefix}.weight"), self.weight(f"{prefix}.bias")],
            axis=-1,
            epsilon=eps,
        )


def build_model(weights: Mapping[str, np.ndarray], heads: int, layers: int, eps: float) -> onnx.ModelProto:
    """The encoder and pooling as an ONNX model: (input_ids, attention_mask) int64 [B, L] -> [B, hidden]."""
    g = _GraphBuilder(weights)
    hidden = int(weights["embeddings.word_embeddings.weight"].shape[1])
    size = hidden // heads

    words = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"], axis=0)
    length = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(np.array(1, dtype=np.int64))], axis=0)
    positions = g.op(
        "Range",
        [g.const(np.array(0, dtype=np.int64)), length, g.const(np.array(1, dtype=np.int64))],
    )
    x = g.op(
        "Add",
        [words, g.op("Gather", [g.weight("embeddings.position_embeddings.weight"), positions], axis=0)],
    )
    token_type = np.asarray(weights["embeddings.token_type_embeddings.weight"][0], dtype=np.float32)
    x = g.op("Add", [x, g.const(token_type, "token_type_0")])
    x = g.layer_norm(x, "embeddings.LayerNorm", eps)

    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # (1 - mask) * -1e9 on [B, 1, 1, L]: padded keys get no attention weight (as in the NumPy pass).
    blocked = g.op("Sub", [g.const(np.array(1.0, dtype=np.float32)), mask])
    mask_bias = g.op(
        "Unsqueeze",
        [g.op("Mul", [blocked, g.const(np.array(-1e9, dtype=np.float32))]), g.const(np.array([1, 2]))],
    )
    split_shape = g.const(np.array([0, 0, heads, size], dtype=np.int64), "split_heads")
    merge_shape = g.const(np.array([0, 0, hidden], dtype=np.int64), "merge_heads")
    scale = g.const(np.array(1.0 / np.sqrt(size), dtype=np.float32), "attention_scale")
    half = g.const(np.array(0.5, dtype=np.float32))
    one = g.const(np.array(1.0, dtype=np.float32))
    root2 = g.const(np.array(np.sqrt(2.0), dtype=np.float32))

    for layer in range(layers):
        prefix = f"encoder.layer.{layer}"
        attention = f"{prefix}.attention"

        # [B, L, hidden] -> [B, heads, L, size]; the keys straight to [B, heads, size, L] for Q @ K^T.
        query = g.heads(g.dense(x, f"{attention}.self.query"), split_shape, [0, 2, 1, 3])
        key_t = g.heads(g.dense(x, f"{attention}.self.key"), split_shape, [0, 2, 3, 1])
        value = g.heads(g.dense(x, f"{attention}.self.value"), split_shape, [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [query, key_t]), scale]), mask_bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), value])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merge_shape])
        x = g.layer_norm(
            g.op("Add", [g.dense(context, f"{attention}.output.dense"), x]),
            f"{attention}.output.LayerNorm",
            eps,
        )
        inner = g.dense(x, f"{prefix}.intermediate.dense")
        # BERT's exact GELU, 0.5 * h * (1 + erf(h / sqrt(2))): ONNX Runtime fuses it into one Gelu kernel.
        erf = g.op("Erf", [g.op("Div", [inner, root2])])
        inner = g.op("Mul", [g.op("Mul", [inner, half]), g.op("Add", [erf, one])])
        x = g.layer_norm(
            g.op("Add", [g.dense(inner, f"{prefix}.output.dense"), x]), f"{prefix}.output.LayerNorm", eps
        )

    # sentence-transformers' pooling: masked mean over tokens, then L2 normalisation.
    weights_3d = g.op("Unsqueeze", [mask, g.const(np.array([2]))])
    axis1 = g.const(np.array([1]))
    summed = g.op("ReduceSum", [g.op("Mul", [x, weights_3d]), axis1], keepdims=0)
    counts = g.op(
        "Max", [g.op("ReduceSum", [weights_3d, axis1], keepdims=0), g.const(np.array(1e-9, np.float32))]
    )
    pooled = g.op("Div", [summed, counts])
    norm = g.op("ReduceL2", [pooled, g.const(np.array([1]))], keepdims=1)
    g.nodes.append(
        helper.make_node(
            "Div", [pooled, g.op("Max", [norm, g.const(np.array(1e-12, np.float32))])], ["embeddings"]
        )
    )
    graph = helper.make_graph(
        g.nodes,
        "minilm_sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what every ONNX Runtime since 1.10 reads
    onnx.checker.check_model(model)
    return model


class OnnxForward:
    """Token ids and mask -> pooled unit vectors, in one ONNX Runtime session on ``threads`` threads."""

    def __init__(
        self, weights: Mapping[str, np.ndarray], heads: int, layers: int, eps: float, threads: int = 1
    ) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        model = build_model(weights, heads, layers, eps)
        self.session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
        return self.session.run(["embeddings"], feeds)[0]
